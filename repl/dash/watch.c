// watch.c - zero-code watching: with a dashboard open, training is seen without any
// dash.* call. repl/lua/watch.lua hooks Optimizer:step and the first forward and binds
// the optimizer's parameters here by module path; backward() on a scalar names the
// loss. Each step logs step, loss and lr (a few hundred ns); per-parameter statistics
// (norms, update/weight ratio, distributions) cost a copy and a pass over every
// parameter, so they are sampled: within 0.2% of the loop's time and at most 4 times a
// second, and at least once a second when a sample costs <= 5 ms
// (TensorBoard and W&B sample histograms the same way).
#include "dash.h"
#include "../repl.h"

#include <lauxlib.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct bound {
    char name[96];
    tensor *p;
    float *old;                // values before the sampled step
    int64_t n;
} bound;

static struct {
    bound *b;
    int nb;
    tensor *loss;              // the last scalar backward() ran on (a detached alias), off the CPU
    double loss_cpu;           // its value when on the CPU (read at backward: no alias to make)
    int loss_fresh;            // not yet logged by a step or dash.log
    int64_t opt_steps;         // optimizer steps this run (0: backward() is the step)
    int sample_next, have_old;
    double stats_cost, pre_cost, sample_at;   // seconds: a sample's cost; when the next is due
    // a run's first step is logged one step late: a script that calls dash.log itself
    // (explicit wins) has then had its chance, and no automatic step 1 is left behind
    dash_point first;
    int have_first;
    double epoch;              // of the loader the training loop runs (data.lua tells dash._epoch)
} W = {.epoch = NAN};

int repl_dash_watching;        // read by backward() before calling in

static void unbind(void)
{
    for (int i = 0; i < W.nb; i++) {
        tensor_release(W.b[i].p);
        free(W.b[i].old);
    }
    free(W.b);
    W.b = NULL;
    W.nb = 0;
    W.have_old = 0;
}

// A new run: the sampling starts over (the bound parameters stay until rebound).
void repl_dash_watch_reset(void)
{
    W.opt_steps = 0;
    W.sample_next = 1;         // the first step of a run fills the gradient panel
    W.stats_cost = W.sample_at = 0;
}

void repl_dash_watch_consumed(void)
{
    W.loss_fresh = 0;
    W.have_first = 0;
}

void repl_dash_flush_first(void)
{
    if (!W.have_first) return;
    W.have_first = 0;
    if (!repl_dash_cur()->explicit_log) repl_dash_feed(&W.first, NULL, 0);
}

// Host values of t: its own memory when it is a contiguous CPU tensor, else a copy
// (*owned, to free).
static const float *host_values(tensor *t, float **owned)
{
    *owned = NULL;
    if (!t || !t->storage || t->storage->device == TENSOR_META) return NULL;
    if (t->storage->device == TENSOR_CPU && t->storage->data && tensor_is_contiguous(t))
        return t->storage->data + t->offset;
    *owned = tensor_to_host(t);
    return *owned;
}

static double loss_value(void)
{
    float v;
    if (!W.loss_fresh) return NAN;
    if (!W.loss) return W.loss_cpu;
    return tensor_item(W.loss, &v) != 0 ? NAN : v;   // a device scalar: read at the step, not at backward
}

static dash_point blank_point(void) { return (dash_point){NAN, NAN, NAN, NAN, NAN, NAN}; }

// The number of the step about to be logged: after the last one of this run (a held-back
// first step counts), from 1 in a new run.
static double next_step(const dash_state *S)
{
    if (W.have_first) return W.first.step + 1;
    return (isnan(S->last.step) || S->finished ? 0 : S->last.step) + 1;
}

// No optimizer in this run (a hand-written update): each backward() is a step.
static void flush_backward_step(void)
{
    dash_state *S = repl_dash_cur();
    if (!W.loss_fresh || W.opt_steps || S->explicit_log) return;
    dash_point p = blank_point();
    p.step = next_step(S);
    p.loss = loss_value();
    W.loss_fresh = 0;
    repl_dash_feed(&p, NULL, 0);
}

