// render.c - draws the dashboard's panels into a character grid of any size.
//
//  ┌ Loss ──────────────┐┌ Weights ───────────┐
//  │ braille line plot  ││ heatmap now | init │   top: ~2/3 of the rows
//  └────────────────────┘└────────────────────┘
//  ┌ Shapes ────────────┐┌ Gradients ─────────┐   bottom: one page (v turns it): the
//  └────────────────────┘└────────────────────┘   tables, log + system, distributions
//   step 1200  epoch 3  412 steps/s  00:12  cpu   keys
// From 120x40 every panel is shown at once (three rows); below 60x15 one notice.
#include "dash.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NUM(buf, v, w) repl_dash_fmt_num(buf, sizeof buf, v, w)

// ---- loss plot: a braille canvas (plot.c) ----------------------------------------
// A legend entry "━ name" in its colour; returns the columns used.
static int legend(dash_grid *g, int x, int y, int maxw, int attr, const char *name)
{
    if (maxw < 3) return 0;
    repl_dash_put(g, x, y, L'━', attr);
    return 2 + repl_dash_text(g, x + 2, y, maxw - 2, attr, name) + 2;
}

static void draw_loss(dash_state *s, dash_grid *g, int x, int y, int w, int h)
{
    char title[64], a[32], b[32];
    double ema = repl_dash_ema_levels[s->ema_idx];
    int logax = repl_dash_log_axis(s);
    snprintf(title, sizeof title, "Loss%s  ema %.2f", logax ? " (log)" : "", ema);
    repl_dash_box(g, x, y, w, h, title);
    int ix = x + 1, iy = y + 1, iw = w - 2, ih = h - 2;
    if (iw < 12 || ih < 3) return;

    dash_point *pts;
    int n = repl_dash_points(s, &pts);
    if (n == 0 || isnan(s->last.loss)) {
        repl_dash_text(g, ix + 1, iy, iw - 1, DASH_A_DIM, "waiting for the first training step");
        repl_dash_text(g, ix + 1, iy + 1, iw - 1, DASH_A_DIM, "(opt:step(), or dash.log{loss=})");
        free(pts);
        return;
    }
    double *xs = malloc((size_t)n * 4 * sizeof *xs);
    if (!xs) { free(pts); return; }
    double *tr = xs + n, *te = tr + n, *ac = te + n;
    // EMA with TensorBoard's debiasing, so the curve does not start at 0
    double m = 0, wsum = 0;
    int have_test = 0, have_acc = 0;
    double amax = 1;
    for (int i = 0; i < n; i++) {
        xs[i] = pts[i].step;
        tr[i] = NAN;
        if (!isnan(pts[i].loss) && !isinf(pts[i].loss)) {
            m = ema * m + (1 - ema) * pts[i].loss;
            wsum = ema * wsum + (1 - ema);
            tr[i] = m / wsum;
        }
        te[i] = pts[i].test_loss;
        ac[i] = pts[i].acc;
        have_test |= !isnan(te[i]);
        if (!isnan(ac[i])) {
            have_acc = 1;
            if (ac[i] > amax) amax = ac[i];     // accuracy logged in percent
        }
    }

    int lab = 7, right = have_acc ? 5 : 0;
    int pw = iw - lab - 1 - right, ph = ih - 3;   // rows: plot, x axis, x labels, legend
    if (ph >= 9) ph -= (ph - 1) % 4;              // 5 ticks on whole rows: evenly spaced labels
    else if (ph >= 3) ph -= (ph - 1) % 2;
    int pad = ih - 3 - ph;                        // rows given up for that go above the plot
    iy += pad;
    ih -= pad;
    if (pw >= 2 && ph >= 1) {
        dash_axis ya = {INFINITY, -INFINITY, logax};
        repl_dash_axis_grow_all(&ya, tr, n);
        repl_dash_axis_grow_all(&ya, te, n);
        if (ya.lo > ya.hi) ya.lo = ya.hi = 0;
        if (ya.hi - ya.lo < 1e-12) {
            double d = ya.log ? 0.5 : (fabs(ya.hi) > 0 ? fabs(ya.hi) * 0.1 : 1);
            ya.lo -= d;
            ya.hi += d;
        }
        dash_axis aa = {0, amax, 0};
        dash_canvas c = {pw, ph, calloc((size_t)pw * ph, 1), calloc((size_t)pw * ph, 1)};
        if (c.bits && c.attr) {
            double xlo = xs[0] < 1 ? xs[0] : (s->first_step < xs[0] ? s->first_step : xs[0]), xhi = xs[n - 1];
            if (have_acc) repl_dash_plot_series(&c, xs, ac, n, xlo, xhi, &aa, DASH_A_ACC);
            if (have_test) repl_dash_plot_series(&c, xs, te, n, xlo, xhi, &ya, DASH_A_TEST);
            repl_dash_plot_series(&c, xs, tr, n, xlo, xhi, &ya, DASH_A_TRAIN);
            int px = ix + lab + 1;
            repl_dash_canvas_blit(&c, g, px, iy);
            int nt = repl_dash_plot_yaxis(g, ix, iy, lab, ph, &ya);
            for (int k = 0; k < nt && have_acc; k++) {      // the accuracy's own axis, right
                int r = repl_dash_tick_row(k, nt, ph);
                double av = amax * (ph > 1 ? 1 - (double)r / (ph - 1) : 1);
                repl_dash_textf(g, px + pw + 1, iy + r, right - 1, DASH_A_ACC, "%.*f", amax > 1 ? 0 : 2, av);
            }
            // x axis: epoch ticks where the epoch changes, first and last step below
            int ay = iy + ph, dw = pw * 2 - 1;
            repl_dash_put(g, ix + lab, ay, L'└', DASH_A_DIM);
            for (int q = 0; q < pw; q++) repl_dash_put(g, px + q, ay, L'─', DASH_A_DIM);
            int nep = 0, last_lab = -100;
            for (int i = 1; i < n; i++)
                if (!isnan(pts[i].epoch) && !isnan(pts[i - 1].epoch) && pts[i].epoch != pts[i - 1].epoch) nep++;
            for (int i = 1; i < n; i++) {
                if (isnan(pts[i].epoch) || isnan(pts[i - 1].epoch) || pts[i].epoch == pts[i - 1].epoch) continue;
                int q = repl_dash_dot_x(pts[i - 1].step, xlo, xhi, dw) / 2;
                repl_dash_put(g, px + q, ay, L'┴', DASH_A_DIM);
                // "e3" under a tick when there is room (every tick when few)
                if (nep <= pw / 4 && q - last_lab >= 4 && q + 3 < pw - 10) {
                    repl_dash_textf(g, px + q, ay + 1, 4, DASH_A_DIM, "e%.0f", pts[i].epoch);
                    last_lab = q;
                }
            }
            repl_dash_textf(g, px, ay + 1, 8, DASH_A_DIM, "%.0f", xlo);
            snprintf(b, sizeof b, "step %.0f", xs[n - 1]);
            int bl = (int)strlen(b);
            repl_dash_text(g, px + pw - bl, ay + 1, bl, DASH_A_DIM, b);
            if (have_acc) repl_dash_text(g, px + pw + 1, ay, right - 1, DASH_A_ACC, "acc");
        }
        free(c.bits);
        free(c.attr);
    }
    // legend: what each colour is, with its last value
    int ly = iy + ih - 1, col = 0;
    char mn[32];
    snprintf(title, sizeof title, "train %s (min %s)", NUM(a, s->last.loss, 9), NUM(mn, s->min_loss, 9));
    col += legend(g, ix + col, ly, iw - col, DASH_A_TRAIN, title);
    if (have_test) {
        snprintf(title, sizeof title, "test %s", NUM(a, s->last.test_loss, 9));
        col += legend(g, ix + col, ly, iw - col, DASH_A_TEST, title);
    }
    if (have_acc) {
        snprintf(title, sizeof title, "acc %s", NUM(a, s->last.acc, 9));
        legend(g, ix + col, ly, iw - col, DASH_A_ACC, title);
    }
    free(xs);
    free(pts);
}

