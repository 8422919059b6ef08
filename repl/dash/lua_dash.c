// lua_dash.c - the Lua `dash` table: feeds the state, decides when to redraw,
// pauses the training loop, and falls back to a progress line without a terminal.
#include "dash.h"
#include "../repl.h"

#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// One dashboard per process: the training loop and the screen are both singular.
static dash_state S;
static dash_grid G;                 // the screen's grid (snapshots use their own)
static struct {
    int open, tty, quit_calls;
    double every;                   // plain mode: a line each time step crosses a multiple
    double min_interval;            // 1 / fps
    double interval;                // adapts to the redraw's own cost
    double last_draw;
    double printed_step;            // plain mode: the last step printed
} D;

static void ensure_init(void)
{
    static int done;
    if (!done) {
        repl_dash_state_init(&S);
        done = 1;
    }
}

static void redraw(void)
{
    double t0 = repl_dash_now();
    int w, h;
    repl_dash_refresh_sim(&S, 0);
    repl_dash_term_size(&w, &h);
    if (repl_dash_grid_resize(&G, w, h) != 0) return;
    repl_dash_render(&S, &G);
    repl_dash_term_draw(&G);
    double t1 = repl_dash_now();
    D.last_draw = t1;
    // at most 1/fps, and never more than ~4% of the loop's time on drawing
    D.interval = 25 * (t1 - t0);
    if (D.interval < D.min_interval) D.interval = D.min_interval;
    if (D.interval > 1) D.interval = 1;      // never lag more than a second
}

// Reads all pending keys (waiting up to timeout_ms for the first); returns how many
// changed something. Ctrl-C (only seen while paused, in raw mode) is passed on.
static int handle_keys(int timeout_ms)
{
    int n = 0, k;
    while ((k = repl_dash_term_key(n ? 0 : timeout_ms)) != -1) {
        n++;
        if (k == 3) {                       // Ctrl-C while paused: resume, let the REPL stop us
            S.paused = 0;
            repl_dash_term_raw(0);
            raise(SIGINT);
            break;
        }
        if (k != DASH_KEY_RESIZE) repl_dash_key(&S, k);
        if (S.quit) break;
    }
    return n;
}

// Keys, redraw when due, and block here while paused (that is what pauses training).
static void service(int force)
{
    if (!D.open || !D.tty) return;
    // keys wait for the next frame too: getch is a read() per call
    if (!force && repl_dash_now() - D.last_draw < D.interval) return;
    handle_keys(0);
    redraw();
    if (!S.paused) return;
    repl_dash_term_raw(1);
    while (S.paused && D.open) {
        redraw();
        handle_keys(100);
    }
    repl_dash_term_raw(0);
    redraw();
}

static void print_progress(void)
{
    char line[256];
    fputs(repl_dash_progress_line(&S, line, sizeof line), stdout);
    fputc('\n', stdout);
    fflush(stdout);
    D.printed_step = S.last.step;
}

// Returns "quit" once the user confirmed q; a loop that ignores it gets an error.
static int push_quit(lua_State *L, int from_log)
{
    if (!S.quit) return 0;
    if (from_log && ++D.quit_calls > 20)
        return luaL_error(L, "training stopped from the dashboard (q, y); "
                             "stop the loop when dash.log or dash.poll returns \"quit\"");
    lua_pushliteral(L, "quit");
    return 1;
}

// a numeric field of the options table, named in the error when it is not a number
static double opt_num(lua_State *L, int idx, const char *field, double dflt)
{
    lua_getfield(L, idx, field);
    if (!lua_isnil(L, -1) && !lua_isnumber(L, -1)) {
        lua_Debug ar;
        const char *fn = lua_getstack(L, 0, &ar) && lua_getinfo(L, "n", &ar) && ar.name ? ar.name : "?";
        return luaL_error(L, "dash.%s: %s must be a number, got %s", fn, field, luaL_typename(L, -1));
    }
    double v = lua_isnil(L, -1) ? dflt : lua_tonumber(L, -1);
    lua_pop(L, 1);
    return v;
}