void repl_dash_note_backward(lua_State *L, tensor *t)
{
    (void)L;
    if (!repl_dash_watching || tensor_numel(t) != 1) return;
    flush_backward_step();
    // Not the loss itself: it would keep its graph, every activation of the step, alive
    // until the next backward. A CPU scalar is read now (in place: tensor_item's checks
    // cost ~60 ns); a device one is kept as a detached alias and read at the step.
    tensor_release(W.loss);
    W.loss = NULL;
    float *owned;
    const float *h = t->storage->device == TENSOR_CPU ? host_values(t, &owned) : NULL;
    if (h) {
        W.loss_cpu = h[0];
        free(owned);
    } else if (!(W.loss = tensor_detach(t))) {
        return;
    }
    W.loss_fresh = 1;
}

static lua_State *hook_L;

// Pushes dash._w[name] (repl/lua/watch.lua) and returns 1 when it is a function; the
// caller resets the stack either way.
static int push_watch_fn(lua_State *L, const char *name)
{
    return lua_getglobal(L, "dash") == LUA_TTABLE && lua_getfield(L, -1, "_w") == LUA_TTABLE &&
           lua_getfield(L, -1, name) == LUA_TFUNCTION;
}

void repl_dash_watch_detach(int call_lua)
{
    repl_dash_flush_first();
    flush_backward_step();
    repl_dash_watching = 0;
    if (call_lua && hook_L) {
        int top = lua_gettop(hook_L);
        if (push_watch_fn(hook_L, "detach")) lua_pcall(hook_L, 0, 0, 0);
        lua_settop(hook_L, top);
    }
    tensor_release(W.loss);
    W.loss = NULL;
    W.loss_fresh = 0;
    unbind();
}

// dash._bind({names}, {params}): the parameters whose statistics the steps report
static int l_bind(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    luaL_checktype(L, 2, LUA_TTABLE);
    unbind();
    int n = (int)luaL_len(L, 2);
    W.b = calloc((size_t)(n ? n : 1), sizeof *W.b);
    if (!W.b) return luaL_error(L, "dash: out of memory");
    for (int i = 0; i < n; i++) {
        lua_geti(L, 2, i + 1);
        tensor *p = repl_test_tensor(L, -1);
        lua_pop(L, 1);
        if (!p || p->storage->device == TENSOR_META) continue;
        lua_geti(L, 1, i + 1);
        bound *b = &W.b[W.nb++];
        snprintf(b->name, sizeof b->name, "%s", lua_isstring(L, -1) ? lua_tostring(L, -1) : "?");
        lua_pop(L, 1);
        b->p = tensor_retain(p);
        b->n = tensor_numel(p);
    }
    W.sample_next = 1;
    W.have_old = 0;
    return 0;
}

// Before a sampled step: keep the values, to measure the update after it.
static void copy_before(void)
{
    double t0 = repl_dash_now();
    W.have_old = 0;
    for (int i = 0; i < W.nb; i++) {
        bound *b = &W.b[i];
        float *owned;
        const float *v = host_values(b->p, &owned);
        if (!v) continue;
        if (!b->old) b->old = malloc((size_t)b->n * sizeof(float));
        if (b->old) memcpy(b->old, v, (size_t)b->n * sizeof(float));
        free(owned);
    }
    W.have_old = 1;
    W.pre_cost = repl_dash_now() - t0;
}

