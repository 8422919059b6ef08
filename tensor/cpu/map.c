// map.c - strided elementwise loops (copy, fill, unary, binary) and random fills.
#include <string.h>
#include "../elementwise.h"
#include "cpu.h"

// Elements per chunk of the pool (small chunks balance well: the caller takes more while
// a worker wakes). But waking a sleeping worker and waiting for it costs 15-25 us here:
// split at 64K, an exp took 60 us on 2 threads and 40 on one, a 128K relu 35 and 16. So
// a tensor below EW_PARALLEL elements stays on the calling thread.
#define EW_GRAIN 32768
#define EW_PARALLEL 262144

// One call of cpu_each_row, cut into units for the pool: whole rows (short rows, several
// per chunk), or segments of one long row (the contiguous case is a single row).
typedef struct {
    int nops, last;
    tensor_layout l;
    float *base[LAYOUT_MAX_OPS];
    int64_t inner_st[LAYOUT_MAX_OPS];
    int64_t segs, seg_len;     // segments per row (1: units are rows)
    cpu_row_fn row;
    const void *ctx;
} each_job;

// the pointers of row r (an index over the merged dims but the last); idx gets its digits
static void row_start(const each_job *j, int64_t r, float **p, int64_t *idx) {
    for (int k = 0; k < j->nops; k++) p[k] = j->base[k];
    for (int d = j->last - 1; d >= 0; d--) {
        idx[d] = r % j->l.size[d];
        r /= j->l.size[d];
        for (int k = 0; k < j->nops; k++) p[k] += idx[d] * j->l.stride[k][d];
    }
}

static int each_chunk(void *vj, int64_t b, int64_t e, int64_t chunk) {
    const each_job *j = vj;
    float *p[LAYOUT_MAX_OPS];
    int64_t idx[TENSOR_MAX_DIMS] = {0}, L = j->l.size[j->last];
    if (j->segs > 1) {
        for (int64_t u = b; u < e; u++) {
            int64_t off = (u % j->segs) * j->seg_len, len = L - off < j->seg_len ? L - off : j->seg_len;
            row_start(j, u / j->segs, p, idx);
            for (int k = 0; k < j->nops; k++) p[k] += off * j->inner_st[k];
            j->row(p, len, j->inner_st, j->ctx);
        }
        return 0;
    }
    row_start(j, b, p, idx);
    for (int64_t r = b; r < e; r++) {
        j->row(p, L, j->inner_st, j->ctx);
        for (int d = j->last - 1; d >= 0; d--) {   // the next row: an odometer over the outer dims
            idx[d]++;
            for (int k = 0; k < j->nops; k++) p[k] += j->l.stride[k][d];
            if (idx[d] < j->l.size[d]) break;
            for (int k = 0; k < j->nops; k++) p[k] -= j->l.stride[k][d] * j->l.size[d];
            idx[d] = 0;
        }
    }
    return 0;
}

// Calls row for every run along the innermost merged dim of the operands' layout, split
// over the pool. Elementwise: every element is computed the same way on any thread
// count, so results are bit-identical. -1 ("interrupted") after Ctrl-C.
int cpu_each_row(int nops, const tensor *const *ops, cpu_row_fn row, const void *ctx) {
    const int64_t *strides[LAYOUT_MAX_OPS];
    each_job j = {.nops = nops, .row = row, .ctx = ctx, .segs = 1};
    for (int k = 0; k < nops; k++) { strides[k] = ops[k]->stride; j.base[k] = tensor_data(ops[k]); }
    int64_t n = tensor_layout_make(&j.l, ops[0]->ndim, ops[0]->size, nops, strides);
    if (n == 0) return 0;
    if (j.l.ndim == 0) {                               // a single element
        j.l.ndim = 1;
        j.l.size[0] = 1;
        for (int k = 0; k < nops; k++) j.l.stride[k][0] = 0;
    }
    j.last = j.l.ndim - 1;
    for (int k = 0; k < nops; k++) j.inner_st[k] = j.l.stride[k][j.last];
    int64_t L = j.l.size[j.last], rows = n / L;
    // an output written through a 0 stride (an expanded view) must not race: one thread
    for (int d = 0; d < j.l.ndim; d++)
        if (j.l.stride[0][d] == 0 && j.l.size[d] > 1) return each_chunk(&j, 0, rows, 0);
    if (n < EW_PARALLEL) return each_chunk(&j, 0, rows, 0);
    if (L >= 2 * EW_GRAIN) {
        j.segs = (L + EW_GRAIN - 1) / EW_GRAIN;
        j.seg_len = ((L + j.segs - 1) / j.segs + 15) & ~(int64_t)15;   // 64-byte multiples
        j.segs = (L + j.seg_len - 1) / j.seg_len;
        return cpu_parallel_for(rows * j.segs, 1, each_chunk, &j);
    }
    return cpu_parallel_for(rows, (EW_GRAIN + L - 1) / L, each_chunk, &j);
}

static void row_copy(float **p, int64_t n, const int64_t *st, const void *ctx) {
    float *o = p[0], *a = p[1];
    if (st[0] == 1 && st[1] == 1) { memmove(o, a, (size_t)n * sizeof(float)); return; }
    for (int64_t i = 0; i < n; i++) o[i * st[0]] = a[i * st[1]];
}

int cpu_copy(tensor *dst, const tensor *src) {
    const tensor *ops[2] = {dst, src};
    return cpu_each_row(2, ops, row_copy, NULL);
}

