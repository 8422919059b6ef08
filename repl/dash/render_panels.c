// render_panels.c - the dashboard's lower panels, each drawn into its box of the grid:
// the shapes table, the gradient norms with their warnings, the log, the system figures
// and the weight/gradient distributions over time (render.c lays the boxes out).
#include "dash.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NUM(buf, v, w) repl_dash_fmt_num(buf, sizeof buf, v, w)

// ---- tables -------------------------------------------------------------------------
// s into at most w columns keeping its end ("…ers.3.weight"): the tail names the layer
static void text_tail(dash_grid *g, int x, int y, int w, int attr, const char *s)
{
    int n = (int)strlen(s);
    if (n <= w || w < 2) {
        repl_dash_text(g, x, y, w, attr, s);
        return;
    }
    repl_dash_put(g, x, y, L'…', DASH_A_DIM);
    repl_dash_text(g, x + 1, y, w - 1, attr, s + n - (w - 1));
}

// "203530" -> "203.5k" when the column is narrow
static const char *short_count(char *buf, size_t n, const char *s, int w)
{
    char *end;
    double v = strtod(s, &end);
    if ((int)strlen(s) <= w || end == s) return s;
    if (v >= 1e9) snprintf(buf, n, "%.1fG", v / 1e9);
    else if (v >= 1e6) snprintf(buf, n, "%.1fM", v / 1e6);
    else snprintf(buf, n, "%.1fk", v / 1e3);
    return buf;
}

void repl_dash_draw_shapes(dash_state *s, dash_grid *g, int x, int y, int w, int h)
{
    char title[96];
    snprintf(title, sizeof title, "Shapes%s%s", s->model_name[0] ? ": " : "", s->model_name);
    repl_dash_box(g, x, y, w, h, title);
    int ix = x + 1, iy = y + 1, iw = w - 2, ih = h - 2;
    if (iw < 8 || ih < 1) return;
    if (s->nrows == 0) {
        repl_dash_text(g, ix + 1, iy, iw - 1, DASH_A_DIM, "fills at the model's first forward pass");
        return;
    }
    // widths from the content: params as wide as needed (<= 8), shapes next, layer the rest
    int pw = 6, sw = 6;
    for (int i = 0; i < s->nrows; i++) {
        int l = (int)strlen(s->rows[i].params), k = (int)strlen(s->rows[i].shape);
        if (l > pw) pw = l;
        if (k > sw) sw = k;
    }
    if (pw > 8) pw = 8;
    if (sw > iw / 3) sw = iw / 3;
    int lw = iw - pw - sw - 2;
    if (lw < 10) {                  // narrow: the params column goes first
        pw = 0;
        lw = iw - sw - 1;
    }
    repl_dash_textf(g, ix, iy, iw, DASH_A_DIM, "%-*s %-*s", lw, "layer", sw, "output");
    if (pw) repl_dash_text(g, ix + iw - 6, iy, 6, DASH_A_DIM, "params");
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
        if (pw) {
            char buf[16];
            const char *p = short_count(buf, sizeof buf, s->rows[i].params, pw);
            int pl = (int)strlen(p);
            if (pl > pw) pl = pw;
            repl_dash_text(g, ix + iw - pl, ry, pl, DASH_A_NONE, p);
        }
    }
    if (numeric && ih >= 2) repl_dash_textf(g, ix, iy + ih - 1, iw, DASH_A_TITLE, "total params %.0f", total);
}

// Warnings that mean something: NaN/Inf and exploding always; vanishing only while
// the loss is still far from its floor (a converged model has tiny gradients).
static const char *grad_mark(const dash_state *s, const dash_grad *d)
{
    if (isnan(d->grad_norm) || isnan(d->weight_norm) || isnan(d->update_ratio) || isinf(d->grad_norm) ||
        isinf(d->weight_norm))
        return "!n";
    if (d->grad_norm > 1e3) return "!x";
    int converged = !(s->last.loss > 1e-6) || (s->loss_hi > 0 && s->last.loss < 1e-3 * s->loss_hi);
    if (d->grad_norm >= 0 && d->grad_norm < 1e-7 && !converged) return "!v";
    return "";
}

static const char *grad_num(char *buf, size_t n, double v)
{
    return v < 0 ? "-" : repl_dash_fmt_num(buf, n, v, 7);
}