// Norms, update/weight ratio and (for watched weights) distributions of every bound
// parameter, after the step. Returns the rows (malloc'd; names point into W.b).
static dash_grad *param_stats(double step)
{
    dash_state *S = repl_dash_cur();
    dash_grad *g = calloc((size_t)(W.nb ? W.nb : 1), sizeof *g);
    if (!g) return NULL;
    for (int i = 0; i < W.nb; i++) {
        bound *b = &W.b[i];
        g[i].name = b->name;
        g[i].weight_norm = g[i].grad_norm = g[i].update_ratio = -1;
        float *ow, *og = NULL;
        const float *v = host_values(b->p, &ow), *gv = b->p->grad ? host_values(b->p->grad, &og) : NULL;
        if (!v) continue;
        double w2 = 0, g2 = 0, d2 = 0;
        for (int64_t k = 0; k < b->n; k++) w2 += (double)v[k] * v[k];
        if (gv)
            for (int64_t k = 0; k < b->n; k++) g2 += (double)gv[k] * gv[k];
        if (b->old)
            for (int64_t k = 0; k < b->n; k++) {
                double d = (double)v[k] - b->old[k];
                d2 += d * d;
            }
        g[i].weight_norm = sqrt(w2);
        if (gv) g[i].grad_norm = sqrt(g2);
        if (b->old && w2 > 0) g[i].update_ratio = sqrt(d2) / sqrt(w2);
        else if (b->old && isnan(w2)) g[i].update_ratio = NAN;
        for (int k = 0; k < S->nwatch; k++)
            if (S->watches[k].t == b->p) repl_dash_hist_add(&S->watches[k], step, v, gv, b->n);
        free(ow);
        free(og);
    }
    return g;
}

// After each optimizer step: log it, sample statistics when due. Returns 0, or -1 when
// the run had been ended (train{} returned): then nothing is logged.
static int post(double lr, double epoch)
{
    dash_state *S = repl_dash_cur();
    if (!repl_dash_run_active()) return -1;
    double now = repl_dash_now();
    W.opt_steps++;
    dash_point p = blank_point();
    p.lr = lr;
    p.epoch = epoch;
    p.step = next_step(S);
    p.loss = loss_value();
    W.loss_fresh = 0;
    dash_grad *g = NULL;
    int sampled = W.have_old;
    if (sampled) {
        g = param_stats(S->explicit_log ? S->last.step : p.step);
        W.have_old = 0;
        if (g && !S->explicit_grads) repl_dash_set_grads(S, g, W.nb);
    }
    if (W.opt_steps == 1 && !S->explicit_log) {
        W.first = p;
        W.have_first = 1;
    } else {
        repl_dash_flush_first();
        if (!S->explicit_log) repl_dash_feed_at(&p, g, g ? W.nb : 0, now);
    }
    // else: the script logs its own points (and its dash.log draws); the statistics
    // are shown in the panel but not written as a step of their own
    free(g);
    // what a sample cost, all of it: the copy before the step, the statistics, the panel
    // and their metrics line (twice the statistics alone, the estimate before, was a third
    // of that, and sampling took ~0.8% of a bottleneck step, not 0.3%)
    if (sampled) {
        double done = repl_dash_now();
        W.stats_cost = done - now + W.pre_cost;
        // the next one when its cost fits the budget, 0.2% of the loop's time, and no
        // sooner than 0.25 s: the panel redraws at most 20 times a second, and a sample a
        // step of a fast model only made metrics.jsonl longer (wandb.watch logs every 1000
        // steps); for the bottleneck step that is ~0.02% of its time. A sample that costs
        // <= 5 ms (<= 0.5%) still comes once a second, so the panel of a big model moves.
        double wait = W.stats_cost / 0.002;
        if (wait < 0.25) wait = 0.25;
        if (W.stats_cost <= 5e-3 && wait > 1.0) wait = 1.0;
        // a run's first step is held back and written without them (see first): its
        // second samples again, so metrics.jsonl has them from the start
        W.sample_at = W.opt_steps > 1 ? done + wait : 0;
    }
    W.sample_next = now >= W.sample_at;
    return 0;
}

static int cur_opt_key;          // registry slot: the optimizer being watched
static const void *cur_opt;      // its address: while the registry holds it, no other table has it

// The optimizer at opt is the one bound (else watch.lua names and binds it now: W.begin).
// By address: the registry lookup and compare were a sixth of the watcher's cost a step.
static void bind_optimizer(lua_State *L, int opt, int force)
{
    if (lua_topointer(L, opt) == cur_opt && !force) return;
    int top = lua_gettop(L);
    if (!push_watch_fn(L, "begin")) luaL_error(L, "dash: watch.lua is not loaded");
    lua_pushvalue(L, opt);
    lua_call(L, 1, 0);
    lua_settop(L, top);
    lua_pushvalue(L, opt);
    lua_rawsetp(L, LUA_REGISTRYINDEX, &cur_opt_key);
    cur_opt = lua_topointer(L, opt);
}

