// lua_shape.c - the shape value returned by x:shape(): prints as [2,3], s[i] (1-based,
// negative from the end), #s, s1 == s2, s:numel(). Read back by repl_check_sizes
// through __len/__index, so no other file needs its struct.
#include <string.h>
#include "repl.h"

typedef struct repl_shape {
    int ndim;
    int64_t size[TENSOR_MAX_DIMS];
} repl_shape;

static repl_shape *check_shape(lua_State *L, int idx) {
    return luaL_checkudata(L, idx, REPL_SHAPE_MT);
}

static int shape_numel(lua_State *L) {
    repl_shape *s = check_shape(L, 1);
    int64_t n = 1;
    for (int i = 0; i < s->ndim; i++) n *= s->size[i];
    lua_pushinteger(L, n);
    return 1;
}

static int shape_totable(lua_State *L) {
    repl_shape *s = check_shape(L, 1);
    lua_createtable(L, s->ndim, 0);
    for (int i = 0; i < s->ndim; i++) {
        lua_pushinteger(L, s->size[i]);
        lua_rawseti(L, -2, i + 1);
    }
    return 1;
}

static int shape_index(lua_State *L) {
    repl_shape *s = check_shape(L, 1);
    if (lua_type(L, 2) == LUA_TNUMBER) {
        lua_Integer i = lua_tointeger(L, 2);
        if (i < 0) i += s->ndim + 1;
        if (i >= 1 && i <= s->ndim) lua_pushinteger(L, s->size[i - 1]);
        else lua_pushnil(L);             // like a table: ipairs stops here
        return 1;
    }
    const char *k = lua_tostring(L, 2);
    if (k && strcmp(k, "numel") == 0) lua_pushcfunction(L, shape_numel);
    else if (k && strcmp(k, "totable") == 0) lua_pushcfunction(L, shape_totable);
    else lua_pushnil(L);
    return 1;
}

static int shape_len(lua_State *L) {
    lua_pushinteger(L, check_shape(L, 1)->ndim);
    return 1;
}

static int shape_eq(lua_State *L) {
    repl_shape *a = luaL_testudata(L, 1, REPL_SHAPE_MT), *b = luaL_testudata(L, 2, REPL_SHAPE_MT);
    int same = a && b && a->ndim == b->ndim &&
               memcmp(a->size, b->size, sizeof(int64_t) * (size_t)a->ndim) == 0;
    lua_pushboolean(L, same);
    return 1;
}

static int shape_tostring(lua_State *L) {
    repl_shape *s = check_shape(L, 1);
    char buf[TENSOR_MAX_DIMS * 22 + 4];
    lua_pushstring(L, tensor_sizes_str(buf, sizeof buf, s->ndim, s->size));
    return 1;
}

// "shape " .. s works like tostring
static int shape_concat(lua_State *L) {
    luaL_tolstring(L, 1, NULL);
    luaL_tolstring(L, 2, NULL);
    lua_concat(L, 2);
    return 1;
}

void repl_push_shape(lua_State *L, int ndim, const int64_t *sizes) {
    repl_shape *s = lua_newuserdatauv(L, sizeof *s, 0);
    s->ndim = ndim;
    if (ndim > 0) memcpy(s->size, sizes, sizeof(int64_t) * (size_t)ndim);
    if (luaL_newmetatable(L, REPL_SHAPE_MT)) {
        static const luaL_Reg mt[] = {
            {"__index", shape_index}, {"__len", shape_len}, {"__eq", shape_eq},
            {"__tostring", shape_tostring}, {"__concat", shape_concat}, {NULL, NULL}};
        luaL_setfuncs(L, mt, 0);
    }
    lua_setmetatable(L, -2);
}