// ---- weight similarity ------------------------------------------------------------
// m (rows x rows) into nd x nd blocks of b rows: the closest pair of each block (min
// distance, max cosine), so the closest pair overall is where the map shows it; NAN
// where a block has no pair (a row with itself).
static void block_pick(const float *m, int rows, int b, int nd, int cosine, float *out)
{
    for (int bi = 0; bi < nd; bi++)
        for (int bj = 0; bj < nd; bj++) {
            float best = NAN;
            for (int i = bi * b; i < (bi + 1) * b && i < rows; i++)
                for (int j = bj * b; j < (bj + 1) * b && j < rows; j++) {
                    float v = m[(size_t)i * rows + j];
                    if (i == j || isnan(v)) continue;
                    if (isnan(best) || (cosine ? v > best : v < best)) best = v;
                }
            out[bi * nd + bj] = best;
        }
}

static int shade_level(float v, float lo, float hi, int cosine)
{
    if (!(hi > lo)) return 2;
    double t = cosine ? (v - lo) / (hi - lo) : (hi - v) / (hi - lo);   // 1 = most similar
    int l = (int)floor(t * 5);
    return l < 0 ? 0 : l > 4 ? 4 : l;
}

static void draw_heat(dash_grid *g, int x, int y, const float *bm, int nd, int cw, float lo, float hi,
                      int cosine)
{
    for (int i = 0; i < nd; i++)
        for (int j = 0; j < nd; j++) {
            float v = bm[i * nd + j];
            wchar_t c = L'·';
            int lvl = 0;
            if (!isnan(v)) {
                lvl = shade_level(v, lo, hi, cosine);
                c = repl_dash_shade(g, lvl);
            }
            for (int k = 0; k < cw; k++) repl_dash_put(g, x + j * cw + k, y + i, c, isnan(v) ? DASH_A_DIM : DASH_A_HEAT0 + lvl);
        }
}

