// render.c - draws the dashboard's panels into a character grid of any size.
//
//  ┌ Loss ──────────────┐┌ Weights ───────────┐
//  │ braille line plot  ││ heatmap now | init │   top: ~2/3 of the rows
//  └────────────────────┘└────────────────────┘
//  ┌ Shapes ────────────┐┌ Gradients ─────────┐   bottom: as tall as the tables
//  └────────────────────┘└────────────────────┘
//   step 1200  epoch 3  412 steps/s  00:12  cpu   keys
#include "dash.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NUM(buf, v, w) repl_dash_fmt_num(buf, sizeof buf, v, w)

// ---- loss plot: a braille canvas, 2x4 dots per cell ------------------------------
typedef struct canvas {
    int w, h;                // in cells
    uint8_t *bits, *attr;
} canvas;

static void canvas_dot(canvas *c, int dx, int dy, int attr)
{
    static const uint8_t bit[4][2] = {{0x01, 0x08}, {0x02, 0x10}, {0x04, 0x20}, {0x40, 0x80}};
    if (dx < 0 || dy < 0 || dx >= c->w * 2 || dy >= c->h * 4) return;
    int i = (dy / 4) * c->w + dx / 2;
    c->bits[i] |= bit[dy % 4][dx % 2];
    c->attr[i] = (uint8_t)attr;
}

static void canvas_line(canvas *c, int x0, int y0, int x1, int y1, int attr)
{
    int dx = abs(x1 - x0), dy = -abs(y1 - y0);
    int sx = x0 < x1 ? 1 : -1, sy = y0 < y1 ? 1 : -1, err = dx + dy;
    for (;;) {
        canvas_dot(c, x0, y0, attr);
        if (x0 == x1 && y0 == y1) break;
        int e2 = 2 * err;
        if (e2 >= dy) { err += dy; x0 += sx; }
        if (e2 <= dx) { err += dx; y0 += sy; }
    }
}

typedef struct axis { double lo, hi; int log; } axis;

static double axis_f(const axis *a, double v) { return a->log ? log10(v > 1e-30 ? v : 1e-30) : v; }

static void axis_grow(axis *a, double v)
{
    if (isnan(v) || isinf(v) || (a->log && v <= 0)) return;
    double f = axis_f(a, v);
    if (f < a->lo) a->lo = f;
    if (f > a->hi) a->hi = f;
}

// Plots (step, value) pairs of one series, joined by lines.
static void plot_series(canvas *c, const double *xs, const double *ys, int n, double xlo, double xhi,
                        const axis *ya, int attr)
{
    int have = 0, px = 0, py = 0;
    int dw = c->w * 2 - 1, dh = c->h * 4 - 1;
    for (int i = 0; i < n; i++) {
        if (isnan(ys[i]) || isinf(ys[i]) || (ya->log && ys[i] <= 0)) continue;
        int x = xhi > xlo ? (int)lround((xs[i] - xlo) / (xhi - xlo) * dw) : dw / 2;
        int y = (int)lround((ya->hi - axis_f(ya, ys[i])) / (ya->hi - ya->lo) * dh);
        if (have) canvas_line(c, px, py, x, y, attr);
        else canvas_dot(c, x, y, attr);
        have = 1;
        px = x;
        py = y;
    }
}

