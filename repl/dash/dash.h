// dash.h - the training dashboard, private to repl/.
//
// Three layers, one direction of dependency:
//   model.c   state: the loss history, watched weights and their pairwise row
//             similarity, the model summary, gradient norms, view settings, keys.
//   render.c  draws a dash_state into an in-memory character grid of any size
//             (grid.c); dash.snapshot() returns that grid as text, so every panel
//             is testable without a terminal.
//   term.c    the only file that knows ncurses: copies a grid to the screen and
//             reads keys without blocking.
//   lua_dash.c  the Lua `dash` table; decides when to redraw, pause and print.
//   watch.c   zero-code watching: optimizer steps, backward() and the first forward
//             feed the state (gradient norms, update ratios, distributions), sampled
//             under a time budget.
//   capture.c what the script prints while the dashboard is open: into the log
//             panel and the run's output.log, replayed to the terminal on close.
//   runlog.c  the run folder on disk (docs/RUNS.md): meta.json, metrics.jsonl.
//   sys.c     the system panel's figures (CPU %, RSS, GPU memory, the card via NVML).
#ifndef NNLAB_DASH_H
#define NNLAB_DASH_H

#include <stddef.h>
#include <stdint.h>
#include <wchar.h>
#include <stdio.h>
#include <lua.h>
#include "../../tensor/tensor.h"
#include "../repl.h"            // repl_nvml_gpu

struct cJSON;                // <cjson/cJSON.h>: run metadata

// ---- colours: a grid cell's attribute; term.c maps them to colour pairs ----
enum {
    DASH_A_NONE = 0,
    DASH_A_TITLE,
    DASH_A_TRAIN,
    DASH_A_TEST,
    DASH_A_ACC,
    DASH_A_WARN,
    DASH_A_DIM,
    DASH_A_HEAT0,            // heat levels DASH_A_HEAT0 .. DASH_A_HEAT0 + 4
    DASH_A_RUN0 = DASH_A_HEAT0 + 5,   // run colours DASH_A_RUN0 .. + DASH_RUN_COLOURS - 1 (nnlab runs)
    DASH_A_COUNT = DASH_A_RUN0 + 8
};

// ---- grid.c: a w x h screen of wide chars + attributes ----
typedef struct dash_grid {
    int w, h;
    wchar_t *ch;
    uint8_t *attr;
    int ascii;               // draw with ASCII only (no UTF-8 locale)
} dash_grid;

int repl_dash_grid_resize(dash_grid *g, int w, int h);      // 0 ok, -1 out of memory
void repl_dash_grid_free(dash_grid *g);
void repl_dash_grid_clear(dash_grid *g);
void repl_dash_put(dash_grid *g, int x, int y, wchar_t c, int attr);
// Writes UTF-8 text clipped to maxw columns; returns the columns written.
int repl_dash_text(dash_grid *g, int x, int y, int maxw, int attr, const char *utf8);
int repl_dash_textf(dash_grid *g, int x, int y, int maxw, int attr, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));
void repl_dash_box(dash_grid *g, int x, int y, int w, int h, const char *title);
// The grid as UTF-8 lines (trailing blanks trimmed), malloc'd; NULL if out of memory.
char *repl_dash_grid_utf8(const dash_grid *g, size_t *len);
// The shade for level 0..4 (' ░▒▓█', or ' .:+#' in ASCII mode).
wchar_t repl_dash_shade(const dash_grid *g, int level);
// A number in at most `width` columns (%.4g, or %.1e when that is too wide).
char *repl_dash_fmt_num(char *buf, size_t n, double v, int width);

// ---- model.c: the state ----
typedef struct dash_point {
    double step, epoch, loss, test_loss, acc, lr;   // NAN where not logged
} dash_point;

#define DASH_HISTORY 4096     // stored points; older ones merge pairwise (whole run stays visible)
#define DASH_SIM_MAX_ROWS 1024
#define DASH_HIST_BINS 24
#define DASH_HIST_MAX 240         // samples kept per watch (older ones are dropped pairwise)
#define DASH_OUT_LINES 400        // lines of script output kept for the log panel

