// lua_nn.c - the C half of `nn` and `optim`: nn/ functions as nn.F.*, then the
// embedded nn/lua/*.lua (nn, optim, train) build the module system on top.
// Arguments here are already in C conventions except where noted (class labels
// and token ids are 1-based in Lua and shifted by nn/ itself so errors read 1-based).
#include <limits.h>
#include <string.h>
#include <lua.h>
#include <lauxlib.h>
#include "repl.h"
#include "../nn/nn.h"

static tensor *opt_tensor(lua_State *L, int idx) {
    return lua_isnoneornil(L, idx) ? NULL : repl_check_tensor(L, idx);
}

// "mean" | "sum" | "none", or an options table {reduction = ...}; default "mean"
static nn_reduction check_reduction(lua_State *L, int idx) {
    nn_reduction r;
    const char *name = "mean";
    if (lua_istable(L, idx)) {
        lua_getfield(L, idx, "reduction");
        name = luaL_optstring(L, -1, "mean");
        lua_pop(L, 1);   // the string stays alive in the options table
    } else if (!lua_isnoneornil(L, idx)) {
        name = luaL_checkstring(L, idx);
    }
    if (nn_parse_reduction(name, &r)) repl_tensor_error(L);
    return r;
}

// a boolean, or an options table {causal = true}
static int opt_causal(lua_State *L, int idx) {
    if (!lua_istable(L, idx)) return lua_toboolean(L, idx);
    static const char *const valid[] = {"causal", NULL};
    repl_check_options(L, idx, "nn.scaled_dot_attention", valid);
    lua_getfield(L, idx, "causal");
    int on = lua_toboolean(L, -1);
    lua_pop(L, 1);
    return on;
}

// A Lua integer handed on as a C int (stride, padding, kernel size): refused when it does
// not fit instead of cut (padding = 2^40 acted as 0, stride = 2^32+1 as 1).
static int check_c_int(lua_State *L, int idx, const char *op, const char *what) {
    lua_Integer v = luaL_checkinteger(L, idx);
    if (v < INT_MIN || v > INT_MAX)
        luaL_error(L, "%s: %s = %I is out of range: it must be at most %d in size; use a value that "
                   "fits the input", op, what, v, INT_MAX);
    return (int)v;
}

static int opt_c_int(lua_State *L, int idx, int def, const char *op, const char *what) {
    return lua_isnoneornil(L, idx) ? def : check_c_int(L, idx, op, what);
}

static int f_linear(lua_State *L) {
    return repl_push_tensor(L, nn_linear(repl_check_tensor(L, 1), repl_check_tensor(L, 2), opt_tensor(L, 3)));
}

// conv2d(x, w, b|nil, stride, padding, groups)
static int f_conv2d(lua_State *L) {
    const char *op = "nn.F.conv2d";
    return repl_push_tensor(L, nn_conv2d(repl_check_tensor(L, 1), repl_check_tensor(L, 2), opt_tensor(L, 3),
                                         opt_c_int(L, 4, 1, op, "stride"), opt_c_int(L, 5, 0, op, "padding"),
                                         opt_c_int(L, 6, 1, op, "groups")));
}

// max_pool2d(x, k[, stride=k[, padding=0]])
static int f_max_pool2d(lua_State *L) {
    const char *op = "nn.F.max_pool2d";
    int k = check_c_int(L, 2, op, "kernel size");
    return repl_push_tensor(L, nn_max_pool2d(repl_check_tensor(L, 1), k, opt_c_int(L, 3, k, op, "stride"),
                                             opt_c_int(L, 4, 0, op, "padding")));
}

static int f_avg_pool2d(lua_State *L) {
    const char *op = "nn.F.avg_pool2d";
    int k = check_c_int(L, 2, op, "kernel size");
    return repl_push_tensor(L, nn_avg_pool2d(repl_check_tensor(L, 1), k, opt_c_int(L, 3, k, op, "stride"),
                                             opt_c_int(L, 4, 0, op, "padding")));
}

// batch_norm(x, running_mean, running_var, weight, bias, training, momentum, eps)
static int f_batch_norm(lua_State *L) {
    return repl_push_tensor(L, nn_batch_norm(repl_check_tensor(L, 1), opt_tensor(L, 2), opt_tensor(L, 3),
                                             opt_tensor(L, 4), opt_tensor(L, 5), lua_toboolean(L, 6),
                                             (float)luaL_optnumber(L, 7, 0.1), (float)luaL_optnumber(L, 8, 1e-5)));
}

// layer_norm(x, normalized_dims, weight, bias, eps)
static int f_layer_norm(lua_State *L) {
    return repl_push_tensor(L, nn_layer_norm(repl_check_tensor(L, 1), check_c_int(L, 2, "nn.F.layer_norm", "normalized dims"), opt_tensor(L, 3),
                                             opt_tensor(L, 4), (float)luaL_optnumber(L, 5, 1e-5)));
}

// embedding(weight, ids) with 1-based ids
static int f_embedding(lua_State *L) {
    return repl_push_tensor(L, nn_embedding_base(repl_check_tensor(L, 1), repl_check_tensor(L, 2), 1));
}