static void draw_loss(dash_state *s, dash_grid *g, int x, int y, int w, int h)
{
    char title[64], a[32], b[32];
    double ema = repl_dash_ema_levels[s->ema_idx];
    snprintf(title, sizeof title, "Loss%s  ema %.2f", s->log_scale ? " (log)" : "", ema);
    repl_dash_box(g, x, y, w, h, title);
    int ix = x + 1, iy = y + 1, iw = w - 2, ih = h - 2;
    if (iw < 12 || ih < 3) return;

    dash_point *pts;
    int n = repl_dash_points(s, &pts);
    if (n == 0 || isnan(s->last.loss)) {
        repl_dash_text(g, ix + 1, iy, iw - 1, DASH_A_DIM, "waiting for dash.log{loss=...}");
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

    int nleg = 1 + (have_test || have_acc);
    int lab = 7, right = have_acc ? 4 : 0;
    int pw = iw - lab - 1 - right, ph = ih - nleg - 1;
    if (pw >= 2 && ph >= 1) {
        axis ya = {INFINITY, -INFINITY, s->log_scale};
        for (int i = 0; i < n; i++) {
            axis_grow(&ya, tr[i]);
            axis_grow(&ya, te[i]);
        }
        if (ya.lo > ya.hi) ya.lo = ya.hi = 0;
        if (ya.hi - ya.lo < 1e-12) {
            double d = ya.log ? 0.5 : (fabs(ya.hi) > 0 ? fabs(ya.hi) * 0.1 : 1);
            ya.lo -= d;
            ya.hi += d;
        }
        axis aa = {0, amax, 0};
        canvas c = {pw, ph, calloc((size_t)pw * ph, 1), calloc((size_t)pw * ph, 1)};
        if (c.bits && c.attr) {
            double xlo = xs[0], xhi = xs[n - 1];
            if (have_acc) plot_series(&c, xs, ac, n, xlo, xhi, &aa, DASH_A_ACC);
            if (have_test) plot_series(&c, xs, te, n, xlo, xhi, &ya, DASH_A_TEST);
            plot_series(&c, xs, tr, n, xlo, xhi, &ya, DASH_A_TRAIN);
            int px = ix + lab + 1;
            for (int r = 0; r < ph; r++)
                for (int q = 0; q < pw; q++) {
                    int i = r * pw + q;
                    if (c.bits[i]) repl_dash_put(g, px + q, iy + r, 0x2800 + c.bits[i], c.attr[i]);
                }
            // y ticks: top, bottom and evenly between (in log10 space when log)
            int nt = ph >= 8 ? 5 : ph >= 3 ? 3 : ph;
            for (int r = 0; r < ph; r++) repl_dash_put(g, ix + lab, iy + r, L'│', DASH_A_DIM);
            for (int k = 0; k < nt; k++) {
                int r = nt > 1 ? (int)lround((double)k * (ph - 1) / (nt - 1)) : 0;
                double f = ya.hi - (ph > 1 ? (double)r / (ph - 1) : 0) * (ya.hi - ya.lo);
                double v = ya.log ? pow(10, f) : f;
                int len = (int)strlen(NUM(a, v, lab));
                repl_dash_text(g, ix + lab - len, iy + r, lab, DASH_A_NONE, a);
                repl_dash_put(g, ix + lab, iy + r, L'┤', DASH_A_DIM);
                if (have_acc) {
                    double av = amax * (ph > 1 ? 1 - (double)r / (ph - 1) : 1);
                    repl_dash_textf(g, px + pw + 1, iy + r, right - 1, DASH_A_ACC, "%.*f",
                                    amax > 1 ? 0 : 1, av);
                }
            }
            // x axis: first and last step
            int ay = iy + ph;
            repl_dash_put(g, ix + lab, ay, L'└', DASH_A_DIM);
            for (int q = 0; q < pw; q++) repl_dash_put(g, px + q, ay, L'─', DASH_A_DIM);
            repl_dash_textf(g, px, ay, pw / 2, DASH_A_DIM, "%.0f", xs[0]);
            snprintf(b, sizeof b, "step %.0f", xs[n - 1]);
            int bl = (int)strlen(b);
            repl_dash_text(g, px + pw - bl, ay, bl, DASH_A_DIM, b);
        }
        free(c.bits);
        free(c.attr);
    }
    int ly = iy + ih - nleg;
    char mn[32], st[32];
    repl_dash_textf(g, ix, ly, iw, DASH_A_TRAIN, "train min %s @%s  last %s", NUM(mn, s->min_loss, 9),
                    NUM(st, s->min_loss_step, 9), NUM(a, s->last.loss, 9));
    if (nleg > 1) {
        int col = 0;
        if (have_test)
            col += repl_dash_textf(g, ix, ly + 1, iw, DASH_A_TEST, "test %s  ", NUM(a, s->last.test_loss, 9));
        if (have_acc)
            repl_dash_textf(g, ix + col, ly + 1, iw - col, DASH_A_ACC, "acc %s", NUM(a, s->last.acc, 9));
    }
    free(xs);
    free(pts);
}

// ---- weight similarity ------------------------------------------------------------
// m (rows x rows) averaged into nd x nd blocks of b rows; NAN where a block has no pair.
static void block_avg(const float *m, int rows, int b, int nd, float *out)
{
    for (int bi = 0; bi < nd; bi++)
        for (int bj = 0; bj < nd; bj++) {
            double sum = 0;
            int cnt = 0;
            for (int i = bi * b; i < (bi + 1) * b && i < rows; i++)
                for (int j = bj * b; j < (bj + 1) * b && j < rows; j++)
                    if (i != j) {
                        sum += m[(size_t)i * rows + j];
                        cnt++;
                    }
            out[bi * nd + bj] = cnt ? (float)(sum / cnt) : NAN;
        }
}

static int shade_level(float v, float lo, float hi, int cosine)
{
    if (!(hi > lo)) return 4;
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
            for (int k = 0; k < cw; k++) repl_dash_put(g, x + j * cw + k, y + i, c, DASH_A_HEAT0 + lvl);
        }
}

