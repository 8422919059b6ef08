// shapes.c - ":shapes on": one line per op with its input and output shapes,
//   matmul     [5,3] x [3,2] -> [5,2]
// and, through nn's module hook (nn._hook), the module each op runs in, with
// the ops indented below it:
//   Linear
//     matmul   [5,3] x [3,2] -> [5,2]
#include <string.h>
#include "session.h"

static int depth;               // module calls currently open
static const char hook_key = 0; // registry: our nn._hook closure

static void print_op(const char *op, int n, tensor *const *inputs, const tensor *out, void *ud)
{
    char shape[160];
    printf("%*s%-10s ", 2 * (depth < 20 ? depth : 20), "", op);
    int shown = 0;
    for (int i = 0; i < n; i++) {
        if (!inputs[i]) continue;   // an optional input (no bias)
        printf("%s%s", shown++ ? " x " : "", tensor_shape_str(shape, sizeof shape, inputs[i]));
    }
    if (out) printf("%s-> %s", shown ? " " : "", tensor_shape_str(shape, sizeof shape, out));
    putchar('\n');
}

// nn._hook(module, ...): prints the module's class, runs it one level deeper.
// Upvalue 1 is the hook that was there before (called instead of forward).
static int module_hook(lua_State *L)
{
    int nargs = lua_gettop(L);
    lua_getfield(L, 1, "__name");
    printf("%*s%s\n", 2 * (depth < 20 ? depth : 20), "", lua_isstring(L, -1) ? lua_tostring(L, -1) : "module");
    lua_pop(L, 1);
    if (lua_isnil(L, lua_upvalueindex(1))) lua_getfield(L, 1, "forward");
    else lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    depth++;
    int status = lua_pcall(L, nargs, LUA_MULTRET, 0);
    depth--;
    if (status != LUA_OK) return lua_error(L);
    return lua_gettop(L);
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

void repl_shapes(lua_State *L, int on)
{
    depth = 0;
    tensor_set_trace(on ? print_op : NULL, NULL);
    set_module_hook(L, on);
}
