// runs_view.c - the runs workspace (`nnlab runs A B`), drawn into a character grid.
//
//  ┌ Runs 3/3 ───────┐┌ loss (log)  ema 0.60 ─────────────┐
//  │>● mlp     12:00 ││ overlaid braille curves, one colour │
//  │ ● cnn     12:05 ││ per selected run                    │
//  └─────────────────┘└─────────────────────────────────────┘
//  ┌ mlp  20261202-120000-mlp  finished ─────────────────────┐
//  │ steps, final and best figures, model, optimizer, script  │
//  └─────────────────────────────────────────────────────────┘
//   keys
// Keys and state live here too (no ncurses), so --snapshot --keys can test them.
// The braille canvas is plot.c's, shared with the dashboard's loss plot.
#include "dash.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define NUM(buf, v, w) repl_dash_fmt_num(buf, sizeof buf, v, w)

static const double ema_levels[] = {0, 0.6, 0.8, 0.9, 0.95, 0.99};
#define EMA_N ((int)(sizeof ema_levels / sizeof *ema_levels))
static const char *const metric_names[DASH_METRIC_COUNT] = {"loss", "test loss", "accuracy", "learning rate"};

static const double *metric_col(const dash_run *r, int m)
{
    return m == DASH_METRIC_LOSS ? r->loss : m == DASH_METRIC_TEST_LOSS ? r->test_loss
                                       : m == DASH_METRIC_ACC            ? r->acc
                                                                         : r->lr;
}

static int metric_present(const dash_runs *rs, int m)
{
    for (int i = 0; i < rs->n; i++) {
        const double *c = metric_col(&rs->v[i], m);
        for (int k = 0; k < rs->v[i].n; k++)
            if (!isnan(c[k])) return 1;
    }
    return 0;
}

// ---- state and keys -----------------------------------------------------------------

static void rebuild_vis(dash_runs_view *v)
{
    int keep = v->nvis > 0 && v->hl < v->nvis ? v->vis[v->hl] : -1;
    v->nvis = 0;
    for (int pass = 0; pass < 2; pass++)      // pinned first, then in start order
        for (int i = 0; i < v->runs->n; i++) {
            const dash_run *r = &v->runs->v[i];
            if ((pass == 0) != (v->pinned[i] != 0)) continue;
            if (v->filter[0] && !strcasestr(r->folder, v->filter) && !strcasestr(r->name, v->filter)) continue;
            v->vis[v->nvis++] = i;
        }
    v->hl = 0;
    for (int k = 0; k < v->nvis; k++)
        if (v->vis[k] == keep) v->hl = k;
}

// Colours: each run's hash, moved on to the next free one when an earlier run
// (in start order) has it, so up to DASH_RUN_COLOURS runs never share one.
static void assign_colours(dash_runs_view *v)
{
    int used[DASH_RUN_COLOURS] = {0}, nused = 0;
    for (int i = 0; i < v->runs->n; i++) {
        int c = repl_runs_colour_hash(v->runs->v[i].folder);
        if (nused < DASH_RUN_COLOURS) {
            while (used[c]) c = (c + 1) % DASH_RUN_COLOURS;
            used[c] = 1;
            nused++;
        }
        v->colour[i] = c;
    }
}

int repl_runs_view_init(dash_runs_view *v, dash_runs *runs)
{
    memset(v, 0, sizeof *v);
    v->runs = runs;
    size_t n = runs->n ? (size_t)runs->n : 1;
    v->selected = calloc(n, 1);
    v->pinned = calloc(n, 1);
    v->colour = calloc(n, sizeof *v->colour);
    v->vis = calloc(n, sizeof *v->vis);
    if (!v->selected || !v->pinned || !v->colour || !v->vis) {
        repl_runs_view_free(v);
        return -1;
    }
    // the newest runs start selected, as many as there are colours
    for (int i = runs->n - 1, k = 0; i >= 0 && k < DASH_RUN_COLOURS; i--, k++) v->selected[i] = 1;
    assign_colours(v);
    for (int m = 0; m < DASH_METRIC_COUNT; m++) v->log_mode[m] = -1;
    v->ema_idx = 1;                      // 0.6, TensorBoard's default
    v->metric = DASH_METRIC_LOSS;
    rebuild_vis(v);
    v->hl = v->nvis > 0 ? v->nvis - 1 : 0;   // the newest run
    return 0;
}

void repl_runs_view_free(dash_runs_view *v)
{
    free(v->selected);
    free(v->pinned);
    free(v->colour);
    free(v->vis);
    memset(v, 0, sizeof *v);
}