static void draw_sim(dash_state *s, dash_grid *g, int x, int y, int w, int h)
{
    char title[128], a[32], b[32];
    if (s->nwatch == 0) {
        repl_dash_box(g, x, y, w, h, "Weight similarity");
        repl_dash_text(g, x + 2, y + 1, w - 3, DASH_A_DIM, "dash.watch(name, W) to compare rows");
        return;
    }
    dash_watch *wt = &s->watches[s->cur_watch];
    snprintf(title, sizeof title, "Weight similarity: %s [%lldx%d]%s", wt->name, (long long)wt->total_rows,
             wt->cols, s->nwatch > 1 ? "  tab: next" : "");
    repl_dash_box(g, x, y, w, h, title);
    int ix = x + 1, iy = y + 1, iw = w - 2, ih = h - 2;
    if (iw < 10 || ih < 3) return;
    int R = wt->rows;
    const float *now = s->cosine ? wt->cos : wt->dist, *init = s->cosine ? wt->init_cos : wt->init_dist;
    if (!wt->have_live) now = init;       // not computed yet: the values at watch time

    repl_dash_textf(g, ix, iy, iw, DASH_A_NONE, "%s", s->cosine ? "cosine of rows" : "mean|Wi-Wj| of rows");
    if (wt->total_rows > R) repl_dash_textf(g, ix, iy + ih - 1, iw, DASH_A_WARN, "(first %d rows only)", R);
    // heatmaps: up to one cell per row, two columns per cell when it fits
    int text_lines = 3;                   // closest, at init, legend
    int avail_h = ih - 2 - text_lines, avail_w = (iw - 3) / 2;
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
    if (nd >= 1) {
        int bs = (R + nd - 1) / nd;
        nd = (R + bs - 1) / bs;
        float *bm = malloc((size_t)nd * nd * 2 * sizeof *bm);
        if (bm) {
            float *bi = bm + nd * nd, lo = INFINITY, hi = -INFINITY;
            block_avg(now, R, bs, nd, bm);
            block_avg(init, R, bs, nd, bi);
            for (int k = 0; k < 2 * nd * nd; k++)      // one scale for both, so they compare
                if (!isnan(bm[k])) {
                    if (bm[k] < lo) lo = bm[k];
                    if (bm[k] > hi) hi = bm[k];
                }
            int hx = ix + 1, hy = iy + 2, gap = 3;
            repl_dash_text(g, hx, iy + 1, nd * cw + gap, DASH_A_NONE, "now");
            repl_dash_text(g, hx + nd * cw + gap, iy + 1, nd * cw + 2, DASH_A_DIM, "init");
            if (bs > 1) {   // after the header's text
                int hl = (int)strlen(s->cosine ? "cosine of rows" : "mean|Wi-Wj| of rows");
                repl_dash_textf(g, ix + hl, iy, iw - hl, DASH_A_DIM, ", %dx%d blocks", bs, bs);
            }
            draw_heat(g, hx, hy, bm, nd, cw, lo, hi, s->cosine);
            draw_heat(g, hx + nd * cw + gap, hy, bi, nd, cw, lo, hi, s->cosine);
            int ty = hy + nd;
            int n1 = repl_dash_closest(now, R, s->cosine, 1, pi, pj, pv);
            if (n1)
                repl_dash_textf(g, ix, ty, iw, DASH_A_TITLE, "closest pair: rows %d,%d  %s", pi[0] + 1, pj[0] + 1,
                                NUM(a, pv[0], 9));
            else
                repl_dash_text(g, ix, ty, iw, DASH_A_DIM, "closest pair: needs 2 rows");
            if (repl_dash_closest(init, R, s->cosine, 1, pi, pj, pv))
                repl_dash_textf(g, ix, ty + 1, iw, DASH_A_DIM, "at init:      rows %d,%d  %s", pi[0] + 1,
                                pj[0] + 1, NUM(a, pv[0], 9));
            wchar_t sh[5];
            for (int k = 0; k < 5; k++) sh[k] = repl_dash_shade(g, k);
            int col = repl_dash_text(g, ix, ty + 2, iw, DASH_A_DIM, "shade ");
            for (int k = 1; k < 5 && col < iw; k++, col++) repl_dash_put(g, ix + col, ty + 2, sh[k], DASH_A_HEAT0 + k);
            if (isfinite(lo))
                repl_dash_textf(g, ix + col, ty + 2, iw - col, DASH_A_DIM, " %s %s -> %s %s", s->cosine ? "cos" : "far",
                                NUM(a, s->cosine ? lo : hi, 9), s->cosine ? "" : "close", NUM(b, s->cosine ? hi : lo, 9));
            // top-5 pairs: beside the maps when there is room, else below
            int tx = hx + 2 * nd * cw + gap + 2, tyy = hy, tw = ix + iw - tx;
            if (tw < 18) {
                tx = ix;
                tyy = ty + 3;
                tw = iw;
            }
            int room = iy + ih - tyy - 1;
            if (room >= 2 && R > 2) {
                int n = repl_dash_closest(now, R, s->cosine, room < top ? room : top, pi, pj, pv);
                repl_dash_text(g, tx, tyy, tw, DASH_A_NONE, "closest pairs now");
                for (int k = 0; k < n; k++)
                    repl_dash_textf(g, tx, tyy + 1 + k, tw, DASH_A_NONE, "%d. rows %d,%d  %s", k + 1, pi[k] + 1,
                                    pj[k] + 1, NUM(a, pv[k], 9));
            }
            free(bm);
        }
    }
}

