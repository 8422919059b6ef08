// reduce.c - reductions along one dim and softmax / log_softmax.
#include <math.h>
#include <stdlib.h>
#include "cpu.h"

// Work per pool chunk, in elements read, and the fixed span of r that a long single row
// (a full sum of 16M elements) is cut into: partials per span are combined in span
// order, so the result depends on the shape only, never on the thread count.
#define RED_GRAIN 32768
#define RED_SPAN 65536

typedef struct {
    float *out;
    const float *a;
    int64_t outer, r, inner, blocks;   // blocks: of inner, per outer row
    int op;
    double *sum;                       // span partials (outer * spans)
    float *best;
    int64_t *at;
    int64_t spans;
} red_ctx;

// the double sum of n floats in 16 fixed lanes, then the tail, then the lanes in order:
// vectorises (one running double was a 4-cycle add per element, 15x PyTorch's time on
// 1M elements) and the order is fixed, so the bits do not depend on anything but n
CPU_SIMD_CLONES static double sum_run(const float *p, int64_t n) {
    double acc[16] = {0};
    int64_t i = 0;
    for (; i + 16 <= n; i += 16)
        for (int j = 0; j < 16; j++) acc[j] += p[i + j];
    double s = 0;
    for (; i < n; i++) s += p[i];
    for (int j = 0; j < 16; j++) s += acc[j];
    return s;
}

// dst[j] = sum over i of src[i * inner + j], j in [j0, j1), each column summed in row
// order. 32 columns at a time stay in registers over all rows: a row-by-row loop loads
// and stores dst for every row, and a bias gradient (the batch sum of (100,128)) took
// 2.3 us, twice an add of the same size.
CPU_SIMD_CLONES static void sum_cols(float *dst, const float *src, int64_t r, int64_t inner, int64_t j0,
                                     int64_t j1) {
    int64_t j = j0;
    for (; j + 32 <= j1; j += 32) {
        float acc[32];
        for (int t = 0; t < 32; t++) acc[t] = src[j + t];
        for (int64_t i = 1; i < r; i++) {
            const float *row = src + i * inner + j;
            for (int t = 0; t < 32; t++) acc[t] += row[t];
        }
        for (int t = 0; t < 32; t++) dst[j + t] = acc[t];
    }
    for (int64_t k = j; k < j1; k++) dst[k] = src[k];
    for (int64_t i = 1; i < r; i++)
        for (int64_t k = j; k < j1; k++) dst[k] += src[i * inner + k];
}

// out[o, j] for j in [j0, j1): the serial kernel over one block of columns
static void reduce_cols(const red_ctx *c, int64_t o, int64_t j0, int64_t j1) {
    int64_t r = c->r, inner = c->inner;
    const float *src = c->a + o * r * inner;
    float *dst = c->out + o * inner;
    int op = c->op;
    if (op == REDUCE_SUM) {
        if (inner == 1) {
            dst[0] = (float)sum_run(src, r);   // double: long sums stay accurate
            return;
        }
        sum_cols(dst, src, r, inner, j0, j1);
        return;
    }
    int want_max = op == REDUCE_MAX || op == REDUCE_ARGMAX;
    int want_idx = op == REDUCE_ARGMAX || op == REDUCE_ARGMIN;
    for (int64_t j = j0; j < j1; j++) {
        float best = src[j];
        int64_t bi = 0;
        for (int64_t i = 1; i < r; i++) {
            float v = src[i * inner + j];
            // NaN wins, as in PyTorch, so it is never hidden
            if (isnan(best)) break;
            if (isnan(v) || (want_max ? v > best : v < best)) { best = v; bi = i; }
        }
        dst[j] = want_idx ? (float)bi : best;
    }
}

#define COL_BLOCK 1024

static int reduce_chunk(void *vc, int64_t b, int64_t e, int64_t chunk) {
    const red_ctx *c = vc;
    for (int64_t u = b; u < e; u++) {
        int64_t o = u / c->blocks, j0 = (u % c->blocks) * COL_BLOCK;
        reduce_cols(c, o, j0, j0 + COL_BLOCK < c->inner ? j0 + COL_BLOCK : c->inner);
    }
    return 0;
}

// one span of a long row (inner == 1): its double sum, or its best value and index
static int span_chunk(void *vc, int64_t b, int64_t e, int64_t chunk) {
    const red_ctx *c = vc;
    int want_max = c->op == REDUCE_MAX || c->op == REDUCE_ARGMAX;
    for (int64_t u = b; u < e; u++) {
        int64_t o = u / c->spans, i0 = (u % c->spans) * RED_SPAN, i1 = i0 + RED_SPAN < c->r ? i0 + RED_SPAN : c->r;
        const float *src = c->a + o * c->r;
        if (c->op == REDUCE_SUM) {
            c->sum[u] = sum_run(src + i0, i1 - i0);
            continue;
        }
        float best = src[i0];
        int64_t bi = i0;
        for (int64_t i = i0 + 1; i < i1 && !isnan(best); i++) {
            float v = src[i];
            if (isnan(v) || (want_max ? v > best : v < best)) { best = v; bi = i; }
        }
        c->best[u] = best;
        c->at[u] = bi;
    }
    return 0;
}

