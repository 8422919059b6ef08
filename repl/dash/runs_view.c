// runs_view.c - `nnlab runs`: the list of runs, and a workspace that compares them in
// the terminal, after TensorBoard's scalars (overlaid runs, smoothing, log axis) and
// W&B's terminal UI (a runs sidebar with a stable colour per run, select, pin, filter).
//
//  ┌ Runs (3) ────────┐┌ loss (log)  ema 0.60  3 runs ───────────────┐
//  │▸● bottleneck     ││ braille curves, one colour per run          │
//  │ ● bottleneck-2   │└─────────────────────────────────────────────┘
//  │ ○ bottleneck-3   │┌ bottleneck-2 ───────────────────────────────┐
//  └──────────────────┘│ status, steps, final/best, model, optimizer │
//   keys                                                            
#include "dash.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct runs_view {
    dash_run *runs;
    int n;
    int *order, norder;        // shown runs: pinned first, then by start; filtered
    int hi;                    // highlighted, index into order
    int metric;                // 0 loss, 1 test loss, 2 accuracy
    int log_user;              // -1 automatic
    int log_now;               // what the chart shows (set when drawn)
    int ema_idx;
    char filter[64];
    int filtering, quit;
} runs_view;

static const char *const metric_name[] = {"loss", "test loss", "accuracy"};

static void reorder(runs_view *v)
{
    v->norder = 0;
    for (int pass = 0; pass < 2; pass++)
        for (int i = 0; i < v->n; i++) {
            dash_run *r = &v->runs[i];
            if ((pass == 0) != (r->pinned != 0)) continue;
            if (v->filter[0] && !strstr(r->name, v->filter) && !strstr(r->folder, v->filter)) continue;
            v->order[v->norder++] = i;
        }
    if (v->hi >= v->norder) v->hi = v->norder ? v->norder - 1 : 0;
}

static dash_run *highlighted(runs_view *v) { return v->norder ? &v->runs[v->order[v->hi]] : NULL; }

static void key(runs_view *v, int k)
{
    if (v->filtering) {
        size_t l = strlen(v->filter);
        if (k == '\n' || k == '\r' || k == 27) v->filtering = 0;
        else if ((k == 127 || k == 8 || k == 263) && l) v->filter[l - 1] = 0;
        else if (k >= 32 && k < 127 && l + 1 < sizeof v->filter) { v->filter[l] = (char)k; v->filter[l + 1] = 0; }
        reorder(v);
        return;
    }
    dash_run *r = highlighted(v);
    switch (k) {
    case 'q': case 'Q': v->quit = 1; break;
    case 'j': case 258: if (v->hi + 1 < v->norder) v->hi++; break;      // 258: KEY_DOWN
    case 'k': case 259: if (v->hi > 0) v->hi--; break;                  // 259: KEY_UP
    case ' ': if (r) r->selected = !r->selected; break;
    case 'a': for (int i = 0; i < v->n; i++) v->runs[i].selected = 1; break;
    case 'p': case 'P':
        if (r) {
            r->pinned = !r->pinned;
            int idx = (int)(r - v->runs);
            reorder(v);
            for (int i = 0; i < v->norder; i++) if (v->order[i] == idx) v->hi = i;
        }
        break;
    case '\t': v->metric = (v->metric + 1) % 3; break;
    case 'l': case 'L': v->log_user = !v->log_now; break;
    case '+': case '=': if (v->ema_idx < repl_dash_ema_nlevels - 1) v->ema_idx++; break;
    case '-': case '_': if (v->ema_idx > 0) v->ema_idx--; break;
    case '/': v->filtering = 1; v->filter[0] = 0; reorder(v); break;
    default: break;
    }
}

static double value_of(const dash_run *r, int i, int metric) { return r->pts[(size_t)i * 4 + 1 + metric]; }