void repl_dash_draw_grads(dash_state *s, dash_grid *g, int x, int y, int w, int h)
{
    repl_dash_box(g, x, y, w, h, "Gradients");
    int ix = x + 1, iy = y + 1, iw = w - 2, ih = h - 2;
    if (iw < 8 || ih < 1) return;
    if (s->ngrads == 0) {
        repl_dash_text(g, ix + 1, iy, iw - 1, DASH_A_DIM, "fills at the first optimizer step");
        return;
    }
    // columns: name, |grad|, upd/W, then |W| when there is room; 2 for the mark
    int ncol = iw >= 44 ? 3 : 2, nw = iw - ncol * 8 - 2;
    if (nw < 6) { ncol = 1; nw = iw - 8 - 2; }
    static const char *const head[] = {"|grad|", "upd/W", "|W|"};
    repl_dash_text(g, ix, iy, nw, DASH_A_DIM, "parameter");
    for (int c = 0; c < ncol; c++) repl_dash_textf(g, ix + nw + c * 8, iy, 8, DASH_A_DIM, "%8s", head[c]);
    int marks = 0, rows = ih - 1;
    for (int i = 0; i < s->ngrads; i++) marks |= *grad_mark(s, &s->grads[i]) != 0;
    if (marks && rows > 1) rows--;            // the last line explains the marks
    for (int i = 0; i < s->ngrads && i < rows; i++) {
        const dash_grad *d = &s->grads[i];
        int ry = iy + 1 + i;
        if (i == rows - 1 && s->ngrads > rows) {
            repl_dash_textf(g, ix, ry, iw, DASH_A_DIM, "… %d more", s->ngrads - i);
            break;
        }
        text_tail(g, ix, ry, nw - 1, DASH_A_NONE, d->name);
        double v[3] = {d->grad_norm, d->update_ratio, d->weight_norm};
        for (int c = 0; c < ncol; c++) {
            char a[16];
            repl_dash_textf(g, ix + nw + c * 8, ry, 8, DASH_A_NONE, "%8s", grad_num(a, sizeof a, v[c]));
        }
        const char *mark = grad_mark(s, d);
        if (*mark) repl_dash_text(g, ix + iw - 2, ry, 2, DASH_A_WARN, mark);
    }
    if (marks) repl_dash_text(g, ix, iy + ih - 1, iw, DASH_A_WARN, "!v vanishing  !x exploding  !n NaN/Inf");
}

// ---- log, system, distributions ---------------------------------------------------------
void repl_dash_draw_log(dash_state *s, dash_grid *g, int x, int y, int w, int h)
{
    char title[64];
    snprintf(title, sizeof title, "Output%s", s->out_total ? "" : " (what the script prints)");
    repl_dash_box(g, x, y, w, h, title);
    int ix = x + 1, iy = y + 1, iw = w - 2, ih = h - 2;
    if (iw < 4 || ih < 1) return;
    int n = s->nout + (s->out_part_len > 0);
    int first = n > ih ? n - ih : 0;
    for (int i = first; i < n; i++) {
        const char *line = repl_dash_output_line(s, i);
        if (!line) continue;
        int ry = iy + i - first;
        int cols = repl_dash_text(g, ix, ry, iw, DASH_A_NONE, line);
        if (cols >= iw && (int)strlen(line) > iw) repl_dash_put(g, ix + iw - 1, ry, L'…', DASH_A_DIM);
    }
}

// The card as NVML sees it, all processes together: "card     12.3/139.8 GB  util 45%",
// the words and decimals dropped until it fits.
static void gpu_card(dash_grid *g, int x, int y, int w, const repl_nvml_gpu *c)
{
    double used = c->mem_used / (double)(1 << 30), total = c->mem_total / (double)(1 << 30);
    static const char *const fmt[][2] = {   // memory, load: widest first
        {"%.1f/%.1f GB  ", "util %u%%"}, {"%.1f/%.1f GB  ", "%u%%"}, {"%.0f/%.0f GB ", "%u%%"}};
    char line[128] = "";
    for (int i = 0; i < 3; i++) {
        int n = snprintf(line, sizeof line, "card     ");
        if (c->has_mem) n += snprintf(line + n, sizeof line - n, fmt[i][0], used, total);
        if (c->has_util) n += snprintf(line + n, sizeof line - n, fmt[i][1], c->util);
        if (n <= w) break;
    }
    repl_dash_text(g, x, y, w, DASH_A_NONE, line);
}

// "device   cuda:0 NVIDIA H200": a long name loses its vendor, then its end (…)
static void gpu_device(dash_grid *g, int x, int y, int w, int cuda, const char *name)
{
    char head[32];
    int n = snprintf(head, sizeof head, "device   cuda:%d ", cuda), room = w - n;
    if ((int)strlen(name) > room && !strncmp(name, "NVIDIA ", 7)) name += 7;
    repl_dash_text(g, x, y, w, DASH_A_NONE, head);
    if (room < 2) return;
    int len = (int)strlen(name);
    if (len <= room) {
        repl_dash_text(g, x + n, y, room, DASH_A_NONE, name);
        return;
    }
    repl_dash_text(g, x + n, y, room - 1, DASH_A_NONE, name);
    repl_dash_put(g, x + w - 1, y, L'…', DASH_A_DIM);
}

