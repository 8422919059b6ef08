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

void repl_open_cuda(lua_State *L) {
    static const luaL_Reg fns[] = {
        {"cuda_synchronize", l_cuda_synchronize},
        {NULL, NULL}};
    if (lua_getglobal(L, "tensor") == LUA_TTABLE) luaL_setfuncs(L, fns, 0);
    lua_pop(L, 1);
}