static void draw_list(runs_view *v, dash_grid *g, int x, int y, int w, int h)
{
    char title[96];
    snprintf(title, sizeof title, "Runs (%d)%s%s", v->norder, v->filter[0] || v->filtering ? "  /" : "", v->filter);
    repl_dash_box(g, x, y, w, h, title);
    int ih = h - 2, first = v->hi >= ih ? v->hi - ih + 1 : 0;
    for (int k = first; k < v->norder && k - first < ih; k++) {
        dash_run *r = &v->runs[v->order[k]];
        int ry = y + 1 + k - first, col = x + 1;
        if (k == v->hi) repl_dash_put(g, col, ry, L'▸', DASH_A_TITLE);
        repl_dash_put(g, col + 1, ry, r->selected ? L'●' : L'○', DASH_A_RUN0 + r->color);
        repl_dash_put(g, col + 2, ry, r->pinned ? L'*' : L' ', DASH_A_DIM);
        int st = r->err[0] ? DASH_A_WARN : !strcmp(r->status, "finished") ? DASH_A_DIM : DASH_A_WARN;
        // "12:39 name" (runs of one script share a name; the time tells them apart)
        char label[128];
        if (w >= 40) snprintf(label, sizeof label, "%.5s %s", strlen(r->start) >= 16 ? r->start + 11 : "", r->name);
        else snprintf(label, sizeof label, "%s", r->name);
        int nw = w - 2 - 3 - 10;
        repl_dash_text(g, col + 3, ry, nw, k == v->hi ? DASH_A_TITLE : DASH_A_NONE, label);
        repl_dash_text(g, x + w - 10, ry, 9, st, r->err[0] ? "! error" : r->status);
    }
    if (v->norder == 0) repl_dash_text(g, x + 2, y + 1, w - 3, DASH_A_DIM, "no run matches");
}