static void draw_sim(dash_state *s, dash_grid *g, int x, int y, int w, int h)
{
    char title[160], a[32], b[32];
    if (s->nwatch == 0) {
        repl_dash_box(g, x, y, w, h, "Weight similarity");
        repl_dash_text(g, x + 2, y + 1, w - 3, DASH_A_DIM, "the model's 2-D weights show here");
        repl_dash_text(g, x + 2, y + 2, w - 3, DASH_A_DIM, "at its first step (or dash.watch(name, W))");
        return;
    }
    dash_watch *wt = &s->watches[s->cur_watch];
    int cosine = s->cosine && wt->cols > 1;
    // the full title when it fits; shorter ones on narrow panels
    snprintf(title, sizeof title, "Weight similarity: %s [%lldx%d]%s", wt->name, (long long)wt->total_rows, wt->cols,
             s->nwatch > 1 ? "  tab: next" : "");
    if ((int)strlen(title) + 4 > w)
        snprintf(title, sizeof title, "Weight similarity: %s [%lldx%d]", wt->name, (long long)wt->total_rows, wt->cols);
    if ((int)strlen(title) + 4 > w)
        snprintf(title, sizeof title, "Similarity: %s [%lldx%d]", wt->name, (long long)wt->total_rows, wt->cols);
    repl_dash_box(g, x, y, w, h, title);
    int ix = x + 1, iy = y + 1, iw = w - 2, ih = h - 2;
    if (iw < 10 || ih < 3) return;
    int R = wt->rows;
    const float *now = cosine ? wt->cos : wt->dist, *init = cosine ? wt->init_cos : wt->init_dist;
    if (!wt->have_live) now = init;       // not computed yet: the values at watch time

    const char *what = cosine ? "cosine of rows" : "mean|Wi-Wj| of rows";
    int hl = repl_dash_text(g, ix, iy, iw, DASH_A_NONE, what);
    if (wt->cols < 2) repl_dash_text(g, ix + hl, iy, iw - hl, DASH_A_DIM, " (1 column: no cosine)");
    if (R < 2) {
        repl_dash_text(g, ix, iy + 1, iw, DASH_A_DIM, "one row: no pairs to compare");
        return;
    }
    // heatmaps: up to one cell per row, two columns per cell when it fits
    int text_lines = 3;                   // closest, at init, legend
    int avail_h = ih - 2 - text_lines - (wt->total_rows > R), avail_w = (iw - 3) / 2;
    // leave 20 columns beside the maps for the closest-pairs list when the maps stay readable
    if (R > 2 && (iw - 3 - 22) / 2 >= 16 && (iw - 3 - 22) / 2 < 2 * R) avail_w = (iw - 3 - 22) / 2;
    int top = 5, pi[5], pj[5];
    float pv[5];
    // two columns per cell keep the map square on ~1:2 cells; one when that leaves too few
    int cw = 2, nd = R < avail_h ? R : avail_h;
    if (nd > avail_w / 2) nd = avail_w / 2;
    if (nd < R && nd < 8) {
        cw = 1;
        nd = R < avail_h ? R : avail_h;
        if (nd > avail_w) nd = avail_w;
    }
    if (nd < 1) return;
    int bs = (R + nd - 1) / nd;
    nd = (R + bs - 1) / bs;
    float *bm = malloc((size_t)nd * nd * 2 * sizeof *bm);
    if (!bm) return;
    float *bi = bm + nd * nd, lo = INFINITY, hi = -INFINITY;
    block_pick(now, R, bs, nd, cosine, bm);
    block_pick(init, R, bs, nd, cosine, bi);
    // one scale for both maps (so they compare), over the cells shown: each block is its
    // closest pair, so the closest pair overall is one of them and inside the legend;
    // scaling by all pairs instead made a big layer's blocks one solid shade
    for (int k = 0; k < 2 * nd * nd; k++)
        if (!isnan(bm[k])) {
            if (bm[k] < lo) lo = bm[k];
            if (bm[k] > hi) hi = bm[k];
        }
    int hx = ix + 1, hy = iy + 2, gap = 3;
    repl_dash_text(g, hx, iy + 1, nd * cw + gap, DASH_A_NONE, "now");
    repl_dash_text(g, hx + nd * cw + gap, iy + 1, nd * cw + 2, DASH_A_DIM, "init");
    if (bs > 1) repl_dash_textf(g, ix + hl, iy, iw - hl, DASH_A_DIM, ", closest of %dx%d", bs, bs);
    draw_heat(g, hx, hy, bm, nd, cw, lo, hi, cosine);
    draw_heat(g, hx + nd * cw + gap, hy, bi, nd, cw, lo, hi, cosine);
    int ty = hy + nd;
    if (repl_dash_closest(now, R, cosine, 1, pi, pj, pv))
        repl_dash_textf(g, ix, ty, iw, DASH_A_TITLE, "closest pair: rows %d,%d  %s", pi[0] + 1, pj[0] + 1,
                        NUM(a, pv[0], 9));
    if (repl_dash_closest(init, R, cosine, 1, pi, pj, pv))
        repl_dash_textf(g, ix, ty + 1, iw, DASH_A_DIM, "at init:      rows %d,%d  %s", pi[0] + 1, pj[0] + 1,
                        NUM(a, pv[0], 9));
    // legend: the blank (level 0) shown between brackets so it reads as a shade too
    int col = repl_dash_text(g, ix, ty + 2, iw, DASH_A_DIM, "[");
    for (int k = 0; k < 5 && col < iw; k++, col++) repl_dash_put(g, ix + col, ty + 2, repl_dash_shade(g, k), DASH_A_HEAT0 + k);
    col += repl_dash_textf(g, ix + col, ty + 2, iw - col, DASH_A_DIM, "] %s %s..%s", cosine ? "cos" : "far..close",
                           NUM(a, cosine ? lo : hi, 7), NUM(b, cosine ? hi : lo, 7));
    repl_dash_text(g, ix + col, ty + 2, iw - col, DASH_A_DIM, "  · self");
    if (wt->total_rows > R) repl_dash_textf(g, ix, ty + 3, iw, DASH_A_WARN, "(first %d rows only)", R);
    // top-5 pairs: beside the maps when there is room, else below
    int tx = hx + 2 * nd * cw + gap + 2, tyy = hy, tw = ix + iw - tx, room = nd;
    if (tw < 18) {
        tx = ix;
        tyy = ty + 3 + (wt->total_rows > R);
        tw = iw;
        room = iy + ih - tyy;
    }
    if (room >= 2 && R > 2) {
        int k = room - 1 < top ? room - 1 : top;
        int n = repl_dash_closest(now, R, cosine, k, pi, pj, pv);
        repl_dash_text(g, tx, tyy, tw, DASH_A_NONE, "closest pairs now");
        for (int q = 0; q < n; q++)
            repl_dash_textf(g, tx, tyy + 1 + q, tw, DASH_A_NONE, "%d. rows %d,%d  %s", q + 1, pi[q] + 1, pj[q] + 1,
                            NUM(a, pv[q], 9));
    }
    free(bm);
}

