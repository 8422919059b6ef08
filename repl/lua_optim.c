// lua_optim.c - one C call per optimizer step for a whole model (tensor_*_step_multi:
// one launch on the GPU, one C loop on the CPU). optim.lua's SGD, Adam and AdamW step
// through nn.F.sgd_steps / nn.F.adam_steps, which also keep the per-parameter state
// (created on a parameter's first step, as PyTorch does) so that a step runs no Lua
// loop. tensor._sgd_step_multi / _adam_step_multi take the state lists as given.
#include <stdlib.h>
#include <string.h>
#include <lauxlib.h>
#include "repl.h"

// Parameters without a gradient are left out, as the per-parameter steps skip them.
// idx[k]: the 1-based position in the params list of the k-th parameter kept.
typedef struct { int n; tensor **p, **g, **s1, **s2; int64_t *step; int *first, *idx; } multi_lists;

// The lists for `len` parameters, in one Lua userdata left on the stack: freed by the GC,
// also when an argument error jumps out.
static void multi_alloc(lua_State *L, multi_lists *m, int len) {
    size_t cap = (size_t)len + 1, per = 4 * sizeof(tensor *) + sizeof(int64_t) + 2 * sizeof(int);
    char *mem = lua_newuserdatauv(L, cap * per, 0);
    memset(mem, 0, cap * per);
    m->n = 0;
    m->p = (tensor **)mem; m->g = m->p + cap; m->s1 = m->g + cap; m->s2 = m->s1 + cap;
    m->step = (int64_t *)(m->s2 + cap);
    m->first = (int *)(m->step + cap);
    m->idx = m->first + cap;
}

// The state tensor at list[i]; when the list has none yet and `make` is set, a zero
// tensor the shape of p, stored there (a parameter's state begins at its first step).
static tensor *state_at(lua_State *L, int list, int i, tensor *p, int make) {
    lua_geti(L, list, i);
    tensor *s = lua_isnil(L, -1) ? NULL : repl_check_tensor(L, -1);
    lua_pop(L, 1);
    if (s || !make) return s;
    repl_push_tensor(L, tensor_zeros_like(p));
    s = repl_check_tensor(L, -1);
    lua_seti(L, list, i);
    return s;
}

// params at idx; state lists at i1, i2 (0: none); the per-parameter numbers at inum (step
// counts, or first-step booleans when `first`). make: create missing state (zeros) and
// read a missing number as 0 / true; else every entry must be there (nil allowed in the
// SGD buffers when may_nil).
static void multi_collect(lua_State *L, multi_lists *m, int idx, int i1, int i2, int inum, int first, int may_nil,
                          int make) {
    luaL_checktype(L, idx, LUA_TTABLE);
    int len = (int)luaL_len(L, idx);
    multi_alloc(L, m, len);
    for (int i = 1; i <= len; i++) {
        lua_geti(L, idx, i);
        tensor *p = repl_check_tensor(L, -1);
        lua_pop(L, 1);
        if (!p->grad) continue;   // unused this step, as in PyTorch
        int k = m->n++;
        m->idx[k] = i;
        m->p[k] = p;
        m->g[k] = p->grad;
        int lists[2] = {i1, i2};
        tensor **outs[2] = {m->s1, m->s2};
        for (int j = 0; j < 2; j++) {
            if (!lists[j] || lua_isnoneornil(L, lists[j])) continue;
            outs[j][k] = state_at(L, lists[j], i, p, make);
            if (!outs[j][k] && !may_nil && !make) luaL_error(L, "optimizer step: parameter %d has no state tensor", i);
        }
        int type = lua_geti(L, inum, i);
        if (first) m->first[k] = make && type == LUA_TNIL ? 1 : lua_toboolean(L, -1);
        else m->step[k] = make && type == LUA_TNIL ? 0 : (int64_t)luaL_checkinteger(L, -1);
        lua_pop(L, 1);
    }
}

// tensor._adam_step_multi(params, exp_avgs, exp_avg_sqs, steps, lr, beta1, beta2, eps, weight_decay, decoupled)
static int l_adam_step_multi(lua_State *L) {
    luaL_checktype(L, 2, LUA_TTABLE);
    luaL_checktype(L, 3, LUA_TTABLE);
    luaL_checktype(L, 4, LUA_TTABLE);
    multi_lists m;
    multi_collect(L, &m, 1, 2, 3, 4, 0, 0, 0);
    int rc = tensor_adam_step_multi(m.n, m.p, m.g, m.s1, m.s2, m.step, (float)luaL_checknumber(L, 5),
                                    (float)luaL_checknumber(L, 6), (float)luaL_checknumber(L, 7),
                                    (float)luaL_checknumber(L, 8), (float)luaL_checknumber(L, 9), lua_toboolean(L, 10));
    return rc ? repl_tensor_error(L) : 0;
}

