// lua_cuda.c - the CUDA half of the `tensor` table: syncing with the GPU (and hearing
// the errors its kernels found), matmul precision, the machine's GPUs (read
// through NVML, nvml.c). Registered by
// repl_open_tensor through repl_open_cuda; everything works, or explains itself, in a
// build without CUDA and on a machine without a GPU.
#include <string.h>
#include <lauxlib.h>
#include "repl.h"

static void set_int(lua_State *L, const char *k, long long v) { lua_pushinteger(L, v); lua_setfield(L, -2, k); }

// tensor.cuda_devices() -> list of {index (cuda:N), name, memory_used, memory_total (bytes),
// utilization (%), processes, uuid, current}; or {} and the reason when NVML is missing.
static int l_cuda_devices(lua_State *L) {
    lua_newtable(L);
    const char *why;
    if (!repl_nvml_load(&why)) { lua_pushstring(L, why); return 2; }
    char err[128];
    int count = repl_nvml_count(err, sizeof err);
    if (count < 0) { lua_pushstring(L, err); return 2; }
    int chosen = tensor_cuda_index();
    for (int cuda = 0; cuda < count; cuda++) {
        int phys = repl_nvml_index(cuda, count);
        if (phys < 0) break;
        repl_nvml_gpu g;
        if (repl_nvml_read(phys, &g) != 0) continue;
        lua_createtable(L, 0, 10);
        set_int(L, "index", cuda);
        lua_pushfstring(L, "cuda:%d", cuda);
        lua_setfield(L, -2, "device");
        lua_pushstring(L, g.name);
        lua_setfield(L, -2, "name");
        lua_pushstring(L, g.uuid);
        lua_setfield(L, -2, "uuid");
        if (g.has_mem) {
            set_int(L, "memory_used", (long long)g.mem_used);
            set_int(L, "memory_total", (long long)g.mem_total);
            set_int(L, "memory_free", (long long)g.mem_free);
        }
        if (g.has_util) set_int(L, "utilization", g.util);
        if (g.has_procs) set_int(L, "processes", g.procs);
        set_int(L, "nvml_index", phys);
        lua_pushboolean(L, cuda == chosen);
        lua_setfield(L, -2, "current");
        lua_rawseti(L, -2, cuda + 1);
    }
    return 1;
}

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
        return luaL_error(L, "tensor.%s", repl_last_error((char[1024]){0}, 1024));
    }
    return 0;
}

static int l_get_matmul_precision(lua_State *L) {
    lua_pushstring(L, tensor_get_matmul_precision());
    return 1;
}

// ---- a full collection before the GPU declares out-of-memory ---------------------------------
// Lua paces its collector by the bytes it sees; a GPU tensor's userdata is a few bytes,
// so garbage tensors can hold a card full. The allocator calls this once before failing.
static lua_State *gc_state;

static void collect_lua_garbage(void) {
    if (gc_state) lua_gc(gc_state, LUA_GCCOLLECT);   // a no-op when called from a finalizer
}

void repl_open_cuda(lua_State *L) {
    gc_state = L;
    tensor_set_gc_hook(collect_lua_garbage);
    static const luaL_Reg fns[] = {
        {"cuda_synchronize", l_cuda_synchronize}, {"cuda_devices", l_cuda_devices},
        {"set_matmul_precision", l_set_matmul_precision}, {"get_matmul_precision", l_get_matmul_precision},
        {NULL, NULL}};
    if (lua_getglobal(L, "tensor") == LUA_TTABLE) luaL_setfuncs(L, fns, 0);
    lua_pop(L, 1);
}