typedef struct dash_watch {
    char name[64];
    tensor *t;               // retained; read live at each redraw
    int rows, cols;          // rows capped at DASH_SIM_MAX_ROWS
    int64_t total_rows;
    float *init_dist, *init_cos;   // rows x rows, from the values at watch time
    float *dist, *cos;             // rows x rows, the live values
    int have_live;
    double sim_at, sim_cost;       // when the live matrices were computed, seconds it took
    int is_auto;                   // picked by the dashboard (a new run replaces it)
    // distribution over time (sampled): per sample a histogram of the values and of the
    // gradient over [lo, hi] of that sample
    struct dash_hist { double step; float lo, hi, glo, ghi; uint16_t w[DASH_HIST_BINS], g[DASH_HIST_BINS]; int has_g; } *hist;
    int nhist;
} dash_watch;

typedef struct dash_row { char *layer, *shape, *params; int depth; } dash_row;   // depth: nesting (nn.summary)
// Values < 0 are "not given" (shown as -); NAN is a real NaN and gets marked.
typedef struct dash_grad { char *name; double weight_norm, grad_norm, update_ratio; } dash_grad;

typedef enum { DASH_KEY_NONE = 0, DASH_KEY_QUIT } dash_key_result;

typedef struct dash_state {
    // history
    dash_point *pts;
    int npts;
    int stride;                      // raw logs per stored point
    dash_point acc_sum, acc_cnt;     // pending raw logs not yet stored (sums, counts)
    int acc_n;
    int64_t nlogs;
    dash_point last;                 // the last raw value of each field
    double min_loss, min_loss_step;
    double first_step;
    // timing
    double t_open, t_first;          // monotonic seconds; 0 = not yet
    double rate, rate_t0, rate_step0;
    // watched weights
    dash_watch *watches;
    int nwatch, cur_watch;
    // model summary and gradients
    char model_name[64];
    dash_row *rows;
    int nrows;
    dash_grad *grads;
    int ngrads;
    // view
    int ema_idx;                     // into repl_dash_ema_levels
    int cosine, help, confirm_quit, paused, quit;
    char device[16];
    // run life cycle
    int finished;                    // training ended: timer stopped, final figures
    double t_end;
    char status[16];                 // "", running, finished, stopped, failed
    char run_name[64];
    int explicit_log, explicit_rows, explicit_grads, explicit_watch;   // dash.* calls win
    double loss_hi;                  // the largest loss logged (for "near its floor")
    // what the script printed (the log panel): a ring of lines and the open one
    char *out[DASH_OUT_LINES];
    int nout, out_head;
    char out_part[512];
    int out_part_len;
    int64_t out_total;
    // view
    int log_user;                    // -1: automatic; 0/1: l chose linear/log
    int page;                        // bottom row on small terminals: 0 tables, 1 log+system, 2 distributions
    // system figures, refreshed at redraw
    double cpu_pct, rss_mb, gpu_mb, gpu_total_mb;
    // the card it trains on, through NVML (sys.c): read at most once a second
    int gpu_shown, gpu_cuda;         // a reading to show; of cuda:N
    repl_nvml_gpu gpu;
    double gpu_at;                   // when it was read (repl_dash_now)
    double cpu_t, cpu_wall;          // last readings behind cpu_pct
} dash_state;

extern const double repl_dash_ema_levels[];
extern const int repl_dash_ema_nlevels;

