// lua_args.c - reading Lua arguments into C terms: 1-based dims and indices to 0-based,
// sizes, devices, numbers. Every conversion of a learner's number to the C library's
// convention happens here, and each error names the op and the valid range.
#include <math.h>
#include <string.h>
#include "repl.h"

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
const char *repl_current_function(lua_State *L) {
    lua_Debug ar;
    if (!lua_getstack(L, 0, &ar) || !lua_getinfo(L, "n", &ar) || !ar.name) return "device";
    return lua_pushfstring(L, "%s%s", strcmp(ar.namewhat, "method") == 0 ? "x:" : "tensor.", ar.name);
}

tensor_device repl_check_device_name(lua_State *L, int idx) {
    const char *name = lua_tostring(L, idx);
    tensor_device d;
    if (!name)
        luaL_error(L, "%s: device must be a string (\"cpu\", \"cuda\" or \"meta\"), got %s", repl_current_function(L),
                   luaL_typename(L, idx));
    if (tensor_parse_device(name, &d) != 0) {
        if (!strncmp(name, "cuda:", 5))   // cuda:N says what is wrong with N
            luaL_error(L, "%s: %s", repl_current_function(L), repl_last_error((char[1024]){0}, 1024));
        luaL_error(L, "%s: unknown device '%s' (use \"cpu\", \"cuda\" or \"meta\")", repl_current_function(L), name);
    }
    return d;
}

// Raises for a key of the options table at idx that valid (NULL-terminated) lacks, worded
// by nn/lua/check.lua (the closest valid key, then all of them), at the Lua caller's line.
void repl_check_options(lua_State *L, int idx, const char *what, const char *const *valid) {
    idx = lua_absindex(L, idx);
    if (!lua_istable(L, idx)) return;
    lua_pushnil(L);
    int unknown = 0;
    while (!unknown && lua_next(L, idx)) {
        lua_pop(L, 1);
        unknown = 1;
        for (const char *const *v = valid; *v; v++)
            if (lua_type(L, -1) == LUA_TSTRING && strcmp(lua_tostring(L, -1), *v) == 0) unknown = 0;
        if (unknown) lua_pop(L, 1);
    }
    if (!unknown) return;
    repl_require_embedded(L, "nn.check");
    lua_getfield(L, -1, "check_options");
    lua_pushstring(L, what);
    lua_pushvalue(L, idx);
    lua_newtable(L);
    for (int i = 0; valid[i]; i++) {
        lua_pushstring(L, valid[i]);
        lua_rawseti(L, -2, i + 1);
    }
    lua_pushinteger(L, 2);                 // 1 check_options, 2 this C function, 3 its caller
    lua_call(L, 4, 0);
}

tensor_device repl_opt_device(lua_State *L, int idx) {
    if (lua_type(L, idx) == LUA_TSTRING) return repl_check_device_name(L, idx);
    if (!lua_istable(L, idx)) return repl_default_device();
    static const char *const valid[] = {"device", NULL};
    int top = lua_gettop(L);
    repl_check_options(L, idx, repl_current_function(L), valid);
    lua_settop(L, top);                    // the function name, when one was pushed
    tensor_device d = repl_default_device();
    if (lua_getfield(L, idx, "device") != LUA_TNIL) d = repl_check_device_name(L, -1);
    lua_pop(L, 1);
    return d;
}

// The trailing options table of a creation call: a table that is not the only
// argument, or one with a device field ({2,3} alone is a sizes table).
int repl_opts_index(lua_State *L) {
    int top = lua_gettop(L);
    if (top == 0 || !lua_istable(L, top)) return 0;
    if (top > 1) return top;
    int has = lua_getfield(L, top, "device") != LUA_TNIL;
    lua_pop(L, 1);
    return has ? top : 0;
}

float repl_check_float(lua_State *L, int idx, const char *op, const char *what) {
    int isnum;
    lua_Number v = lua_tonumberx(L, idx, &isnum);
    if (!isnum) luaL_error(L, "%s: %s must be a number, got %s", op, what, luaL_typename(L, idx));
    return (float)v;
}

// A 1-based index into a dim of size n (negative from the end) -> 0-based.
int64_t repl_check_index(lua_State *L, int idx, const char *op, int dim, int64_t n) {
    lua_Integer i = luaL_checkinteger(L, idx);
    lua_Integer c = i > 0 ? i - 1 : n + i;
    if (i == 0 || c < 0 || c >= n) {
        if (n == 0) luaL_error(L, "%s: index %d is out of range: dim %d is empty", op, (int)i, dim + 1);
        luaL_error(L, "%s: index %d is out of range for dim %d of size %d (indices are 1-based: 1..%d, or -%d..-1 from the end)",
              op, (int)i, dim + 1, (int)n, (int)n, (int)n);
    }
    return c;
}

tensor *repl_release_and(tensor *drop, tensor *keep) {
    tensor_release(drop);
    return keep;
}

// C index results are 0-based; Lua shows them 1-based.
tensor *repl_one_based(tensor *idx) {
    return idx ? repl_release_and(idx, tensor_add_scalar(idx, 1.0f)) : NULL;
}

// Entry `entry` of an index table x[{...}] (the Lua value at idx) as a 1-based index into
// dim `dim` (0-based) of size n, negative from the end -> 0-based. with_end: n + 1 is
// accepted too, as the start of an empty range {n+1, n}. Raises naming op, the entry,
// the dim, its size and the valid range.
int64_t repl_check_index_entry(lua_State *L, int idx, const char *op, int entry, int dim, int64_t n, int with_end) {
    int isint = 0;
    lua_Integer i = lua_type(L, idx) == LUA_TNUMBER ? lua_tointegerx(L, idx, &isint) : 0;   // not "1"
    if (!isint) {
        lua_Number f = lua_tonumber(L, idx);
        if (lua_type(L, idx) == LUA_TNUMBER && isfinite(f) && f == floor(f))   // whole, but past 64 bits
            luaL_error(L, "%s: entry %d is index %s, out of range for dim %d of size %I", op, entry,
                       lua_tostring(L, idx), dim + 1, (lua_Integer)n);
        if (lua_type(L, idx) == LUA_TNUMBER)
            luaL_error(L, "%s: entry %d holds %s, not a whole number (indices are integers)", op, entry,
                       lua_tostring(L, idx));
        luaL_error(L, "%s: entry %d holds %s; an index is a number (1-based, negative from the end)", op, entry,
                   repl_describe(L, idx));
    }
    lua_Integer lim = (lua_Integer)n;
    if (with_end && i == lim + 1) return n;
    if (i == 0)
        luaL_error(L, "%s: entry %d is index 0, but indices are 1-based in nnlab: dim %d of size %I takes 1..%I, "
                   "or -%I..-1 from the end", op, entry, dim + 1, (lua_Integer)n, (lua_Integer)n, (lua_Integer)n);
    if (i > lim || i < -lim) {
        if (n == 0) luaL_error(L, "%s: entry %d is index %I, but dim %d is empty (size 0); use {} for it", op, entry,
                               i, dim + 1);
        luaL_error(L, "%s: entry %d is index %I, out of range for dim %d of size %I (valid: 1..%I, or -%I..-1 "
                   "from the end)", op, entry, i, dim + 1, (lua_Integer)n, (lua_Integer)n, (lua_Integer)n);
    }
    return i > 0 ? (int64_t)i - 1 : (int64_t)n + (int64_t)i;
}
