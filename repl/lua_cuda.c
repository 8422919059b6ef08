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

// ---- multi-tensor optimizer steps (tensor_*_step_multi): one launch for a whole model ----
// Parameters without a gradient are left out, as the per-parameter steps skip them.
// The lists (Lua tables) give, per parameter, its state tensors and step counts.
typedef struct { int n; tensor **p, **g, **s1, **s2; int64_t *step; int *first; } multi_lists;

// params at idx; state lists at i1, i2 (0: none; nil entries allowed when may_nil); the
// per-parameter numbers at inum (step counts, or first-step booleans when first)
static int multi_collect(lua_State *L, const char *op, multi_lists *m, int idx, int i1, int i2, int inum,
                         int first, int may_nil) {
    luaL_checktype(L, idx, LUA_TTABLE);
    int len = (int)luaL_len(L, idx);
    // one Lua userdata holds the lists: freed by the GC, also when an argument error jumps out
    size_t cap = (size_t)len + 1;
    char *mem = lua_newuserdatauv(L, cap * (4 * sizeof(tensor *) + sizeof(int64_t) + sizeof(int)), 0);
    memset(mem, 0, cap * (4 * sizeof(tensor *) + sizeof(int64_t) + sizeof(int)));
    m->n = 0;
    m->p = (tensor **)mem; m->g = m->p + cap; m->s1 = m->g + cap; m->s2 = m->s1 + cap;
    m->step = (int64_t *)(m->s2 + cap);
    m->first = (int *)(m->step + cap);
    for (int i = 1; i <= len; i++) {
        lua_geti(L, idx, i);
        tensor *p = repl_check_tensor(L, -1);
        lua_pop(L, 1);
        if (!p->grad) continue;   // unused this step, as in PyTorch
        int k = m->n++;
        m->p[k] = p;
        m->g[k] = p->grad;
        int lists[2] = {i1, i2};
        tensor **outs[2] = {m->s1, m->s2};
        for (int j = 0; j < 2; j++) {
            if (!lists[j] || lua_isnoneornil(L, lists[j])) continue;
            lua_geti(L, lists[j], i);
            outs[j][k] = may_nil && lua_isnil(L, -1) ? NULL : repl_check_tensor(L, -1);
            lua_pop(L, 1);
        }
        lua_geti(L, inum, i);
        if (first) m->first[k] = lua_toboolean(L, -1);
        else m->step[k] = (int64_t)luaL_checkinteger(L, -1);
        lua_pop(L, 1);
    }
    return 0;
}

// tensor._adam_step_multi(params, exp_avgs, exp_avg_sqs, steps, lr, beta1, beta2, eps, weight_decay, decoupled)
static int l_adam_step_multi(lua_State *L) {
    luaL_checktype(L, 2, LUA_TTABLE);
    luaL_checktype(L, 3, LUA_TTABLE);
    luaL_checktype(L, 4, LUA_TTABLE);
    multi_lists m = {0};
    multi_collect(L, "tensor._adam_step_multi", &m, 1, 2, 3, 4, 0, 0);
    int rc = tensor_adam_step_multi(m.n, m.p, m.g, m.s1, m.s2, m.step, (float)luaL_checknumber(L, 5),
                                    (float)luaL_checknumber(L, 6), (float)luaL_checknumber(L, 7),
                                    (float)luaL_checknumber(L, 8), (float)luaL_checknumber(L, 9), lua_toboolean(L, 10));
    return rc ? repl_tensor_error(L) : 0;
}

// tensor._sgd_step_multi(params, bufs|nil, first_steps, lr, momentum, dampening, weight_decay, nesterov)
static int l_sgd_step_multi(lua_State *L) {
    luaL_checktype(L, 3, LUA_TTABLE);
    multi_lists m = {0};
    multi_collect(L, "tensor._sgd_step_multi", &m, 1, lua_istable(L, 2) ? 2 : 0, 0, 3, 1, 1);
    int rc = tensor_sgd_step_multi(m.n, m.p, m.g, lua_istable(L, 2) ? m.s1 : NULL, m.first,
                                   (float)luaL_checknumber(L, 4), (float)luaL_checknumber(L, 5),
                                   (float)luaL_checknumber(L, 6), (float)luaL_checknumber(L, 7), lua_toboolean(L, 8));
    return rc ? repl_tensor_error(L) : 0;
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
        {"_adam_step_multi", l_adam_step_multi}, {"_sgd_step_multi", l_sgd_step_multi},
        {NULL, NULL}};
    if (lua_getglobal(L, "tensor") == LUA_TTABLE) luaL_setfuncs(L, fns, 0);
    lua_pop(L, 1);
}