double repl_dash_now(void);                         // monotonic seconds
void repl_dash_state_init(dash_state *s);
void repl_dash_state_free(dash_state *s);           // leaves an empty, usable state
void repl_dash_log(dash_state *s, dash_point *p);   // NAN fields = not logged; fills p->step
void repl_dash_log_at(dash_state *s, dash_point *p, double now);   // now: repl_dash_now() already read
// The history points to plot (stored + the pending partial one) into *out (malloc'd).
int repl_dash_points(const dash_state *s, dash_point **out);
// Watches t (retained) under name; init (or t itself when NULL) gives the control.
int repl_dash_watch(dash_state *s, const char *name, tensor *t, tensor *init);
// Recomputes the live similarity of the current watch when due (force: now).
// Throttled so that it costs at most ~5% of the wall time.
int repl_dash_refresh_sim(dash_state *s, int force);
// Pairwise distance mean|Wi-Wj| and cosine of the rows of v (rows x cols).
void repl_dash_pairwise(const float *v, int rows, int cols, float *dist, float *cos);
// The k most similar pairs i<j (smallest dist, or largest cos); returns how many.
int repl_dash_closest(const float *m, int rows, int cosine, int k, int *pi, int *pj, float *val);
int repl_dash_set_rows(dash_state *s, const dash_row *rows, int n);   // copies
int repl_dash_set_grads(dash_state *s, const dash_grad *g, int n);    // copies
// A new run: clears the history, timer and figures; drops the automatic watches,
// summary and gradients (explicit ones given since the last run stay).
void repl_dash_run_begin(dash_state *s, const char *name);
void repl_dash_run_end(dash_state *s, const char *status);   // finished | stopped | failed
// Appends script output (any bytes) to the log panel's lines.
void repl_dash_output(dash_state *s, const char *bytes, size_t n);
const char *repl_dash_output_line(const dash_state *s, int i);   // 0 = oldest kept
// Whether the loss plot is on a log axis now (automatic unless l chose).
int repl_dash_log_axis(const dash_state *s);
// Adds a distribution sample for watch w (values v, gradient g or NULL, n each).
void repl_dash_hist_add(dash_watch *w, double step, const float *v, const float *g, int64_t n);
// A key press (ncurses code or char; '\t' for tab). DASH_KEY_QUIT once quit is confirmed.
dash_key_result repl_dash_key(dash_state *s, int key);

// ---- lua_dash.c: the one dashboard of the process ----
// The one live dashboard of the process (lua_dash.c): the training loop and the screen
// are both singular.
typedef struct dash_runlog dash_runlog;
typedef struct {
    int open, tty, quit_calls, suspended, at_exit;
    double every;                   // plain mode: a line each time step crosses a multiple
    double min_interval;            // 1 / fps
    double interval;                // adapts to the redraw's own cost
    double last_draw, last_poll;
    double printed_step;            // plain mode: the last step printed
    dash_runlog *run;               // the current run's folder (NULL: none or off)
    int run_active, nruns;
    char name_hint[64];             // the script's name, or train{name=}
    char run_note[160];             // why there is no run folder, once
    int stop_ref;                   // registry ref of the stop sentinel
    struct cJSON *script, *args;    // meta.json's script and args (copied into each run)
} dash_live;
dash_live *repl_dash_live(void);
void repl_dash_poll_output(void);              // captured output -> log panel, output.log
void repl_dash_wait_for_q(void);               // a finished run waits for q on a terminal
// a run's life (lua_run.c): start = a clean state and a folder; stop = its status written
void repl_dash_run_start(const char *name);
void repl_dash_run_stop(const char *status);
int repl_dash_l_run_begin(lua_State *L);       // dash._run(name, {meta})
int repl_dash_l_run_end(lua_State *L);         // dash._end(status [, wait])
int repl_dash_l_hint(lua_State *L);            // dash._hint(name)
int repl_dash_l_run_dir(lua_State *L);         // dash.run_dir()
dash_state *repl_dash_cur(void);
dash_state *repl_dash_init(void);              // repl_dash_cur, initialised on first use
// dash.model, dash._model (automatic: explicit rows win), dash.grads (lua_model.c)
int repl_dash_l_model(lua_State *L);
int repl_dash_l_model_auto(lua_State *L);
int repl_dash_l_grads(lua_State *L);
// field of the options table at idx as a number (dflt when absent); raises naming dash.FN
double repl_dash_opt_num(lua_State *L, int idx, const char *field, double dflt);
int repl_dash_run_active(void);
int repl_dash_raise_stop(lua_State *L);     // raises dash.STOP (after q,y)
// Logs a point (and, when g is given, per-parameter stats) into the state and the
// run's metrics, then handles keys and redraws when due.
void repl_dash_feed(const dash_point *p, const dash_grad *g, int ng);
void repl_dash_feed_at(const dash_point *p, const dash_grad *g, int ng, double now);   // one clock read a step

