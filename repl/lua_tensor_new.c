// lua_tensor_new.c - the functions of the `tensor` table: creation (zeros, randn, arange,
// tensor{...}), seeds, no_grad, memory and device settings, cat/stack.
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "repl.h"

// ---- creation ------------------------------------------------------------------------
typedef tensor *(*create_fn)(int, const int64_t *, tensor_device);
typedef struct { const char *name; create_fn fn; } create_op;
static const create_op create_ops[] = {
    {"tensor.zeros", tensor_zeros}, {"tensor.ones", tensor_ones}, {"tensor.empty", tensor_empty},
    {"tensor.rand", tensor_rand}, {"tensor.randn", tensor_randn},
};

static int l_create(lua_State *L) {
    const create_op *op = lua_touserdata(L, lua_upvalueindex(1));
    int64_t sizes[TENSOR_MAX_DIMS];
    int oi = repl_opts_index(L);
    tensor_device d = repl_opt_device(L, oi ? oi : lua_gettop(L) + 1);
    if (oi) lua_settop(L, oi - 1);
    int n = repl_check_sizes(L, 1, sizes, op->name);
    return repl_push_tensor(L, op->fn(n, sizes, d));
}

static int l_full(lua_State *L) {
    int64_t sizes[TENSOR_MAX_DIMS];
    if (!lua_istable(L, 1) && !luaL_testudata(L, 1, REPL_SHAPE_MT))
        luaL_error(L, "tensor.full: give the sizes as a table: tensor.full({2,3}, value)");
    int n = repl_check_sizes(L, 1, sizes, "tensor.full");
    float v = repl_check_float(L, 2, "tensor.full", "value");
    return repl_push_tensor(L, tensor_full(n, sizes, v, repl_opt_device(L, 3)));
}

static int l_arange(lua_State *L) {
    int nargs = lua_gettop(L);
    int oi = nargs > 0 && lua_istable(L, nargs) ? nargs : 0;
    if (oi) nargs--;
    double start = 0, stop, step = 1;
    if (nargs == 1) stop = luaL_checknumber(L, 1);       // arange(n) = 0..n-1, like torch
    else {
        start = luaL_checknumber(L, 1);
        stop = luaL_checknumber(L, 2);
        step = luaL_optnumber(L, 3, 1);
    }
    return repl_push_tensor(L, tensor_arange(start, stop, step, repl_opt_device(L, oi ? oi : nargs + 1)));
}

static int l_linspace(lua_State *L) {
    return repl_push_tensor(L, tensor_linspace(luaL_checknumber(L, 1), luaL_checknumber(L, 2),
                                               luaL_checkinteger(L, 3), repl_opt_device(L, 4)));
}

static int l_eye(lua_State *L) {
    return repl_push_tensor(L, tensor_eye(luaL_checkinteger(L, 1), repl_opt_device(L, 2)));
}

// Shape of a nested table: follow the first entries down.
static int nested_shape(lua_State *L, int idx, int64_t *sizes) {
    int n = 0;
    lua_pushvalue(L, idx);
    while (lua_istable(L, -1)) {
        if (n == TENSOR_MAX_DIMS) luaL_error(L, "tensor.tensor: table nested deeper than %d", TENSOR_MAX_DIMS);
        sizes[n++] = (int64_t)lua_rawlen(L, -1);
        if (sizes[n - 1] == 0) break;
        lua_rawgeti(L, -1, 1);
        lua_remove(L, -2);
    }
    lua_pop(L, 1);
    return n;
}

// Copies the nested table at the top of the stack into out; checks every row.
static float *nested_fill(lua_State *L, int depth, int ndim, const int64_t *sizes, float *out) {
    if (!lua_istable(L, -1) || (int64_t)lua_rawlen(L, -1) != sizes[depth])
        luaL_error(L, "tensor.tensor: ragged nested table: every list at depth %d must have %d entries "
                 "(the first one does), found %s", depth + 1, (int)sizes[depth],
              lua_istable(L, -1) ? lua_pushfstring(L, "%d", (int)lua_rawlen(L, -1)) : luaL_typename(L, -1));
    for (int64_t i = 1; i <= sizes[depth]; i++) {
        lua_rawgeti(L, -1, i);
        if (depth + 1 < ndim) out = nested_fill(L, depth + 1, ndim, sizes, out);
        else {
            int isnum;
            lua_Number v = lua_tonumberx(L, -1, &isnum);
            if (!isnum || lua_type(L, -1) != LUA_TNUMBER)
                luaL_error(L, "tensor.tensor: expected a number at depth %d, found %s", depth + 1, luaL_typename(L, -1));
            *out++ = (float)v;
        }
        lua_pop(L, 1);
    }
    return out;
}