// tensor._sgd_step_multi(params, bufs|nil, first_steps, lr, momentum, dampening, weight_decay, nesterov)
static int l_sgd_step_multi(lua_State *L) {
    luaL_checktype(L, 3, LUA_TTABLE);
    multi_lists m;
    multi_collect(L, &m, 1, lua_istable(L, 2) ? 2 : 0, 0, 3, 1, 1, 0);
    int rc = tensor_sgd_step_multi(m.n, m.p, m.g, lua_istable(L, 2) ? m.s1 : NULL, m.first,
                                   (float)luaL_checknumber(L, 4), (float)luaL_checknumber(L, 5),
                                   (float)luaL_checknumber(L, 6), (float)luaL_checknumber(L, 7), lua_toboolean(L, 8));
    return rc ? repl_tensor_error(L) : 0;
}

// The state table's list `key` (made when missing) pushed; returns its stack index.
static int state_list(lua_State *L, int state, const char *key) {
    if (lua_getfield(L, state, key) != LUA_TTABLE) {
        lua_pop(L, 1);
        lua_newtable(L);
        lua_pushvalue(L, -1);
        lua_setfield(L, state, key);
    }
    return lua_gettop(L);
}

// nn.F.adam_steps(params, state, lr, beta1, beta2, eps, weight_decay, decoupled[, opt]): one
// Adam (or AdamW) step of every parameter that has a gradient. state = {exp_avg = {},
// exp_avg_sq = {}, step = {}}, lists by parameter position, filled on each parameter's
// first step. With a dashboard watching, the step of opt (the optimizer) is logged from
// here (repl_dash_step_begin/_end: no Lua hook a step).
static int f_adam_steps(lua_State *L) {
    luaL_checktype(L, 1, LUA_TTABLE);
    luaL_checktype(L, 2, LUA_TTABLE);
    double lr_in = luaL_checknumber(L, 3);
    float lr = (float)lr_in, b1 = (float)luaL_checknumber(L, 4), b2 = (float)luaL_checknumber(L, 5);
    float eps = (float)luaL_checknumber(L, 6), wd = (float)luaL_optnumber(L, 7, 0);
    int decoupled = lua_toboolean(L, 8);
    lua_settop(L, 9);
    int watch = repl_dash_watching && lua_istable(L, 9);
    if (watch) repl_dash_step_begin(L, 9);
    int m1 = state_list(L, 2, "exp_avg"), m2 = state_list(L, 2, "exp_avg_sq"), st = state_list(L, 2, "step");
    multi_lists m;
    multi_collect(L, &m, 1, m1, m2, st, 0, 0, 1);
    for (int k = 0; k < m.n; k++) m.step[k]++;
    if (tensor_adam_step_multi(m.n, m.p, m.g, m.s1, m.s2, m.step, lr, b1, b2, eps, wd, decoupled))
        return repl_tensor_error(L);
    for (int k = 0; k < m.n; k++) {            // counted once the step is taken
        lua_pushinteger(L, m.step[k]);
        lua_seti(L, st, m.idx[k]);
    }
    if (watch) repl_dash_step_end(L, 9, lr_in);
    return 0;
}

// nn.F.sgd_steps(params, state, lr, momentum, dampening, weight_decay, nesterov[, opt]): one
// SGD step of every parameter that has a gradient (opt: as adam_steps). state =
// {momentum_buffer = {}, first = {}}: a parameter's buffer is made on its first step
// (which copies the gradient in); first[i] is nil (true) until parameter i has stepped,
// then false.
static int f_sgd_steps(lua_State *L) {
    luaL_checktype(L, 1, LUA_TTABLE);
    luaL_checktype(L, 2, LUA_TTABLE);
    double lr_in = luaL_checknumber(L, 3);
    float lr = (float)lr_in, mom = (float)luaL_optnumber(L, 4, 0);
    float damp = (float)luaL_optnumber(L, 5, 0), wd = (float)luaL_optnumber(L, 6, 0);
    int nesterov = lua_toboolean(L, 7);
    lua_settop(L, 8);
    int watch = repl_dash_watching && lua_istable(L, 8);
    if (watch) repl_dash_step_begin(L, 8);
    int bufs = mom != 0.0f ? state_list(L, 2, "momentum_buffer") : 0, first = state_list(L, 2, "first");
    multi_lists m;
    multi_collect(L, &m, 1, bufs, 0, first, 1, 0, 1);
    if (tensor_sgd_step_multi(m.n, m.p, m.g, bufs ? m.s1 : NULL, m.first, lr, mom, damp, wd, nesterov))
        return repl_tensor_error(L);
    for (int k = 0; k < m.n; k++) {
        lua_pushboolean(L, 0);
        lua_seti(L, first, m.idx[k]);
    }
    if (watch) repl_dash_step_end(L, 8, lr_in);
    return 0;
}

void repl_open_optim_steps(lua_State *L) {
    static const luaL_Reg t_fns[] = {{"_adam_step_multi", l_adam_step_multi}, {"_sgd_step_multi", l_sgd_step_multi},
                                     {NULL, NULL}};
    static const luaL_Reg f_fns[] = {{"adam_steps", f_adam_steps}, {"sgd_steps", f_sgd_steps}, {NULL, NULL}};
    int top = lua_gettop(L);
    if (lua_getglobal(L, "tensor") == LUA_TTABLE) luaL_setfuncs(L, t_fns, 0);
    if (lua_getglobal(L, "nn") == LUA_TTABLE && lua_getfield(L, -1, "F") == LUA_TTABLE) luaL_setfuncs(L, f_fns, 0);
    lua_settop(L, top);
}
