// lua_cuda.c - the CUDA half of the `tensor` table: syncing with the GPU (and hearing
// the errors its kernels found), matmul precision, the machine's GPUs. Registered by
// repl_open_tensor through repl_open_cuda; everything works, or explains itself, in a
// build without CUDA and on a machine without a GPU.
#include <lauxlib.h>
#include "repl.h"

// tensor.cuda_synchronize(): waits for the GPU's queued work and raises the first error
// a kernel found in the data since the last sync (an index or label out of range),
// naming the op. item(), printing and :cpu() sync, and report such errors, too.
static int l_cuda_synchronize(lua_State *L) {
    if (tensor_synchronize(TENSOR_CUDA) != 0) return repl_tensor_error(L);
    return 0;
}

// tensor.set_matmul_precision("highest" | "high"): PyTorch's set_float32_matmul_precision
static int l_set_matmul_precision(lua_State *L) {
    if (tensor_set_matmul_precision(luaL_checkstring(L, 1)) != 0) {
        return luaL_error(L, "tensor.%s", tensor_last_error());
    }
    return 0;
}

static int l_get_matmul_precision(lua_State *L) {
    lua_pushstring(L, tensor_get_matmul_precision());
    return 1;
}

void repl_open_cuda(lua_State *L) {
    static const luaL_Reg fns[] = {
        {"cuda_synchronize", l_cuda_synchronize},
        {"set_matmul_precision", l_set_matmul_precision}, {"get_matmul_precision", l_get_matmul_precision},
        {NULL, NULL}};
    if (lua_getglobal(L, "tensor") == LUA_TTABLE) luaL_setfuncs(L, fns, 0);
    lua_pop(L, 1);
}