static int f_dropout(lua_State *L) {
    return repl_push_tensor(L, nn_dropout(repl_check_tensor(L, 1), (float)luaL_optnumber(L, 2, 0.5),
                                          lua_isnone(L, 3) ? 1 : lua_toboolean(L, 3)));
}

static const char *const reduction_only[] = {"reduction", NULL};

static int f_mse_loss(lua_State *L) {
    repl_check_options(L, 3, "nn.mse_loss", reduction_only);
    return repl_push_tensor(L, nn_mse_loss(repl_check_tensor(L, 1), repl_check_tensor(L, 2), check_reduction(L, 3)));
}

// cross_entropy(logits, labels, [reduction | {reduction=, weight=, label_smoothing=}]), 1-based labels
static int f_cross_entropy(lua_State *L) {
    static const char *const valid[] = {"reduction", "weight", "label_smoothing", NULL};
    repl_check_options(L, 3, "nn.cross_entropy", valid);
    tensor *weight = NULL;
    float smoothing = 0.0f;
    if (lua_istable(L, 3)) {
        if (lua_getfield(L, 3, "weight") != LUA_TNIL) weight = repl_check_tensor(L, -1);   // kept alive by the table
        lua_pop(L, 1);
        if (lua_getfield(L, 3, "label_smoothing") != LUA_TNIL) {
            if (lua_type(L, -1) != LUA_TNUMBER)
                luaL_error(L, "nn.cross_entropy: label_smoothing must be a number in [0, 1], got %s", luaL_typename(L, -1));
            smoothing = (float)lua_tonumber(L, -1);
        }
        lua_pop(L, 1);
    }
    return repl_push_tensor(L, nn_cross_entropy_opts(repl_check_tensor(L, 1), repl_check_tensor(L, 2), weight,
                                                     smoothing, check_reduction(L, 3), 1));
}

// nll_loss(log_probs, labels, [reduction | {reduction=, weight=}]), 1-based labels
static int f_nll_loss(lua_State *L) {
    static const char *const valid[] = {"reduction", "weight", NULL};
    repl_check_options(L, 3, "nn.nll_loss", valid);
    tensor *weight = NULL;
    if (lua_istable(L, 3)) {
        if (lua_getfield(L, 3, "weight") != LUA_TNIL) weight = repl_check_tensor(L, -1);   // kept alive by the table
        lua_pop(L, 1);
    }
    return repl_push_tensor(L, nn_nll_loss(repl_check_tensor(L, 1), repl_check_tensor(L, 2), weight,
                                           check_reduction(L, 3), 1));
}

static int f_bce_with_logits(lua_State *L) {
    repl_check_options(L, 3, "nn.bce_with_logits", reduction_only);
    return repl_push_tensor(L, nn_bce_with_logits(repl_check_tensor(L, 1), repl_check_tensor(L, 2),
                                                  check_reduction(L, 3)));
}

static int f_scaled_dot_attention(lua_State *L) {
    return repl_push_tensor(L, nn_scaled_dot_attention(repl_check_tensor(L, 1), repl_check_tensor(L, 2),
                                                       repl_check_tensor(L, 3), opt_causal(L, 4)));
}

static int f_xca(lua_State *L) {
    return repl_push_tensor(L, nn_xca(repl_check_tensor(L, 1), repl_check_tensor(L, 2), repl_check_tensor(L, 3),
                                      repl_check_tensor(L, 4)));
}

// pos_sincos_2d(h, w, d[, {device=}])
static int f_pos_sincos_2d(lua_State *L) {
    return repl_push_tensor(L, nn_pos_sincos_2d(luaL_checkinteger(L, 1), luaL_checkinteger(L, 2),
                                                luaL_checkinteger(L, 3), repl_opt_device(L, 4)));
}

static int f_fourier_features(lua_State *L) {
    return repl_push_tensor(L, nn_fourier_features(repl_check_tensor(L, 1), check_c_int(L, 2, "nn.F.fourier_features", "bands"),
                                                   (float)luaL_checknumber(L, 3)));
}

// In-place initialisers return nothing; the tensor keeps its Lua identity.
static int f_uniform_(lua_State *L) {
    if (nn_uniform_(repl_check_tensor(L, 1), (float)luaL_checknumber(L, 2), (float)luaL_checknumber(L, 3)))
        return repl_tensor_error(L);
    return 0;
}

static int f_normal_(lua_State *L) {
    if (nn_normal_(repl_check_tensor(L, 1), (float)luaL_optnumber(L, 2, 0), (float)luaL_optnumber(L, 3, 1)))
        return repl_tensor_error(L);
    return 0;
}

static int f_kaiming_uniform_(lua_State *L) {
    if (nn_kaiming_uniform_(repl_check_tensor(L, 1), luaL_checkinteger(L, 2))) return repl_tensor_error(L);
    return 0;
}

static int f_xavier_uniform_(lua_State *L) {
    if (nn_xavier_uniform_(repl_check_tensor(L, 1), luaL_checkinteger(L, 2), luaL_checkinteger(L, 3)))
        return repl_tensor_error(L);
    return 0;
}