static void draw_chart(runs_view *v, dash_grid *g, int x, int y, int w, int h)
{
    double ema = repl_dash_ema_levels[v->ema_idx];
    // the axis covers every selected run; log when the metric spans > 2 decades
    double lo = INFINITY, hi = -INFINITY, xlo = INFINITY, xhi = -INFINITY;
    int nsel = 0;
    for (int k = 0; k < v->norder; k++) {
        dash_run *r = &v->runs[v->order[k]];
        if (!r->selected) continue;
        nsel++;
        for (int i = 0; i < r->n; i++) {
            double val = value_of(r, i, v->metric);
            if (!isfinite(val)) continue;
            if (val > 0 && val < lo) lo = val;
            if (val > hi) hi = val;
            if (r->pts[(size_t)i * 4] < xlo) xlo = r->pts[(size_t)i * 4];
            if (r->pts[(size_t)i * 4] > xhi) xhi = r->pts[(size_t)i * 4];
        }
    }
    int logax = v->log_user >= 0 ? v->log_user : (lo > 0 && hi / lo > 100);
    v->log_now = logax;
    char title[128], a[32];
    snprintf(title, sizeof title, "%s%s  ema %.2f  %d run%s", metric_name[v->metric], logax ? " (log)" : "", ema, nsel,
             nsel == 1 ? "" : "s");
    repl_dash_box(g, x, y, w, h, title);
    int ix = x + 1, iy = y + 1, iw = w - 2, ih = h - 2, lab = 8;
    int pw = iw - lab - 1, ph = ih - 2;
    if (pw < 4 || ph < 2) return;
    if (!(xhi >= xlo)) {
        repl_dash_textf(g, ix + 1, iy, iw - 1, DASH_A_DIM, "no %s logged in the selected runs (tab: next metric)",
                        metric_name[v->metric]);
        return;
    }
    dash_axis ya = {INFINITY, -INFINITY, logax};
    double *xs = NULL, *ys = NULL;
    int cap = 0;
    // smoothed series first (the axis follows what is drawn)
    for (int pass = 0; pass < 2; pass++) {
        dash_canvas c = {pw, ph, NULL, NULL};
        if (pass == 1) {
            if (ya.lo > ya.hi) { ya.lo = 0; ya.hi = 1; }
            if (ya.hi - ya.lo < 1e-12) { ya.lo -= 0.5; ya.hi += 0.5; }
            c.bits = calloc((size_t)pw * ph, 1);
            c.attr = calloc((size_t)pw * ph, 1);
            if (!c.bits || !c.attr) { free(c.bits); free(c.attr); break; }
        }
        // the highlighted run last, so its colour wins where curves cross
        for (int k = v->norder - 1; k >= -1; k--) {
            int idx = k >= 0 ? v->order[k] : (v->norder ? v->order[v->hi] : -1);
            if (idx < 0 || (k >= 0 && k == v->hi)) continue;
            dash_run *r = &v->runs[idx];
            if (!r->selected) continue;
            if (r->n > cap) {
                cap = r->n;
                double *nx = realloc(xs, (size_t)cap * sizeof *xs), *ny = nx ? realloc(ys, (size_t)cap * sizeof *ys) : NULL;
                if (!nx || !ny) { free(nx ? nx : xs); free(ny ? ny : ys); xs = ys = NULL; cap = 0; break; }
                xs = nx;
                ys = ny;
            }
            int m = 0;
            double e = 0, wsum = 0;
            for (int i = 0; i < r->n; i++) {
                double val = value_of(r, i, v->metric);
                if (!isfinite(val)) continue;
                e = ema * e + (1 - ema) * val;       // TensorBoard's debiased EMA
                wsum = ema * wsum + (1 - ema);
                xs[m] = r->pts[(size_t)i * 4];
                ys[m++] = e / wsum;
            }
            if (pass == 0) for (int i = 0; i < m; i++) repl_dash_axis_grow(&ya, ys[i]);
            else repl_dash_plot_series(&c, xs, ys, m, xlo, xhi, &ya, DASH_A_RUN0 + r->color);
        }
        if (pass == 1) {
            repl_dash_canvas_blit(&c, g, ix + lab + 1, iy);
            free(c.bits);
            free(c.attr);
        }
    }
    free(xs);
    free(ys);
    for (int r = 0; r < ph; r++) repl_dash_put(g, ix + lab, iy + r, L'│', DASH_A_DIM);
    int nt = ph >= 8 ? 5 : ph >= 3 ? 3 : 2;
    for (int k = 0; k < nt; k++) {
        int r = (int)lround((double)k * (ph - 1) / (nt - 1));
        double f = ya.hi - (double)r / (ph - 1) * (ya.hi - ya.lo);
        repl_dash_fmt_num(a, sizeof a, ya.log ? pow(10, f) : f, lab - 1);
        repl_dash_text(g, ix + lab - 1 - (int)strlen(a), iy + r, lab, DASH_A_NONE, a);
        repl_dash_put(g, ix + lab, iy + r, L'┤', DASH_A_DIM);
    }
    repl_dash_put(g, ix + lab, iy + ph, L'└', DASH_A_DIM);
    for (int q = 0; q < pw; q++) repl_dash_put(g, ix + lab + 1 + q, iy + ph, L'─', DASH_A_DIM);
    repl_dash_textf(g, ix + lab + 1, iy + ph + 1, 12, DASH_A_DIM, "%.0f", xlo);
    char b[32];
    snprintf(b, sizeof b, "step %.0f", xhi);
    repl_dash_text(g, ix + iw - (int)strlen(b), iy + ph + 1, (int)strlen(b), DASH_A_DIM, b);
}