// ---- watch.c: zero-code watching ----
// dash._bind and dash._step (the optimizer hook) into the dash table at index t.
void repl_dash_watch_register(lua_State *L, int t);
void repl_dash_watch_attach(lua_State *L);   // dashboard opened: hooks on
void repl_dash_watch_detach(int call_lua);   // closed: hooks off, references dropped
void repl_dash_watch_reset(void);            // a new run: bound parameters dropped
void repl_dash_watch_consumed(void);         // the script logged the step itself
void repl_dash_flush_first(void);            // a run's held-back first step, now

// ---- plot.c: braille line plots ----
typedef struct dash_canvas { int w, h; uint8_t *bits, *attr; } dash_canvas;   // w x h cells
typedef struct dash_axis { double lo, hi; int log; } dash_axis;               // lo/hi in log10 when log
void repl_dash_canvas_dot(dash_canvas *c, int dx, int dy, int attr);
void repl_dash_canvas_line(dash_canvas *c, int x0, int y0, int x1, int y1, int attr);
double repl_dash_axis_f(const dash_axis *a, double v);
void repl_dash_axis_grow(dash_axis *a, double v);
void repl_dash_axis_grow_all(dash_axis *a, const double *v, int n);   // by each of v[0..n)
int repl_dash_dot_x(double step, double xlo, double xhi, int dw);
void repl_dash_plot_series(dash_canvas *c, const double *xs, const double *ys, int n, double xlo, double xhi,
                           const dash_axis *ya, int attr);
void repl_dash_canvas_blit(const dash_canvas *c, dash_grid *g, int x, int y);
int repl_dash_plot_yaxis(dash_grid *g, int x, int y, int lab, int ph, const dash_axis *ya);
int repl_dash_tick_row(int k, int n, int ph);

// ---- render.c ----
// the lower panels (render_panels.c), each into the box at (x, y) of w x h cells
void repl_dash_draw_shapes(dash_state *s, dash_grid *g, int x, int y, int w, int h);
void repl_dash_draw_grads(dash_state *s, dash_grid *g, int x, int y, int w, int h);
void repl_dash_draw_log(dash_state *s, dash_grid *g, int x, int y, int w, int h);
void repl_dash_draw_system(dash_state *s, dash_grid *g, int x, int y, int w, int h);
void repl_dash_draw_dist(dash_state *s, dash_grid *g, int x, int y, int w, int h);
void repl_dash_render(dash_state *s, dash_grid *g);
// The plain progress line ("step 100  loss 0.0354  ...") into buf.
char *repl_dash_progress_line(const dash_state *s, char *buf, size_t n);

// ---- capture.c: the script's stdout/stderr while the dashboard is open ----
int repl_dash_capture_start(void);        // 0 ok (or already on); -1 leaves output alone
// New bytes since the last call go to fn (the panel, output.log); returns bytes read.
size_t repl_dash_capture_poll(void (*fn)(const char *, size_t, void *), void *ud);
// Stops capturing: the terminal gets back fds 1 and 2, then everything captured and
// not yet shown is written to it, in order.
void repl_dash_capture_stop(void);
int repl_dash_capture_active(void);
// In plain mode the output goes on to the terminal as it comes (at each poll).
void repl_dash_capture_set_passthrough(int on);
// A FILE for the real terminal (the dup of stdout taken before capture), for ncurses.
FILE *repl_dash_capture_tty(void);
void repl_dash_capture_release_tty(void);   // once ncurses is done with it

