// embedded.c - runs the Lua modules compiled into the binary (build/embedded.c, made
// by scripts/embed.sh from repl/lua/*.lua), so ./nnlab works from any directory.
#include <string.h>
#include "repl.h"

struct repl_embedded { const char *name; const unsigned char *src; size_t len; };
extern const struct repl_embedded repl_embedded_modules[];

// Like require: runs NAME once, caches its value in package.loaded[NAME] and leaves
// that value on the stack. Raises a Lua error if NAME is unknown or fails to load/run.
int repl_require_embedded(lua_State *L, const char *name) {
    luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
    if (lua_getfield(L, -1, name) != LUA_TNIL) {
        lua_remove(L, -2);
        return 1;
    }
    lua_pop(L, 1);
    const struct repl_embedded *m = repl_embedded_modules;
    while (m->name && strcmp(m->name, name) != 0) m++;
    if (!m->name) return luaL_error(L, "no embedded Lua module '%s' (is repl/lua/%s.lua missing?)", name, name);
    lua_pushfstring(L, "@repl/lua/%s.lua", name);
    if (luaL_loadbuffer(L, (const char *)m->src, m->len, lua_tostring(L, -1)) != LUA_OK) return lua_error(L);
    lua_remove(L, -2);                                  // the chunk name
    lua_pushstring(L, name);
    lua_call(L, 1, 1);
    if (lua_isnil(L, -1)) {                             // a module returning nothing counts as loaded
        lua_pop(L, 1);
        lua_pushboolean(L, 1);
    }
    lua_pushvalue(L, -1);
    lua_setfield(L, -3, name);
    lua_remove(L, -2);                                  // package.loaded
    return 1;
}
