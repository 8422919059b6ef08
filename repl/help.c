// help.c - help(x), ?name, help.lookup / help.names, and tutorials().
// The text is the table in help_text.c; this file finds entries by name or
// by value. Lookups by value use a reverse map (function/table -> name) built
// on the first call by walking tensor, nn, optim, data, dash, sys and the tensor
// methods, so start-up pays nothing for help.
#include <ctype.h>
#include <string.h>
#include "session.h"

static const char reverse_key = 0;   // registry slot of the reverse map

// ---- entries by name --------------------------------------------------------

static const char *last_part(const char *name)
{
    const char *p = name + strlen(name);
    while (p > name && p[-1] != '.' && p[-1] != ':') p--;
    return p;
}

static const repl_help_entry *find_exact(const char *name)
{
    for (const repl_help_entry *e = repl_help_entries; e->name; e++)
        if (strcmp(e->name, name) == 0) return e;
    return NULL;
}

// "tensor.exp" and "x:exp" are the same function (the tensor table carries the
// methods' functional forms); "Tensor:exp" and "x.exp" are what people type.
static const repl_help_entry *find_entry(const char *name)
{
    const repl_help_entry *e = find_exact(name);
    if (e) return e;
    const char *last = last_part(name);
    size_t plen = (size_t)(last - name);
    char alt[256];
    if (plen == 0) return NULL;
    static const char *spellings[][2] = {{"tensor.", "x:"}, {"x:", "tensor."}, {"x.", "x:"},
                                         {"Tensor:", "x:"}, {"Tensor.", "x:"}, {"tensor:", "x:"}};
    for (size_t i = 0; i < sizeof spellings / sizeof *spellings; i++) {
        size_t n = strlen(spellings[i][0]);
        if (plen == n && strncmp(name, spellings[i][0], n) == 0) {
            snprintf(alt, sizeof alt, "%s%s", spellings[i][1], last);
            if ((e = find_exact(alt))) return e;
        }
    }
    return NULL;
}

// Damerau-Levenshtein distance, case ignored (names up to 63 characters)
static int name_distance(const char *a, const char *b)
{
    int la = (int)strlen(a), lb = (int)strlen(b);
    if (la > 63 || lb > 63) return 99;
    int d[64][64];
    for (int i = 0; i <= la; i++) d[i][0] = i;
    for (int j = 0; j <= lb; j++) d[0][j] = j;
    for (int i = 1; i <= la; i++)
        for (int j = 1; j <= lb; j++) {
            int ca = tolower((unsigned char)a[i - 1]), cb = tolower((unsigned char)b[j - 1]);
            int v = d[i - 1][j - 1] + (ca != cb);
            if (d[i - 1][j] + 1 < v) v = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < v) v = d[i][j - 1] + 1;
            if (i > 1 && j > 1 && ca == tolower((unsigned char)b[j - 2]) && tolower((unsigned char)a[i - 2]) == cb &&
                d[i - 2][j - 2] + 1 < v)
                v = d[i - 2][j - 2] + 1;
            d[i][j] = v;
        }
    return d[la][lb];
}

static void print_block(const char *text, const char *indent)
{
    while (*text) {
        size_t n = strcspn(text, "\n");
        printf("%s%.*s\n", indent, (int)n, text);
        text += n + (text[n] == '\n');
    }
}

static void print_entry(const repl_help_entry *e)
{
    printf("%s\n", e->signature);
    print_block(e->description, "  ");
    if (e->example && *e->example) {
        if (strchr(e->example, '\n')) {
            printf("  example:\n");
            print_block(e->example, "    ");
        } else {
            printf("  example: %s\n", e->example);
        }
    }
}

// Length of the first sentence: up to ". " or a line end.
static int first_sentence(const char *d)
{
    int n = 0;
    // a '.' ends it only after a word ("start .. start" and "x.grad" do not)
    while (d[n] && d[n] != '\n' &&
           !(d[n] == '.' && n > 0 && d[n - 1] != ' ' && d[n - 1] != '.' &&
             (d[n + 1] == ' ' || !d[n + 1] || d[n + 1] == '\n')))
        n++;
    return n;
}

// One line per entry under a prefix ("tensor.", "x:", "nn.Module:").
static int list_prefix(const char *prefix)
{
    size_t n = strlen(prefix);
    int count = 0;
    for (const repl_help_entry *e = repl_help_entries; e->name; e++) {
        if (strncmp(e->name, prefix, n) != 0 || strchr(e->name + n, '.') || strchr(e->name + n, ':'))
            continue;
        printf("  %-26s %.*s\n", e->name, first_sentence(e->description), e->description);
        count++;
    }
    return count;
}