static int l_tensor_from(lua_State *L) {
    tensor_device d = repl_opt_device(L, 2);
    if (lua_type(L, 1) == LUA_TNUMBER) return repl_push_tensor(L, tensor_scalar((float)lua_tonumber(L, 1), d));
    if (!lua_istable(L, 1))
        luaL_error(L, "tensor.tensor: expected a (nested) table of numbers like {{1,2},{3,4}}, got %s", luaL_typename(L, 1));
    int64_t sizes[TENSOR_MAX_DIMS], numel = 1;
    int ndim = nested_shape(L, 1, sizes);
    for (int i = 0; i < ndim; i++) numel *= sizes[i];
    // buffer owned by Lua, so a raised error does not leak it
    float *buf = lua_newuserdatauv(L, sizeof(float) * (size_t)(numel ? numel : 1), 0);
    lua_pushvalue(L, 1);
    if (numel) nested_fill(L, 0, ndim, sizes, buf);
    lua_pop(L, 1);
    return repl_push_tensor(L, tensor_from_data(ndim, sizes, buf, d));
}

static int l_tensor_call(lua_State *L) {     // tensor{...}: drop the `tensor` table itself
    lua_remove(L, 1);
    return l_tensor_from(L);
}

// ---- module functions ---------------------------------------------------------------
double repl_last_seed = NAN;       // the run's meta.json records it

static int l_manual_seed(lua_State *L) {
    lua_Integer seed = luaL_checkinteger(L, 1);
    tensor_manual_seed((uint64_t)seed);
    repl_last_seed = (double)seed;
    return 0;
}

static int l_is_grad_enabled(lua_State *L) {
    lua_pushboolean(L, tensor_grad_enabled());
    return 1;
}

static int l_last_seed(lua_State *L) {
    if (isnan(repl_last_seed)) lua_pushnil(L);
    else lua_pushinteger(L, (lua_Integer)repl_last_seed);
    return 1;
}

static int l_no_grad(lua_State *L) {
    luaL_checktype(L, 1, LUA_TFUNCTION);
    int prev = tensor_set_grad_enabled(0);
    int st = lua_pcall(L, lua_gettop(L) - 1, LUA_MULTRET, 0);
    tensor_set_grad_enabled(prev);           // also when fn raised
    if (st != LUA_OK) return lua_error(L);
    return lua_gettop(L);
}

static int l_is_tensor(lua_State *L) {
    lua_pushboolean(L, repl_test_tensor(L, 1) != NULL);
    return 1;
}

// tensor._set_scope(name|nil): nn's module calls name the layer running (anomaly mode)
static int l_set_scope(lua_State *L) {
    tensor_set_scope(luaL_optstring(L, 1, NULL));
    return 0;
}

static int l_detect_anomaly(lua_State *L) {
    if (!lua_isnone(L, 1)) tensor_set_detect_anomaly(lua_toboolean(L, 1));
    lua_pushboolean(L, tensor_detect_anomaly());
    return 1;
}

static void set_int(lua_State *L, const char *k, int64_t v) {
    lua_pushinteger(L, v);
    lua_setfield(L, -2, k);
}

static int l_memory_estimate(lua_State *L) {
    lua_createtable(L, 0, 6);
    set_int(L, "cpu", tensor_live_bytes(TENSOR_CPU));
    set_int(L, "cuda", tensor_live_bytes(TENSOR_CUDA));
    set_int(L, "meta", tensor_live_bytes(TENSOR_META));
    set_int(L, "cpu_peak", tensor_peak_bytes(TENSOR_CPU));
    set_int(L, "cuda_peak", tensor_peak_bytes(TENSOR_CUDA));
    set_int(L, "meta_peak", tensor_peak_bytes(TENSOR_META));
    return 1;
}

static int l_reset_peak(lua_State *L) {
    tensor_reset_peak(TENSOR_CPU);
    tensor_reset_peak(TENSOR_CUDA);
    tensor_reset_peak(TENSOR_META);
    return 0;
}

// tensor.set_memory_limit(bytes | nil): cpu tensors past it are refused (nil: the machine's room)
static int l_set_memory_limit(lua_State *L) {
    lua_Number b = luaL_optnumber(L, 1, 0);
    if (!(b >= 0 && b < 9.2e18)) luaL_error(L, "tensor.set_memory_limit: bytes must be >= 0, got %f", b);
    tensor_set_memory_limit((int64_t)b);
    return 0;
}

// tensor.set_num_threads(n) / tensor.get_num_threads(): nnlab's kernels, OpenBLAS and oneDNN
static int l_set_num_threads(lua_State *L) {
    lua_Integer n = luaL_checkinteger(L, 1);
    if (tensor_set_num_threads(n < 0 ? 0 : n > 100000 ? 100000 : (int)n)) return repl_tensor_error(L);
    return 0;
}
static int l_get_num_threads(lua_State *L) {
    lua_pushinteger(L, tensor_get_num_threads());
    return 1;
}
// tensor.blas_core() -> the OpenBLAS kernels matmul uses ("SkylakeX", "Haswell", ...)
static int l_blas_core(lua_State *L) {
    const char *core = tensor_blas_core();
    if (!core) return repl_tensor_error(L);
    lua_pushstring(L, core);
    return 1;
}

