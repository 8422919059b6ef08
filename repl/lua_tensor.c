// lua_tensor.c - tensors as Lua values: the `tensor` global, the tensor metatable and
// its methods. Lua sees 1-based dims and indices; the C library is 0-based, so every
// dim, start and index is converted here and nowhere else.
//
// Hot path (a + b on small tensors): one userdata per result, no string formatting
// unless an error is raised, metatable identity checked with one registry lookup.
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "repl.h"
#include "../tensor/backend.h"

static const char tensor_mt_key = 0;        // registry[&tensor_mt_key] = the metatable
static tensor_device default_device = TENSOR_CPU;

tensor_device repl_default_device(void) { return default_device; }
void repl_set_default_device(tensor_device d) { default_device = d; }

// ---- errors -----------------------------------------------------------------------
// luaL_error prefixes the calling Lua line, so messages point at the user's code.
static const char *current_function(lua_State *L);

// Whether msg starts with the name of what failed ("matmul: ", "nn.Linear(784->10): ").
static int names_itself(const char *msg) {
    const char *p = msg;
    while (*p && *p != ' ' && !(p[0] == ':' && p[1] == ' ')) p++;
    return p > msg && p[0] == ':' && p[1] == ' ';
}

// Raises the library's last error; a message that does not name its op (the
// allocator's "out of memory: ...") gets the Lua function's name in front.
int repl_tensor_error(lua_State *L) {
    const char *msg = tensor_last_error();
    if (names_itself(msg)) return luaL_error(L, "%s", msg);
    return luaL_error(L, "%s: %s", current_function(L), msg);
}

// ---- the tensor userdata ------------------------------------------------------------
// The slot of a tensor userdata: only one with the tensor metatable and the size of
// a tensor pointer (debug.setmetatable can put the metatable on any userdata), else
// NULL. Metamethods are plain functions a script can call with anything.
static tensor **tensor_slot(lua_State *L, int idx) {
    if (lua_type(L, idx) != LUA_TUSERDATA || !lua_getmetatable(L, idx)) return NULL;
    lua_rawgetp(L, LUA_REGISTRYINDEX, &tensor_mt_key);
    int same = lua_rawequal(L, -1, -2);
    lua_pop(L, 2);
    return same && lua_rawlen(L, idx) == sizeof(tensor *) ? lua_touserdata(L, idx) : NULL;
}

tensor *repl_test_tensor(lua_State *L, int idx) {
    tensor **ud = tensor_slot(L, idx);
    return ud ? *ud : NULL;
}

const char *repl_describe(lua_State *L, int idx) {
    idx = lua_absindex(L, idx);
    tensor *t = repl_test_tensor(L, idx);
    switch (lua_type(L, idx)) {
    case LUA_TNONE: return lua_pushstring(L, "nothing");
    case LUA_TNIL: return lua_pushstring(L, "nil");
    case LUA_TBOOLEAN: return lua_pushfstring(L, "the boolean %s", lua_toboolean(L, idx) ? "true" : "false");
    case LUA_TNUMBER:
        if (lua_isinteger(L, idx)) return lua_pushfstring(L, "the number %I", lua_tointeger(L, idx));
        return lua_pushfstring(L, "the number %f", lua_tonumber(L, idx));
    case LUA_TSTRING: {
        size_t n;
        const char *str = lua_tolstring(L, idx, &n);
        if (n > 40) return lua_pushfstring(L, "the string \"%.37s...\"", str);
        return lua_pushfstring(L, "the string \"%s\"", str);
    }
    case LUA_TUSERDATA:
        if (t) {
            char shape[TENSOR_MAX_DIMS * 22 + 4];
            return lua_pushfstring(L, "a tensor %s", tensor_shape_str(shape, sizeof shape, t));
        }
        break;
    case LUA_TTABLE:
        if (lua_getfield(L, idx, "_keys") != LUA_TNIL) {   // an nn module
            lua_pop(L, 1);
            if (luaL_getmetafield(L, idx, "__name") == LUA_TSTRING) {
                const char *r = lua_pushfstring(L, "a module nn.%s", lua_tostring(L, -1));
                lua_remove(L, -2);
                return r;
            }
            return lua_pushstring(L, "a module");
        }
        lua_pop(L, 1);
        break;
    }
    return lua_pushfstring(L, "a %s", luaL_typename(L, idx));
}

// The op as the learner called it: "x:matmul" (argument numbers after self) or "tensor.exp".
static const char *arg_function(lua_State *L, int *idx) {
    lua_Debug ar;
    if (!lua_getstack(L, 0, &ar) || !lua_getinfo(L, "nf", &ar) || !ar.name) return "tensor function";
    int fn = lua_gettop(L);
    int method = strcmp(ar.namewhat, "method") == 0;
    if (method) {
        --*idx;
        return lua_pushfstring(L, "x:%s", ar.name);
    }
    // which library it is in: tensor.exp, nn.F.linear (called from nn.lua's layers)
    const char *lib = "";
    if (lua_getglobal(L, "tensor") == LUA_TTABLE && lua_getfield(L, -1, ar.name) >= 0 && lua_rawequal(L, -1, fn))
        lib = "tensor.";
    else if (lua_getglobal(L, "nn") == LUA_TTABLE && lua_getfield(L, -1, "F") == LUA_TTABLE &&
             lua_getfield(L, -1, ar.name) >= 0 && lua_rawequal(L, -1, fn))
        lib = "nn.F.";
    lua_settop(L, fn - 1);
    return lua_pushfstring(L, "%s%s", lib, ar.name);
}