// Log scale when the metric's raw values over the selected runs span > 2 decades.
static int auto_log(const dash_runs_view *v, int m)
{
    double lo = INFINITY, hi = 0;
    for (int i = 0; i < v->runs->n; i++) {
        if (!v->selected[i]) continue;
        const double *c = metric_col(&v->runs->v[i], m);
        for (int k = 0; k < v->runs->v[i].n; k++)
            if (isfinite(c[k]) && c[k] > 0) {
                if (c[k] < lo) lo = c[k];
                if (c[k] > hi) hi = c[k];
            }
    }
    return hi > 0 && hi / lo > 100;
}

static int is_log(const dash_runs_view *v, int m) { return v->log_mode[m] >= 0 ? v->log_mode[m] : auto_log(v, m); }

void repl_runs_view_key(dash_runs_view *v, int key)
{
    if (v->filtering) {
        size_t n = strlen(v->filter);
        if (key == '\n' || key == '\r') v->filtering = 0;
        else if (key == DASH_KEY_ESC) {
            v->filtering = 0;
            v->filter[0] = 0;
        } else if (key == DASH_KEY_BACKSPACE || key == 127 || key == 8) {
            if (n) v->filter[n - 1] = 0;
        } else if (key >= 32 && key < 127 && n + 1 < sizeof v->filter) {
            v->filter[n] = (char)key;
            v->filter[n + 1] = 0;
        }
        rebuild_vis(v);
        return;
    }
    int cur = v->nvis ? v->vis[v->hl] : -1;
    switch (key) {
    case 'q': case 'Q': v->quit = 1; break;
    case 'j': case DASH_KEY_DOWN: if (v->hl + 1 < v->nvis) v->hl++; break;
    case 'k': case DASH_KEY_UP: if (v->hl > 0) v->hl--; break;
    case DASH_KEY_PGDN: v->hl = v->hl + 10 < v->nvis ? v->hl + 10 : (v->nvis ? v->nvis - 1 : 0); break;
    case DASH_KEY_PGUP: v->hl = v->hl > 10 ? v->hl - 10 : 0; break;
    case 'g': case DASH_KEY_HOME: v->hl = 0; break;
    case 'G': case DASH_KEY_END: v->hl = v->nvis ? v->nvis - 1 : 0; break;
    case ' ': if (cur >= 0) v->selected[cur] = !v->selected[cur]; break;
    case 'a': {                          // all visible on, or all off when all are on
        int all = 1;
        for (int k = 0; k < v->nvis; k++) all &= v->selected[v->vis[k]];
        for (int k = 0; k < v->nvis; k++) v->selected[v->vis[k]] = !all;
        break;
    }
    case 'p':
        if (cur >= 0) {
            v->pinned[cur] = !v->pinned[cur];
            if (v->pinned[cur]) v->selected[cur] = 1;
            rebuild_vis(v);
        }
        break;
    case 'l': v->log_mode[v->metric] = !is_log(v, v->metric); break;
    case '+': case '=': if (v->ema_idx + 1 < EMA_N) v->ema_idx++; break;
    case '-': case '_': if (v->ema_idx > 0) v->ema_idx--; break;
    case '/': v->filtering = 1; break;
    case DASH_KEY_ESC: v->filter[0] = 0; rebuild_vis(v); break;
    case '\t':
        for (int k = 1; k <= DASH_METRIC_COUNT; k++) {
            int m = (v->metric + k) % DASH_METRIC_COUNT;
            if (metric_present(v->runs, m)) { v->metric = m; break; }
        }
        break;
    default: break;
    }
}

// ---- plots: the braille canvas of plot.c, shared with the dashboard's loss panel ----

static int plottable(const dash_axis *a, double v) { return isfinite(v) && !(a->log && v <= 0); }

// TensorBoard's smoothing: an EMA debiased by the weight so far, so it starts at the data.
static void smooth(const double *in, int n, double ema, double *out)
{
    double m = 0, wsum = 0;
    for (int i = 0; i < n; i++) {
        out[i] = NAN;
        if (!isfinite(in[i])) continue;
        m = ema * m + (1 - ema) * in[i];
        wsum = ema * wsum + (1 - ema);
        out[i] = m / wsum;
    }
}

// ---- panels ----------------------------------------------------------------------------

static int run_attr(const dash_runs_view *v, int i) { return DASH_A_RUN0 + v->colour[i]; }

