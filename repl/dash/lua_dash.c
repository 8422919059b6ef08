// lua_dash.c - the Lua `dash` table: feeds the state, decides when to redraw,
// pauses the training loop, and falls back to a progress line without a terminal.
#include "dash.h"
#include "../repl.h"

#include <cjson/cJSON.h>

#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// One dashboard per process: the training loop and the screen are both singular.
static dash_state S;
static dash_grid G;                 // the screen's grid (snapshots use their own)
static dash_live D = {.stop_ref = LUA_NOREF};

dash_state *repl_dash_cur(void) { return &S; }
dash_live *repl_dash_live(void) { return &D; }
int repl_dash_run_active(void) { return D.run_active; }

dash_state *repl_dash_init(void)
{
    static int done;
    if (!done) {
        repl_dash_state_init(&S);
        done = 1;
    }
    return &S;
}
static void ensure_init(void) { repl_dash_init(); }

// captured output -> the log panel and the run's output.log
static void on_output(const char *b, size_t n, void *ud)
{
    (void)ud;
    repl_dash_output(&S, b, n);
    repl_dash_runlog_output(D.run, b, n);
}

void repl_dash_poll_output(void)
{
    repl_dash_capture_poll(on_output, NULL);
    D.last_poll = repl_dash_now();
    repl_dash_runlog_tick(D.run, &S);
}

// One frame into g (w x h): output polled, system figures, the similarity (recomputed
// when due, or now with force), then the panels. 0 ok; -1 out of memory; -2 the
// watched tensor could not be read (tensor_last_error says why).
static int paint(dash_grid *g, int w, int h, int force)
{
    repl_dash_poll_output();
    repl_dash_sys_sample(&S);
    if (repl_dash_refresh_sim(&S, force) != 0) return -2;
    if (repl_dash_grid_resize(g, w, h) != 0) return -1;
    repl_dash_render(&S, g);
    return 0;
}