// sgd_step(p, buf|nil, lr, momentum, dampening, weight_decay, nesterov, first_step)
static int f_sgd_step(lua_State *L) {
    if (nn_sgd_step(repl_check_tensor(L, 1), opt_tensor(L, 2), (float)luaL_checknumber(L, 3),
                    (float)luaL_optnumber(L, 4, 0), (float)luaL_optnumber(L, 5, 0), (float)luaL_optnumber(L, 6, 0),
                    lua_toboolean(L, 7), lua_toboolean(L, 8)))
        return repl_tensor_error(L);
    return 0;
}

// adam_step(p, m, v, step, lr, beta1, beta2, eps, weight_decay, decoupled)
static int f_adam_step(lua_State *L) {
    if (nn_adam_step(repl_check_tensor(L, 1), repl_check_tensor(L, 2), repl_check_tensor(L, 3),
                     luaL_checkinteger(L, 4), (float)luaL_checknumber(L, 5), (float)luaL_checknumber(L, 6),
                     (float)luaL_checknumber(L, 7), (float)luaL_checknumber(L, 8), (float)luaL_optnumber(L, 9, 0),
                     lua_toboolean(L, 10)))
        return repl_tensor_error(L);
    return 0;
}

// mult_adds(kind, out, weight|nil) -> integer
static int f_mult_adds(lua_State *L) {
    lua_pushinteger(L, nn_mult_adds(luaL_checkstring(L, 1), repl_check_tensor(L, 2), opt_tensor(L, 3)));
    return 1;
}

static int f_attention_macs(lua_State *L) {
    lua_pushinteger(L, nn_attention_macs(luaL_checkinteger(L, 1), luaL_checkinteger(L, 2), luaL_checkinteger(L, 3),
                                         luaL_checkinteger(L, 4), luaL_checkinteger(L, 5)));
    return 1;
}

// Facts about a tensor the module system needs whatever the tensor bindings expose.
static int f_requires_grad(lua_State *L) {
    lua_pushboolean(L, repl_check_tensor(L, 1)->requires_grad);
    return 1;
}

static int f_has_grad(lua_State *L) {
    lua_pushboolean(L, repl_check_tensor(L, 1)->grad != NULL);
    return 1;
}

static int f_device(lua_State *L) {
    lua_pushstring(L, tensor_device_name(repl_check_tensor(L, 1)->storage->device));
    return 1;
}

// 1 if both values are the same C tensor (two Lua handles may share one)
static int f_same(lua_State *L) {
    tensor *a = repl_test_tensor(L, 1), *b = repl_test_tensor(L, 2);
    lua_pushboolean(L, a && a == b);
    return 1;
}

static const luaL_Reg nn_f[] = {
    {"linear", f_linear}, {"conv2d", f_conv2d}, {"max_pool2d", f_max_pool2d}, {"avg_pool2d", f_avg_pool2d},
    {"batch_norm", f_batch_norm}, {"layer_norm", f_layer_norm}, {"embedding", f_embedding},
    {"dropout", f_dropout}, {"mse_loss", f_mse_loss}, {"cross_entropy", f_cross_entropy},
    {"nll_loss", f_nll_loss},
    {"bce_with_logits", f_bce_with_logits}, {"scaled_dot_attention", f_scaled_dot_attention}, {"xca", f_xca},
    {"pos_sincos_2d", f_pos_sincos_2d}, {"fourier_features", f_fourier_features},
    {"uniform_", f_uniform_}, {"normal_", f_normal_}, {"kaiming_uniform_", f_kaiming_uniform_},
    {"xavier_uniform_", f_xavier_uniform_}, {"sgd_step", f_sgd_step}, {"adam_step", f_adam_step},
    {"mult_adds", f_mult_adds}, {"attention_macs", f_attention_macs}, {"requires_grad", f_requires_grad},
    {"has_grad", f_has_grad}, {"device", f_device}, {"same", f_same},
    {NULL, NULL}
};

// Loads an embedded module and sets its return value as global `global`.
static void load_global(lua_State *L, const char *module, const char *global) {
    int top = lua_gettop(L);
    repl_require_embedded(L, module);
    if (lua_gettop(L) != top + 1 || !lua_istable(L, -1))
        luaL_error(L, "nnlab: embedded module %s did not return a table", module);
    lua_setglobal(L, global);
}

int repl_open_nn(lua_State *L) {
    // nn/lua/nn.lua reads nn.F while it loads, so the C half goes in first.
    lua_newtable(L);
    luaL_newlib(L, nn_f);
    lua_setfield(L, -2, "F");
    lua_setglobal(L, "nn");
    repl_open_optim_steps(L);
    load_global(L, "nn.nn", "nn");
    load_global(L, "nn.optim", "optim");
    load_global(L, "nn.train", "train");
    // a module's forward explains its own Lua mistakes with the prompt's hints
    lua_getglobal(L, "nn");
    repl_require_embedded(L, "hints");
    lua_getfield(L, -1, "explain");
    lua_setfield(L, -3, "_explain");
    lua_pop(L, 2);
    return 0;
}