// ---- runlog.c: runs/<time>-<name>/ ----
typedef struct dash_runlog dash_runlog;
// Creates the folder ($NNLAB_RUNS or ./runs; "none" turns runs off). NULL when off or
// the folder can't be made (then *why says so, if why is given).
dash_runlog *repl_dash_runlog_open(const char *name, char *why, size_t whyn);
const char *repl_dash_runlog_dir(const dash_runlog *r);
// One metrics.jsonl line: the point, then (optional) per-parameter stats.
void repl_dash_runlog_point(dash_runlog *r, const dash_point *p, double t);
void repl_dash_runlog_grads(dash_runlog *r, const dash_point *p, double t, const dash_grad *g, int n);
void repl_dash_runlog_output(dash_runlog *r, const char *bytes, size_t n);
// meta.json: fields set as cJSON values; written (atomically) by _write.
void repl_dash_runlog_set(dash_runlog *r, const char *key, struct cJSON *value);   // takes value
void repl_dash_runlog_write_meta(dash_runlog *r, const dash_state *s, const char *status);
void repl_dash_runlog_flush(dash_runlog *r);
void repl_dash_runlog_tick(dash_runlog *r, const dash_state *s);   // meta.json when due
void repl_dash_runlog_close(dash_runlog *r, const dash_state *s, const char *status);

// ---- jsonl.c: metrics.jsonl's lines ----
char *repl_dash_put_g(char *p, double v);      // a JSON number, 8 digits (null: NaN/Inf); <= 24 bytes
// {"step":..,"time":.. and the point's logged fields, without the closing brace; the end
char *repl_dash_put_point(char *p, const dash_point *pt, double t);
// the point and its per-parameter statistics, as a whole line (malloc'd; NULL: no memory)
char *repl_dash_grads_line(const dash_point *pt, double t, const dash_grad *g, int n);

// ---- writer.c: metrics.jsonl from a writer thread ----
typedef struct dash_writer dash_writer;
dash_writer *repl_dash_writer_open(FILE *f);   // writes into f (not closed); NULL: no memory
void repl_dash_writer_point(dash_writer *w, const dash_point *p, double t);
void repl_dash_writer_text(dash_writer *w, char *line);   // takes line (malloc'd)
void repl_dash_writer_drain(dash_writer *w);   // returns when all queued is in f, flushed
int repl_dash_writer_close(dash_writer *w);    // drains, ends the thread; -1: a write failed

// ---- sys.c ----
void repl_dash_sys_sample(dash_state *s);     // cpu %, rss; gpu memory when on cuda

// ---- term.c: ncursesw ----
int repl_dash_term_open(int *ascii);     // 0 ok; -1 no usable terminal. *ascii: no UTF-8
void repl_dash_term_close(void);         // endwin; safe to call twice
void repl_dash_term_suspend(void);       // shell mode until the next draw (the prompt's turn)
int repl_dash_term_is_open(void);
void repl_dash_term_size(int *w, int *h);
void repl_dash_term_draw(const dash_grid *g);
// A key within timeout_ms (0: don't wait), or -1. Ctrl-C while raw gives 3;
// a terminal resize gives DASH_KEY_RESIZE.
#define DASH_KEY_RESIZE 0x110000
int repl_dash_term_key(int timeout_ms);
void repl_dash_term_raw(int on);         // raw: Ctrl-C arrives as a key (while paused)
int repl_dash_term_usable(void);         // stdout is a tty and TERM is not dumb

// ---- runs_read.c: run folders on disk (docs/RUNS.md) ----
#define DASH_RUN_COLOURS 8
typedef struct dash_run {
    char *dir;                       // the folder as opened (root/name or a given path)
    char *folder;                    // its last component, e.g. 20261202-120000-mlp
    char *name, *status, *start, *end, *script, *args, *device, *optimizer, *model_name;
    double model_params, seed, meta_steps;   // NAN where not given
    double meta_final_loss, meta_best_loss, meta_best_acc;   // from meta.json, NAN if absent
    // metrics.jsonl as columns, n points; NAN where a line did not log the key
    int n, cap;
    double *step, *loss, *test_loss, *acc, *lr, *epoch;
    char *error;                     // "file:line: why" messages, newline separated, or NULL
} dash_run;

typedef struct dash_runs {
    dash_run *v;
    int n;
    char *root;
} dash_runs;