static int list_namespace(const char *name)
{
    char prefix[128];
    int count = 0;
    snprintf(prefix, sizeof prefix, "%s.", name);
    count += list_prefix(prefix);
    snprintf(prefix, sizeof prefix, "%s:", name);
    count += list_prefix(prefix);
    return count;
}

static int show_name(const char *name)
{
    const repl_help_entry *e = find_entry(name);
    if (e) {   // a library or class entry goes on with its members
        print_entry(e);
        if (list_namespace(e->name)) printf("\n");
        return 1;
    }
    if (list_namespace(name)) return 1;
    // a bare name: every entry whose last part matches (tensor.matmul, x:matmul)
    const char *last = last_part(name);
    int shown = 0;
    for (e = repl_help_entries; e->name; e++) {
        if (strcmp(last_part(e->name), last) != 0) continue;
        if (shown++) putchar('\n');
        print_entry(e);
    }
    if (shown) return 1;
    printf("no help for '%s'", name);
    // the closest names by edit distance: ?randm -> tensor.randn, ?Relu -> nn.ReLU
    int best = 1 << 20;
    size_t llen = strlen(last);
    for (e = repl_help_entries; e->name && *last; e++) {
        const char *lp = last_part(e->name);
        int d = name_distance(last, lp);
        int diff = (int)llen - (int)strlen(lp);
        d = d * 100 + (diff < 0 ? -diff : diff);
        if (d < best) best = d;
    }
    int limit = (int)(llen / 3 < 1 ? 1 : llen / 3 > 3 ? 3 : llen / 3);
    if (best / 100 <= limit) {
        int k = 0;
        for (e = repl_help_entries; e->name && k < 3; e++) {
            const char *lp = last_part(e->name);
            int diff = (int)llen - (int)strlen(lp);
            if (name_distance(last, lp) * 100 + (diff < 0 ? -diff : diff) == best)
                printf("%s%s", k++ ? " or " : "; did you mean ", e->name);
        }
        if (k) printf("?");
    }
    int similar = 0;
    for (e = repl_help_entries; e->name && similar < 8; e++)
        if (*last && strstr(e->name, last)) printf("%s%s", similar++ ? ", " : "; similar: ", e->name);
    printf("\nhelp() shows where to start; help(tensor), help(nn) list everything\n");
    return 0;
}

int repl_help_name(lua_State *L, const char *name)
{
    int ok = *name ? show_name(name) : (fputs(repl_help_overview, stdout), 1);
    fflush(stdout);
    return ok;
}

// ---- entries by value ---------------------------------------------------------

static void map_value(lua_State *L, int map, int value, const char *name)
{
    lua_pushvalue(L, value);
    if (lua_rawget(L, map) == LUA_TNIL) {   // the first (most specific) name wins
        lua_pushvalue(L, value);
        lua_pushstring(L, name);
        lua_rawset(L, map);
    }
    lua_pop(L, 1);
}

// Maps every function/table field of the table at t as PREFIX SEP key;
// depth 1 also walks namespaces (nn.F) and classes' methods (nn.Module:train).
static void map_fields(lua_State *L, int map, int t, const char *prefix, const char *sep, int depth)
{
    lua_pushnil(L);
    while (lua_next(L, t)) {
        int v = lua_gettop(L);
        int type = lua_type(L, v);
        if (lua_type(L, v - 1) == LUA_TSTRING && (type == LUA_TFUNCTION || type == LUA_TTABLE)) {
            const char *k = lua_tostring(L, v - 1);
            if (k[0] != '_') {
                const char *name = lua_pushfstring(L, "%s%s%s", prefix, sep, k);
                if (depth > 0 && type == LUA_TTABLE) {
                    // a class (callable) has methods; a plain table is a namespace
                    int is_class = luaL_getmetafield(L, v, "__call") != LUA_TNIL;
                    if (is_class) lua_pop(L, 1);
                    map_fields(L, map, v, name, is_class ? ":" : ".", depth - 1);
                }
                map_value(L, map, v, name);
                lua_pop(L, 1);
            }
        }
        lua_settop(L, v - 1);
    }
}

// The tensor methods: the metatable's __index table, or the table a function
// __index keeps as its first upvalue (read, never called).
static void map_tensor_methods(lua_State *L, int map)
{
    int top = lua_gettop(L);
    luaL_getmetatable(L, REPL_TENSOR_MT);
    if (lua_type(L, -1) == LUA_TTABLE) {
        int type = lua_getfield(L, -1, "__index");
        if (type == LUA_TFUNCTION && !lua_getupvalue(L, -1, 1)) lua_pushnil(L);
        if (lua_type(L, -1) == LUA_TTABLE) map_fields(L, map, lua_gettop(L), "x", ":", 0);
    }
    lua_settop(L, top);
}