tensor *repl_check_tensor(lua_State *L, int idx) {
    tensor **ud = tensor_slot(L, idx);
    if (ud && !*ud) luaL_argerror(L, idx, "this tensor was already freed (its __gc metamethod was called)");
    if (!ud) {
        int n = idx;
        const char *got = repl_describe(L, idx);     // before anything else is pushed
        const char *fn = arg_function(L, &n);
        if (n == 0) luaL_error(L, "%s: called on %s, not a tensor (write x:%s(...) with x a tensor)", fn, got,
                               strchr(fn, ':') ? strchr(fn, ':') + 1 : fn);
        luaL_error(L, "%s: argument %d must be a tensor, got %s", fn, n, got);
    }
    return *ud;
}

// Lua sees only the small userdata, not the storage behind it, so without help a
// training loop allocates gigabytes before the GC runs (the Torch7 OOM). Two measures:
//  - a full collection when live tensor bytes have grown by max(16 MB, live bytes at
//    the last collection): garbage tensors are reused while still in cache;
//  - generational mode plus a young collection every GC_STEP_EVERY tensors, so
//    temporaries die while malloc still has them cached: measured 2-3x faster small
//    ops and a third of the peak memory. Skipped while the Lua heap is large, where a
//    step may turn into a full mark.
#define GC_MIN_GROWTH ((int64_t)16 << 20)
#define GC_STEP_EVERY 256
#define GC_STEP_MAX_HEAP_KB (8 << 10)
static int64_t gc_threshold = GC_MIN_GROWTH;
static unsigned gc_pushes;
static const char gc_tuned_key = 0;

static void gc_account(lua_State *L) {
    if (++gc_pushes >= GC_STEP_EVERY) {
        gc_pushes = 0;
        // switched once per state, after the libraries loaded: switching while the heap
        // still grows leaves Lua 5.4 in its slow "bad collection" state
        if (lua_rawgetp(L, LUA_REGISTRYINDEX, &gc_tuned_key) == LUA_TNIL) {
            lua_pushboolean(L, 1);
            lua_rawsetp(L, LUA_REGISTRYINDEX, &gc_tuned_key);
            lua_gc(L, LUA_GCGEN, 2, 100);
        }
        lua_pop(L, 1);
        if (lua_gc(L, LUA_GCCOUNT) < GC_STEP_MAX_HEAP_KB) lua_gc(L, LUA_GCSTEP, 0);
    }
    int64_t live = tensor_live_bytes(TENSOR_CPU) + tensor_live_bytes(TENSOR_CUDA);
    if (live <= gc_threshold) return;
    lua_gc(L, LUA_GCCOLLECT);
    live = tensor_live_bytes(TENSOR_CPU) + tensor_live_bytes(TENSOR_CUDA);
    gc_threshold = live + (live > GC_MIN_GROWTH ? live : GC_MIN_GROWTH);
}

int repl_push_tensor(lua_State *L, tensor *t) {
    if (!t) return repl_tensor_error(L);
    tensor **ud = lua_newuserdatauv(L, sizeof *ud, 0);
    *ud = t;
    lua_rawgetp(L, LUA_REGISTRYINDEX, &tensor_mt_key);
    lua_setmetatable(L, -2);
    gc_account(L);
    return 1;
}

static int t_gc(lua_State *L) {
    tensor **ud = tensor_slot(L, 1);      // anything else (io.stdout, a table) is left alone
    if (ud && *ud) {
        tensor_release(*ud);
        *ud = NULL;
    }
    return 0;
}

// ---- arguments -----------------------------------------------------------------------
int repl_check_dim(lua_State *L, int idx, const char *op, int ndim, int ndim_plus) {
    lua_Integer d = luaL_checkinteger(L, idx);
    int n = ndim + ndim_plus;
    if (d == 0)
        luaL_error(L, "%s: dim 0 is out of range: dims are 1-based in nnlab (1..%d for a %d-d tensor); "
                 "use 1 for the first dim or -1 for the last", op, n, ndim);
    if (n == 0) luaL_error(L, "%s: dim %d is out of range: a 0-d tensor has no dims", op, (int)d);
    if (d > n || d < -n)
        luaL_error(L, "%s: dim %d is out of range for a %d-d tensor (valid: 1..%d, or -%d..-1 from the end)",
              op, (int)d, ndim, n, n);
    return d > 0 ? (int)d - 1 : n + (int)d;
}

static int64_t check_size_value(lua_State *L, int idx, const char *op) {
    int isint;
    lua_Integer v = lua_tointegerx(L, idx, &isint);
    if (!isint) {
        if (lua_type(L, idx) == LUA_TNUMBER)
            luaL_error(L, "%s: size %s is not a whole number", op, lua_tostring(L, idx));
        luaL_error(L, "%s: sizes must be numbers, got %s", op, luaL_typename(L, idx));
    }
    if (v < -1) luaL_error(L, "%s: size %d is negative", op, (int)v);
    return v;
}

int repl_check_sizes(lua_State *L, int idx, int64_t *sizes, const char *op) {
    idx = lua_absindex(L, idx);
    int t = lua_type(L, idx);
    if (t == LUA_TTABLE || luaL_testudata(L, idx, REPL_SHAPE_MT)) {
        lua_Integer n = luaL_len(L, idx);     // honours the shape's __len / __index
        if (n > TENSOR_MAX_DIMS) luaL_error(L, "%s: %d dims given; nnlab tensors have at most %d", op, (int)n, TENSOR_MAX_DIMS);
        for (int i = 0; i < n; i++) {
            lua_geti(L, idx, i + 1);
            sizes[i] = check_size_value(L, -1, op);
            lua_pop(L, 1);
        }
        return (int)n;
    }
    int n = 0;
    while (lua_type(L, idx + n) == LUA_TNUMBER) {
        if (n == TENSOR_MAX_DIMS) luaL_error(L, "%s: more than %d dims given; nnlab tensors have at most %d", op, TENSOR_MAX_DIMS, TENSOR_MAX_DIMS);
        sizes[n] = check_size_value(L, idx + n, op);
        n++;
    }
    if (n == 0 && !lua_isnoneornil(L, idx))
        luaL_error(L, "%s: sizes must be numbers, a table {2,3} or a shape, got %s", op, luaL_typename(L, idx));
    return n;
}