// "HH:MM" or "MM-DD HH:MM" of a run's start (meta, else the folder's time stamp).
static void short_time(const dash_run *r, char *out, size_t n, int with_date)
{
    const char *s = r->start, *f = r->folder;
    if (s && strlen(s) >= 16)
        snprintf(out, n, with_date ? "%.5s %.5s" : "%.0s%.5s", s + 5, s + 11);
    else if (strlen(f) >= 15 && f[8] == '-')
        snprintf(out, n, with_date ? "%.2s-%.2s %.2s:%.2s" : "%.0s%.0s%.2s:%.2s", f + 4, f + 6, f + 9, f + 11);
    else snprintf(out, n, "%s", "");
}

static void draw_list(dash_runs_view *v, dash_grid *g, int x, int y, int w, int h)
{
    char title[96], t[32];
    int nsel = 0;
    for (int i = 0; i < v->runs->n; i++) nsel += v->selected[i];
    if (v->filter[0] || v->filtering)
        snprintf(title, sizeof title, "Runs %d/%d /%s%s", v->nvis, v->runs->n, v->filter, v->filtering ? "_" : "");
    else snprintf(title, sizeof title, "Runs %d sel %d", v->runs->n, nsel);
    repl_dash_box(g, x, y, w, h, title);
    int ix = x + 1, iy = y + 1, iw = w - 2, ih = h - 2;
    if (iw < 6 || ih < 1) return;
    if (v->nvis == 0) {
        repl_dash_text(g, ix + 1, iy, iw - 1, DASH_A_DIM, v->runs->n ? "no run matches" : "no runs");
        return;
    }
    if (v->hl < v->top) v->top = v->hl;
    if (v->hl >= v->top + ih) v->top = v->hl - ih + 1;
    if (v->top > v->nvis - ih) v->top = v->nvis - ih > 0 ? v->nvis - ih : 0;
    int tw = iw >= 30 ? 11 : iw >= 18 ? 5 : 0;     // the start time, when there is room
    for (int r = 0; r < ih && v->top + r < v->nvis; r++) {
        int k = v->top + r, i = v->vis[k], ry = iy + r;
        const dash_run *run = &v->runs->v[i];
        int hl = k == v->hl;
        repl_dash_put(g, ix, ry, hl ? L'>' : L' ', DASH_A_TITLE);
        repl_dash_put(g, ix + 1, ry, v->selected[i] ? L'●' : L'○', v->selected[i] ? run_attr(v, i) : DASH_A_DIM);
        repl_dash_put(g, ix + 2, ry, v->pinned[i] ? L'^' : run->error ? L'!' : L' ',
                      run->error && !v->pinned[i] ? DASH_A_WARN : DASH_A_TITLE);
        int nw = iw - 3 - (tw ? tw + 1 : 0);
        repl_dash_text(g, ix + 3, ry, nw, hl ? DASH_A_TITLE : v->selected[i] ? run_attr(v, i) : DASH_A_NONE,
                       run->name);
        if (tw) {
            short_time(run, t, sizeof t, tw >= 11);
            repl_dash_text(g, ix + iw - tw, ry, tw, DASH_A_DIM, t);
        }
    }
}

