// lua_tensor.c - tensors as Lua values: the userdata, its GC accounting, x.grad and
// x[i], and the `tensor` global put together from lua_tensor_ops.c (methods, operators)
// and lua_tensor_new.c (creation and settings). Lua sees 1-based dims and indices; the
// C library is 0-based: lua_args.c converts every dim, start and index.
//
// Hot path (a + b on small tensors): one userdata per result, no string formatting
// unless an error is raised, metatable identity checked with one registry lookup.
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "repl.h"

static const char tensor_mt_key = 0;        // registry[&tensor_mt_key] = the metatable
static tensor_device default_device = TENSOR_CPU;

tensor_device repl_default_device(void) { return default_device; }
void repl_set_default_device(tensor_device d) { default_device = d; }

// ---- errors -----------------------------------------------------------------------
// luaL_error prefixes the calling Lua line, so messages point at the user's code.

// Raises the library's last error in the learner's words (1-based dims, Lua syntax: the
// markup of tensor.h's errors); a message that does not name its op (the allocator's
// "out of memory: ...") gets the Lua function's name in front.
const char *repl_last_error(char *buf, size_t n) {
    tensor_error_render(buf, n, tensor_last_error_raw(), TENSOR_WORDS_LUA);
    return buf;
}

int repl_tensor_error(lua_State *L) {
    char msg[1024];
    repl_last_error(msg, sizeof msg);
    // Ctrl-C inside an op ("interrupted", "backward of matmul: interrupted"): the REPL's
    // own message, as when its hook stops Lua code
    size_t len = strlen(msg);
    if (len >= 11 && strcmp(msg + len - 11, "interrupted") == 0) return luaL_error(L, "interrupted");
    if (tensor_last_error_op()) return luaL_error(L, "%s", msg);
    return luaL_error(L, "%s: %s", repl_current_function(L), msg);
}

// ---- the tensor userdata ------------------------------------------------------------
// The metatable's address, to recognise a tensor without a registry lookup (that hash
// lookup was ~140 instructions, on every tensor argument of every call). Lua's collector
// does not move tables, the registry keeps this one alive, and a process has one state.
static const void *tensor_mt_ptr;

// The slot of a tensor userdata: only one with the tensor metatable and the size of
// a tensor pointer (debug.setmetatable can put the metatable on any userdata), else
// NULL. Metamethods are plain functions a script can call with anything.
static tensor **tensor_slot(lua_State *L, int idx) {
    if (lua_type(L, idx) != LUA_TUSERDATA || !lua_getmetatable(L, idx)) return NULL;
    int same = lua_topointer(L, -1) == tensor_mt_ptr;
    lua_pop(L, 1);
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
//  - generational mode plus a young collection every GC_STEP_EVERY tensors, or once
//    GC_STEP_BYTES of tensors were made since the last one, so temporaries die while
//    they are still in cache: measured 2-3x faster small ops and a third of the peak
//    memory; a loop of 256x256 matmuls cycled its outputs through 16 MB before (0.90x
//    of sgemm called directly), through ~1 MB of L2 now. Skipped while the Lua heap is
//    large, where a step may turn into a full mark.
#define GC_MIN_GROWTH ((int64_t)16 << 20)
#define GC_STEP_EVERY 256
#define GC_STEP_BYTES ((int64_t)1 << 20)
#define GC_STEP_MAX_HEAP_KB (8 << 10)
static int64_t gc_threshold = GC_MIN_GROWTH, gc_live_at_step;
static unsigned gc_pushes;
static const char gc_tuned_key = 0;

static int64_t live_tensor_bytes(void) { return tensor_live_bytes(TENSOR_CPU) + tensor_live_bytes(TENSOR_CUDA); }

static void gc_account(lua_State *L) {
    int64_t live = live_tensor_bytes();
    // growth since the last step or the lowest point since (after big tensors die, from
    // there: else a 64K loop after a 16M op waited for 128 MB of its garbage, 3x slower)
    if (live < gc_live_at_step) gc_live_at_step = live;
    if (++gc_pushes >= GC_STEP_EVERY || live - gc_live_at_step > GC_STEP_BYTES) {
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
        gc_live_at_step = live = live_tensor_bytes();
    }
    if (live <= gc_threshold) return;
    lua_gc(L, LUA_GCCOLLECT);
    live = live_tensor_bytes();
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
    if (lua_type(L, 2) == LUA_TTABLE || repl_test_tensor(L, 2)) return repl_index_get(L);   // x[{...}], x[mask]
    tensor *t = repl_check_tensor(L, 1);
    if (lua_type(L, 2) != LUA_TNUMBER)
        luaL_error(L, "tensor index must be a number, a table x[{...}], a mask tensor or a method name, got %s",
                   repl_describe(L, 2));
    if (t->ndim == 0) luaL_error(L, "x[i]: a 0-d tensor cannot be indexed (use x:item())");
    return repl_push_tensor(L, tensor_select(t, 0, repl_check_index(L, 2, "x[i]", 0, t->size[0])));
}

static int t_newindex(lua_State *L) {
    if (lua_type(L, 2) == LUA_TTABLE || repl_test_tensor(L, 2)) return repl_index_set(L);   // x[{...}] = v
    tensor *t = repl_check_tensor(L, 1);
    if (lua_type(L, 2) == LUA_TNUMBER) {        // x[i] = v: writes into the row, in place
        if (t->ndim == 0) luaL_error(L, "x[i] = v: a 0-d tensor cannot be indexed (use x:fill(v))");
        tensor *row = tensor_select(t, 0, repl_check_index(L, 2, "x[i] = v", 0, t->size[0]));
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
int repl_open_tensor(lua_State *L) {
    // methods (lua_tensor_ops.c)
    lua_newtable(L);
    repl_tensor_methods(L);
    repl_index_methods(L);
    int methods = lua_gettop(L);

    // the metatable
    luaL_newmetatable(L, REPL_TENSOR_MT);
    tensor_mt_ptr = lua_topointer(L, -1);
    lua_pushvalue(L, -1);
    lua_rawsetp(L, LUA_REGISTRYINDEX, &tensor_mt_key);
    lua_pushvalue(L, methods);
    lua_pushcclosure(L, t_index, 1);
    lua_setfield(L, -2, "__index");
    static const luaL_Reg meta[] = {{"__newindex", t_newindex}, {"__gc", t_gc}, {NULL, NULL}};
    luaL_setfuncs(L, meta, 0);
    repl_tensor_operators(L);
    lua_pop(L, 1);

    // the `tensor` table: functional forms of the methods, then its own functions
    lua_newtable(L);
    lua_pushnil(L);
    while (lua_next(L, methods)) {
        lua_pushvalue(L, -2);
        lua_insert(L, -2);
        lua_rawset(L, -4);
    }
    repl_tensor_functions(L);
    repl_tensor_op_list(L);

    lua_pushvalue(L, -1);
    lua_setglobal(L, "tensor");
    repl_open_cuda(L);
    lua_remove(L, methods);
    return 1;
}