static void row_fill(float **p, int64_t n, const int64_t *st, const void *ctx) {
    float v = *(const float *)ctx;
    for (int64_t i = 0; i < n; i++) p[0][i * st[0]] = v;
}

int cpu_fill(tensor *dst, float v) {
    const tensor *ops[1] = {dst};
    return cpu_each_row(1, ops, row_fill, &v);
}

typedef struct { int op; float s0, s1; } unary_ctx;

// one loop per op so the compiler specialises (and vectorises) each formula
#define UNARY_CASE(OP) case OP: \
    if (sa == 1) { for (int64_t i = 0; i < n; i++) o[i] = ew_unary(OP, a[i], s0, s1); } \
    else { for (int64_t i = 0; i < n; i++) o[i] = ew_unary(OP, a[i * sa], s0, s1); } \
    break;
#define ROW_UNARY_CASE(name, OP, ...) UNARY_CASE(EW_##OP)

CPU_SIMD_CLONES
static void row_unary(float **p, int64_t n, const int64_t *st, const void *vctx) {
    const unary_ctx *c = vctx;
    float *o = p[0];
    const float *a = p[1];
    int64_t sa = st[1];
    float s0 = c->s0, s1 = c->s1;
    switch (c->op) {
        TENSOR_UNARY_OPS(ROW_UNARY_CASE)
        UNARY_CASE(EW_ADD_S) UNARY_CASE(EW_MUL_S)
        UNARY_CASE(EW_RSUB_S) UNARY_CASE(EW_RDIV_S) UNARY_CASE(EW_DIV_S) UNARY_CASE(EW_POW_S) UNARY_CASE(EW_CLAMP)
    default:
        for (int64_t i = 0; i < n; i++) o[i] = ew_unary(c->op, a[i * sa], s0, s1);
    }
}

int cpu_unary(tensor *out, const tensor *a, int op, float s0, float s1) {
    const tensor *ops[2] = {out, a};
    unary_ctx c = {op, s0, s1};
    return cpu_each_row(2, ops, row_unary, &c);
}

#define UNARY_BACKWARD_CASE(name, OP, ...) case EW_##OP: \
    if (ss == 1 && sg == 1) { for (int64_t i = 0; i < n; i++) o[i] = ew_b_##name(s[i], g[i], s0, s1); } \
    else { for (int64_t i = 0; i < n; i++) o[i] = ew_b_##name(s[i * ss], g[i * sg], s0, s1); } \
    break;

// p = {gin, saved, g}
CPU_SIMD_CLONES
static void row_unary_backward(float **p, int64_t n, const int64_t *st, const void *vctx) {
    const unary_ctx *c = vctx;
    float *o = p[0];
    const float *s = p[1], *g = p[2];
    int64_t ss = st[1], sg = st[2];
    float s0 = c->s0, s1 = c->s1;
    switch (c->op) { TENSOR_UNARY_OPS(UNARY_BACKWARD_CASE) }
}

int cpu_unary_backward(tensor *gin, const tensor *s, const tensor *g, int op, float s0, float s1) {
    const tensor *ops[3] = {gin, s, g};
    unary_ctx c = {op, s0, s1};
    cpu_each_row(3, ops, row_unary_backward, &c);
    return 0;
}

#define BINARY_CASE(OP) case OP: \
    if (sa == 1 && sb == 1) { for (int64_t i = 0; i < n; i++) o[i] = ew_binary(OP, a[i], b[i]); } \
    else if (sa == 1 && sb == 0) { float bv = b[0]; for (int64_t i = 0; i < n; i++) o[i] = ew_binary(OP, a[i], bv); } \
    else { for (int64_t i = 0; i < n; i++) o[i] = ew_binary(OP, a[i * sa], b[i * sb]); } \
    break;

CPU_SIMD_CLONES
static void row_binary(float **p, int64_t n, const int64_t *st, const void *ctx) {
    float *o = p[0];
    const float *a = p[1], *b = p[2];
    int64_t sa = st[1], sb = st[2];
    switch (*(const int *)ctx) {
        BINARY_CASE(EW_ADD) BINARY_CASE(EW_SUB) BINARY_CASE(EW_MUL) BINARY_CASE(EW_DIV)
    default: {
        int op = *(const int *)ctx;
        for (int64_t i = 0; i < n; i++) o[i] = ew_binary(op, a[i * sa], b[i * sb]);
    }
    }
}

int cpu_binary(tensor *out, const tensor *a, const tensor *b, int op) {
    const tensor *ops[3] = {out, a, b};
    return cpu_each_row(3, ops, row_binary, &op);
}

typedef struct { float *out; int kind; uint64_t seed, offset; float a, b; } random_ctx;

static int random_chunk(void *vc, int64_t b, int64_t e, int64_t chunk) {
    const random_ctx *c = vc;
    for (int64_t i = b; i < e; i++) c->out[i] = ew_random(c->kind, c->seed, c->offset + (uint64_t)i, c->a, c->b);
    return 0;
}

// out (n): counter-based, so each element is the same whichever thread draws it
int cpu_random(float *out, int64_t n, int kind, uint64_t seed, uint64_t offset, float a, float b) {
    random_ctx c = {out, kind, seed, offset, a, b};
    return cpu_parallel_for(n, EW_GRAIN / 4, random_chunk, &c);
}