// ---- tables -------------------------------------------------------------------------
static void draw_shapes(dash_state *s, dash_grid *g, int x, int y, int w, int h)
{
    char title[96];
    snprintf(title, sizeof title, "Shapes%s%s", s->model_name[0] ? ": " : "", s->model_name);
    repl_dash_box(g, x, y, w, h, title);
    int ix = x + 1, iy = y + 1, iw = w - 2, ih = h - 2;
    if (iw < 8 || ih < 1) return;
    if (s->nrows == 0) {
        repl_dash_text(g, ix + 1, iy, iw - 1, DASH_A_DIM, "dash.model(rows) shows the summary");
        return;
    }
    int pw = 10, sw = iw / 2 - 2, lw = iw - pw - sw - 2;
    if (lw < 4) { lw = 4; sw = iw - pw - lw - 2; }
    repl_dash_textf(g, ix, iy, iw, DASH_A_DIM, "%-*s %-*s %*s", lw, "layer", sw, "output", pw, "params");
    // containers already count their children: sum the outermost rows only
    double total = 0;
    int numeric = 1, top = s->rows[0].depth;
    for (int i = 0; i < s->nrows; i++)
        if (s->rows[i].depth < top) top = s->rows[i].depth;
    for (int i = 0; i < s->nrows; i++) {
        char *end;
        double v = strtod(s->rows[i].params, &end);
        if (end == s->rows[i].params) numeric = 0;
        else if (s->rows[i].depth == top) total += v;
    }
    int show = ih - 1 - numeric;
    for (int i = 0; i < s->nrows && i < show; i++) {
        int ry = iy + 1 + i;
        if (i == show - 1 && s->nrows > show) {
            repl_dash_textf(g, ix, ry, iw, DASH_A_DIM, "… %d more", s->nrows - i);
            break;
        }
        repl_dash_text(g, ix, ry, lw, DASH_A_NONE, s->rows[i].layer);
        repl_dash_text(g, ix + lw + 1, ry, sw, DASH_A_NONE, s->rows[i].shape);
        int pl = (int)strlen(s->rows[i].params);
        if (pl > pw) pl = pw;
        repl_dash_text(g, ix + iw - pl, ry, pl, DASH_A_NONE, s->rows[i].params);
    }
    if (numeric && ih >= 2) repl_dash_textf(g, ix, iy + ih - 1, iw, DASH_A_TITLE, "total params %.0f", total);
}

static const char *grad_mark(const dash_grad *d)
{
    if (isnan(d->grad_norm) || isnan(d->weight_norm) || isnan(d->update_ratio) || isinf(d->grad_norm) ||
        isinf(d->weight_norm))
        return "! NaN";
    if (d->grad_norm >= 0 && d->grad_norm < 1e-7) return "! vanishing";
    if (d->grad_norm > 1e3) return "! exploding";
    return "";
}

static const char *grad_num(char *buf, size_t n, double v)
{
    return v < 0 ? "-" : repl_dash_fmt_num(buf, n, v, 7);
}

