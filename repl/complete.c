// complete.c - Tab completion: globals and keywords, then fields and methods of
// any value reachable by a dotted/colon path (tensor.ra, m.layers., x:), with
// methods from metatables' __index tables; file names inside strings. The path
// is followed with raw reads only, so completion never calls Lua functions.
#include <stdlib.h>
#include <string.h>
#include <readline/readline.h>
#include "session.h"

static lua_State *LS;

static const char *keywords[] = {"and", "break", "do", "else", "elseif", "end", "false",
    "for", "function", "goto", "if", "in", "local", "nil", "not", "or", "repeat",
    "return", "then", "true", "until", "while", NULL};

// Stack: value key. Replaces both with value[key] found without calling
// anything: a raw read of tables, then the __index chain while it is tables.
// Returns 0 (both popped) when there is nothing there.
static int raw_index(lua_State *L)
{
    int v = lua_gettop(L) - 1;
    for (int hops = 0; hops < 8; hops++) {
        if (lua_type(L, v) == LUA_TTABLE) {
            lua_pushvalue(L, v + 1);
            if (lua_rawget(L, v) != LUA_TNIL) {
                lua_replace(L, v);
                lua_settop(L, v);
                return 1;
            }
            lua_pop(L, 1);
        }
        if (luaL_getmetafield(L, v, "__index") != LUA_TTABLE) break;
        lua_replace(L, v);
    }
    lua_settop(L, v - 1);
    return 0;
}

// Pushes the value at the dotted path text[0..len) or returns 0 (nothing pushed).
static int push_path(lua_State *L, const char *text, size_t len)
{
    lua_pushglobaltable(L);
    for (size_t i = 0, j; i < len; i = j + 1) {
        for (j = i; j < len && text[j] != '.' && text[j] != ':'; j++) {}
        lua_pushlstring(L, text + i, j - i);
        if (!raw_index(L)) return 0;
    }
    return 1;
}

static int is_name(const char *s)
{
    if (!*s || (*s >= '0' && *s <= '9')) return 0;
    for (; *s; s++)
        if (!(*s == '_' || (*s >= '0' && *s <= '9') || ((*s | 32) >= 'a' && (*s | 32) <= 'z')))
            return 0;
    return 1;
}

// A module instance (a table with a _keys field) hides the class-building methods it
// inherits: m:<Tab> offers forward, parameters, ... not extend, new, init.
static int for_instance;
static const char *class_only[] = {"extend", "new", "init", NULL};

static int class_only_name(const char *k)
{
    if (!for_instance) return 0;
    for (int i = 0; class_only[i]; i++)
        if (strcmp(k, class_only[i]) == 0) return 1;
    return 0;
}

// Collects into the table at `out` every name key of table t starting with
// prefix (methods_only: functions only, for "x:"). Names starting with '_' are
// internals (m._keys, nn._hook): offered only once the learner types the '_'.
static void collect(lua_State *L, int t, int out, const char *prefix, size_t plen,
                    int methods_only, int skip_meta)
{
    lua_pushnil(L);
    while (lua_next(L, t)) {
        if (lua_type(L, -2) == LUA_TSTRING) {
            const char *k = lua_tostring(L, -2);
            int ok = strncmp(k, prefix, plen) == 0 && is_name(k) &&
                     (!methods_only || lua_type(L, -1) == LUA_TFUNCTION) &&
                     !(skip_meta && k[0] == '_' && k[1] == '_') &&
                     !(k[0] == '_' && !(plen && prefix[0] == '_')) &&  // internals only when asked for
                     !class_only_name(k);
            if (ok) {
                lua_pushvalue(L, -2);
                lua_pushvalue(L, -2);
                lua_rawset(L, out);
            }
        }
        lua_pop(L, 1);
    }
}

// Candidates for the value on top: its own keys, then along the __index chain;
// where __index is a function (tensors), its upvalue table and the metatable's
// own non-__ entries.
static void collect_value(lua_State *L, int out, const char *prefix, size_t plen, int methods_only)
{
    for (int hops = 0; hops < 8; hops++) {
        int v = lua_gettop(L);
        if (lua_type(L, v) == LUA_TTABLE) collect(L, v, out, prefix, plen, methods_only, 0);
        if (!lua_getmetatable(L, v)) break;
        int mt = lua_gettop(L);
        if (lua_getfield(L, mt, "__index") == LUA_TTABLE) {
            lua_replace(L, v);
            lua_settop(L, v);
            continue;
        }
        if (lua_type(L, -1) == LUA_TFUNCTION) {
            // an __index function often keeps its methods table as upvalue 1
            if (lua_getupvalue(L, -1, 1) && lua_type(L, -1) == LUA_TTABLE)
                collect(L, lua_gettop(L), out, prefix, plen, methods_only, 1);
            collect(L, mt, out, prefix, plen, methods_only, 1);
        }
        lua_settop(L, v);
        break;
    }
}

