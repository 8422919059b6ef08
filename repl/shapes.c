// shapes.c - ":shapes on": one line per op with its input and output shapes,
//   matmul     [5,3] x [3,2] -> [5,2]
// and, through nn's module hook (nn._hook), one line per built-in layer (its inner
// ops are nnlab's business, not the learner's), with its parameters:
//   Linear     [1,65536,64] -> [1,65536,8]   weight [8,64]  bias [8]
// Containers (Sequential) and the learner's own modules show their name and then
// what runs inside them, indented.
#include <string.h>
#include "session.h"

static int depth;               // module calls currently open
static int quiet;               // inside a built-in layer: its ops are not listed
static int paused;              // inside one indexing op (repl_shapes_pause)
static int on;                  // :shapes on
static const char hook_key = 0; // registry: our nn._hook closure

static void print_op(const char *op, int n, tensor *const *inputs, const tensor *out, void *ud)
{
    char shape[160];
    if (quiet || paused) return;
    printf("%*s%-10s ", 2 * (depth < 20 ? depth : 20), "", op);
    int shown = 0;
    for (int i = 0; i < n; i++) {
        if (!inputs[i]) continue;   // an optional input (no bias)
        printf("%s%s", shown++ ? " x " : "", tensor_shape_str(shape, sizeof shape, inputs[i]));
    }
    if (out) printf("%s-> %s", shown ? " " : "", tensor_shape_str(shape, sizeof shape, out));
    putchar('\n');
}

// A layer class defined by nn itself (nn.Linear, nn.Conv2d, ...), other than a container.
static int is_builtin_layer(lua_State *L, int m, const char *name)
{
    if (!name || !strcmp(name, "Sequential")) return 0;
    int top = lua_gettop(L), yes = 0;
    if (lua_getglobal(L, "nn") == LUA_TTABLE && lua_getfield(L, -1, name) == LUA_TTABLE && lua_getmetatable(L, m))
        yes = lua_rawequal(L, -1, -2);
    lua_settop(L, top);
    return yes;
}

static void print_param(lua_State *L, int m, const char *field)
{
    char shape[160];
    lua_getfield(L, m, field);
    tensor *t = repl_test_tensor(L, -1);
    if (t) printf("  %s %s", field, tensor_shape_str(shape, sizeof shape, t));
    lua_pop(L, 1);
}

// nn._hook(module, ...): a built-in layer prints one line after it ran; other modules
// print their name and run one level deeper. Upvalue 1 is the hook that was there
// before (called instead of forward).
static int module_hook(lua_State *L)
{
    int nargs = lua_gettop(L);
    lua_getfield(L, 1, "__name");
    const char *name = lua_isstring(L, -1) ? lua_tostring(L, -1) : NULL;
    int layer = !quiet && is_builtin_layer(L, 1, name);
    char in[160] = "";
    tensor *x = nargs >= 2 ? repl_test_tensor(L, 2) : NULL;
    if (x) tensor_shape_str(in, sizeof in, x);
    if (!quiet && !layer) printf("%*s%s\n", 2 * (depth < 20 ? depth : 20), "", name ? name : "module");
    lua_pushvalue(L, 1);                 // the module, for the line printed afterwards
    int self = lua_gettop(L);
    if (lua_isnil(L, lua_upvalueindex(1))) lua_getfield(L, 1, "forward");
    else lua_pushvalue(L, lua_upvalueindex(1));
    for (int i = 1; i <= nargs; i++) lua_pushvalue(L, i);
    depth++;
    quiet += layer;
    int status = lua_pcall(L, nargs, LUA_MULTRET, 0);
    quiet -= layer;
    depth--;
    if (status != LUA_OK) return lua_error(L);
    if (layer) {
        char out[160] = "";
        tensor *y = lua_gettop(L) > self ? repl_test_tensor(L, self + 1) : NULL;
        if (y) tensor_shape_str(out, sizeof out, y);
        printf("%*s%-10s %s -> %s", 2 * (depth < 20 ? depth : 20), "", name, in, out);
        print_param(L, self, "weight");
        print_param(L, self, "bias");
        putchar('\n');
    }
    return lua_gettop(L) - self;
}

// nn._hook on: install ours over whatever is there; off: put the old one back
// if ours is still installed (nn.summary swaps hooks and restores them).
static void set_module_hook(lua_State *L, int on)
{
    int top = lua_gettop(L);
    if (lua_getglobal(L, "nn") != LUA_TTABLE) { lua_settop(L, top); return; }
    int nn = lua_gettop(L);
    lua_getfield(L, nn, "_hook");
    lua_rawgetp(L, LUA_REGISTRYINDEX, &hook_key);
    int ours = !lua_isnil(L, -1) && lua_rawequal(L, -1, -2);
    if (on && !ours) {
        lua_pushvalue(L, nn + 1);   // the previous hook
        lua_pushcclosure(L, module_hook, 1);
        lua_pushvalue(L, -1);
        lua_rawsetp(L, LUA_REGISTRYINDEX, &hook_key);
        lua_setfield(L, nn, "_hook");
    } else if (!on && ours) {
        lua_getupvalue(L, -1, 1);
        lua_setfield(L, nn, "_hook");
        lua_pushnil(L);
        lua_rawsetp(L, LUA_REGISTRYINDEX, &hook_key);
    }
    lua_settop(L, top);
}

void repl_shapes(lua_State *L, int enable)
{
    depth = 0;
    quiet = 0;
    paused = 0;
    on = enable;
    tensor_set_trace(on ? print_op : NULL, NULL);
    set_module_hook(L, on);
}

// x[{...}] and the mask ops are several library ops (select, narrow, gather, ...) that the
// learner wrote as one: those are paused and the binding prints one line,
//   index      [4,5] [{ {2,3}, 1 }] -> [2]
int repl_shapes_active(void) { return on && !quiet && !paused; }
void repl_shapes_pause(int delta) { paused += delta; }

void repl_shapes_line(const char *op, const tensor *in, const char *what, const tensor *out)
{
    char s1[160], s2[160];
    if (!repl_shapes_active()) return;
    printf("%*s%-10s %s %s -> %s\n", 2 * (depth < 20 ? depth : 20), "", op, tensor_shape_str(s1, sizeof s1, in),
           what, tensor_shape_str(s2, sizeof s2, out));
}