// dash.open([{plain=bool, every=N, fps=20}]) -> "tty" | "plain"
static int l_open(lua_State *L)
{
    ensure_init();
    int plain = 0;
    D.every = 100;
    D.min_interval = 1.0 / 20;
    if (lua_istable(L, 1)) {
        lua_getfield(L, 1, "plain");
        plain = lua_toboolean(L, -1);
        lua_pop(L, 1);
        D.every = opt_num(L, 1, "every", 100);
        double fps = opt_num(L, 1, "fps", 20);
        D.min_interval = fps > 0 ? 1.0 / fps : 0.05;
        if (D.every < 1) D.every = 1;
    }
    if (!D.open) {
        int ascii = 0;
        D.tty = !plain && repl_dash_term_open(&ascii) == 0;
        G.ascii = ascii;
        D.open = 1;
        D.quit_calls = 0;
        D.printed_step = NAN;
        D.interval = D.min_interval;
        S.quit = S.paused = S.confirm_quit = S.help = 0;
        if (!S.t_open) S.t_open = repl_dash_now();
        if (!S.device[0]) snprintf(S.device, sizeof S.device, "%s", tensor_device_name(repl_default_device()));
        if (D.tty) redraw();
    }
    lua_pushstring(L, D.tty ? "tty" : "plain");
    return 1;
}

// dash.close(): restores the terminal and prints where training ended.
static int l_close(lua_State *L)
{
    ensure_init();
    if (!D.open) return 0;
    int was_tty = D.tty;
    D.open = D.tty = 0;
    S.paused = 0;
    if (was_tty) repl_dash_term_close();
    if (S.nlogs && (was_tty || D.printed_step != S.last.step)) print_progress();
    return 0;
}

// dash.log{step=, epoch=, loss=, test_loss=, acc=} -> nil | "quit"
static int l_log(lua_State *L)
{
    ensure_init();
    luaL_checktype(L, 1, LUA_TTABLE);
    dash_point p;
    p.step = opt_num(L, 1, "step", NAN);
    p.epoch = opt_num(L, 1, "epoch", NAN);
    p.loss = opt_num(L, 1, "loss", NAN);
    p.test_loss = opt_num(L, 1, "test_loss", NAN);
    p.acc = opt_num(L, 1, "acc", NAN);
    repl_dash_log(&S, &p);
    if (D.open && D.tty) service(0);
    else if (D.open) {
        // plain: a line whenever the step crosses a multiple of `every` (and the first)
        if (isnan(D.printed_step) || floor(S.last.step / D.every) > floor(D.printed_step / D.every))
            print_progress();
    }
    return push_quit(L, 1);
}

// dash.poll() -> nil | "quit"; blocks while paused.
static int l_poll(lua_State *L)
{
    ensure_init();
    service(0);
    return push_quit(L, 0);
}

// dash.key(keys): feeds keys as if typed ("tab" for tab); for tests and scripts.
static int l_key(lua_State *L)
{
    ensure_init();
    size_t n;
    const char *k = luaL_checklstring(L, 1, &n);
    if (!strcmp(k, "tab")) repl_dash_key(&S, '\t');
    else
        for (size_t i = 0; i < n; i++) repl_dash_key(&S, (unsigned char)k[i]);
    if (D.open && D.tty && !S.paused) redraw();
    return push_quit(L, 0);
}