// The C function running, as the learner called it ("tensor.randn", "x:to"),
// for messages that must name it.
static const char *current_function(lua_State *L) {
    lua_Debug ar;
    if (!lua_getstack(L, 0, &ar) || !lua_getinfo(L, "n", &ar) || !ar.name) return "device";
    return lua_pushfstring(L, "%s%s", strcmp(ar.namewhat, "method") == 0 ? "x:" : "tensor.", ar.name);
}

static tensor_device check_device_name(lua_State *L, int idx) {
    const char *name = lua_tostring(L, idx);
    tensor_device d;
    if (!name)
        luaL_error(L, "%s: device must be a string (\"cpu\", \"cuda\" or \"meta\"), got %s", current_function(L),
                   luaL_typename(L, idx));
    if (tensor_parse_device(name, &d) != 0) {
        if (!strncmp(name, "cuda:", 5))   // cuda:N says what is wrong with N
            luaL_error(L, "%s: %s", current_function(L), tensor_last_error());
        luaL_error(L, "%s: unknown device '%s' (use \"cpu\", \"cuda\" or \"meta\")", current_function(L), name);
    }
    return d;
}

tensor_device repl_opt_device(lua_State *L, int idx) {
    if (lua_type(L, idx) == LUA_TSTRING) return check_device_name(L, idx);
    if (!lua_istable(L, idx)) return default_device;
    tensor_device d = default_device;
    if (lua_getfield(L, idx, "device") != LUA_TNIL) d = check_device_name(L, -1);
    lua_pop(L, 1);
    return d;
}

// The trailing options table of a creation call: a table that is not the only
// argument, or one with a device field ({2,3} alone is a sizes table).
static int opts_index(lua_State *L) {
    int top = lua_gettop(L);
    if (top == 0 || !lua_istable(L, top)) return 0;
    if (top > 1) return top;
    int has = lua_getfield(L, top, "device") != LUA_TNIL;
    lua_pop(L, 1);
    return has ? top : 0;
}

static float check_float(lua_State *L, int idx, const char *op, const char *what) {
    int isnum;
    lua_Number v = lua_tonumberx(L, idx, &isnum);
    if (!isnum) luaL_error(L, "%s: %s must be a number, got %s", op, what, luaL_typename(L, idx));
    return (float)v;
}

// A 1-based index into a dim of size n (negative from the end) -> 0-based.
static int64_t check_index(lua_State *L, int idx, const char *op, int dim, int64_t n) {
    lua_Integer i = luaL_checkinteger(L, idx);
    lua_Integer c = i > 0 ? i - 1 : n + i;
    if (i == 0 || c < 0 || c >= n) {
        if (n == 0) luaL_error(L, "%s: index %d is out of range: dim %d is empty", op, (int)i, dim + 1);
        luaL_error(L, "%s: index %d is out of range for dim %d of size %d (indices are 1-based: 1..%d, or -%d..-1 from the end)",
              op, (int)i, dim + 1, (int)n, (int)n, (int)n);
    }
    return c;
}

static tensor *release_and(tensor *drop, tensor *keep) {
    tensor_release(drop);
    return keep;
}

// C index results are 0-based; Lua shows them 1-based.
static tensor *one_based(tensor *idx) {
    return idx ? release_and(idx, tensor_add_scalar(idx, 1.0f)) : NULL;
}

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
    int oi = opts_index(L);
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
    float v = check_float(L, 2, "tensor.full", "value");
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
    const tensor_backend *b = tensor_backend_for(TENSOR_CUDA);
    if (!b) return repl_tensor_error(L);
    int64_t allocated = 0, cached = 0;
    if (b->memory_stats && b->memory_stats(&allocated, &cached) != 0) return repl_tensor_error(L);
    lua_createtable(L, 0, 2);
    set_int(L, "allocated", allocated);
    set_int(L, "cached", cached);
    return 1;
}

