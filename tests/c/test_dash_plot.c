// test_dash_plot.c - the loss plot draws many points per column of dots as one run per
// column (repl/dash/plot.c); it must light exactly the dots a line through every point
// lights. The reference below is that line through every point. Random series: noisy
// and smooth, with NaN, Inf and (on a log axis) non-positive values, steps that go
// back, 1 to 20,000 points on canvases from 1x1 to 120x30 cells.
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../../repl/dash/dash.h"
#include "tap.h"

static void reference(dash_canvas *c, const double *xs, const double *ys, int n, double xlo, double xhi,
                      const dash_axis *ya, int attr)
{
    int have = 0, px = 0, py = 0;
    int dw = c->w * 2 - 1, dh = c->h * 4 - 1;
    for (int i = 0; i < n; i++) {
        if (isnan(ys[i]) || isinf(ys[i]) || (ya->log && ys[i] <= 0)) continue;
        int x = repl_dash_dot_x(xs[i], xlo, xhi, dw);
        int y = (int)lround((ya->hi - repl_dash_axis_f(ya, ys[i])) / (ya->hi - ya->lo) * dh);
        if (have) repl_dash_canvas_line(c, px, py, x, y, attr);
        else repl_dash_canvas_dot(c, x, y, attr);
        have = 1;
        px = x;
        py = y;
    }
}

static double uniform(void) { return (rand() + 0.5) / ((double)RAND_MAX + 1); }

int main(void)
{
    srand(12345);
    int cases = 400, same = 0, axes_same = 0;
    for (int t = 0; t < cases; t++) {
        int n = 1 + (int)(uniform() * (t % 4 == 0 ? 20000 : 300));
        int w = 1 + (int)(uniform() * 120), h = 1 + (int)(uniform() * 30);
        double *xs = malloc((size_t)n * sizeof *xs), *ys = malloc((size_t)n * sizeof *ys);
        double v = 1 + 10 * uniform();
        for (int i = 0; i < n; i++) {
            xs[i] = i + 1;
            if (t % 7 == 3 && uniform() < 0.05) xs[i] = uniform() * n;       // steps out of order
            v = t % 2 ? v * exp(0.3 * (uniform() - 0.5)) : 5 + sin(i * 0.01) + (uniform() - 0.5);
            ys[i] = v;
            double r = uniform();
            if (r < 0.01) ys[i] = NAN;
            else if (r < 0.015) ys[i] = INFINITY;
            else if (r < 0.02 && t % 3 == 0) ys[i] = -v;
        }
        dash_axis ya = {INFINITY, -INFINITY, t % 3 == 0}, yb = ya;
        for (int i = 0; i < n; i++) repl_dash_axis_grow(&ya, ys[i]);
        repl_dash_axis_grow_all(&yb, ys, n);
        axes_same += ya.lo == yb.lo && ya.hi == yb.hi;
        if (!(ya.lo < ya.hi)) { ya.lo -= 1; ya.hi += 1; }
        size_t cells = (size_t)w * h;
        dash_canvas a = {w, h, calloc(cells, 1), calloc(cells, 1)}, b = {w, h, calloc(cells, 1), calloc(cells, 1)};
        reference(&a, xs, ys, n, 1, n, &ya, 3);
        repl_dash_plot_series(&b, xs, ys, n, 1, n, &ya, 3);
        int eq = !memcmp(a.bits, b.bits, cells) && !memcmp(a.attr, b.attr, cells);
        if (!eq) printf("# case %d: n=%d %dx%d log=%d differs\n", t, n, w, h, ya.log);
        same += eq;
        free(a.bits); free(a.attr); free(b.bits); free(b.attr);
        free(xs); free(ys);
    }
    tap_ok(same == cases, "a run per column lights the dots of a line through every point");
    tap_ok(axes_same == cases, "the axis grown by the least and greatest value is the axis grown by each");
    return tap_done();
}