// Around an optimizer's update (opt: the optimizer's absolute stack index). SGD, Adam and
// AdamW call these from inside their one C call (lua_optim.c); other optimizers through
// dash._step. begin binds, stops the loop after q,y, and keeps the values before a
// sampled step; end logs the step.
void repl_dash_step_begin(lua_State *L, int opt)
{
    bind_optimizer(L, opt, 0);
    if (repl_dash_cur()->quit) repl_dash_raise_stop(L);   // after q,y: one line
    if (W.sample_next) copy_before();
}

void repl_dash_step_end(lua_State *L, int opt, double lr)
{
    if (post(lr, W.epoch) == 0) return;
    bind_optimizer(L, opt, 1);     // the run had ended (train{} returned): this step begins the next
    post(lr, W.epoch);
}

// Optimizer:step is dash._step(opt) while a dashboard is open, for the optimizers whose
// update is Lua (RMSprop, Adagrad, a script's own): begin, opt:_update(), end.
static int l_step(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_settop(L, 1);
    repl_dash_step_begin(L, 1);
    lua_getfield(L, 1, "_update");
    lua_pushvalue(L, 1);
    lua_call(L, 1, LUA_MULTRET);
    int nres = lua_gettop(L) - 1;
    // lr: a raw field of the optimizer (schedulers set it), looked up by the interned key
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_rawget(L, 1);
    double lr = lua_type(L, -1) == LUA_TNUMBER ? lua_tonumber(L, -1) : NAN;
    lua_pop(L, 1);
    repl_dash_step_end(L, 1, lr);
    return nres;
}

void repl_dash_watch_forget_opt(lua_State *L)
{
    cur_opt = NULL;
    lua_pushnil(L);
    lua_rawsetp(L, LUA_REGISTRYINDEX, &cur_opt_key);
}

// dash._pause_watch(paused): bench/dash_ab.lua's switch. Its bare steps, between the
// watched ones, run as with the dashboard closed (no hook, backward not noted).
static int l_pause_watch(lua_State *L)
{
    int paused = lua_toboolean(L, 1);
    if (!repl_dash_is_watching()) return luaL_error(L, "dash._pause_watch: no dashboard is open");
    repl_dash_watching = !paused;
    lua_getglobal(L, "optim");
    if (!lua_istable(L, -1)) return 0;
    if (paused) lua_pushnil(L);
    else lua_getfield(L, lua_upvalueindex(1), "_step");
    lua_setfield(L, -2, "_watch");
    return 0;
}

// dash._epoch(n): a data loader began epoch n of a training loop (nn/lua/data.lua); the
// steps after it log that epoch (pushed once an epoch: looking it up cost every step)
static int l_epoch(lua_State *L)
{
    W.epoch = luaL_optnumber(L, 1, NAN);
    return 0;
}

void repl_dash_watch_register(lua_State *L, int t)
{
    static const luaL_Reg fns[] = {{"_bind", l_bind}, {"_epoch", l_epoch}, {NULL, NULL}};
    lua_pushvalue(L, t);
    luaL_setfuncs(L, fns, 0);
    lua_pushliteral(L, "lr");
    lua_pushcclosure(L, l_step, 1);
    lua_setfield(L, -2, "_step");
    lua_pushvalue(L, -1);
    lua_pushcclosure(L, l_pause_watch, 1);   // upvalue: the dash table
    lua_setfield(L, -2, "_pause_watch");
    lua_pop(L, 1);
}

// The Lua half (repl/lua/watch.lua) installs the hooks on optim and nn.
void repl_dash_watch_attach(lua_State *L)
{
    repl_dash_watching = 1;
    hook_L = L;
    repl_dash_watch_reset();
    repl_dash_watch_forget_opt(L);
    int top = lua_gettop(L);
    if (push_watch_fn(L, "attach")) lua_call(L, 0, 0);
    lua_settop(L, top);
}