static int l_cuda_empty_cache(lua_State *L) {
    const tensor_backend *b = tensor_backend_for(TENSOR_CUDA);
    if (!b) return repl_tensor_error(L);
    if (b->empty_cache) b->empty_cache();
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

// ---- elementwise: tables of {name, C function} and one dispatcher each ----------------
typedef tensor *(*unary_fn)(tensor *);
typedef struct { const char *name; unary_fn fn; } unary_op;
static const unary_op unary_ops[] = {
    {"neg", tensor_neg}, {"exp", tensor_exp}, {"log", tensor_log}, {"sqrt", tensor_sqrt},
    {"abs", tensor_abs}, {"relu", tensor_relu}, {"sigmoid", tensor_sigmoid}, {"tanh", tensor_tanh},
    {"gelu", tensor_gelu}, {"sin", tensor_sin}, {"cos", tensor_cos}, {"norm", tensor_norm},
    {"contiguous", tensor_contiguous}, {"clone", tensor_clone}, {"detach", tensor_detach},
    {"t", tensor_t},
};

static int l_unary(lua_State *L) {
    const unary_op *op = lua_touserdata(L, lua_upvalueindex(1));
    return repl_push_tensor(L, op->fn(repl_check_tensor(L, 1)));
}

static tensor *sub_s(tensor *a, float s) { return tensor_add_scalar(a, -s); }
static tensor *div_s(tensor *a, float s) { return tensor_div_scalar(a, s); }
static tensor *s_add(float s, tensor *a) { return tensor_add_scalar(a, s); }
static tensor *s_mul(float s, tensor *a) { return tensor_mul_scalar(a, s); }

typedef struct {
    const char *name;
    tensor *(*fn)(tensor *, tensor *);
    tensor *(*right)(tensor *, float);      // a op s; NULL: s becomes a 0-d tensor
    tensor *(*left)(float, tensor *);       // s op a
    int cmp, cmp_flipped;                   // comparisons: tensor_cmp, and for s op a
} binary_op;

enum { NOT_CMP = -1 };
static const binary_op binary_ops[] = {
    {"add", tensor_add, tensor_add_scalar, s_add, NOT_CMP, NOT_CMP},
    {"sub", tensor_sub, sub_s, tensor_rsub_scalar, NOT_CMP, NOT_CMP},
    {"mul", tensor_mul, tensor_mul_scalar, s_mul, NOT_CMP, NOT_CMP},
    {"div", tensor_div, div_s, tensor_rdiv_scalar, NOT_CMP, NOT_CMP},
    {"pow", tensor_pow, tensor_pow_scalar, NULL, NOT_CMP, NOT_CMP},
    {"maximum", tensor_maximum, NULL, NULL, NOT_CMP, NOT_CMP},
    {"minimum", tensor_minimum, NULL, NULL, NOT_CMP, NOT_CMP},
    {"eq", NULL, NULL, NULL, TENSOR_EQ, TENSOR_EQ},
    {"ne", NULL, NULL, NULL, TENSOR_NE, TENSOR_NE},
    {"lt", NULL, NULL, NULL, TENSOR_LT, TENSOR_GT},
    {"le", NULL, NULL, NULL, TENSOR_LE, TENSOR_GE},
    {"gt", NULL, NULL, NULL, TENSOR_GT, TENSOR_LT},
    {"ge", NULL, NULL, NULL, TENSOR_GE, TENSOR_LE},
};
#define BIN_ADD 0
#define BIN_SUB 1
#define BIN_MUL 2
#define BIN_DIV 3
#define BIN_POW 4

static tensor *binary_tt(const binary_op *op, tensor *a, tensor *b) {
    return op->cmp == NOT_CMP ? op->fn(a, b) : tensor_compare(a, b, (tensor_cmp)op->cmp);
}

// t op s (or s op t when flipped) with s a number
static tensor *binary_ts(const binary_op *op, tensor *t, float s, int flipped) {
    if (op->cmp != NOT_CMP) return tensor_compare_scalar(t, s, (tensor_cmp)(flipped ? op->cmp_flipped : op->cmp));
    if (!flipped && op->right) return op->right(t, s);
    if (flipped && op->left) return op->left(s, t);
    tensor *st = tensor_scalar(s, t->storage->device);
    if (!st) return NULL;
    return release_and(st, flipped ? op->fn(st, t) : op->fn(t, st));
}

static int l_binary(lua_State *L) {
    const binary_op *op = lua_touserdata(L, lua_upvalueindex(1));
    tensor *a = repl_test_tensor(L, 1), *b = repl_test_tensor(L, 2);
    if (a && b) return repl_push_tensor(L, binary_tt(op, a, b));
    int num = a ? 2 : 1;
    if (!(a || b) || lua_type(L, num) != LUA_TNUMBER) {
        static const char *symbols[] = {"+", "-", "*", "/", "^"};
        const char *sym = op - binary_ops <= BIN_POW ? symbols[op - binary_ops] : NULL;
        const char *fix = "";
        if (lua_type(L, num) == LUA_TSTRING && lua_isnumber(L, num))    // "2": a number in quotes
            fix = lua_pushfstring(L, "; write %s without quotes, or tonumber(\"%s\")", lua_tostring(L, num),
                                  lua_tostring(L, num));
        luaL_error(L, "tensor.%s%s%s%s: expected tensors or numbers, got %s and %s%s", op->name,
                   sym ? "(a " : "", sym ? sym : "", sym ? " b)" : "", repl_describe(L, 1), repl_describe(L, 2), fix);
    }
    return repl_push_tensor(L, binary_ts(op, a ? a : b, (float)lua_tonumber(L, num), a == NULL));
}

// ---- reductions -------------------------------------------------------------------------
typedef tensor *(*reduce_fn)(tensor *, int, int);
typedef struct {
    const char *name;      // "tensor.sum", for messages
    reduce_fn fn;
    reduce_fn arg;         // max/min: with a dim also return (1-based) indices
    int index;             // result is an index: shift it to 1-based
} reduce_op;
static const reduce_op reduce_ops[] = {
    {"tensor.sum", tensor_sum, NULL, 0}, {"tensor.mean", tensor_mean, NULL, 0},
    {"tensor.max", tensor_max, tensor_argmax, 0}, {"tensor.min", tensor_min, tensor_argmin, 0},
    {"tensor.argmax", tensor_argmax, NULL, 1}, {"tensor.argmin", tensor_argmin, NULL, 1},
};

static int l_reduce(lua_State *L) {
    const reduce_op *op = lua_touserdata(L, lua_upvalueindex(1));
    tensor *a = repl_check_tensor(L, 1);
    if (op->arg) {                       // tensor.max(a, b) is the elementwise maximum
        tensor *b = repl_test_tensor(L, 2);
        if (b) return repl_push_tensor(L, op->fn == tensor_max ? tensor_maximum(a, b) : tensor_minimum(a, b));
    }
    int has_dim = !lua_isnoneornil(L, 2);
    int dim = has_dim ? repl_check_dim(L, 2, op->name, a->ndim, 0) : TENSOR_ALL_DIMS;
    int keep = lua_toboolean(L, 3);
    tensor *r = op->fn(a, dim, keep);
    repl_push_tensor(L, op->index ? one_based(r) : r);
    if (!op->arg || !has_dim) return 1;
    return 1 + repl_push_tensor(L, one_based(op->arg(a, dim, keep)));
}

static int l_var(lua_State *L) {
    int is_std = (int)lua_tointeger(L, lua_upvalueindex(1));
    const char *name = is_std ? "tensor.std" : "tensor.var";
    tensor *a = repl_check_tensor(L, 1);
    int dim = lua_isnoneornil(L, 2) ? TENSOR_ALL_DIMS : repl_check_dim(L, 2, name, a->ndim, 0);
    int keep = lua_toboolean(L, 3);
    int unbiased = lua_isnoneornil(L, 4) ? 1 : lua_toboolean(L, 4);
    return repl_push_tensor(L, (is_std ? tensor_std : tensor_var)(a, dim, keep, unbiased));
}

// ---- methods ------------------------------------------------------------------------
static int m_shape(lua_State *L) {
    tensor *t = repl_check_tensor(L, 1);
    repl_push_shape(L, t->ndim, t->size);
    return 1;
}

static int m_size(lua_State *L) {
    tensor *t = repl_check_tensor(L, 1);
    if (lua_isnoneornil(L, 2)) return m_shape(L);
    lua_pushinteger(L, t->size[repl_check_dim(L, 2, "tensor.size", t->ndim, 0)]);
    return 1;
}

static int m_dim(lua_State *L) {
    lua_pushinteger(L, repl_check_tensor(L, 1)->ndim);
    return 1;
}

static int m_numel(lua_State *L) {
    lua_pushinteger(L, tensor_numel(repl_check_tensor(L, 1)));
    return 1;
}

static int m_item(lua_State *L) {
    float v;
    if (tensor_item(repl_check_tensor(L, 1), &v) != 0) return repl_tensor_error(L);
    lua_pushnumber(L, v);
    return 1;
}

static const float *push_list(lua_State *L, const tensor *t, int depth, const float *p) {
    if (depth == t->ndim) {
        lua_pushnumber(L, *p);
        return p + 1;
    }
    lua_createtable(L, (int)t->size[depth], 0);
    for (int64_t i = 0; i < t->size[depth]; i++) {
        p = push_list(L, t, depth + 1, p);
        lua_rawseti(L, -2, i + 1);
    }
    return p;
}

static int m_tolist(lua_State *L) {
    tensor *t = repl_check_tensor(L, 1);
    if (t->storage->device == TENSOR_META)
        luaL_error(L, "tensor.tolist: a meta tensor has no values (it only has a shape)");
    float *host = tensor_to_host(t);
    if (!host) return repl_tensor_error(L);
    // copy into a Lua-owned buffer so an out-of-memory error while building cannot leak
    float *buf = lua_newuserdatauv(L, sizeof(float) * (size_t)(tensor_numel(t) + 1), 0);
    memcpy(buf, host, sizeof(float) * (size_t)tensor_numel(t));
    free(host);
    push_list(L, t, 0, buf);
    return 1;
}

static int m_device(lua_State *L) {
    lua_pushstring(L, tensor_device_name(repl_check_tensor(L, 1)->storage->device));
    return 1;
}

static int m_to(lua_State *L) {
    tensor *t = repl_check_tensor(L, 1);
    if (lua_isnoneornil(L, 2)) luaL_error(L, "tensor.to: give a device: x:to(\"cuda\"), x:to(\"cpu\") or x:to(\"meta\")");
    return repl_push_tensor(L, tensor_to(t, repl_opt_device(L, 2)));
}

static int m_to_fixed(lua_State *L) {       // x:cuda(), x:cpu()
    tensor_device d = (tensor_device)lua_tointeger(L, lua_upvalueindex(1));
    return repl_push_tensor(L, tensor_to(repl_check_tensor(L, 1), d));
}

static int m_view(lua_State *L) {
    int reshape = (int)lua_tointeger(L, lua_upvalueindex(1));
    tensor *t = repl_check_tensor(L, 1);
    int64_t sizes[TENSOR_MAX_DIMS];
    int n = repl_check_sizes(L, 2, sizes, reshape ? "tensor.reshape" : "tensor.view");
    return repl_push_tensor(L, reshape ? tensor_reshape(t, n, sizes) : tensor_view(t, n, sizes));
}

static int m_expand(lua_State *L) {
    tensor *t = repl_check_tensor(L, 1);
    int64_t sizes[TENSOR_MAX_DIMS];
    int n = repl_check_sizes(L, 2, sizes, "tensor.expand");
    return repl_push_tensor(L, tensor_expand(t, n, sizes));
}

static int m_permute(lua_State *L) {
    tensor *t = repl_check_tensor(L, 1);
    int dims[TENSOR_MAX_DIMS], n = 0;
    int from_table = lua_istable(L, 2);
    if (from_table) lua_settop(L, 2);
    int count = from_table ? (int)lua_rawlen(L, 2) : lua_gettop(L) - 1;
    if (count != t->ndim)
        luaL_error(L, "tensor.permute: got %d dims for a %d-d tensor; list each of its %d dims once",
              count, t->ndim, t->ndim);
    for (int i = 0; i < count; i++) {
        int idx = 2 + i;
        if (from_table) {
            lua_rawgeti(L, 2, i + 1);
            idx = lua_gettop(L);
        }
        dims[n++] = repl_check_dim(L, idx, "tensor.permute", t->ndim, 0);
        if (from_table) lua_pop(L, 1);
    }
    return repl_push_tensor(L, tensor_permute(t, dims));
}

static int m_transpose(lua_State *L) {
    tensor *t = repl_check_tensor(L, 1);
    int d0 = repl_check_dim(L, 2, "tensor.transpose", t->ndim, 0);
    int d1 = repl_check_dim(L, 3, "tensor.transpose", t->ndim, 0);
    return repl_push_tensor(L, tensor_transpose(t, d0, d1));
}

static int m_narrow(lua_State *L) {
    tensor *t = repl_check_tensor(L, 1);
    int dim = repl_check_dim(L, 2, "tensor.narrow", t->ndim, 0);
    lua_Integer start = luaL_checkinteger(L, 3), len = luaL_checkinteger(L, 4);
    int64_t n = t->size[dim];
    lua_Integer c = start > 0 ? start - 1 : n + start;
    if (start == 0 || c < 0 || c > n)
        luaL_error(L, "tensor.narrow: start %d is out of range for dim %d of size %d (starts are 1-based: 1..%d)",
              (int)start, dim + 1, (int)n, (int)n);
    if (len < 0 || c + len > n)
        luaL_error(L, "tensor.narrow: start %d with length %d runs past the end of dim %d (size %d)",
              (int)start, (int)len, dim + 1, (int)n);
    return repl_push_tensor(L, tensor_narrow(t, dim, c, len));
}

static int m_select(lua_State *L) {
    tensor *t = repl_check_tensor(L, 1);
    int dim = repl_check_dim(L, 2, "tensor.select", t->ndim, 0);
    return repl_push_tensor(L, tensor_select(t, dim, check_index(L, 3, "tensor.select", dim, t->size[dim])));
}

static int m_unsqueeze(lua_State *L) {
    tensor *t = repl_check_tensor(L, 1);
    return repl_push_tensor(L, tensor_unsqueeze(t, repl_check_dim(L, 2, "tensor.unsqueeze", t->ndim, 1)));
}

static int m_squeeze(lua_State *L) {
    tensor *t = repl_check_tensor(L, 1);
    int dim = lua_isnoneornil(L, 2) ? TENSOR_ALL_DIMS : repl_check_dim(L, 2, "tensor.squeeze", t->ndim, 0);
    return repl_push_tensor(L, tensor_squeeze(t, dim));
}

static int m_flatten(lua_State *L) {
    tensor *t = repl_check_tensor(L, 1);
    if (t->ndim == 0) {
        int64_t one = 1;
        return repl_push_tensor(L, tensor_reshape(t, 1, &one));
    }
    int s = lua_isnoneornil(L, 2) ? 0 : repl_check_dim(L, 2, "tensor.flatten", t->ndim, 0);
    int e = lua_isnoneornil(L, 3) ? t->ndim - 1 : repl_check_dim(L, 3, "tensor.flatten", t->ndim, 0);
    return repl_push_tensor(L, tensor_flatten(t, s, e));
}

static int m_is_contiguous(lua_State *L) {
    lua_pushboolean(L, tensor_is_contiguous(repl_check_tensor(L, 1)));
    return 1;
}

static int m_copy(lua_State *L) {
    tensor *t = repl_check_tensor(L, 1);
    int rc = lua_type(L, 2) == LUA_TNUMBER ? tensor_fill_(t, (float)lua_tonumber(L, 2))
                                           : tensor_copy_(t, repl_check_tensor(L, 2));
    if (rc != 0) return repl_tensor_error(L);
    lua_settop(L, 1);
    return 1;
}

static int m_fill(lua_State *L) {
    tensor *t = repl_check_tensor(L, 1);
    if (tensor_fill_(t, check_float(L, 2, "tensor.fill", "the value")) != 0) return repl_tensor_error(L);
    lua_settop(L, 1);
    return 1;
}

static int m_zero(lua_State *L) {
    if (tensor_zero_(repl_check_tensor(L, 1)) != 0) return repl_tensor_error(L);
    lua_settop(L, 1);
    return 1;
}

static int m_clamp(lua_State *L) {
    tensor *t = repl_check_tensor(L, 1);
    float lo = lua_isnoneornil(L, 2) ? -INFINITY : check_float(L, 2, "tensor.clamp", "lo");
    float hi = lua_isnoneornil(L, 3) ? INFINITY : check_float(L, 3, "tensor.clamp", "hi");
    return repl_push_tensor(L, tensor_clamp(t, lo, hi));
}

static int m_matmul(lua_State *L) {
    return repl_push_tensor(L, tensor_matmul(repl_check_tensor(L, 1), repl_check_tensor(L, 2)));
}

static int m_softmax(lua_State *L) {
    int log = (int)lua_tointeger(L, lua_upvalueindex(1));
    const char *name = log ? "tensor.log_softmax" : "tensor.softmax";
    tensor *t = repl_check_tensor(L, 1);
    int dim = lua_isnoneornil(L, 2) ? t->ndim - 1 : repl_check_dim(L, 2, name, t->ndim, 0);
    return repl_push_tensor(L, log ? tensor_log_softmax(t, dim) : tensor_softmax(t, dim));
}

// x:gather(dim, idx) / x:index_select(dim, idx): idx is 1-based in Lua
static int m_indexing(lua_State *L) {
    int select = (int)lua_tointeger(L, lua_upvalueindex(1));
    const char *name = select ? "tensor.index_select" : "tensor.gather";
    tensor *t = repl_check_tensor(L, 1);
    int dim = repl_check_dim(L, 2, name, t->ndim, 0);
    tensor *idx = tensor_add_scalar(repl_check_tensor(L, 3), -1.0f);
    if (!idx) return repl_tensor_error(L);
    tensor *r = select ? tensor_index_select(t, dim, idx) : tensor_gather(t, dim, idx);
    tensor_release(idx);
    return repl_push_tensor(L, r);
}

static int m_requires_grad(lua_State *L) {
    tensor *t = repl_check_tensor(L, 1);
    int on = lua_isnoneornil(L, 2) ? 1 : lua_toboolean(L, 2);
    if (!tensor_requires_grad_(t, on)) return repl_tensor_error(L);
    lua_settop(L, 1);
    return 1;
}

static int m_backward(lua_State *L) {
    tensor *t = repl_check_tensor(L, 1);
    tensor *g = lua_isnoneornil(L, 2) ? NULL : repl_check_tensor(L, 2);
    if (tensor_backward(t, g) != 0) return repl_tensor_error(L);
    if (repl_dash_watching) repl_dash_note_backward(L, t);
    return 0;
}

static int m_zero_grad(lua_State *L) {
    tensor_zero_grad(repl_check_tensor(L, 1));
    return 0;
}

static int m_tostring(lua_State *L) {
    repl_push_tensor_string(L, repl_check_tensor(L, 1));
    return 1;
}

static int m_len(lua_State *L) {
    tensor *t = repl_check_tensor(L, 1);
    if (t->ndim == 0) luaL_error(L, "#x: a 0-d tensor has no length (use x:item() for its value)");
    lua_pushinteger(L, t->size[0]);
    return 1;
}

static const luaL_Reg plain_methods[] = {
    {"shape", m_shape}, {"size", m_size}, {"dim", m_dim}, {"numel", m_numel}, {"item", m_item},
    {"tolist", m_tolist}, {"device", m_device}, {"to", m_to}, {"expand", m_expand},
    {"permute", m_permute}, {"transpose", m_transpose}, {"narrow", m_narrow}, {"select", m_select},
    {"unsqueeze", m_unsqueeze}, {"squeeze", m_squeeze}, {"flatten", m_flatten},
    {"is_contiguous", m_is_contiguous}, {"copy", m_copy}, {"fill", m_fill}, {"zero", m_zero},
    {"clamp", m_clamp}, {"matmul", m_matmul}, {"requires_grad", m_requires_grad},
    {"backward", m_backward}, {"zero_grad", m_zero_grad}, {NULL, NULL}};

// methods that differ only by an integer flag in their upvalue
static const struct { const char *name; lua_CFunction fn; int flag; } flag_methods[] = {
    {"view", m_view, 0}, {"reshape", m_view, 1}, {"softmax", m_softmax, 0},
    {"log_softmax", m_softmax, 1}, {"gather", m_indexing, 0}, {"index_select", m_indexing, 1},
    {"var", l_var, 0}, {"std", l_var, 1}, {"cuda", m_to_fixed, TENSOR_CUDA},
    {"cpu", m_to_fixed, TENSOR_CPU},
};

// ---- __index / __newindex ----------------------------------------------------------------
// x.grad gives the same userdata while the gradient is the same tensor, so x.grad ==
// x.grad and it can key a table: a weak-valued registry table, gradient -> userdata.
static const char grad_cache_key = 0;

static int push_grad(lua_State *L, tensor *g) {
    if (lua_rawgetp(L, LUA_REGISTRYINDEX, &grad_cache_key) != LUA_TTABLE) {
        lua_pop(L, 1);
        lua_newtable(L);
        lua_pushliteral(L, "v");
        lua_setfield(L, -2, "__mode");
        lua_pushvalue(L, -1);
        lua_setmetatable(L, -2);            // its own metatable: weak values
        lua_pushvalue(L, -1);
        lua_rawsetp(L, LUA_REGISTRYINDEX, &grad_cache_key);
    }
    if (lua_rawgetp(L, -1, g) == LUA_TUSERDATA && repl_test_tensor(L, -1) == g) {
        lua_remove(L, -2);
        return 1;
    }
    lua_pop(L, 1);
    repl_push_tensor(L, tensor_retain(g));
    lua_pushvalue(L, -1);
    lua_rawsetp(L, -3, g);
    lua_remove(L, -2);
    return 1;
}

static int t_index(lua_State *L) {
    if (lua_type(L, 2) == LUA_TSTRING) {
        lua_pushvalue(L, 2);
        if (lua_rawget(L, lua_upvalueindex(1)) != LUA_TNIL) return 1;   // a method
        tensor *t = repl_check_tensor(L, 1);
        const char *k = lua_tostring(L, 2);
        if (strcmp(k, "grad") == 0) {
            if (t->grad) return push_grad(L, t->grad);
            lua_pushnil(L);
        } else if (strcmp(k, "requires_grad_flag") == 0) lua_pushboolean(L, t->requires_grad);
        else if (strcmp(k, "is_leaf") == 0) lua_pushboolean(L, t->grad_fn == NULL);
        else lua_pushnil(L);
        return 1;
    }
    tensor *t = repl_check_tensor(L, 1);
    if (lua_type(L, 2) != LUA_TNUMBER) luaL_error(L, "tensor index must be a number or a method name, got %s", luaL_typename(L, 2));
    if (t->ndim == 0) luaL_error(L, "x[i]: a 0-d tensor cannot be indexed (use x:item())");
    return repl_push_tensor(L, tensor_select(t, 0, check_index(L, 2, "x[i]", 0, t->size[0])));
}

static int t_newindex(lua_State *L) {
    tensor *t = repl_check_tensor(L, 1);
    if (lua_type(L, 2) == LUA_TNUMBER) {        // x[i] = v: writes into the row, in place
        if (t->ndim == 0) luaL_error(L, "x[i] = v: a 0-d tensor cannot be indexed (use x:fill(v))");
        tensor *row = tensor_select(t, 0, check_index(L, 2, "x[i] = v", 0, t->size[0]));
        if (!row) return repl_tensor_error(L);
        tensor *src = lua_type(L, 3) == LUA_TNUMBER ? NULL : repl_test_tensor(L, 3);
        if (!src && lua_type(L, 3) != LUA_TNUMBER) {
            tensor_release(row);
            luaL_error(L, "x[i] = v: v must be a number or a tensor, got %s", luaL_typename(L, 3));
        }
        int rc = src ? tensor_copy_(row, src) : tensor_fill_(row, (float)lua_tonumber(L, 3));
        tensor_release(row);
        return rc != 0 ? repl_tensor_error(L) : 0;
    }
    const char *k = lua_tostring(L, 2);
    if (k && strcmp(k, "grad") == 0) {
        if (lua_isnil(L, 3)) {
            tensor_zero_grad(t);
            return 0;
        }
        tensor *g = repl_test_tensor(L, 3);
        if (!g) luaL_error(L, "x.grad = v: v must be nil or a tensor, got %s", luaL_typename(L, 3));
        if (g->ndim != t->ndim || memcmp(g->size, t->size, sizeof(int64_t) * (size_t)t->ndim) != 0) {
            char a[TENSOR_MAX_DIMS * 22 + 4], b[TENSOR_MAX_DIMS * 22 + 4];
            luaL_error(L, "x.grad = v: v has shape %s but x has %s", tensor_shape_str(a, sizeof a, g),
                       tensor_shape_str(b, sizeof b, t));
        }
        tensor_retain(g);
        tensor_release(t->grad);
        t->grad = g;
        return 0;
    }
    return luaL_error(L, "cannot set field '%s' on a tensor (only x.grad = nil and x[i] = v are allowed)",
                 k ? k : luaL_typename(L, 2));
}

// ---- opening ------------------------------------------------------------------------------
#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

// methods table at the top of the stack; also the functional forms tensor.exp(x), ...
static void register_methods(lua_State *L) {
    luaL_setfuncs(L, plain_methods, 0);
    for (size_t i = 0; i < COUNT(unary_ops); i++) {
        lua_pushlightuserdata(L, (void *)&unary_ops[i]);
        lua_pushcclosure(L, l_unary, 1);
        lua_setfield(L, -2, unary_ops[i].name);
    }
    for (size_t i = 0; i < COUNT(binary_ops); i++) {
        lua_pushlightuserdata(L, (void *)&binary_ops[i]);
        lua_pushcclosure(L, l_binary, 1);
        lua_setfield(L, -2, binary_ops[i].name);
    }
    for (size_t i = 0; i < COUNT(reduce_ops); i++) {
        lua_pushlightuserdata(L, (void *)&reduce_ops[i]);
        lua_pushcclosure(L, l_reduce, 1);
        lua_setfield(L, -2, reduce_ops[i].name + strlen("tensor."));
    }
    for (size_t i = 0; i < COUNT(flag_methods); i++) {
        lua_pushinteger(L, flag_methods[i].flag);
        lua_pushcclosure(L, flag_methods[i].fn, 1);
        lua_setfield(L, -2, flag_methods[i].name);
    }
}

// the operators: {metamethod, binary op or -1 for unary minus}
static const struct { const char *event; int op; } operators[] = {
    {"__add", BIN_ADD}, {"__sub", BIN_SUB}, {"__mul", BIN_MUL}, {"__div", BIN_DIV}, {"__pow", BIN_POW},
};

int repl_open_tensor(lua_State *L) {
    // methods
    lua_newtable(L);
    register_methods(L);
    int methods = lua_gettop(L);

    // the metatable
    luaL_newmetatable(L, REPL_TENSOR_MT);
    lua_pushvalue(L, -1);
    lua_rawsetp(L, LUA_REGISTRYINDEX, &tensor_mt_key);
    lua_pushvalue(L, methods);
    lua_pushcclosure(L, t_index, 1);
    lua_setfield(L, -2, "__index");
    static const luaL_Reg meta[] = {
        {"__newindex", t_newindex}, {"__gc", t_gc}, {"__tostring", m_tostring}, {"__len", m_len},
        {NULL, NULL}};
    luaL_setfuncs(L, meta, 0);
    for (size_t i = 0; i < COUNT(operators); i++) {
        lua_pushlightuserdata(L, (void *)&binary_ops[operators[i].op]);
        lua_pushcclosure(L, l_binary, 1);
        lua_setfield(L, -2, operators[i].event);
    }
    lua_pushlightuserdata(L, (void *)&unary_ops[0]);     // neg
    lua_pushcclosure(L, l_unary, 1);
    lua_setfield(L, -2, "__unm");
    lua_pop(L, 1);

    // the `tensor` table: functional forms of the methods, then the creation functions
    lua_newtable(L);
    lua_pushnil(L);
    while (lua_next(L, methods)) {
        lua_pushvalue(L, -2);
        lua_insert(L, -2);
        lua_rawset(L, -4);
    }
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
        {"cuda_available", l_cuda_available}, {"cuda_memory", l_cuda_memory},
        {"set_default_device", l_set_default_device}, {"default_device", l_default_device},
        {"cuda_empty_cache", l_cuda_empty_cache}, {NULL, NULL}};
    luaL_setfuncs(L, funcs, 0);
    for (int stack = 0; stack <= 1; stack++) {
        lua_pushinteger(L, stack);
        lua_pushcclosure(L, l_join, 1);
        lua_setfield(L, -2, stack ? "stack" : "cat");
    }
    lua_createtable(L, 0, 1);
    lua_pushcfunction(L, l_tensor_call);
    lua_setfield(L, -2, "__call");
    lua_setmetatable(L, -2);

    lua_pushvalue(L, -1);
    lua_setglobal(L, "tensor");
    repl_open_cuda(L);
    lua_remove(L, methods);
    return 1;
}