static void draw_summary(runs_view *v, dash_grid *g, int x, int y, int w, int h)
{
    dash_run *r = highlighted(v);
    repl_dash_box(g, x, y, w, h, r ? r->name : "Run");
    if (!r) return;
    int ix = x + 1, iy = y + 1, iw = w - 2, ih = h - 2, row = 0;
    char a[32], b[32], c[32];
    if (row < ih) repl_dash_textf(g, ix, iy + row++, iw, DASH_A_NONE, "%s  %.0f steps  started %s  %s", r->status, r->steps,
                                  r->start[0] ? r->start : "?", r->folder);
    if (row < ih)
        repl_dash_textf(g, ix, iy + row++, iw, DASH_A_NONE, "loss final %s  best %s   accuracy best %s",
                        repl_dash_fmt_num(a, sizeof a, r->final_loss, 9), repl_dash_fmt_num(b, sizeof b, r->best_loss, 9),
                        isnan(r->best_acc) ? "-" : repl_dash_fmt_num(c, sizeof c, r->best_acc, 9));
    if (row < ih && r->model[0])
        repl_dash_textf(g, ix, iy + row++, iw, DASH_A_NONE, "model %s, %.0f params", r->model, r->params);
    if (row < ih && r->optimizer[0]) repl_dash_textf(g, ix, iy + row++, iw, DASH_A_NONE, "%s", r->optimizer);
    if (row < ih && r->script[0]) repl_dash_textf(g, ix, iy + row++, iw, DASH_A_DIM, "script %s", r->script);
    if (row < ih && r->err[0]) repl_dash_text(g, ix, iy + row++, iw, DASH_A_WARN, r->err);
}

static void render(runs_view *v, dash_grid *g)
{
    repl_dash_grid_clear(g);
    int W = g->w, H = g->h;
    if (W < 60 || H < 12) {
        repl_dash_textf(g, 0, 0, W, DASH_A_WARN, "the runs workspace needs 60x12; this terminal is %dx%d", W, H);
        return;
    }
    int lw = W >= 120 ? 40 : 30, sh = H >= 30 ? 8 : 6;
    draw_list(v, g, 0, 0, lw, H - 1);
    draw_chart(v, g, lw, 0, W - lw, H - 1 - sh);
    draw_summary(v, g, lw, H - 1 - sh, W - lw, sh);
    const char *keys = v->filtering ? "type to filter, Enter: done"
                                    : "j/k move  space select  p pin  tab metric  l log  +/- smooth  / filter  q quit";
    repl_dash_text(g, 1, H - 1, W - 2, DASH_A_DIM, keys);
}

static void print_list(const dash_run *runs, int n, FILE *f)
{
    fprintf(f, "%-34s %-17s %8s %11s %11s %8s  %s\n", "run", "date", "steps", "final loss", "best loss", "best acc", "status");
    for (int i = 0; i < n; i++) {
        const dash_run *r = &runs[i];
        char a[32], b[32], c[32], date[20] = "?";
        if (strlen(r->start) >= 16) snprintf(date, sizeof date, "%.10s %.5s", r->start, r->start + 11);
        fprintf(f, "%-34.34s %-17s %8.0f %11s %11s %8s  %s\n", r->folder, date, r->steps,
                repl_dash_fmt_num(a, sizeof a, r->final_loss, 11), repl_dash_fmt_num(b, sizeof b, r->best_loss, 11),
                isnan(r->best_acc) ? "-" : repl_dash_fmt_num(c, sizeof c, r->best_acc, 8), r->status);
    }
}

static void print_grid(const dash_grid *g, int attrs)
{
    size_t len;
    char *txt = repl_dash_grid_utf8(g, &len);
    if (txt) fwrite(txt, 1, len, stdout);
    if (txt && len && txt[len - 1] != '\n') putchar('\n');
    free(txt);
    if (!attrs) return;
    // one character per cell: its colour attribute (0-9, a-z), '.' for none
    puts("-- attributes --");
    for (int y = 0; y < g->h; y++) {
        for (int x = 0; x < g->w; x++) {
            int a = g->attr[y * g->w + x];
            putchar(a == 0 ? '.' : a < 10 ? '0' + a : 'a' + a - 10);
        }
        putchar('\n');
    }
}