static const char *libraries[] = {"tensor", "nn", "optim", "data", "dash", "sys", NULL};

static void push_reverse_map(lua_State *L)
{
    if (lua_rawgetp(L, LUA_REGISTRYINDEX, &reverse_key) == LUA_TTABLE) return;
    lua_pop(L, 1);
    lua_newtable(L);
    int map = lua_gettop(L);
    map_tensor_methods(L, map);
    for (int i = 0; libraries[i]; i++) {
        if (lua_getglobal(L, libraries[i]) == LUA_TTABLE) {
            map_value(L, map, lua_gettop(L), libraries[i]);
            map_fields(L, map, lua_gettop(L), libraries[i], ".", 1);
        }
        lua_pop(L, 1);
    }
    lua_pushvalue(L, map);
    lua_rawsetp(L, LUA_REGISTRYINDEX, &reverse_key);
}

// The name help knows the value at idx by: the value itself, or for an
// instance (a module) its class. Pushes the name or nil.
static void push_value_name(lua_State *L, int idx)
{
    push_reverse_map(L);
    int map = lua_gettop(L);
    lua_pushvalue(L, idx);
    if (lua_rawget(L, map) == LUA_TNIL && lua_getmetatable(L, idx)) {
        lua_pushvalue(L, -1);
        lua_rawget(L, map);
        lua_remove(L, -2);
        lua_remove(L, -2);
    }
    lua_remove(L, map);
}

static const repl_help_entry *lookup_arg(lua_State *L, int idx)
{
    if (lua_type(L, idx) == LUA_TSTRING) return find_entry(lua_tostring(L, idx));
    push_value_name(L, idx);
    const repl_help_entry *e = lua_isstring(L, -1) ? find_entry(lua_tostring(L, -1)) : NULL;
    lua_pop(L, 1);
    return e;
}

// help(x): x a name, a function, a library table, a tensor or a module.
static int help_call(lua_State *L)
{
    if (lua_isnone(L, 2)) {
        fputs(repl_help_overview, stdout);
    } else if (lua_type(L, 2) == LUA_TSTRING) {
        show_name(lua_tostring(L, 2));
    } else if (repl_test_tensor(L, 2)) {
        printf("a tensor; its methods (x:NAME(...)):\n");
        list_namespace("x");
    } else if (lua_type(L, 2) == LUA_TTABLE && (lua_pushliteral(L, "_keys"), lua_rawget(L, 2)) == LUA_TTABLE &&
               lua_getfield(L, 2, "_help") == LUA_TFUNCTION) {
        // a module instance: its class, layers, parameters and forward signature (Module:_help)
        lua_pushvalue(L, 2);
        if (lua_pcall(L, 1, 1, 0) == LUA_OK && lua_type(L, -1) == LUA_TSTRING) printf("%s\n", lua_tostring(L, -1));
        else printf("a module (help(nn.Module) lists its methods)\n");
        lua_settop(L, 2);
    } else {
        lua_settop(L, 2);
        push_value_name(L, 2);
        if (lua_isstring(L, -1)) show_name(lua_tostring(L, -1));
        else printf("no help for this %s; try help() or ?name\n", luaL_typename(L, 2));
        lua_pop(L, 1);
    }
    fflush(stdout);
    return 0;
}

// help.lookup(x) -> name, signature, description, example (or nil)
static int help_lookup(lua_State *L)
{
    luaL_checkany(L, 1);
    const repl_help_entry *e = lookup_arg(L, 1);
    if (!e) {
        lua_pushnil(L);
        return 1;
    }
    lua_pushstring(L, e->name);
    lua_pushstring(L, e->signature);
    lua_pushstring(L, e->description);
    lua_pushstring(L, e->example ? e->example : "");
    return 4;
}

// help.names() -> every entry's name, in the table's order
static int help_names(lua_State *L)
{
    lua_newtable(L);
    int i = 0;
    for (const repl_help_entry *e = repl_help_entries; e->name; e++) {
        lua_pushstring(L, e->name);
        lua_rawseti(L, -2, ++i);
    }
    return 1;
}

static int tutorials(lua_State *L)
{
    repl_tutorials_list(stdout);
    return 0;
}

int repl_open_help(lua_State *L)
{
    static const luaL_Reg fns[] = {{"lookup", help_lookup}, {"names", help_names}, {NULL, NULL}};
    luaL_newlib(L, fns);
    lua_createtable(L, 0, 1);
    lua_pushcfunction(L, help_call);
    lua_setfield(L, -2, "__call");
    lua_setmetatable(L, -2);
    lua_setglobal(L, "help");
    lua_pushcfunction(L, tutorials);
    lua_setglobal(L, "tutorials");
    return 0;
}
