// lua_io.c - files from Lua: tensor.save/load (safetensors, or .npy by extension),
// tensor.save_npy/load_npy, and the global `data` (data.idx here; data.fashion_mnist
// and data.loader in nn/lua/data.lua).
#include <stdlib.h>
#include <string.h>

#include "repl.h"

#define SAVE_MAX_DEPTH 16   // nested tables deeper than this are a cycle or a mistake

// A path argument: a NUL inside it would silently cut it short in C, so it is an error.
static const char *check_path(lua_State *L, int idx, const char *op) {
    size_t len;
    const char *path = luaL_checklstring(L, idx, &len);
    if (strlen(path) != len)
        luaL_error(L, "%s: the path contains a NUL byte at position %d; remove it", op, (int)strlen(path) + 1);
    return path;
}

static int ends_with(const char *s, const char *suffix) {
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

// Copies the tensors of the table at src into the flat table at dst, naming nested
// entries with dots like a PyTorch state_dict: {fc={weight=w}} -> "fc.weight".
static void flatten_into(lua_State *L, int dst, int src, const char *prefix, int depth) {
    if (depth > SAVE_MAX_DEPTH)
        luaL_error(L, "tensor.save: tables nested deeper than %d at '%s' (a cycle?)", SAVE_MAX_DEPTH, prefix);
    lua_pushnil(L);
    while (lua_next(L, src)) {
        int key_type = lua_type(L, -2);
        if (key_type != LUA_TSTRING && !lua_isinteger(L, -2))
            luaL_error(L, "tensor.save: table keys must be names or integers, got a %s under '%s'",
                       luaL_typename(L, -2), *prefix ? prefix : "(top)");
        lua_pushvalue(L, -2);   // tostring on a copy: lua_next needs the key untouched
        const char *key = lua_tostring(L, -1);
        if (*prefix) lua_pushfstring(L, "%s.%s", prefix, key);
        else lua_pushstring(L, key);
        const char *name = lua_tostring(L, -1);
        if (repl_test_tensor(L, -3)) {
            if (lua_getfield(L, dst, name) != LUA_TNIL)
                luaL_error(L, "tensor.save: two tensors would both be saved as '%s'", name);
            lua_pop(L, 1);
            lua_pushvalue(L, -3);
            lua_setfield(L, dst, name);
        } else if (lua_istable(L, -3)) {
            flatten_into(L, dst, lua_absindex(L, -3), name, depth + 1);
        } else {
            luaL_error(L, "tensor.save: '%s' is a %s, not a tensor (save a table of tensors)", name,
                       luaL_typename(L, -3));
        }
        lua_pop(L, 3);   // name, key copy, value
    }
}

// Files load to the cpu; move t to dev (the REPL default or {device=...}) like any
// creation function. Takes over t's reference.
static tensor *to_device(tensor *t, tensor_device dev) {
    if (!t || dev == TENSOR_CPU) return t;
    tensor *r = tensor_to(t, dev);
    tensor_release(t);
    return r;
}

static int cmp_named(const void *a, const void *b) {
    return strcmp(((const tensor_named *)a)->name, ((const tensor_named *)b)->name);
}

// tensor.save(path, t | {name = t, ...} | model with :state_dict())
static int l_save(lua_State *L) {
    const char *path = check_path(L, 1, "tensor.save");
    tensor *one = repl_test_tensor(L, 2);
    if (one && ends_with(path, ".npy")) {
        if (tensor_save_npy(path, one) < 0) return repl_tensor_error(L);
        return 0;
    }
    if (!one && lua_istable(L, 2) && lua_getfield(L, 2, "state_dict") == LUA_TFUNCTION) {   // a module
        lua_pushvalue(L, 2);
        lua_call(L, 1, 1);
        lua_replace(L, 2);
    }
    lua_settop(L, 2);
    if (!one && ends_with(path, ".npy"))
        return luaL_error(L, "tensor.save: %s: a .npy file holds one tensor; save a table of tensors "
                          "to a .safetensors file", path);
    if (!one && !lua_istable(L, 2))
        return luaL_error(L, "tensor.save(path, x): x must be a tensor or a table of named tensors, got a %s",
                          luaL_typename(L, 2));
    lua_newtable(L);   // 3: flat name -> tensor; keeps the name strings alive below
    if (one) {
        lua_pushvalue(L, 2);
        lua_setfield(L, 3, "tensor");   // a lone tensor is stored as "tensor"; load unwraps it
    } else {
        flatten_into(L, 3, 2, "", 0);
    }
    int n = 0;
    lua_pushnil(L);
    while (lua_next(L, 3)) n++, lua_pop(L, 1);
    if (n == 0) return luaL_error(L, "tensor.save: %s: the table has no tensors to save", path);
    tensor_named *items = lua_newuserdatauv(L, (size_t)n * sizeof *items, 0);   // freed by the GC
    int i = 0;
    lua_pushnil(L);
    while (lua_next(L, 3)) {
        items[i].name = (char *)lua_tostring(L, -2);
        items[i].t = repl_test_tensor(L, -1);
        i++;
        lua_pop(L, 1);
    }
    qsort(items, (size_t)n, sizeof *items, cmp_named);   // pairs() order is random; files should not be
    if (tensor_save_safetensors(path, n, items) < 0) return repl_tensor_error(L);
    return 0;
}

// tensor.load(path, [{device=}]) -> a tensor (file saved from one tensor, or .npy)
// or {name = tensor}
static int l_load(lua_State *L) {
    const char *path = check_path(L, 1, "tensor.load");
    tensor_device dev = repl_opt_device(L, 2);
    if (ends_with(path, ".npy")) return repl_push_tensor(L, to_device(tensor_load_npy(path), dev));
    tensor_named *items;
    int n;
    if (tensor_load_safetensors(path, &items, &n) < 0) return repl_tensor_error(L);
    for (int i = 0; i < n; i++)
        if (!(items[i].t = to_device(items[i].t, dev))) {
            tensor_named_free(items, n);
            return repl_tensor_error(L);
        }
    if (n == 1 && strcmp(items[0].name, "tensor") == 0) {
        tensor *t = items[0].t;
        items[0].t = NULL;
        tensor_named_free(items, n);
        return repl_push_tensor(L, t);
    }
    // Push every tensor before anything can raise, so none leaks on a Lua error.
    if (!lua_checkstack(L, n + 2)) {
        tensor_named_free(items, n);
        return luaL_error(L, "tensor.load: %s: too many tensors (%d) for the Lua stack", path, n);
    }
    int base = lua_gettop(L);
    for (int i = 0; i < n; i++) {
        repl_push_tensor(L, items[i].t);
        items[i].t = NULL;
    }
    lua_createtable(L, 0, n);
    for (int i = 0; i < n; i++) {
        lua_pushvalue(L, base + 1 + i);
        lua_setfield(L, -2, items[i].name);
    }
    tensor_named_free(items, n);
    return 1;
}

static int l_save_npy(lua_State *L) {
    const char *path = check_path(L, 1, "tensor.save_npy");
    if (tensor_save_npy(path, repl_check_tensor(L, 2)) < 0) return repl_tensor_error(L);
    return 0;
}

static int l_load_npy(lua_State *L) {
    const char *path = check_path(L, 1, "tensor.load_npy");
    return repl_push_tensor(L, to_device(tensor_load_npy(path), repl_opt_device(L, 2)));
}

// data.idx(path, [{device=}]) -> the IDX file's values as float32 (raw: pixels stay 0..255)
static int l_idx(lua_State *L) {
    const char *path = check_path(L, 1, "data.idx");
    return repl_push_tensor(L, to_device(tensor_load_idx(path), repl_opt_device(L, 2)));
}

int repl_open_io(lua_State *L) {
    static const luaL_Reg tensor_fns[] = {
        {"save", l_save}, {"load", l_load}, {"save_npy", l_save_npy}, {"load_npy", l_load_npy},
        {NULL, NULL}};
    if (lua_getglobal(L, "tensor") != LUA_TTABLE)
        return luaL_error(L, "nnlab: repl_open_io needs the global tensor table (open it first)");
    luaL_setfuncs(L, tensor_fns, 0);
    lua_pop(L, 1);
    repl_require_embedded(L, "nn.data");
    if (!lua_istable(L, -1)) return luaL_error(L, "nnlab: nn/lua/data.lua did not return a table");
    lua_pushcfunction(L, l_idx);
    lua_setfield(L, -2, "idx");
    lua_setglobal(L, "data");
    return 0;
}