static void interactive(runs_view *v)
{
    int ascii = 0;
    if (repl_dash_term_open(&ascii) != 0) return;
    dash_grid g = {0};
    g.ascii = ascii;
    repl_dash_term_raw(1);
    while (!v->quit) {
        int w, h;
        repl_dash_term_size(&w, &h);
        if (repl_dash_grid_resize(&g, w, h) != 0) break;
        render(v, &g);
        repl_dash_term_draw(&g);
        int k = repl_dash_term_key(500);
        if (k == 3) break;                          // Ctrl-C
        while (k != -1 && !v->quit) {
            if (k != DASH_KEY_RESIZE) key(v, k);
            k = repl_dash_term_key(0);
        }
    }
    repl_dash_term_raw(0);
    repl_dash_term_close();
    repl_dash_capture_release_tty();
    repl_dash_grid_free(&g);
}

int repl_runs_main(int argc, char **argv)
{
    const char *root = getenv("NNLAB_RUNS");
    if (!root || !*root || !strcmp(root, "none") || !strcmp(root, "off")) root = "runs";
    int sw = 0, shh = 0, attrs = 0, all = 0;
    const char *keys = NULL;
    char **pats = calloc((size_t)argc + 1, sizeof *pats);
    int npats = 0;
    if (!pats) return 1;
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--snapshot") && i + 1 < argc) {
            if (sscanf(argv[++i], "%dx%d", &sw, &shh) != 2 || sw < 1 || shh < 1 || sw > 1000 || shh > 1000) {
                fprintf(stderr, "nnlab runs: --snapshot WxH, e.g. 120x40 (got %s)\n", argv[i]);
                free(pats);
                return 2;
            }
        } else if (!strcmp(argv[i], "--keys") && i + 1 < argc) keys = argv[++i];
        else if (!strcmp(argv[i], "--attrs")) attrs = 1;
        else if (!strcmp(argv[i], "--all")) all = 1;
        else if (argv[i][0] == '-') {
            fprintf(stderr, "nnlab runs: unknown option %s\n"
                            "usage: nnlab runs [--all | NAME...] [--snapshot WxH [--attrs]] [--keys KEYS]\n", argv[i]);
            free(pats);
            return 2;
        } else pats[npats++] = argv[i];
    }
    dash_run *runs;
    int n;
    char why[600];
    if (repl_runs_load(root, pats, npats, &runs, &n, why, sizeof why) != 0) {
        fprintf(stderr, "nnlab runs: %s\n", why);
        free(pats);
        return 1;
    }
    free(pats);
    for (int i = 0; i < n; i++)
        if (runs[i].err[0]) fprintf(stderr, "nnlab runs: %s\n", runs[i].err);
    int status = 0;
    if (n == 0) fprintf(stderr, "nnlab runs: no run in %s matches\n", root);
    else if (!sw && !(all || npats) ) print_list(runs, n, stdout);
    else {
        runs_view v = {.runs = runs, .n = n, .log_user = -1, .ema_idx = 2};
        v.order = calloc((size_t)n, sizeof *v.order);
        if (!v.order) status = 1;
        else {
            reorder(&v);
            // --keys: as if typed (\t for tab); drawn once first, as the terminal would be
            dash_grid g0 = {0};
            if (keys && repl_dash_grid_resize(&g0, sw ? sw : 100, sw ? shh : 30) == 0) render(&v, &g0);
            repl_dash_grid_free(&g0);
            for (const char *k = keys; k && *k; k++) key(&v, *k == '\\' && k[1] == 't' ? (k++, '\t') : (unsigned char)*k);
            if (sw) {
                dash_grid g = {0};
                g.ascii = 0;
                if (repl_dash_grid_resize(&g, sw, shh) == 0) {
                    render(&v, &g);
                    print_grid(&g, attrs);
                }
                repl_dash_grid_free(&g);
            } else if (repl_dash_term_usable()) interactive(&v);
            else print_list(runs, n, stdout);
            free(v.order);
        }
    }
    repl_runs_free(runs, n);
    return status;
}