// ---- status line and overlays ----------------------------------------------------------
static void draw_status(dash_state *s, dash_grid *g, int y, int paged)
{
    char a[32];
    int col = 0, w = g->w;
    if (s->paused) col += repl_dash_text(g, col, y, w - col, DASH_A_WARN, " PAUSED ");
    else if (s->finished) {
        snprintf(a, sizeof a, " %s ", s->status);
        for (char *c = a; *c; c++) *c = (char)(*c >= 'a' && *c <= 'z' ? *c - 32 : *c);
        col += repl_dash_text(g, col, y, w - col, !strcmp(s->status, "finished") ? DASH_A_ACC : DASH_A_WARN, a);
    }
    double end = s->finished && s->t_end ? s->t_end : repl_dash_now();
    double start = s->t_open && s->t_open < s->t_first ? s->t_open : s->t_first;
    int secs = s->t_first ? (int)(end - start) : 0;
    col += repl_dash_textf(g, col, y, w - col, DASH_A_TITLE, " step %s",
                           isnan(s->last.step) ? "-" : NUM(a, s->last.step, 10));
    if (!isnan(s->last.epoch)) col += repl_dash_textf(g, col, y, w - col, DASH_A_NONE, "  epoch %g", s->last.epoch);
    if (!isnan(s->last.lr)) col += repl_dash_textf(g, col, y, w - col, DASH_A_NONE, "  lr %s", NUM(a, s->last.lr, 8));
    col += repl_dash_textf(g, col, y, w - col, DASH_A_NONE, "  %.*f steps/s  %02d:%02d:%02d  %s",
                           s->rate >= 100 ? 0 : 1, s->rate, secs / 3600, secs / 60 % 60, secs % 60,
                           s->device[0] ? s->device : "cpu");
    const char *keys = s->finished ? "finished: q closes  l log  c cos  tab  v page  ? help"
                     : paged ? "q quit  p pause  l log  c cos  tab  v page  ? help"
                             : "q quit  p pause  l log  c cos  tab  +/-  ? help";
    int kl = (int)strlen(keys);
    if (w - col - 2 >= kl) repl_dash_text(g, w - kl - 1, y, kl, DASH_A_DIM, keys);
    else if (s->finished) repl_dash_text(g, col + 2, y, w - col - 2, DASH_A_ACC, "q closes");
    else repl_dash_text(g, col + 2, y, w - col - 2, DASH_A_DIM, paged ? "v page  ? help" : "? help");
}