static void draw_chart(dash_runs_view *v, dash_grid *g, int m, int x, int y, int w, int h)
{
    char title[96];
    double ema = ema_levels[v->ema_idx];
    int lg = is_log(v, m);
    snprintf(title, sizeof title, "%s%s  ema %.2f%s", metric_names[m], lg ? " (log)" : "", ema,
             m == v->metric ? "" : "");
    repl_dash_box(g, x, y, w, h, title);
    int ix = x + 1, iy = y + 1, iw = w - 2, ih = h - 2, lab = 7;
    int pw = iw - lab - 1, ph = ih - 1;
    if (pw < 4 || ph < 1) return;

    // the selected runs, drawn bottom to top: others, pinned, then the highlighted one
    int *order = malloc((size_t)v->runs->n * sizeof *order), no = 0;
    if (!order) return;
    int cur = v->nvis ? v->vis[v->hl] : -1;
    for (int pass = 0; pass < 3; pass++)
        for (int i = 0; i < v->runs->n; i++) {
            if (!v->selected[i] || v->runs->v[i].n == 0) continue;
            int p = i == cur ? 2 : v->pinned[i] ? 1 : 0;
            if (p == pass) order[no++] = i;
        }
    dash_axis ya = {INFINITY, -INFINITY, lg};
    double xlo = INFINITY, xhi = -INFINITY;
    int maxn = 0;
    for (int k = 0; k < no; k++)
        if (v->runs->v[order[k]].n > maxn) maxn = v->runs->v[order[k]].n;
    double *sm = malloc((size_t)(maxn ? maxn : 1) * sizeof *sm);
    if (!sm) { free(order); return; }
    int any = 0;
    for (int k = 0; k < no; k++) {   // the axes fit the curves as drawn (smoothed)
        const dash_run *r = &v->runs->v[order[k]];
        smooth(metric_col(r, m), r->n, ema, sm);
        for (int q = 0; q < r->n; q++) {
            if (!plottable(&ya, sm[q])) continue;
            double f = repl_dash_axis_f(&ya, sm[q]);
            if (f < ya.lo) ya.lo = f;
            if (f > ya.hi) ya.hi = f;
            if (r->step[q] < xlo) xlo = r->step[q];
            if (r->step[q] > xhi) xhi = r->step[q];
            any = 1;
        }
    }
    if (!any) {
        repl_dash_text(g, ix + 1, iy, iw - 1, DASH_A_DIM,
                       no ? "no values in the selected runs" : "no run selected (space selects)");
        free(sm);
        free(order);
        return;
    }
    if (ya.hi - ya.lo < 1e-12) {
        double d = ya.log ? 0.5 : (fabs(ya.hi) > 0 ? fabs(ya.hi) * 0.1 : 1);
        ya.lo -= d;
        ya.hi += d;
    }
    dash_canvas c = {pw, ph, calloc((size_t)pw * ph, 1), calloc((size_t)pw * ph, 1)};
    if (c.bits && c.attr) {
        for (int k = 0; k < no; k++) {
            const dash_run *r = &v->runs->v[order[k]];
            smooth(metric_col(r, m), r->n, ema, sm);
            repl_dash_plot_series(&c, r->step, sm, r->n, xlo, xhi, &ya, run_attr(v, order[k]));
        }
        int px = ix + lab + 1;
        repl_dash_canvas_blit(&c, g, px, iy);
        repl_dash_plot_yaxis(g, ix, iy, lab, ph, &ya);
        int ay = iy + ph;
        repl_dash_put(g, ix + lab, ay, L'└', DASH_A_DIM);
        for (int q = 0; q < pw; q++) repl_dash_put(g, px + q, ay, L'─', DASH_A_DIM);
        repl_dash_textf(g, px, ay, pw / 2, DASH_A_DIM, "%.0f", xlo);
        char b[40];
        snprintf(b, sizeof b, "step %.0f", xhi);
        int bl = (int)strlen(b);
        if (bl < pw / 2) repl_dash_text(g, px + pw - bl, ay, bl, DASH_A_DIM, b);
    }
    free(c.bits);
    free(c.attr);
    free(sm);
    free(order);
}