static void draw_grads(dash_state *s, dash_grid *g, int x, int y, int w, int h)
{
    repl_dash_box(g, x, y, w, h, "Gradients");
    int ix = x + 1, iy = y + 1, iw = w - 2, ih = h - 2;
    if (iw < 8 || ih < 1) return;
    if (s->ngrads == 0) {
        repl_dash_text(g, ix + 1, iy, iw - 1, DASH_A_DIM, "dash.grads{{name=, grad_norm=, ...}}");
        return;
    }
    int nw = iw - 3 * 8 - 1;
    if (nw < 4) nw = 4;
    repl_dash_textf(g, ix, iy, iw, DASH_A_DIM, "%-*s %7s %7s %7s", nw, "layer", "|W|", "|grad|", "upd/W");
    for (int i = 0; i < s->ngrads && i < ih - 1; i++) {
        const dash_grad *d = &s->grads[i];
        char a[16], b[16], c[16];
        int ry = iy + 1 + i;
        const char *mark = grad_mark(d);
        repl_dash_textf(g, ix, ry, iw, DASH_A_NONE, "%-*.*s %7s %7s %7s", nw, nw, d->name,
                        grad_num(a, sizeof a, d->weight_norm), grad_num(b, sizeof b, d->grad_norm),
                        grad_num(c, sizeof c, d->update_ratio));
        if (*mark) {   // over the name's tail, so it shows in a narrow panel too
            int ml = (int)strlen(mark);
            repl_dash_text(g, ix + nw - ml > ix ? ix + nw - ml : ix, ry, ml, DASH_A_WARN, mark);
        }
    }
}

// ---- status line and overlays ----------------------------------------------------------
static void draw_status(dash_state *s, dash_grid *g, int y)
{
    char a[32];
    int col = 0, w = g->w;
    if (s->paused) col += repl_dash_text(g, col, y, w - col, DASH_A_WARN, " PAUSED ");
    double el = s->t_first ? repl_dash_now() - (s->t_open && s->t_open < s->t_first ? s->t_open : s->t_first) : 0;
    int secs = (int)el;
    col += repl_dash_textf(g, col, y, w - col, DASH_A_TITLE, " step %s",
                           isnan(s->last.step) ? "-" : NUM(a, s->last.step, 10));
    if (!isnan(s->last.epoch)) col += repl_dash_textf(g, col, y, w - col, DASH_A_NONE, "  epoch %g", s->last.epoch);
    col += repl_dash_textf(g, col, y, w - col, DASH_A_NONE, "  %.*f steps/s  %02d:%02d:%02d  %s",
                           s->rate >= 100 ? 0 : 1, s->rate, secs / 3600, secs / 60 % 60, secs % 60,
                           s->device[0] ? s->device : "cpu");
    const char *keys = "q quit  p pause  l log  c cos  tab  +/-  ? help";
    int kl = (int)strlen(keys);
    if (w - col - 2 >= kl) repl_dash_text(g, w - kl - 1, y, kl, DASH_A_DIM, keys);
    else repl_dash_text(g, col + 2, y, w - col - 2, DASH_A_DIM, "? help");
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

void repl_dash_render(dash_state *s, dash_grid *g)
{
    repl_dash_grid_clear(g);
    int W = g->w, H = g->h, bh = H - 1;
    draw_status(s, g, H - 1);
    if (W < 30 || bh < 8) {
        char a[32];
        repl_dash_textf(g, 0, 0, W, DASH_A_NONE, "loss %s", NUM(a, s->last.loss, 9));
        if (bh > 1) repl_dash_text(g, 0, 1, W, DASH_A_DIM, "(enlarge the terminal)");
        return;
    }
    int table = s->nrows > s->ngrads ? s->nrows : s->ngrads;
    int bottom = table + 3 + (s->nrows > 0);
    if (bottom > bh / 3) bottom = bh / 3;
    if (bottom < 4) bottom = 4;
    int top = bh - bottom, lw = W / 2;
    draw_loss(s, g, 0, 0, lw, top);
    draw_sim(s, g, lw, 0, W - lw, top);
    draw_shapes(s, g, 0, top, lw, bottom);
    draw_grads(s, g, lw, top, W - lw, bottom);
    if (s->help) {
        static const char *const help[] = {
            "nnlab dashboard keys",
            "",
            "q      quit (asks: stop training? y/n)",
            "p      pause / resume training",
            "l      loss: log scale on/off",
            "c      weights: mean|Wi-Wj| / cosine",
            "tab    next watched weight",
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