static void redraw(void)
{
    double t0 = repl_dash_now();
    int w, h;
    if (D.suspended) {                  // back from the prompt: the screen is ours again
        D.suspended = 0;
        repl_dash_capture_start();
    }
    repl_dash_term_size(&w, &h);
    if (paint(&G, w, h, 0) == -1) return;
    repl_dash_term_draw(&G);
    repl_dash_runlog_flush(D.run);
    double t1 = repl_dash_now();
    D.last_draw = t1;
    // at most 1/fps, and never more than ~0.25% of the loop's time on drawing (a 100x30
    // frame with a full loss history is ~0.2 ms: ~12 frames a second; at 0.5% drawing was
    // a quarter of what watching cost a bottleneck step)
    D.interval = 400 * (t1 - t0);
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
static void service_at(int force, double now)
{
    if (!D.open) return;
    if (!D.tty) {
        // plain: what the script printed goes on to the terminal a few times a second
        if (force || now - D.last_poll >= 0.05) {
            repl_dash_poll_output();
            repl_dash_runlog_flush(D.run);
        }
        return;
    }
    // keys wait for the next frame too: getch is a read() per call
    if (!force && now - D.last_draw < D.interval) return;
    handle_keys(0);
    // raw before PAUSED is on the screen: a Ctrl-C from then on is a key (3), not a
    // SIGINT that would arrive while training is blocked in here
    if (S.paused) repl_dash_term_raw(1);
    redraw();
    if (!S.paused) return;
    while (S.paused && D.open) {
        redraw();
        handle_keys(100);
    }
    repl_dash_term_raw(0);
    redraw();
}

static void service(int force) { service_at(force, repl_dash_now()); }

static void print_progress(void)
{
    char line[256];
    fputs(repl_dash_progress_line(&S, line, sizeof line), stdout);
    fputc('\n', stdout);
    fflush(stdout);
    D.printed_step = S.last.step;
    if (repl_dash_capture_active()) repl_dash_poll_output();   // plain mode: in order with prints
}

// The error a loop gets when it goes on after q,y: one line, no traceback.
int repl_dash_raise_stop(lua_State *L)
{
    lua_rawgeti(L, LUA_REGISTRYINDEX, D.stop_ref);
    return lua_error(L);
}

// Returns "quit" once the user confirmed q; a loop that ignores it gets the stop error.
static int push_quit(lua_State *L, int from_log)
{
    if (!S.quit) return 0;
    if (from_log && ++D.quit_calls > 20) return repl_dash_raise_stop(L);
    lua_pushliteral(L, "quit");
    return 1;
}

// Logs a point (state, metrics.jsonl), then keys/redraw when due.
void repl_dash_feed(const dash_point *p, const dash_grad *g, int ng) { repl_dash_feed_at(p, g, ng, repl_dash_now()); }

void repl_dash_feed_at(const dash_point *p, const dash_grad *g, int ng, double now)
{
    if (!D.run_active) repl_dash_run_start(NULL);
    dash_point q = *p;
    repl_dash_log_at(&S, &q, now);
    double t = now - S.t_open;
    if (g) repl_dash_runlog_grads(D.run, &q, t, g, ng);
    else repl_dash_runlog_point(D.run, &q, t);
    if (D.open && D.tty) service_at(0, now);
    else if (D.open) {
        // plain: a line whenever the step crosses a multiple of `every` (and the first)
        if (isnan(D.printed_step) || floor(S.last.step / D.every) > floor(D.printed_step / D.every))
            print_progress();
        service_at(0, now);
    }
}

// On a terminal, the finished run stays up until q.
void repl_dash_wait_for_q(void)
{
    // not at the prompt (it has the terminal back: whoever typed dash.close() is done)
    if (!D.open || !D.tty || S.quit || D.suspended) return;
    repl_dash_term_raw(1);
    while (D.open && !S.quit) {
        redraw();
        handle_keys(200);
    }
    repl_dash_term_raw(0);
}

static void close_all(int wait, const char *status)
{
    if (!D.open) return;
    repl_dash_flush_first();
    if (D.run_active && S.nlogs) repl_dash_run_stop(status);
    else if (D.run_active) {          // opened, nothing trained: nothing to keep
        D.run_active = 0;
        repl_dash_runlog_close(D.run, &S, "finished");
        D.run = NULL;
    }
    if (wait && S.nlogs) repl_dash_wait_for_q();
    int was_tty = D.tty;
    D.open = D.tty = 0;
    S.paused = 0;
    repl_dash_watch_detach(!D.at_exit);
    repl_dash_poll_output();
    if (was_tty) repl_dash_term_close();
    repl_dash_capture_stop();
    repl_dash_capture_release_tty();
    if (S.nlogs && (was_tty || D.printed_step != S.last.step)) print_progress();
}

void repl_dash_finish(const char *status)
{
    ensure_init();
    if (!D.open) return;
    if (D.run_active && S.nlogs) repl_dash_run_stop(S.quit ? "stopped" : status);
    if (S.nlogs) repl_dash_wait_for_q();
    close_all(0, status);
}

int repl_dash_is_watching(void) { return D.open; }

void repl_dash_note_error(const char *msg)
{
    repl_dash_poll_output();                       // after what was printed before it
    char line[1200];
    int n = snprintf(line, sizeof line, "error: %s\n", msg);
    if (n < 0) return;
    if (n >= (int)sizeof line) n = (int)sizeof line - 1;
    on_output(line, (size_t)n, NULL);
    if (D.open && D.tty) redraw();
}

static void close_at_exit(void)
{
    D.at_exit = 1;
    close_all(0, "finished");
}

// a numeric field of the options table, named in the error when it is not a number
double repl_dash_opt_num(lua_State *L, int idx, const char *field, double dflt)
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

// dash.open([{plain=bool, every=N, fps=20, name=}]) -> "tty" | "plain"
static int l_open(lua_State *L)
{
    static const char *const valid[] = {"plain", "every", "fps", "name", NULL};
    repl_check_options(L, 1, "dash.open", valid);
    ensure_init();
    int plain = 0;
    D.every = 100;
    D.min_interval = 1.0 / 20;
    if (lua_istable(L, 1)) {
        lua_getfield(L, 1, "plain");
        plain = lua_toboolean(L, -1);
        lua_pop(L, 1);
        D.every = repl_dash_opt_num(L, 1, "every", 100);
        double fps = repl_dash_opt_num(L, 1, "fps", 20);
        D.min_interval = fps > 0 ? 1.0 / fps : 0.05;
        if (D.every < 1) D.every = 1;
        lua_getfield(L, 1, "name");
        if (lua_isstring(L, -1)) snprintf(D.name_hint, sizeof D.name_hint, "%s", lua_tostring(L, -1));
        lua_pop(L, 1);
    }
    if (!D.open) {
        static int registered;
        if (!registered) {
            atexit(close_at_exit);       // os.exit() with the dashboard open still replays
            registered = 1;
        }
        int ascii = 0;
        D.tty = !plain && repl_dash_term_open(&ascii) == 0;
        G.ascii = ascii;
        D.open = 1;
        D.suspended = 0;
        D.quit_calls = 0;
        D.printed_step = NAN;
        D.interval = D.min_interval;
        S.quit = S.paused = S.confirm_quit = S.help = 0;
        if (!S.t_open) S.t_open = repl_dash_now();
        if (!S.device[0]) snprintf(S.device, sizeof S.device, "%s", tensor_device_name(repl_default_device()));
        repl_dash_capture_set_passthrough(!D.tty);
        repl_dash_capture_start();
        repl_dash_watch_attach(L);
        if (D.tty) redraw();
    }
    lua_pushstring(L, D.tty ? "tty" : "plain");
    return 1;
}

// dash.close([{wait=true}]): ends the run; on a terminal the finished run stays up
// until q; then the terminal comes back with everything printed meanwhile.
static int l_close(lua_State *L)
{
    ensure_init();
    int wait = 1;
    if (lua_istable(L, 1)) {
        lua_getfield(L, 1, "wait");
        if (!lua_isnil(L, -1)) wait = lua_toboolean(L, -1);
        lua_pop(L, 1);
    }
    close_all(wait, S.quit ? "stopped" : "finished");
    return 0;
}

static int l_stopped(lua_State *L)
{
    lua_pushboolean(L, S.quit);
    return 1;
}

// dash.log{step=, epoch=, loss=, test_loss=, acc=, lr=} -> nil | "quit"
static int l_log(lua_State *L)
{
    ensure_init();
    luaL_checktype(L, 1, LUA_TTABLE);
    dash_point p;
    p.step = repl_dash_opt_num(L, 1, "step", NAN);
    p.epoch = repl_dash_opt_num(L, 1, "epoch", NAN);
    p.loss = repl_dash_opt_num(L, 1, "loss", NAN);
    p.test_loss = repl_dash_opt_num(L, 1, "test_loss", NAN);
    p.acc = repl_dash_opt_num(L, 1, "acc", NAN);
    p.lr = repl_dash_opt_num(L, 1, "lr", NAN);
    // the script logs its own steps: the automatic ones stand aside
    if (!isnan(p.step) || !isnan(p.loss)) {
        if (!D.run_active) repl_dash_run_start(NULL);
        S.explicit_log = 1;
        repl_dash_watch_consumed();
    }
    repl_dash_feed(&p, NULL, 0);
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
    S.explicit_watch = 1;
    S.watches[S.cur_watch].is_auto = 0;
    if (D.open && D.tty) service(1);
    return 0;
}

// dash._watch(name, W, current): the dashboard's own pick; stands aside for the script's
static int l_watch_auto(lua_State *L)
{
    ensure_init();
    if (S.explicit_watch) return 0;
    const char *name = luaL_checkstring(L, 1);
    tensor *t = repl_check_tensor(L, 2);
    int prev = S.cur_watch, had = S.nwatch;
    if (repl_dash_watch(&S, name, t, NULL) != 0) return repl_tensor_error(L);
    S.watches[S.cur_watch].is_auto = 1;
    if (!lua_toboolean(L, 3) && had) S.cur_watch = prev;
    if (S.cosine && S.watches[S.cur_watch].cols < 2) S.cosine = 0;
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
    dash_grid g = {0};
    int rc = paint(&g, w, h, 1);
    if (rc == -2) {
        repl_dash_grid_free(&g);
        return repl_tensor_error(L);
    }
    if (rc != 0) return luaL_error(L, "dash.snapshot: out of memory");
    size_t len;
    char *txt = repl_dash_grid_utf8(&g, &len);
    repl_dash_grid_free(&g);
    if (!txt) return luaL_error(L, "dash.snapshot: out of memory");
    lua_pushlstring(L, txt, len);
    free(txt);
    return 1;
}

// dash._frame(w, h): one redraw as a terminal gets it (the similarity refresh throttled,
// output polled), drawn into a grid and encoded: bench/ measures the dashboard's cost
static int l_frame(lua_State *L)
{
    ensure_init();
    int w = (int)luaL_optinteger(L, 1, 100), h = (int)luaL_optinteger(L, 2, 30);
    luaL_argcheck(L, w >= 1 && w <= 1000 && h >= 1 && h <= 1000, 1, "size must be 1..1000");
    if (paint(&G, w, h, 0) == -1) return luaL_error(L, "dash._frame: out of memory");
    size_t len;
    free(repl_dash_grid_utf8(&G, &len));
    repl_dash_runlog_flush(D.run);
    return 0;
}

// dash.reset(): ends the run; forgets the history, watches, summary and gradients.
static int l_reset(lua_State *L)
{
    ensure_init();
    repl_dash_run_stop(S.quit ? "stopped" : "finished");
    repl_dash_watch_reset();
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
    if (D.open && D.tty && !D.suspended) {
        repl_dash_poll_output();
        repl_dash_capture_stop();      // the prompt and its results go to the terminal
        repl_dash_term_suspend();
        D.suspended = 1;
    }
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
    lua_pushboolean(L, repl_dash_log_axis(&S));
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

static int stop_tostring(lua_State *L)
{
    lua_pushvalue(L, lua_upvalueindex(1));
    return 1;
}

int repl_open_dash(lua_State *L)
{
    static const luaL_Reg fns[] = {
        {"open", l_open},       {"close", l_close},     {"log", l_log},       {"poll", l_poll},
        {"key", l_key},         {"watch", l_watch},     {"model", repl_dash_l_model},   {"grads", repl_dash_l_grads},
        {"snapshot", l_snapshot}, {"reset", l_reset},   {"is_open", l_is_open}, {"paused", l_paused},
        {"view", l_view},       {"suspend", l_suspend}, {"stopped", l_stopped},
        {"run_dir", repl_dash_l_run_dir},
        // for nnlab's own Lua (train{}, the hooks, the --dash runner)
        {"_run", repl_dash_l_run_begin}, {"_end", repl_dash_l_run_end}, {"_hint", repl_dash_l_hint},
        {"_model", repl_dash_l_model_auto}, {"_watch", l_watch_auto}, {"_frame", l_frame},
        {NULL, NULL},
    };
    ensure_init();
    luaL_newlib(L, fns);
    repl_dash_watch_register(L, lua_gettop(L));
    repl_require_embedded(L, "watch");
    lua_setfield(L, -2, "_w");
    // the stop error: one line (its __tostring) wherever it surfaces
    lua_createtable(L, 0, 1);
    lua_pushboolean(L, 1);
    lua_setfield(L, -2, "dash_stop");
    lua_createtable(L, 0, 1);
    lua_pushliteral(L, "training stopped from the dashboard (q, y)");
    lua_pushcclosure(L, stop_tostring, 1);
    lua_setfield(L, -2, "__tostring");
    lua_setmetatable(L, -2);
    lua_pushvalue(L, -1);
    lua_setfield(L, -3, "STOP");
    D.stop_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    lua_setglobal(L, "dash");
    return 0;
}