// The folder runs are kept in: $NNLAB_RUNS, else "runs".
const char *repl_runs_root(void);
// Loads runs into *out, sorted by start time. names == NULL: every run folder under
// root; else each name is a path to a run folder, a folder name, a run name or a
// folder-name prefix. A name matching nothing gets a message in *err (malloc'd,
// newline separated; NULL when none). Returns 0, or -1 when out of memory or root
// cannot be read. Bad files never fail the load: they get dash_run.error.
// a metrics.jsonl line's numbers by key (NaN when absent): the keys, and the fast scanner
// (runs_scan.c) that returns 0, or -1 for a line it does not handle (cJSON decides those)
enum { DASH_K_STEP, DASH_K_LOSS, DASH_K_TEST_LOSS, DASH_K_ACC, DASH_K_LR, DASH_K_EPOCH, DASH_K_N };
extern const char *const repl_runs_keys[DASH_K_N];
int repl_runs_scan_line(const char *line, size_t len, double vals[DASH_K_N]);
int repl_runs_load(dash_runs *out, const char *root, const char *const *names, int nnames, char **err);
void repl_runs_free(dash_runs *r);
// Reads one run folder (meta.json + metrics.jsonl); 0, or -1 out of memory.
int repl_runs_read_one(dash_run *r, const char *dir);
void repl_runs_free_one(dash_run *r);
// Reads r's folder again (a run still being written); on failure r is unchanged.
int repl_runs_reload_one(dash_run *r);
// 1 to parse every metrics line with cJSON (the reference) instead of the fast scanner.
extern int repl_runs_use_cjson;

// Summary figures of a run, from its points (meta.json's when it has none).
typedef struct dash_run_stats {
    double steps, final_loss, final_test_loss, final_acc, final_lr;
    double best_loss, best_loss_step, best_acc, best_acc_step;
} dash_run_stats;
void repl_runs_stats(const dash_run *r, dash_run_stats *st);
// The run's preferred colour (0..DASH_RUN_COLOURS-1): a hash of its folder name.
int repl_runs_colour_hash(const char *folder);

// ---- runs_view.c: the runs workspace, drawn into a grid ----
enum { DASH_METRIC_LOSS, DASH_METRIC_TEST_LOSS, DASH_METRIC_ACC, DASH_METRIC_LR, DASH_METRIC_COUNT };
// keys beyond Unicode, from repl_dash_term_key_portable
#define DASH_KEY_UP 0x110001
#define DASH_KEY_DOWN 0x110002
#define DASH_KEY_PGUP 0x110003
#define DASH_KEY_PGDN 0x110004
#define DASH_KEY_HOME 0x110005
#define DASH_KEY_END 0x110006
#define DASH_KEY_BACKSPACE 0x110007
#define DASH_KEY_ESC 27

typedef struct dash_runs_view {
    dash_runs *runs;                 // not owned
    unsigned char *selected, *pinned;   // per run
    int *colour;                     // per run: 0..DASH_RUN_COLOURS-1
    int *vis;                        // visible runs (filter), pinned first
    int nvis, hl, top;               // hl: index into vis
    int metric;                      // DASH_METRIC_*
    int log_mode[DASH_METRIC_COUNT]; // per metric: -1 automatic, 0 linear, 1 log
    int ema_idx;
    char filter[64];
    int filtering;                   // typing after '/'
    int quit;
} dash_runs_view;

int repl_runs_view_init(dash_runs_view *v, dash_runs *runs);   // 0, -1 out of memory
void repl_runs_view_free(dash_runs_view *v);
void repl_runs_view_key(dash_runs_view *v, int key);
void repl_runs_view_render(dash_runs_view *v, dash_grid *g);
#define DASH_RUNS_MIN_W 60
#define DASH_RUNS_MIN_H 16

// ---- runs_cmd.c: `nnlab runs` and `:runs` ----
// argv[0] is "runs". Returns the exit status; prints on stdout/stderr.
int repl_runs_main(int argc, char **argv);

// ---- term.c, for the runs workspace ----
// repl_dash_term_key with arrows, page keys and backspace as DASH_KEY_* codes.
int repl_dash_term_key_portable(int timeout_ms);

#endif