static void draw_overlay(dash_grid *g, const char *const *lines, int n, int attr)
{
    int bw = 0;
    for (int i = 0; i < n; i++) {
        int l = (int)strlen(lines[i]);
        if (l > bw) bw = l;
    }
    bw += 4;
    if (bw > g->w) bw = g->w;
    int bh = n + 2, x = (g->w - bw) / 2, y = (g->h - bh) / 2;
    for (int j = 0; j < bh; j++)
        for (int i = 0; i < bw; i++) repl_dash_put(g, x + i, y + j, L' ', DASH_A_NONE);
    repl_dash_box(g, x, y, bw, bh, NULL);
    for (int i = 0; i < n; i++) repl_dash_text(g, x + 2, y + 1 + i, bw - 4, attr, lines[i]);
}

#define DASH_MIN_W 60
#define DASH_MIN_H 15

void repl_dash_render(dash_state *s, dash_grid *g)
{
    repl_dash_grid_clear(g);
    int W = g->w, H = g->h, bh = H - 1;
    if (W < DASH_MIN_W || H < DASH_MIN_H) {
        char a[32], b[32];
        repl_dash_textf(g, 0, 0, W, DASH_A_WARN, "the dashboard needs %dx%d; this terminal is %dx%d", DASH_MIN_W,
                        DASH_MIN_H, W, H);
        if (H > 1) repl_dash_textf(g, 0, 1, W, DASH_A_NONE, "step %s  loss %s", NUM(a, s->last.step, 10),
                                   NUM(b, s->last.loss, 9));
        if (H > 2) repl_dash_text(g, 0, 2, W, DASH_A_DIM, "enlarge it to see the panels; q quits");
        return;
    }
    int big = W >= 120 && H >= 40;
    draw_status(s, g, H - 1, !big);
    int lw = W / 2;
    if (big) {
        // three rows: plots, tables + distributions, output + system
        int top = bh / 2, mid = bh * 28 / 100, bot = bh - top - mid, tw = W / 3;
        draw_loss(s, g, 0, 0, lw, top);
        draw_sim(s, g, lw, 0, W - lw, top);
        repl_dash_draw_shapes(s, g, 0, top, tw, mid);
        repl_dash_draw_grads(s, g, tw, top, tw, mid);
        repl_dash_draw_dist(s, g, 2 * tw, top, W - 2 * tw, mid);
        repl_dash_draw_log(s, g, 0, top + mid, W - 30, bot);
        repl_dash_draw_system(s, g, W - 30, top + mid, 30, bot);
    } else {
        int table = s->nrows > s->ngrads ? s->nrows : s->ngrads;
        int bottom = table + 4 + (s->nrows > 0);   // borders, header, the marks' legend
        if (bottom > bh / 3) bottom = bh / 3;
        if (bottom < 5) bottom = 5;
        int top = bh - bottom;
        draw_loss(s, g, 0, 0, lw, top);
        draw_sim(s, g, lw, 0, W - lw, top);
        if (s->page == 0) {
            repl_dash_draw_shapes(s, g, 0, top, lw, bottom);
            repl_dash_draw_grads(s, g, lw, top, W - lw, bottom);
        } else if (s->page == 1) {
            repl_dash_draw_log(s, g, 0, top, W - 26, bottom);
            repl_dash_draw_system(s, g, W - 26, top, 26, bottom);
        } else {
            repl_dash_draw_dist(s, g, 0, top, W, bottom);
        }
        // which page this is, on the bottom row's top border
        static const char *const pages[] = {"[v] 1/3 tables", "[v] 2/3 output", "[v] 3/3 distributions"};
        int pl = (int)strlen(pages[s->page]);
        repl_dash_text(g, W - pl - 2, top, pl, DASH_A_DIM, pages[s->page]);
    }
    if (s->help) {
        static const char *const help[] = {
            "nnlab dashboard keys",
            "",
            "q      quit (asks: stop training? y/n); closes when finished",
            "p      pause / resume training",
            "l      loss: log / linear scale (log is chosen past 2 decades)",
            "c      weights: mean|Wi-Wj| / cosine",
            "tab    next watched weight",
            "v      next page of the bottom row (below 120x40)",
            "+ -    more / less loss smoothing (ema)",
            "?      this help (any key closes)",
        };
        draw_overlay(g, help, (int)(sizeof help / sizeof *help), DASH_A_NONE);
    }
    if (s->confirm_quit) {
        static const char *const q[] = {"stop training? y/n"};
        draw_overlay(g, q, 1, DASH_A_WARN);
    }
}

char *repl_dash_progress_line(const dash_state *s, char *buf, size_t n)
{
    char a[32];
    size_t k = 0;
    k += (size_t)snprintf(buf + k, n - k, "step %s", NUM(a, s->last.step, 12));
    if (!isnan(s->last.epoch) && k < n) k += (size_t)snprintf(buf + k, n - k, "  epoch %g", s->last.epoch);
    if (!isnan(s->last.loss) && k < n) k += (size_t)snprintf(buf + k, n - k, "  loss %s", NUM(a, s->last.loss, 9));
    if (!isnan(s->last.test_loss) && k < n)
        k += (size_t)snprintf(buf + k, n - k, "  test %s", NUM(a, s->last.test_loss, 9));
    if (!isnan(s->last.acc) && k < n) k += (size_t)snprintf(buf + k, n - k, "  acc %s", NUM(a, s->last.acc, 9));
    if (s->rate > 0 && k < n) snprintf(buf + k, n - k, "  %.*f steps/s", s->rate >= 100 ? 0 : 1, s->rate);
    return buf;
}
