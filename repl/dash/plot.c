// plot.c - the braille line plot shared by the dashboard's loss panel and the runs
// workspace: 2x4 dots per cell, one colour per cell (the last series drawn wins).
#include "dash.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void repl_dash_canvas_dot(dash_canvas *c, int dx, int dy, int attr)
{
    static const uint8_t bit[4][2] = {{0x01, 0x08}, {0x02, 0x10}, {0x04, 0x20}, {0x40, 0x80}};
    if (dx < 0 || dy < 0 || dx >= c->w * 2 || dy >= c->h * 4) return;
    int i = (dy / 4) * c->w + dx / 2;
    c->bits[i] |= bit[dy % 4][dx % 2];
    c->attr[i] = (uint8_t)attr;
}

void repl_dash_canvas_line(dash_canvas *c, int x0, int y0, int x1, int y1, int attr)
{
    int dx = abs(x1 - x0), dy = -abs(y1 - y0);
    int sx = x0 < x1 ? 1 : -1, sy = y0 < y1 ? 1 : -1, err = dx + dy;
    for (;;) {
        repl_dash_canvas_dot(c, x0, y0, attr);
        if (x0 == x1 && y0 == y1) break;
        int e2 = 2 * err;
        if (e2 >= dy) { err += dy; x0 += sx; }
        if (e2 <= dx) { err += dx; y0 += sy; }
    }
}

double repl_dash_axis_f(const dash_axis *a, double v) { return a->log ? log10(v > 1e-30 ? v : 1e-30) : v; }

void repl_dash_axis_grow(dash_axis *a, double v)
{
    if (isnan(v) || isinf(v) || (a->log && v <= 0)) return;
    double f = repl_dash_axis_f(a, v);
    if (f < a->lo) a->lo = f;
    if (f > a->hi) a->hi = f;
}

// The same as growing by each of v[0..n): the axis is monotonic, so by the least and the
// greatest only.
void repl_dash_axis_grow_all(dash_axis *a, const double *v, int n)
{
    double lo = INFINITY, hi = -INFINITY;
    for (int i = 0; i < n; i++) {
        if (isnan(v[i]) || isinf(v[i]) || (a->log && v[i] <= 0)) continue;
        if (v[i] < lo) lo = v[i];
        if (v[i] > hi) hi = v[i];
    }
    if (lo <= hi) {
        repl_dash_axis_grow(a, lo);
        repl_dash_axis_grow(a, hi);
    }
}

// the x position (in dots) of a step
int repl_dash_dot_x(double step, double xlo, double xhi, int dw)
{
    return xhi > xlo ? (int)lround((step - xlo) / (xhi - xlo) * dw) : dw / 2;
}

// the y position (in dots) of a value
static int dot_y(double v, const dash_axis *ya, int dh)
{
    return (int)lround((ya->hi - repl_dash_axis_f(ya, v)) / (ya->hi - ya->lo) * dh);
}

// Plots (step, value) pairs of one series, joined by lines. The points that fall in one
// column of dots make a vertical run from their lowest to their highest value, joined to
// the columns beside by their first and last point: the same dots as a line through
// every point, with four log10s a column, not one a point (a 4096-point history was
// most of a frame's ~0.4 ms).
void repl_dash_plot_series(dash_canvas *c, const double *xs, const double *ys, int n, double xlo, double xhi,
                           const dash_axis *ya, int attr)
{
    int have = 0, px = 0, py = 0;
    int dw = c->w * 2 - 1, dh = c->h * 4 - 1;
    int col = 0, open = 0;
    double first = 0, last = 0, lo = 0, hi = 0;
    for (int i = 0; i <= n; i++) {
        int x = 0;
        if (i < n) {
            if (isnan(ys[i]) || isinf(ys[i]) || (ya->log && ys[i] <= 0)) continue;
            x = repl_dash_dot_x(xs[i], xlo, xhi, dw);
            if (open && x == col) {
                last = ys[i];
                if (ys[i] < lo) lo = ys[i];
                if (ys[i] > hi) hi = ys[i];
                continue;
            }
        }
        if (open) {            // the column ends: draw it
            int y = dot_y(first, ya, dh);
            if (have) repl_dash_canvas_line(c, px, py, col, y, attr);
            else repl_dash_canvas_dot(c, col, y, attr);
            if (lo < hi) repl_dash_canvas_line(c, col, dot_y(hi, ya, dh), col, dot_y(lo, ya, dh), attr);
            have = 1;
            px = col;
            py = dot_y(last, ya, dh);
        }
        if (i == n) break;
        open = 1;
        col = x;
        first = last = lo = hi = ys[i];
    }
}

void repl_dash_canvas_blit(const dash_canvas *c, dash_grid *g, int x, int y)
{
    for (int r = 0; r < c->h; r++)
        for (int q = 0; q < c->w; q++) {
            int i = r * c->w + q;
            if (c->bits[i]) repl_dash_put(g, x + q, y + r, 0x2800 + c->bits[i], c->attr[i]);
        }
}

// The y axis of a plot whose canvas starts at column x + lab + 1: a rule at x + lab and
// up to five labels to its left, evenly spaced in value (in log10 on a log axis).
// Returns how many ticks; tick k sits on row repl_dash_tick_row(k, n, ph).
int repl_dash_tick_row(int k, int n, int ph) { return n > 1 ? (int)lround((double)k * (ph - 1) / (n - 1)) : 0; }

int repl_dash_plot_yaxis(dash_grid *g, int x, int y, int lab, int ph, const dash_axis *ya)
{
    char a[32];
    int nt = ph >= 8 ? 5 : ph >= 3 ? 3 : ph;
    for (int r = 0; r < ph; r++) repl_dash_put(g, x + lab, y + r, L'│', DASH_A_DIM);
    for (int k = 0; k < nt; k++) {
        int r = repl_dash_tick_row(k, nt, ph);
        double f = ya->hi - (ph > 1 ? (double)r / (ph - 1) : 0) * (ya->hi - ya->lo);
        int len = (int)strlen(repl_dash_fmt_num(a, sizeof a, ya->log ? pow(10, f) : f, lab));
        repl_dash_text(g, x + lab - len, y + r, lab, DASH_A_NONE, a);
        repl_dash_put(g, x + lab, y + r, L'┤', DASH_A_DIM);
    }
    return nt;
}
