// lua_model.c - dash.model and dash.grads: the shapes panel's rows (a model summary
// given by name, rows or nn.summary's result) and the gradient panel's norms, read from
// Lua tables into the dashboard's state.
#include "dash.h"
#include "../repl.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// A summary cell as text: numbers without ".0", shape tables as [a,b,c].
static char *cell_text(lua_State *L, int idx)
{
    idx = lua_absindex(L, idx);
    char buf[128];
    if (lua_isnil(L, idx)) return strdup("");
    if (lua_type(L, idx) == LUA_TNUMBER) {
        double v = lua_tonumber(L, idx);
        snprintf(buf, sizeof buf, v == floor(v) && fabs(v) < 1e15 ? "%.0f" : "%g", v);
        return strdup(buf);
    }
    int has_tostring = lua_type(L, idx) == LUA_TTABLE && luaL_getmetafield(L, idx, "__tostring") != LUA_TNIL;
    if (has_tostring) lua_pop(L, 1);
    if (lua_type(L, idx) == LUA_TTABLE && !has_tostring) {
        size_t k = 0;
        lua_Integer n = luaL_len(L, idx);
        k += (size_t)snprintf(buf, sizeof buf, "[");
        for (lua_Integer i = 1; i <= n && k < sizeof buf; i++) {
            lua_geti(L, idx, i);
            k += (size_t)snprintf(buf + k, sizeof buf - k, "%s%.0f", i > 1 ? "," : "", lua_tonumber(L, -1));
            lua_pop(L, 1);
        }
        if (k < sizeof buf) snprintf(buf + k, sizeof buf - k, "]");
        return strdup(buf);
    }
    char *s = strdup(luaL_tolstring(L, idx, NULL));
    lua_pop(L, 1);
    return s;
}

// Pushes the first non-nil of t[f1], t[f2], t[i].
static void get_any(lua_State *L, int t, const char *f1, const char *f2, int i)
{
    lua_getfield(L, t, f1);
    if (!lua_isnil(L, -1) || !f2) return;
    lua_pop(L, 1);
    lua_getfield(L, t, f2);
    if (!lua_isnil(L, -1)) return;
    lua_pop(L, 1);
    lua_geti(L, t, i);
}

// An nn.summary row {class=, name=, depth=}: "  Linear (fc1)", as nn.summary prints it.
// NULL when the row has no class.
static char *summary_label(lua_State *L, int r)
{
    char buf[160];
    if (lua_getfield(L, r, "class") != LUA_TSTRING) {
        lua_pop(L, 1);
        return NULL;
    }
    lua_getfield(L, r, "name");
    lua_getfield(L, r, "depth");
    int depth = (int)lua_tointeger(L, -1);
    const char *name = lua_isstring(L, -2) ? lua_tostring(L, -2) : "";
    snprintf(buf, sizeof buf, "%*s%s%s%s%s", 2 * (depth > 0 && depth < 20 ? depth : 0), "", lua_tostring(L, -3),
             *name ? " (" : "", name, *name ? ")" : "");
    lua_pop(L, 3);
    return strdup(buf);
}

static void free_rows(dash_row *rows, int n)
{
    for (int i = 0; i < n; i++) {
        free(rows[i].layer);
        free(rows[i].shape);
        free(rows[i].params);
    }
    free(rows);
}

