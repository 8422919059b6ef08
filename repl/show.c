// show.c - how the REPL prints results: tostring for anything with __tostring
// (tensors, modules, shapes), and a readable printer for plain tables: nested,
// cycles marked, long tables cut, one line when it fits, else entries packed
// into indented lines. Strings are built on the Lua stack, so a failing
// __tostring leaks nothing.
#include <string.h>
#include "session.h"

#define SHOW_WIDTH 78      // a table that fits on one line prints on one line
#define SHOW_MAX_ITEMS 20  // entries shown per table before "... (n more)"
#define SHOW_MAX_DEPTH 4

static int is_identifier(const char *s)
{
    static const char *kw[] = {"and", "break", "do", "else", "elseif", "end", "false",
        "for", "function", "goto", "if", "in", "local", "nil", "not", "or", "repeat",
        "return", "then", "true", "until", "while", NULL};
    for (const char *p = s; *p; p++) {
        int alpha = *p == '_' || ((*p | 32) >= 'a' && (*p | 32) <= 'z');
        if (!alpha && !(p > s && *p >= '0' && *p <= '9')) return 0;
    }
    for (int i = 0; kw[i]; i++)
        if (strcmp(s, kw[i]) == 0) return 0;
    return *s != 0;
}

// Pushes a value inside a table as text: strings quoted, anything else by
// tostring on one line: a tensor keeps its footer ([tensor 2x3 float32 cpu]),
// other multi-line texts (a model) their first line.
static void push_leaf(lua_State *L, int idx)
{
    if (lua_type(L, idx) == LUA_TSTRING) {   // quoted on one line: "a\nb"
        size_t n;
        const char *s = lua_tolstring(L, idx, &n);
        luaL_Buffer b;
        luaL_buffinit(L, &b);
        luaL_addchar(&b, '"');
        for (size_t i = 0; i < n; i++) {
            unsigned char c = (unsigned char)s[i];
            const char *esc = c == '"' ? "\\\"" : c == '\\' ? "\\\\" : c == '\n' ? "\\n"
                            : c == '\t' ? "\\t" : c == '\r' ? "\\r" : NULL;
            if (esc) luaL_addstring(&b, esc);
            else if (c < 32 || c == 127) {
                char num[8];
                snprintf(num, sizeof num, "\\%03d", c);
                luaL_addstring(&b, num);
            } else luaL_addchar(&b, (char)c);
        }
        luaL_addchar(&b, '"');
        luaL_pushresult(&b);
        return;
    }
    size_t n;
    const char *s = luaL_tolstring(L, idx, &n);
    const char *last = s + n;
    while (last > s && last[-1] == '\n') last--;
    if (!memchr(s, '\n', (size_t)(last - s))) return;
    if (repl_test_tensor(L, idx)) {
        const char *foot = last;
        while (foot > s && foot[-1] != '\n') foot--;
        lua_pushlstring(L, foot, (size_t)(last - foot));
    } else {
        lua_pushfstring(L, "%s ...", lua_pushlstring(L, s, strcspn(s, "\n")));
        lua_remove(L, -2);
    }
    lua_remove(L, -2);
}

// Keys sorted: 1..n first (the array part), then the rest by their text.
static int push_sorted_keys(lua_State *L, int t)
{
    lua_newtable(L);
    int keys = lua_gettop(L), n = 0;
    lua_pushnil(L);
    while (lua_next(L, t)) {
        lua_pop(L, 1);
        lua_pushvalue(L, -1);
        lua_rawseti(L, keys, ++n);
    }
    lua_getglobal(L, "table");
    lua_getfield(L, -1, "sort");
    lua_remove(L, -2);
    lua_pushvalue(L, keys);
    luaL_loadstring(L,
        "local a, b = ... local ta, tb = math.type(a), math.type(b) "
        "if ta == 'integer' and tb == 'integer' then return a < b end "
        "if ta == 'integer' then return true elseif tb == 'integer' then return false end "
        "return tostring(a) < tostring(b)");
    if (lua_pcall(L, 2, 0, 0) != LUA_OK) lua_pop(L, 1);   // unsortable: keep order
    return n;
}

static void push_value(lua_State *L, int idx, int depth, int indent, int seen);

// Pushes "key = value" (or just the value for the array part 1..k).
static void push_entry(lua_State *L, int t, int key, lua_Integer *next_index, int depth, int indent, int seen)
{
    int base = lua_gettop(L);
    if (lua_isinteger(L, key) && lua_tointeger(L, key) == *next_index) {
        (*next_index)++;
    } else {
        *next_index = 0;   // after a gap every key is written out
        if (lua_type(L, key) == LUA_TSTRING && is_identifier(lua_tostring(L, key))) {
            lua_pushvalue(L, key);
        } else {
            lua_pushliteral(L, "[");
            push_leaf(L, key);
            lua_pushliteral(L, "]");
        }
        lua_pushliteral(L, " = ");
    }
    lua_pushvalue(L, key);
    lua_rawget(L, t);
    push_value(L, lua_gettop(L), depth, indent, seen);
    lua_remove(L, -2);
    lua_concat(L, lua_gettop(L) - base);
}