// tensor.set_default_device("cpu"|"cuda"|"meta"): what :device does, for scripts
static int l_set_default_device(lua_State *L) {
    const char *name = luaL_checkstring(L, 1);
    tensor_device d;
    char why[512] = "";
    if (tensor_parse_device(name, &d) != 0) return repl_tensor_error(L);
    if (d == TENSOR_CUDA && !tensor_cuda_available(why, sizeof why))
        return luaL_error(L, "tensor.set_default_device: cuda is not available: %s", why);
    repl_set_default_device(d);
    return 0;
}

static int l_default_device(lua_State *L) {
    lua_pushstring(L, tensor_device_name(repl_default_device()));
    return 1;
}

static int l_cuda_available(lua_State *L) {
    char why[256] = "";
    int ok = tensor_cuda_available(why, sizeof why);
    lua_pushboolean(L, ok);
    if (ok) return 1;
    lua_pushstring(L, why);
    return 2;
}

static int l_cuda_memory(lua_State *L) {
    int64_t allocated, cached;
    if (tensor_device_memory(TENSOR_CUDA, &allocated, &cached) != 0) return repl_tensor_error(L);
    lua_createtable(L, 0, 2);
    set_int(L, "allocated", allocated);
    set_int(L, "cached", cached);
    return 1;
}

static int l_cuda_empty_cache(lua_State *L) {
    tensor_device_empty_cache(TENSOR_CUDA);
    return 0;
}

// tensors from a list table at idx, into ts (caller frees); returns the count
static tensor **check_tensor_list(lua_State *L, int idx, const char *op, int *n) {
    if (!lua_istable(L, idx)) luaL_error(L, "%s: expected a list of tensors {a, b, ...}, got %s", op, luaL_typename(L, idx));
    int count = (int)lua_rawlen(L, idx);
    if (count == 0) luaL_error(L, "%s: the list of tensors is empty", op);
    tensor **ts = lua_newuserdatauv(L, sizeof(tensor *) * (size_t)count, 0);   // freed by the GC
    for (int i = 0; i < count; i++) {
        lua_rawgeti(L, idx, i + 1);
        ts[i] = repl_test_tensor(L, -1);
        if (!ts[i]) luaL_error(L, "%s: entry %d of the list is a %s, not a tensor", op, i + 1, luaL_typename(L, -1));
        lua_pop(L, 1);
    }
    *n = count;
    return ts;
}

static int l_join(lua_State *L) {
    int stack = (int)lua_tointeger(L, lua_upvalueindex(1));
    const char *op = stack ? "tensor.stack" : "tensor.cat";
    int n;
    lua_settop(L, 2);                       // the list buffer goes above the arguments
    tensor **ts = check_tensor_list(L, 1, op, &n);
    int dim = lua_isnoneornil(L, 2) ? 0 : repl_check_dim(L, 2, op, ts[0]->ndim, stack);
    return repl_push_tensor(L, stack ? tensor_stack(n, ts, dim) : tensor_cat(n, ts, dim));
}

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

// the functions of the `tensor` table at the top of the stack
void repl_tensor_functions(lua_State *L) {
    for (size_t i = 0; i < COUNT(create_ops); i++) {
        lua_pushlightuserdata(L, (void *)&create_ops[i]);
        lua_pushcclosure(L, l_create, 1);
        lua_setfield(L, -2, create_ops[i].name + strlen("tensor."));
    }
    static const luaL_Reg funcs[] = {
        {"full", l_full}, {"arange", l_arange}, {"linspace", l_linspace}, {"eye", l_eye},
        {"tensor", l_tensor_from}, {"manual_seed", l_manual_seed}, {"no_grad", l_no_grad},
        {"is_grad_enabled", l_is_grad_enabled}, {"initial_seed", l_last_seed},
        {"is_tensor", l_is_tensor}, {"detect_anomaly", l_detect_anomaly}, {"_set_scope", l_set_scope},
        {"memory_estimate", l_memory_estimate}, {"reset_peak", l_reset_peak},
        {"set_memory_limit", l_set_memory_limit},
        {"set_num_threads", l_set_num_threads}, {"get_num_threads", l_get_num_threads},
        {"blas_core", l_blas_core},
        {"cuda_available", l_cuda_available}, {"cuda_memory", l_cuda_memory},
        {"set_default_device", l_set_default_device}, {"default_device", l_default_device},
        {"cuda_empty_cache", l_cuda_empty_cache}, {NULL, NULL}};
    luaL_setfuncs(L, funcs, 0);
    for (int stack = 0; stack <= 1; stack++) {
        lua_pushinteger(L, stack);
        lua_pushcclosure(L, l_join, 1);
        lua_setfield(L, -2, stack ? "stack" : "cat");
    }
    lua_createtable(L, 0, 1);                            // tensor{...}
    lua_pushcfunction(L, l_tensor_call);
    lua_setfield(L, -2, "__call");
    lua_setmetatable(L, -2);
}