// dash.watch([name,] W [, {init=W0}])
static int l_watch(lua_State *L)
{
    ensure_init();
    int ti = lua_type(L, 1) == LUA_TSTRING ? 2 : 1;
    const char *name = ti == 2 ? lua_tostring(L, 1) : "W";
    tensor *t = repl_check_tensor(L, ti);
    tensor *init = NULL;
    if (lua_istable(L, ti + 1)) {
        lua_getfield(L, ti + 1, "init");
        if (!lua_isnil(L, -1)) init = repl_check_tensor(L, -1);
        lua_pop(L, 1);
    }
    if (repl_dash_watch(&S, name, t, init) != 0) return repl_tensor_error(L);
    if (D.open && D.tty) service(1);
    return 0;
}

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
static int l_model(lua_State *L)
{
    ensure_init();
    if (lua_type(L, 1) == LUA_TSTRING) {
        snprintf(S.model_name, sizeof S.model_name, "%s", lua_tostring(L, 1));
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
    if (lua_isstring(L, -1)) snprintf(S.model_name, sizeof S.model_name, "%s", lua_tostring(L, -1));
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
    int rc = repl_dash_set_rows(&S, rows, n);
    free_rows(rows, n);
    if (rc) return luaL_error(L, "dash.model: out of memory");
    return 0;
}

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
static int l_grads(lua_State *L)
{
    ensure_init();
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
            g[i].weight_norm = opt_num(L, r, "weight_norm", -1);
            g[i].grad_norm = opt_num(L, r, "grad_norm", -1);
            g[i].update_ratio = opt_num(L, r, "update_ratio", -1);
            lua_getfield(L, r, "param");
            tensor *p = repl_test_tensor(L, -1);
            if (p) {
                g[i].weight_norm = tensor_norm_value(p);
                g[i].grad_norm = p->grad ? tensor_norm_value(p->grad) : -1;
                double lr = opt_num(L, r, "lr", -1);
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
    int rc = repl_dash_set_grads(&S, g, n);
    for (int i = 0; i < n; i++) free(names[i]);
    free(names);
    free(g);
    if (rc) return luaL_error(L, "dash.grads: out of memory");
    return 0;
}

// dash.snapshot([w, h]) -> the screen as text (80x24, or the terminal's size)
static int l_snapshot(lua_State *L)
{
    ensure_init();
    int w = 80, h = 24;
    if (D.tty) repl_dash_term_size(&w, &h);
    w = (int)luaL_optinteger(L, 1, w);
    h = (int)luaL_optinteger(L, 2, h);
    luaL_argcheck(L, w >= 1 && w <= 1000, 1, "width must be 1..1000");
    luaL_argcheck(L, h >= 1 && h <= 1000, 2, "height must be 1..1000");
    if (repl_dash_refresh_sim(&S, 1) != 0) return repl_tensor_error(L);
    dash_grid g = {0};
    if (repl_dash_grid_resize(&g, w, h) != 0) return luaL_error(L, "dash.snapshot: out of memory");
    repl_dash_render(&S, &g);
    size_t len;
    char *txt = repl_dash_grid_utf8(&g, &len);
    repl_dash_grid_free(&g);
    if (!txt) return luaL_error(L, "dash.snapshot: out of memory");
    lua_pushlstring(L, txt, len);
    free(txt);
    return 1;
}

// dash.reset(): forgets the history, watches, summary and gradients.
static int l_reset(lua_State *L)
{
    ensure_init();
    double t_open = D.open ? repl_dash_now() : 0;
    repl_dash_state_free(&S);
    S.t_open = t_open;
    D.printed_step = NAN;
    D.quit_calls = 0;
    return 0;
}

// dash.suspend(): hands the terminal back (e.g. to the prompt) until the next redraw.
static int l_suspend(lua_State *L)
{
    if (D.open && D.tty) repl_dash_term_suspend();
    return 0;
}

static int l_is_open(lua_State *L)
{
    lua_pushboolean(L, D.open);
    return 1;
}

static int l_paused(lua_State *L)
{
    lua_pushboolean(L, S.paused);
    return 1;
}

// dash.view() -> {log_scale=, cosine=, ema=, watch=, paused=, steps=}: what is shown
static int l_view(lua_State *L)
{
    ensure_init();
    lua_createtable(L, 0, 6);
    lua_pushboolean(L, S.log_scale);
    lua_setfield(L, -2, "log_scale");
    lua_pushboolean(L, S.cosine);
    lua_setfield(L, -2, "cosine");
    lua_pushnumber(L, repl_dash_ema_levels[S.ema_idx]);
    lua_setfield(L, -2, "ema");
    if (S.nwatch) {
        lua_pushstring(L, S.watches[S.cur_watch].name);
        lua_setfield(L, -2, "watch");
    }
    lua_pushboolean(L, S.paused);
    lua_setfield(L, -2, "paused");
    lua_pushinteger(L, S.nlogs);
    lua_setfield(L, -2, "logs");
    return 1;
}

int repl_open_dash(lua_State *L)
{
    static const luaL_Reg fns[] = {
        {"open", l_open},       {"close", l_close},     {"log", l_log},       {"poll", l_poll},
        {"key", l_key},         {"watch", l_watch},     {"model", l_model},   {"grads", l_grads},
        {"snapshot", l_snapshot}, {"reset", l_reset},   {"is_open", l_is_open}, {"paused", l_paused},
        {"view", l_view},       {"suspend", l_suspend}, {NULL, NULL},
    };
    ensure_init();
    luaL_newlib(L, fns);
    lua_setglobal(L, "dash");
    return 0;
}
