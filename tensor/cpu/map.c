// map.c - strided elementwise loops (copy, fill, unary, binary) and random fills.
#include <string.h>
#include "../elementwise.h"
#include "cpu.h"

// Calls row for every run along the innermost merged dim of the operands' layout.
void cpu_each_row(int nops, const tensor *const *ops, cpu_row_fn row, const void *ctx) {
    const int64_t *strides[LAYOUT_MAX_OPS];
    float *p[LAYOUT_MAX_OPS];
    for (int k = 0; k < nops; k++) { strides[k] = ops[k]->stride; p[k] = tensor_data(ops[k]); }
    tensor_layout l;
    if (tensor_layout_make(&l, ops[0]->ndim, ops[0]->size, nops, strides) == 0) return;
    if (l.ndim == 0) {                                 // a single element
        l.ndim = 1;
        l.size[0] = 1;
        for (int k = 0; k < nops; k++) l.stride[k][0] = 0;
    }
    int64_t idx[TENSOR_MAX_DIMS] = {0};
    int last = l.ndim - 1;
    int64_t inner_st[LAYOUT_MAX_OPS];
    for (int k = 0; k < nops; k++) inner_st[k] = l.stride[k][last];
    for (;;) {
        row(p, l.size[last], inner_st, ctx);
        int d = last - 1;
        for (; d >= 0; d--) {
            idx[d]++;
            for (int k = 0; k < nops; k++) p[k] += l.stride[k][d];
            if (idx[d] < l.size[d]) break;
            for (int k = 0; k < nops; k++) p[k] -= l.stride[k][d] * l.size[d];
            idx[d] = 0;
        }
        if (d < 0) return;
    }
}

static void row_copy(float **p, int64_t n, const int64_t *st, const void *ctx) {
    float *o = p[0], *a = p[1];
    if (st[0] == 1 && st[1] == 1) { memmove(o, a, (size_t)n * sizeof(float)); return; }
    for (int64_t i = 0; i < n; i++) o[i * st[0]] = a[i * st[1]];
}

int cpu_copy(tensor *dst, const tensor *src) {
    const tensor *ops[2] = {dst, src};
    cpu_each_row(2, ops, row_copy, NULL);
    return 0;
}

static void row_fill(float **p, int64_t n, const int64_t *st, const void *ctx) {
    float v = *(const float *)ctx;
    for (int64_t i = 0; i < n; i++) p[0][i * st[0]] = v;
}

int cpu_fill(tensor *dst, float v) {
    const tensor *ops[1] = {dst};
    cpu_each_row(1, ops, row_fill, &v);
    return 0;
}

typedef struct { int op; float s0, s1; } unary_ctx;

// one loop per op so the compiler specialises (and vectorises) each formula
#define UNARY_CASE(OP) case OP: \
    if (sa == 1) { for (int64_t i = 0; i < n; i++) o[i] = ew_unary(OP, a[i], s0, s1); } \
    else { for (int64_t i = 0; i < n; i++) o[i] = ew_unary(OP, a[i * sa], s0, s1); } \
    break;
#define ROW_UNARY_CASE(name, OP, ...) UNARY_CASE(EW_##OP)

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
    cpu_each_row(2, ops, row_unary, &c);
    return 0;
}

#define UNARY_BACKWARD_CASE(name, OP, ...) case EW_##OP: \
    if (ss == 1 && sg == 1) { for (int64_t i = 0; i < n; i++) o[i] = ew_b_##name(s[i], g[i], s0, s1); } \
    else { for (int64_t i = 0; i < n; i++) o[i] = ew_b_##name(s[i * ss], g[i * sg], s0, s1); } \
    break;

// p = {gin, saved, g}
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
    cpu_each_row(3, ops, row_binary, &op);
    return 0;
}

int cpu_random(float *out, int64_t n, int kind, uint64_t seed, uint64_t offset, float a, float b) {
    for (int64_t i = 0; i < n; i++) out[i] = ew_random(kind, seed, offset + (uint64_t)i, a, b);
    return 0;
}
