// embedded.c - the Lua modules compiled into the binary (build/embedded.c, made by
// scripts/embed.sh from nn/lua/*.lua and repl/lua/*.lua), so ./nnlab works from any
// directory. They load through require like any module: a searcher finds them.
#include <string.h>
#include "repl.h"

struct repl_embedded { const char *name, *path; const unsigned char *src; size_t len; };
extern const struct repl_embedded repl_embedded_modules[];

static const struct repl_embedded *find(const char *name) {
    const struct repl_embedded *m = repl_embedded_modules;
    while (m->name && strcmp(m->name, name) != 0) m++;
    return m->name ? m : NULL;
}

// package.searchers entry: the loader of an embedded module and its path, or a note
static int searcher(lua_State *L) {
    const char *name = luaL_checkstring(L, 1);
    const struct repl_embedded *m = find(name);
    if (!m) {
        lua_pushfstring(L, "no embedded module '%s'", name);
        return 1;
    }
    lua_pushfstring(L, "@%s", m->path);
    if (luaL_loadbuffer(L, (const char *)m->src, m->len, lua_tostring(L, -1)) != LUA_OK) return lua_error(L);
    lua_pushstring(L, m->path);
    return 2;
}

// Puts the searcher first, so a stray nn/layers.lua in the working directory cannot
// shadow nnlab's own.
void repl_install_embedded(lua_State *L) {
    lua_getglobal(L, "package");
    lua_getfield(L, -1, "searchers");
    for (lua_Integer i = (lua_Integer)luaL_len(L, -1); i >= 1; i--) {
        lua_geti(L, -1, i);
        lua_seti(L, -2, i + 1);
    }
    lua_pushcfunction(L, searcher);
    lua_seti(L, -2, 1);
    lua_pop(L, 2);
}

// require(name), leaving the module's value on the stack; raises on failure.
int repl_require_embedded(lua_State *L, const char *name) {
    if (!find(name)) return luaL_error(L, "no embedded Lua module '%s' (a missing nn/lua or repl/lua file?)", name);
    lua_getglobal(L, "require");
    lua_pushstring(L, name);
    lua_call(L, 1, 1);
    return 1;
}

// Whether a chunk's source ("@nn/lua/layers.lua") is one of nnlab's own Lua files:
// errors raised there are reported at the learner's line instead.
int repl_is_embedded_source(const char *src) {
    if (src[0] == '@') src++;
    return strncmp(src, "nn/lua/", 7) == 0 || strncmp(src, "repl/lua/", 9) == 0;
}