static void draw_summary(dash_runs_view *v, dash_grid *g, int x, int y, int w, int h)
{
    if (v->nvis == 0) {
        repl_dash_box(g, x, y, w, h, "Run");
        return;
    }
    int i = v->vis[v->hl];
    const dash_run *r = &v->runs->v[i];
    char title[160], a[32], b[32], c[32], d[32], line[512];
    snprintf(title, sizeof title, "  %s  %s  %s", r->name, r->folder, r->status ? r->status : "-");
    repl_dash_box(g, x, y, w, h, title);
    repl_dash_put(g, x + 2, y, L'●', run_attr(v, i));
    int ix = x + 2, iy = y + 1, iw = w - 4, ih = h - 2, row = 0;
    if (iw < 4 || ih < 1) return;
    dash_run_stats st;
    repl_runs_stats(r, &st);
    const char *lines[8];
    char buf[8][512];
    int nl = 0;
    // the error first: it is why the figures may be short
    if (r->error) {
        size_t e = strcspn(r->error, "\n");
        snprintf(buf[nl], sizeof buf[nl], "! %.*s", (int)e, r->error);
        lines[nl] = buf[nl];
        nl++;
    }
    int n = snprintf(line, sizeof line, "steps %s  final loss %s", NUM(a, st.steps, 10), NUM(b, st.final_loss, 9));
    if (!isnan(st.final_test_loss)) n += snprintf(line + n, sizeof line - n, "  test %s", NUM(a, st.final_test_loss, 9));
    if (!isnan(st.final_acc)) n += snprintf(line + n, sizeof line - n, "  acc %s", NUM(a, st.final_acc, 9));
    if (!isnan(st.final_lr)) snprintf(line + n, sizeof line - n, "  lr %s", NUM(a, st.final_lr, 9));
    snprintf(buf[nl], sizeof buf[nl], "%s", line);
    lines[nl] = buf[nl];
    nl++;
    n = snprintf(line, sizeof line, "best loss %s", NUM(a, st.best_loss, 9));
    if (!isnan(st.best_loss_step)) n += snprintf(line + n, sizeof line - n, " @%s", NUM(b, st.best_loss_step, 10));
    if (!isnan(st.best_acc)) {
        n += snprintf(line + n, sizeof line - n, "  best acc %s", NUM(c, st.best_acc, 9));
        if (!isnan(st.best_acc_step)) snprintf(line + n, sizeof line - n, " @%s", NUM(d, st.best_acc_step, 10));
    }
    snprintf(buf[nl], sizeof buf[nl], "%s", line);
    lines[nl] = buf[nl];
    nl++;
    n = snprintf(line, sizeof line, "model %s", r->model_name ? r->model_name : "-");
    if (!isnan(r->model_params)) n += snprintf(line + n, sizeof line - n, " (%.0f params)", r->model_params);
    n += snprintf(line + n, sizeof line - n, "  device %s", r->device ? r->device : "-");
    if (!isnan(r->seed)) snprintf(line + n, sizeof line - n, "  seed %.0f", r->seed);
    snprintf(buf[nl], sizeof buf[nl], "%s", line);
    lines[nl] = buf[nl];
    nl++;
    snprintf(buf[nl], sizeof buf[nl], "%s", r->optimizer ? r->optimizer : "optimizer -");
    lines[nl] = buf[nl];
    nl++;
    snprintf(buf[nl], sizeof buf[nl], "script %s%s%s  started %s", r->script ? r->script : "-", r->args ? " " : "",
             r->args ? r->args : "", r->start ? r->start : "-");
    lines[nl] = buf[nl];
    nl++;
    for (int k = 0; k < nl && row < ih; k++, row++)
        repl_dash_text(g, ix, iy + row, iw, k == 0 && r->error ? DASH_A_WARN : DASH_A_NONE, lines[k]);
}

static void draw_keys(dash_runs_view *v, dash_grid *g, int y)
{
    if (v->filtering) {
        repl_dash_textf(g, 0, y, g->w, DASH_A_TITLE, " filter: %s_   (enter keeps, esc clears)", v->filter);
        return;
    }
    static const char *const full =
        " j/k move  space select  a all  p pin  l log  +/- smooth  / filter  tab metric  q quit";
    static const char *const brief = " jk move  spc sel  p pin  l log  +- ema  / find  tab  q quit";
    repl_dash_text(g, 0, y, g->w, DASH_A_DIM, (int)strlen(full) <= g->w ? full : brief);
}

void repl_runs_view_render(dash_runs_view *v, dash_grid *g)
{
    repl_dash_grid_clear(g);
    int W = g->w, H = g->h;
    if (W < DASH_RUNS_MIN_W || H < DASH_RUNS_MIN_H) {
        char msg[96];
        snprintf(msg, sizeof msg, "terminal %dx%d is too small: runs needs %dx%d (q quits)", W, H, DASH_RUNS_MIN_W,
                 DASH_RUNS_MIN_H);
        int len = (int)strlen(msg), x = len < W ? (W - len) / 2 : 0;
        for (int k = 0, y = H / 2; k * W < len && y < H; k++, y++)   // wraps on a very narrow screen
            repl_dash_text(g, k ? 0 : x, y, W, DASH_A_WARN, msg + k * W);
        return;
    }
    int sum_h = H >= 34 ? 8 : H >= 20 ? 6 : 4;   // box around 6, 4 or 2 summary lines
    int top = H - 1 - sum_h;
    int lw = W >= 120 ? 36 : W >= 100 ? 32 : W * 3 / 10 < 24 ? 24 : W * 3 / 10;
    draw_list(v, g, 0, 0, lw, top);
    // one chart for the chosen metric; a second one below when the room allows it
    int second = -1;
    if (top >= 24)
        for (int k = 1; k < DASH_METRIC_COUNT && second < 0; k++) {
            int m = (v->metric + k) % DASH_METRIC_COUNT;
            if (m != DASH_METRIC_LR && metric_present(v->runs, m)) second = m;
        }
    if (second >= 0) {
        int h1 = top / 2 + top % 2;
        draw_chart(v, g, v->metric, lw, 0, W - lw, h1);
        draw_chart(v, g, second, lw, h1, W - lw, top - h1);
    } else {
        draw_chart(v, g, v->metric, lw, 0, W - lw, top);
    }
    draw_summary(v, g, 0, top, W, sum_h);
    draw_keys(v, g, H - 1);
}