// a is (outer, r, inner) -> out (outer, inner). Columns are independent: split over the
// pool they give the serial kernel's bits. A few long rows are cut into spans instead.
int cpu_reduce(float *out, const float *a, int64_t outer, int64_t r, int64_t inner, int op) {
    red_ctx c = {.out = out, .a = a, .outer = outer, .r = r, .inner = inner, .op = op};
    if (inner == 1 && outer < 16 && r >= 2 * RED_SPAN) {
        c.spans = (r + RED_SPAN - 1) / RED_SPAN;
        int64_t units = outer * c.spans;
        c.sum = malloc((size_t)units * (sizeof(double) + sizeof(float) + sizeof(int64_t)));
        if (!c.sum) { tensor_set_error("sum: out of memory for %lld partial results", (long long)units); return -1; }
        c.at = (int64_t *)(c.sum + units);
        c.best = (float *)(c.at + units);
        int rc = cpu_parallel_for(units, 1, span_chunk, &c);
        int want_max = op == REDUCE_MAX || op == REDUCE_ARGMAX, want_idx = op == REDUCE_ARGMAX || op == REDUCE_ARGMIN;
        for (int64_t o = 0; o < outer && !rc; o++) {
            const double *sp = c.sum + o * c.spans;
            if (op == REDUCE_SUM) {
                double acc = 0;
                for (int64_t s = 0; s < c.spans; s++) acc += sp[s];
                out[o] = (float)acc;
                continue;
            }
            // spans in order with the serial rule: the first NaN, else the first best
            float best = c.best[o * c.spans];
            int64_t bi = c.at[o * c.spans];
            for (int64_t s = 1; s < c.spans && !isnan(best); s++) {
                float v = c.best[o * c.spans + s];
                if (isnan(v) || (want_max ? v > best : v < best)) { best = v; bi = c.at[o * c.spans + s]; }
            }
            out[o] = want_idx ? (float)bi : best;
        }
        free(c.sum);
        return rc;
    }
    c.blocks = (inner + COL_BLOCK - 1) / COL_BLOCK;
    int64_t per_unit = (r ? r : 1) * (inner < COL_BLOCK ? inner : COL_BLOCK);
    return cpu_parallel_for(outer * c.blocks, (RED_GRAIN + per_unit - 1) / per_unit, reduce_chunk, &c);
}

typedef struct {
    float *out;
    const float *x, *y, *g;
    int64_t r, inner;
    int log;
} softmax_ctx;

// units u = o * inner + j, each a softmax over r (as the serial loop)
static int softmax_chunk(void *vc, int64_t b, int64_t e, int64_t chunk) {
    const softmax_ctx *c = vc;
    int64_t r = c->r, inner = c->inner;
    for (int64_t u = b; u < e; u++) {
        int64_t o = u / inner, j = u % inner;
        const float *src = c->x + o * r * inner + j;
        float *dst = c->out + o * r * inner + j;
        float mx = -INFINITY;
        for (int64_t i = 0; i < r; i++) if (src[i * inner] > mx) mx = src[i * inner];
        double sum = 0;
        for (int64_t i = 0; i < r; i++) sum += expf(src[i * inner] - mx);
        if (c->log) {
            float lse = mx + (float)logf((float)sum);
            for (int64_t i = 0; i < r; i++) dst[i * inner] = src[i * inner] - lse;
        } else {
            float inv = (float)(1.0 / sum);
            for (int64_t i = 0; i < r; i++) dst[i * inner] = expf(src[i * inner] - mx) * inv;
        }
    }
    return 0;
}

// x is (outer, r, inner); softmax over r, subtracting the max for stability
int cpu_softmax(float *out, const float *x, int64_t outer, int64_t r, int64_t inner, int log) {
    softmax_ctx c = {.out = out, .x = x, .r = r, .inner = inner, .log = log};
    return cpu_parallel_for(outer * inner, (RED_GRAIN / 4 + r - 1) / (r ? r : 1), softmax_chunk, &c);
}

static int softmax_back_chunk(void *vc, int64_t b, int64_t e, int64_t chunk) {
    const softmax_ctx *c = vc;
    int64_t r = c->r, inner = c->inner;
    const float *y = c->y, *g = c->g;
    float *gin = c->out;
    int log = c->log;
    for (int64_t u = b; u < e; u++) {
        int64_t base = (u / inner) * r * inner + u % inner;
        double s = 0;
        for (int64_t i = 0; i < r; i++)
            s += log ? g[base + i * inner] : g[base + i * inner] * y[base + i * inner];
        for (int64_t i = 0; i < r; i++) {
            int64_t q = base + i * inner;
            gin[q] = log ? g[q] - expf(y[q]) * (float)s : y[q] * (g[q] - (float)s);
        }
    }
    return 0;
}

// y, g, gin are (outer, r, inner)
int cpu_softmax_backward(float *gin, const float *y, const float *g, int64_t outer, int64_t r,
                         int64_t inner, int log) {
    softmax_ctx c = {.out = gin, .y = y, .g = g, .r = r, .inner = inner, .log = log};
    return cpu_parallel_for(outer * inner, (RED_GRAIN / 4 + r - 1) / (r ? r : 1), softmax_back_chunk, &c);
}