void repl_dash_draw_system(dash_state *s, dash_grid *g, int x, int y, int w, int h)
{
    repl_dash_box(g, x, y, w, h, "System");
    int ix = x + 1, iy = y + 1, iw = w - 2, ih = h - 2, r = 0;
    if (iw < 8 || ih < 1) return;
    char a[32];
    if (r < ih) repl_dash_textf(g, ix, iy + r++, iw, DASH_A_NONE, "steps/s  %s", s->rate > 0 ? NUM(a, s->rate, 9) : "-");
    if (r < ih) repl_dash_textf(g, ix, iy + r++, iw, DASH_A_NONE, "CPU      %.0f%%", s->cpu_pct);
    if (r < ih) repl_dash_textf(g, ix, iy + r++, iw, DASH_A_NONE, "RSS      %.1f MB", s->rss_mb);
    if (r < ih && !strcmp(s->device, "cuda"))
        repl_dash_textf(g, ix, iy + r++, iw, DASH_A_NONE, "GPU mem  %.1f MB in tensors", s->gpu_mb);
    if (r < ih && s->gpu_shown) gpu_card(g, ix, iy + r++, iw, &s->gpu);
    if (r < ih && s->gpu_shown) gpu_device(g, ix, iy + r++, iw, s->gpu_cuda, s->gpu.name);
    else if (r < ih) repl_dash_textf(g, ix, iy + r++, iw, DASH_A_NONE, "device   %s", s->device[0] ? s->device : "cpu");
    if (r < ih && s->run_name[0]) repl_dash_textf(g, ix, iy + r++, iw, DASH_A_DIM, "run      %s", s->run_name);
}

// One heat strip: time left to right, value bottom to top, shade = how many values.
static void draw_strip(dash_grid *g, int x, int y, int w, int h, const dash_watch *wt, int grad)
{
    float lo = INFINITY, hi = -INFINITY;
    int n = 0;
    for (int i = 0; i < wt->nhist; i++) {
        const struct dash_hist *d = &wt->hist[i];
        if (grad && !d->has_g) continue;
        float a = grad ? d->glo : d->lo, b = grad ? d->ghi : d->hi;
        if (!isfinite(a) || !isfinite(b)) continue;
        if (a < lo) lo = a;
        if (b > hi) hi = b;
        n++;
    }
    char la[32], lb[32];
    int lab = 8;
    if (n == 0 || w < lab + 4 || h < 2) {
        repl_dash_text(g, x, y, w, DASH_A_DIM, n == 0 ? "(no samples yet)" : "");
        return;
    }
    if (!(hi > lo)) { hi = lo + 1e-6f; lo -= 1e-6f; }
    int sw = w - lab, cols = sw;
    repl_dash_text(g, x, y, lab, DASH_A_NONE, NUM(la, hi, lab - 1));
    repl_dash_text(g, x, y + h - 1, lab, DASH_A_NONE, NUM(lb, lo, lab - 1));
    for (int c = 0; c < cols; c++) {
        // the sample for this column: the run's samples stretched over the width
        int i = (int)((int64_t)c * wt->nhist / cols);
        const struct dash_hist *d = &wt->hist[i];
        if (grad && !d->has_g) continue;
        float a = grad ? d->glo : d->lo, b = grad ? d->ghi : d->hi;
        const uint16_t *bins = grad ? d->g : d->w;
        if (!isfinite(a) || !isfinite(b)) continue;
        for (int r = 0; r < h; r++) {
            // the value range of this screen row, and the sample's bins inside it
            double v1 = hi - (double)r / h * (hi - lo), v0 = hi - (double)(r + 1) / h * (hi - lo);
            double best = 0;
            for (int k = 0; k < DASH_HIST_BINS; k++) {
                double b0 = a + (double)k / DASH_HIST_BINS * (b - a), b1 = a + (double)(k + 1) / DASH_HIST_BINS * (b - a);
                if (b > a ? (b1 < v0 || b0 > v1) : (a < v0 || a > v1)) continue;
                if (bins[k] > best) best = bins[k];
            }
            if (best > 0) {
                int lvl = 1 + (int)(best * 3.999 / 65535);
                repl_dash_put(g, x + lab + c, y + r, repl_dash_shade(g, lvl), DASH_A_HEAT0 + lvl);
            }
        }
    }
}

void repl_dash_draw_dist(dash_state *s, dash_grid *g, int x, int y, int w, int h)
{
    char title[128];
    if (s->nwatch == 0) {
        repl_dash_box(g, x, y, w, h, "Distributions");
        repl_dash_text(g, x + 2, y + 1, w - 3, DASH_A_DIM, "sampled from the watched weights as they train");
        return;
    }
    dash_watch *wt = &s->watches[s->cur_watch];
    snprintf(title, sizeof title, "Distributions: %s over %d samples%s", wt->name, wt->nhist,
             s->nwatch > 1 ? "  tab: next" : "");
    repl_dash_box(g, x, y, w, h, title);
    int ix = x + 1, iy = y + 1, iw = w - 2, ih = h - 2;
    if (iw < 16 || ih < 3) return;
    int half = iw / 2;
    repl_dash_text(g, ix, iy, half, DASH_A_NONE, "weights");
    repl_dash_text(g, ix + half, iy, iw - half, DASH_A_NONE, "gradients");
    draw_strip(g, ix, iy + 1, half - 1, ih - 1, wt, 0);
    draw_strip(g, ix + half, iy + 1, iw - half, ih - 1, wt, 1);
}