// dash.model(name | {name=, rows={...}} | { {layer=, shape=, params=}, ... })
static int model_impl(lua_State *L, int is_auto)
{
    dash_state *S = repl_dash_init();
    if (!is_auto) S->explicit_rows = 1;
    if (lua_type(L, 1) == LUA_TSTRING) {
        snprintf(S->model_name, sizeof S->model_name, "%s", lua_tostring(L, 1));
        return 0;
    }
    luaL_checktype(L, 1, LUA_TTABLE);
    // dash.model(module, input_shape): summarise it (on meta) and show those rows
    lua_getfield(L, 1, "forward");
    int is_module = lua_isfunction(L, -1);
    lua_pop(L, 1);
    if (is_module) {
        if (lua_isnoneornil(L, 2))
            return luaL_error(L, "dash.model(model, input_shape): give the input shape too, e.g. {64, 784}");
        lua_getglobal(L, "nn");
        lua_getfield(L, -1, "summary");
        lua_pushvalue(L, 1);
        lua_pushvalue(L, 2);
        lua_createtable(L, 0, 1);
        lua_pushboolean(L, 0);
        lua_setfield(L, -2, "print");
        lua_call(L, 3, 1);
        lua_getfield(L, 1, "__name");
        if (lua_isstring(L, -1)) lua_setfield(L, -2, "name");
        else lua_pop(L, 1);
        lua_replace(L, 1);
        lua_settop(L, 1);
    }
    int list = 1;
    lua_getfield(L, 1, "name");
    if (lua_isstring(L, -1)) snprintf(S->model_name, sizeof S->model_name, "%s", lua_tostring(L, -1));
    lua_pop(L, 1);
    lua_getfield(L, 1, "rows");             // a summary object that carries its rows
    if (lua_istable(L, -1)) list = lua_gettop(L);
    else lua_pop(L, 1);
    int n = (int)luaL_len(L, list);
    if (n == 0) return luaL_error(L, "dash.model: no rows given; pass nn.summary(m, shape), (m, shape) or {{layer=, shape=, params=}, ...}");
    dash_row *rows = calloc((size_t)(n ? n : 1), sizeof *rows);
    if (!rows) return luaL_error(L, "dash.model: out of memory");
    for (int i = 0; i < n; i++) {
        lua_geti(L, list, i + 1);
        if (!lua_istable(L, -1)) {
            free_rows(rows, i);
            return luaL_error(L, "dash.model: row %d is a %s; expected {layer=, shape=, params=}", i + 1,
                              luaL_typename(L, -1));
        }
        int r = lua_gettop(L);
        rows[i].layer = summary_label(L, r);
        lua_getfield(L, r, "depth");
        rows[i].depth = (int)lua_tointeger(L, -1);
        lua_pop(L, 1);
        if (!rows[i].layer) {
            get_any(L, r, "layer", "name", 1);
            rows[i].layer = cell_text(L, -1);
            lua_pop(L, 1);
        }
        get_any(L, r, "shape", "output", 2);
        rows[i].shape = cell_text(L, -1);
        get_any(L, r, "params", NULL, 3);
        rows[i].params = cell_text(L, -1);
        lua_pop(L, 3);
    }
    int rc = repl_dash_set_rows(S, rows, n);
    free_rows(rows, n);
    if (rc) return luaL_error(L, "dash.model: out of memory");
    return 0;
}

int repl_dash_l_model(lua_State *L) { return model_impl(L, 0); }
int repl_dash_l_model_auto(lua_State *L) { return repl_dash_init()->explicit_rows ? 0 : model_impl(L, 1); }

static double tensor_norm_value(tensor *t)
{
    float v = -1;
    int was = tensor_set_grad_enabled(0);      // a display value, not part of the graph
    tensor *n = t ? tensor_norm(t) : NULL;
    tensor_set_grad_enabled(was);
    if (!n || tensor_item(n, &v) != 0) v = -1;
    tensor_release(n);
    return v;
}

// dash.grads{ {name=, weight_norm=, grad_norm=, update_ratio=}, ... }; instead of the
// norms a row may give param=W (norms of W and W.grad) and lr= (update ratio lr|g|/|W|).
int repl_dash_l_grads(lua_State *L)
{
    dash_state *S = repl_dash_init();
    luaL_checktype(L, 1, LUA_TTABLE);
    int n = (int)luaL_len(L, 1);
    dash_grad *g = calloc((size_t)(n ? n : 1), sizeof *g);
    char **names = calloc((size_t)(n ? n : 1), sizeof *names);
    if (!g || !names) {
        free(g);
        free(names);
        return luaL_error(L, "dash.grads: out of memory");
    }
    for (int i = 0; i < n; i++) {
        lua_geti(L, 1, i + 1);
        int r = lua_gettop(L);
        if (lua_istable(L, r)) {
            get_any(L, r, "name", "layer", 1);
            names[i] = cell_text(L, -1);
            lua_pop(L, 1);
            g[i].weight_norm = repl_dash_opt_num(L, r, "weight_norm", -1);
            g[i].grad_norm = repl_dash_opt_num(L, r, "grad_norm", -1);
            g[i].update_ratio = repl_dash_opt_num(L, r, "update_ratio", -1);
            lua_getfield(L, r, "param");
            tensor *p = repl_test_tensor(L, -1);
            if (p) {
                g[i].weight_norm = tensor_norm_value(p);
                g[i].grad_norm = p->grad ? tensor_norm_value(p->grad) : -1;
                double lr = repl_dash_opt_num(L, r, "lr", -1);
                if (lr > 0 && g[i].grad_norm >= 0 && g[i].weight_norm > 0)
                    g[i].update_ratio = lr * g[i].grad_norm / g[i].weight_norm;
            }
            lua_pop(L, 1);
        } else {
            names[i] = strdup("?");
            g[i].weight_norm = g[i].grad_norm = g[i].update_ratio = -1;
        }
        g[i].name = names[i];
        lua_pop(L, 1);
    }
    int rc = repl_dash_set_grads(S, g, n);
    S->explicit_grads = 1;
    for (int i = 0; i < n; i++) free(names[i]);
    free(names);
    free(g);
    if (rc) return luaL_error(L, "dash.grads: out of memory");
    return 0;
}