static void push_indent(lua_State *L, int indent)
{
    char buf[64] = "\n";
    if (indent > 60) indent = 60;
    memset(buf + 1, ' ', (size_t)indent);
    lua_pushlstring(L, buf, (size_t)indent + 1);
}

// Joins the n entry strings of the table at entries: one line if it fits,
// else lines packed up to the width and indented by indent + 2.
static void push_joined(lua_State *L, int entries, int n, int indent)
{
    size_t total = 2;
    int multiline = 0;
    for (int i = 1; i <= n; i++) {
        size_t len;
        const char *s = (lua_rawgeti(L, entries, i), lua_tolstring(L, -1, &len));
        total += len + 2;
        multiline |= memchr(s, '\n', len) != NULL;
        lua_pop(L, 1);
    }
    luaL_checkstack(L, 3 * n + 4, "printing a table");
    int base = lua_gettop(L);
    lua_pushliteral(L, "{");
    if (!multiline && indent + total <= SHOW_WIDTH) {
        for (int i = 1; i <= n; i++) {
            if (i > 1) lua_pushliteral(L, ", ");
            lua_rawgeti(L, entries, i);
        }
    } else {
        size_t col = SHOW_WIDTH;   // forces a new line before the first entry
        for (int i = 1; i <= n; i++) {
            size_t len;
            lua_rawgeti(L, entries, i);
            const char *s = lua_tolstring(L, -1, &len);
            int own_line = memchr(s, '\n', len) != NULL;
            if (own_line || col + len + 2 > SHOW_WIDTH) {
                push_indent(L, indent + 2);
                col = (size_t)indent + 2;
            } else {
                lua_pushliteral(L, " ");
                col++;
            }
            lua_insert(L, -2);   // the separator goes before the entry
            if (i < n) lua_pushliteral(L, ",");
            col = own_line ? SHOW_WIDTH : col + len + 1;
        }
        push_indent(L, indent);
    }
    lua_pushliteral(L, "}");
    lua_concat(L, lua_gettop(L) - base);
}

static void push_table(lua_State *L, int t, int depth, int indent, int seen)
{
    lua_pushvalue(L, t);
    int cycle = lua_rawget(L, seen) != LUA_TNIL;
    lua_pop(L, 1);
    if (cycle) { lua_pushliteral(L, "<cycle>"); return; }
    if (depth >= SHOW_MAX_DEPTH) { lua_pushliteral(L, "{...}"); return; }
    lua_pushvalue(L, t);
    lua_pushboolean(L, 1);
    lua_rawset(L, seen);

    int n = push_sorted_keys(L, t), keys = lua_gettop(L);
    int shown = n > SHOW_MAX_ITEMS ? SHOW_MAX_ITEMS : n;
    lua_createtable(L, shown + 1, 0);
    int entries = lua_gettop(L);
    lua_Integer next_index = 1;
    for (int i = 1; i <= shown; i++) {
        lua_rawgeti(L, keys, i);
        push_entry(L, t, lua_gettop(L), &next_index, depth + 1, indent + 2, seen);
        lua_rawseti(L, entries, i);
        lua_pop(L, 1);
    }
    if (n > shown) {
        lua_pushfstring(L, "... (%d more)", n - shown);
        lua_rawseti(L, entries, shown + 1);
    }
    push_joined(L, entries, shown + (n > shown), indent);
    lua_replace(L, keys);
    lua_settop(L, keys);

    lua_pushvalue(L, t);
    lua_pushnil(L);
    lua_rawset(L, seen);   // siblings may share a table; only ancestors make a cycle
}

// A table without __tostring: printed by its contents.
static int is_plain_table(lua_State *L, int idx)
{
    if (lua_type(L, idx) != LUA_TTABLE) return 0;
    if (luaL_getmetafield(L, idx, "__tostring") == LUA_TNIL) return 1;
    lua_pop(L, 1);
    return 0;
}

static void push_value(lua_State *L, int idx, int depth, int indent, int seen)
{
    luaL_checkstack(L, 20, "printing a table");
    if (is_plain_table(L, idx)) push_table(L, idx, depth, indent, seen);
    else push_leaf(L, idx);
}

// show(...) prints its arguments tab-separated on one line, as print() would,
// except that plain tables print their contents.
static int show(lua_State *L)
{
    int n = lua_gettop(L);
    lua_newtable(L);
    int seen = lua_gettop(L);
    for (int i = 1; i <= n; i++) {
        if (is_plain_table(L, i))
            push_table(L, i, 0, 0, seen);
        else
            luaL_tolstring(L, i, NULL);   // the whole text: a tensor's values, a model's layers
        fputs(lua_tostring(L, -1), stdout);
        fputc(i < n ? '\t' : '\n', stdout);
        lua_pop(L, 1);
    }
    fflush(stdout);
    return 0;
}

void repl_show_values(lua_State *L, int first, int n)
{
    if (n <= 0) return;
    lua_pushcfunction(L, show);
    lua_insert(L, first);
    if (lua_pcall(L, n, 0, 0) != LUA_OK) {
        fflush(stdout);
        fprintf(stderr, "error: printing the result: %s\n", lua_tostring(L, -1));
        lua_pop(L, 1);
    }
}