// The candidates of the current completion, handed out by next_match().
static char **cands;
static int ncands;

static char *next_match(const char *text, int state)
{
    static int i;
    if (state == 0) i = 0;
    return i < ncands ? strdup(cands[i++]) : NULL;
}

static void free_cands(void)
{
    for (int i = 0; i < ncands; i++) free(cands[i]);
    free(cands);
    cands = NULL;
    ncands = 0;
}

// Fills cands with the full texts ("tensor.rand", "x:add") completing text.
static void lua_candidates(const char *text)
{
    lua_State *L = LS;
    int top = lua_gettop(L);
    if (!lua_checkstack(L, 30)) return;
    size_t len = strlen(text);
    size_t cut = len;   // the last '.' or ':' splits path and prefix
    while (cut > 0 && text[cut - 1] != '.' && text[cut - 1] != ':') cut--;
    const char *prefix = text + cut;
    size_t plen = len - cut;
    int methods_only = cut > 0 && text[cut - 1] == ':';

    lua_newtable(L);   // name -> value, deduplicated
    int out = lua_gettop(L);
    if (cut == 0) {
        lua_pushglobaltable(L);
        collect_value(L, out, prefix, plen, 0);
        for (int i = 0; keywords[i]; i++)
            if (strncmp(keywords[i], prefix, plen) == 0) {
                lua_pushboolean(L, 1);
                lua_setfield(L, out, keywords[i]);
            }
    } else if (push_path(L, text, cut - 1)) {
        for_instance = 0;
        if (lua_type(L, -1) == LUA_TTABLE) {
            lua_pushliteral(L, "_keys");
            for_instance = lua_rawget(L, -2) == LUA_TTABLE;   // an instance's own field
            lua_pop(L, 1);
        }
        collect_value(L, out, prefix, plen, methods_only);
        for_instance = 0;
    }
    lua_settop(L, out);

    int n = 0;
    lua_pushnil(L);
    while (lua_next(L, out)) { n++; lua_pop(L, 1); }
    cands = calloc((size_t)n + 1, sizeof *cands);
    lua_pushnil(L);
    while (cands && lua_next(L, out)) {
        const char *name = lua_tostring(L, -2);
        size_t nl = strlen(name);
        char *full = malloc(cut + nl + 1);
        if (full) {
            memcpy(full, text, cut);
            memcpy(full + cut, name, nl + 1);
            cands[ncands++] = full;
        }
        if (n == 1) {   // a unique function or class goes on with '(', a table with '.'
            int t = lua_type(L, -1);
            int callable = t == LUA_TFUNCTION || luaL_getmetafield(L, -1, "__call") != LUA_TNIL;
            if (callable && t != LUA_TFUNCTION) lua_pop(L, 1);
            rl_completion_append_character = callable ? '(' : t == LUA_TTABLE ? '.' : ' ';
        }
        lua_pop(L, 1);
    }
    lua_settop(L, top);
}

static char **complete(const char *text, int start, int end)
{
    if (rl_completion_quote_character) return NULL;   // inside a string: file names
    rl_attempted_completion_over = 1;                 // never fall back to files
    rl_completion_append_character = '\0';
    lua_candidates(text);
    char **m = rl_completion_matches(text, next_match);
    free_cands();
    return m;
}

// Inside an unclosed string the word starts after the quote; readline would
// still skip a first character that breaks words ("/tmp", "~/x"), so there
// only quotes and spaces break.
static char *break_chars(void)
{
    char quote = 0;
    for (int i = 0; i < rl_point && rl_line_buffer[i]; i++) {
        char c = rl_line_buffer[i];
        if (quote && c == '\\') i++;
        else if (quote && c == quote) quote = 0;
        else if (!quote && (c == '"' || c == '\'')) quote = c;
    }
    return quote ? " \t\n\"'" : NULL;
}

void repl_complete_init(lua_State *L)
{
    LS = L;
    rl_attempted_completion_function = complete;
    // '.' and ':' stay inside the word so "tensor.ra" and "x:" complete as paths
    rl_completer_word_break_characters = " \t\n\"'`@$><=;|&{(,+-*/%^~#[]}";
    rl_completer_quote_characters = "\"'";
    rl_completion_word_break_hook = break_chars;
    // one Tab lists the choices (an ~/.inputrc setting still wins)
    rl_variable_bind("show-all-if-ambiguous", "on");
}
