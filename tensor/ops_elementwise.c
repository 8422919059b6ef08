// ops_elementwise.c - unary and broadcasting binary ops with their backwards.
// The formulas themselves live in elementwise.h, shared with the GPU.
#include "elementwise.h"
#include "internal.h"

// ---- unary ----
// what a row's backward reads (op_table.h's `saved`)
#define SAVED_NONE 0u
#define SAVED_X TENSOR_READS_IN(0)
#define SAVED_Y TENSOR_READS_OUT
#define ROW_READS(name, OP, np, d0, d1, saved, ...) case EW_##OP: return SAVED_##saved;

// what unary_back reads: the input x, the output y, both or neither
static unsigned unary_reads(int op) {
    switch (op) {
    TENSOR_UNARY_OPS(ROW_READS)
    case EW_POW_S: case EW_CLAMP: return SAVED_X;
    case EW_RDIV_S: return SAVED_X | SAVED_Y;
    default: return 0;   // x + s, x * s, s - x, x / s
    }
}

static tensor *unary(const char *name, tensor *a, int op, float s0, float s1, tensor_backward_fn bw) {
    tensor *out = tensor_empty(a->ndim, a->size, a->storage->device);
    if (!out) return NULL;
    if (TENSOR_RUN(a, unary, out, a, op, s0, s1)) { tensor_release(out); return NULL; }
    tensor_node *n = tensor_record(out, name, bw, 1, &a);
    if (n) { n->iarg[0] = op; n->farg[0] = s0; n->farg[1] = s1; n->reads = unary_reads(op); }
    return out;
}

// an op_table.h row: gin = ew_b_NAME(saved, g), one kernel
static int row_back(tensor_node *n, tensor *y, tensor *g, tensor **gin) {
    int op = (int)n->iarg[0];
    unsigned reads = unary_reads(op);
    tensor *saved = reads == SAVED_Y ? y : reads == SAVED_X ? n->inputs[0] : g;
    if (tensor_has_work(g) && !tensor_backend_of(g)->unary_backward) {
        tensor_set_error("%s backward: the %s backend has no unary_backward kernel", n->op,
                         tensor_device_name(g->storage->device));
        return -1;
    }
    tensor *out = tensor_empty(g->ndim, g->size, g->storage->device);
    if (!out) return -1;
    tensor *s = tensor_broadcast_view(saved, g->ndim, g->size);
    int rc = !s || TENSOR_RUN(g, unary_backward, out, s, g, op, n->farg[0], n->farg[1]);
    tensor_release(s);
    if (rc) { tensor_release(out); return -1; }
    gin[0] = out;
    return 0;
}

// the ops with a scalar operand
static int unary_back(tensor_node *n, tensor *y, tensor *g, tensor **gin) {
    tensor *x = n->inputs[0];
    float s0 = n->farg[0], s1 = n->farg[1];
    tensor *t = NULL, *u = NULL;
    switch (n->iarg[0]) {
    case EW_ADD_S: gin[0] = tensor_retain(g); break;
    case EW_MUL_S: gin[0] = tensor_mul_scalar(g, s0); break;
    case EW_DIV_S: gin[0] = tensor_div_scalar(g, s0); break;
    case EW_RSUB_S: gin[0] = tensor_neg(g); break;
    case EW_RDIV_S:   // d(s/x) = -s/x^2 = -y/x
        t = tensor_div(y, x); u = t ? tensor_mul(g, t) : NULL; gin[0] = u ? tensor_neg(u) : NULL; break;
    case EW_POW_S:    // p * x^(p-1)
        t = tensor_pow_scalar(x, s0 - 1.0f); u = t ? tensor_mul_scalar(t, s0) : NULL; gin[0] = u ? tensor_mul(g, u) : NULL; break;
    case EW_CLAMP: {  // gradient passes where lo <= x <= hi
        tensor *lo = tensor_compare_scalar(x, s0, TENSOR_GE), *hi = tensor_compare_scalar(x, s1, TENSOR_LE);
        t = lo && hi ? tensor_mul(lo, hi) : NULL;
        gin[0] = t ? tensor_mul(g, t) : NULL;
        tensor_release(lo); tensor_release(hi);
        break;
    }
    default: tensor_set_error("no derivative for unary op %d", (int)n->iarg[0]); return -1;
    }
    tensor_release(t);
    tensor_release(u);
    return gin[0] ? 0 : -1;
}

// tensor_NAME for every op_table.h row, by its number of scalar parameters
#define ROW_FN_0(name, OP) \
    tensor *tensor_##name(tensor *a) { return unary(#name, a, EW_##OP, 0, 0, row_back); }
#define ROW_FN_1(name, OP) \
    tensor *tensor_##name(tensor *a, float s0) { return unary(#name, a, EW_##OP, s0, 0, row_back); }
#define ROW_FN_2(name, OP) \
    tensor *tensor_##name(tensor *a, float s0, float s1) { return unary(#name, a, EW_##OP, s0, s1, row_back); }
#define ROW_FN(name, OP, np, ...) ROW_FN_##np(name, OP)
TENSOR_UNARY_OPS(ROW_FN)

tensor *tensor_pow_scalar(tensor *a, float p) { return unary("pow", a, EW_POW_S, p, 0, unary_back); }
tensor *tensor_add_scalar(tensor *a, float s) { return unary("add", a, EW_ADD_S, s, 0, unary_back); }
tensor *tensor_mul_scalar(tensor *a, float s) { return unary("mul", a, EW_MUL_S, s, 0, unary_back); }
tensor *tensor_rsub_scalar(float s, tensor *a) { return unary("sub", a, EW_RSUB_S, s, 0, unary_back); }
tensor *tensor_rdiv_scalar(float s, tensor *a) { return unary("div", a, EW_RDIV_S, s, 0, unary_back); }
tensor *tensor_div_scalar(tensor *a, float s) { return unary("div", a, EW_DIV_S, s, 0, unary_back); }
// -INFINITY / INFINITY mean "no bound". PyTorch: with both bounds a NaN bound makes every
// value NaN; a lone NaN bound is ignored by the values (and still zeroes the gradient,
// which backward gets from the bounds as given).
tensor *tensor_clamp(tensor *a, float lo, float hi) {
    float klo = lo != lo && hi == INFINITY ? -INFINITY : lo;
    float khi = hi != hi && lo == -INFINITY ? INFINITY : hi;
    tensor *out = unary("clamp", a, EW_CLAMP, klo, khi, unary_back);
    if (out && out->grad_fn) { out->grad_fn->farg[0] = lo; out->grad_fn->farg[1] = hi; }
    return out;
}

// tensor_cmp picks the comparison by offset from EW_EQ_S / EW_EQ: the orders must agree
_Static_assert(EW_NE_S - EW_EQ_S == TENSOR_NE && EW_LT_S - EW_EQ_S == TENSOR_LT && EW_LE_S - EW_EQ_S == TENSOR_LE &&
               EW_GT_S - EW_EQ_S == TENSOR_GT && EW_GE_S - EW_EQ_S == TENSOR_GE, "tensor_cmp vs EW_*_S order");
_Static_assert(EW_NE - EW_EQ == TENSOR_NE && EW_LT - EW_EQ == TENSOR_LT && EW_LE - EW_EQ == TENSOR_LE &&
               EW_GT - EW_EQ == TENSOR_GT && EW_GE - EW_EQ == TENSOR_GE, "tensor_cmp vs EW_* order");

tensor *tensor_compare_scalar(tensor *a, float s, tensor_cmp op) {
    return unary("compare", a, EW_EQ_S + (int)op, s, 0, NULL);
}

// ---- binary with broadcasting ----
int tensor_broadcast_shape(const char *op, const tensor *a, const tensor *b, int *ndim, int64_t *sizes) {
    int nd = a->ndim > b->ndim ? a->ndim : b->ndim;
    for (int i = 0; i < nd; i++) {
        int ia = a->ndim - nd + i, ib = b->ndim - nd + i;
        int64_t sa = ia >= 0 ? a->size[ia] : 1, sb = ib >= 0 ? b->size[ib] : 1;
        if (sa != sb && sa != 1 && sb != 1) {
            char s1[160], s2[160];
            tensor_set_error("%s: shapes %s and %s do not broadcast: dim %d of the left is %lld but dim %d of the "
                             "right is %lld (aligned from the last dim, sizes must match or be 1)", op,
                             tensor_shape_str(s1, sizeof s1, a), tensor_shape_str(s2, sizeof s2, b), ia + 1,
                             (long long)sa, ib + 1, (long long)sb);
            return -1;
        }
        sizes[i] = sa == 1 ? sb : sa;
    }
    *ndim = nd;
    return 0;
}

static tensor *binary(const char *name, tensor *a, tensor *b, int op, tensor_backward_fn bw) {
    tensor *in[2] = {a, b};
    if (tensor_check_same_device(name, 2, in)) return NULL;
    int nd;
    int64_t sz[TENSOR_MAX_DIMS];
    if (tensor_broadcast_shape(name, a, b, &nd, sz)) return NULL;
    tensor *out = tensor_empty(nd, sz, a->storage->device);
    if (!out) return NULL;
    tensor *ea = tensor_broadcast_view(a, nd, sz), *eb = tensor_broadcast_view(b, nd, sz);
    int rc = !ea || !eb || TENSOR_RUN(out, binary, out, ea, eb, op);
    tensor_release(ea);
    tensor_release(eb);
    if (rc) { tensor_release(out); return NULL; }
    tensor_record(out, name, bw, 2, in);
    return out;
}

// g * (1 - lost - tie/2): the share of maximum/minimum's gradient for one input
static tensor *minmax_grad(tensor *g, tensor *lost, tensor *tie) {
    tensor *half = tensor_mul_scalar(tie, 0.5f);
    tensor *out = half ? tensor_add(lost, half) : NULL;
    tensor *keep = out ? tensor_rsub_scalar(1.0f, out) : NULL;
    tensor *r = keep ? tensor_mul(g, keep) : NULL;
    tensor_release(half); tensor_release(out); tensor_release(keep);
    return r;
}

// d(a op b): each gradient summed back to its input's shape
static int binary_back(tensor_node *n, tensor *y, tensor *g, tensor **gin) {
    tensor *a = n->inputs[0], *b = n->inputs[1];
    tensor *ga = NULL, *gb = NULL, *t = NULL;
    int op = (int)n->iarg[0];
    switch (op) {
    case EW_ADD: ga = tensor_retain(g); gb = tensor_retain(g); break;
    case EW_SUB: ga = tensor_retain(g); gb = tensor_neg(g); break;
    case EW_MUL:
        if (a->requires_grad) ga = tensor_mul(g, b);
        if (b->requires_grad) gb = tensor_mul(g, a);
        break;
    case EW_DIV:   // d/da = g/b ; d/db = -g*y/b
        if (a->requires_grad) ga = tensor_div(g, b);
        if (b->requires_grad) { t = tensor_mul(g, y); tensor *u = t ? tensor_div(t, b) : NULL; gb = u ? tensor_neg(u) : NULL; tensor_release(u); }
        break;
    case EW_POW:   // d/da = g*b*a^(b-1) ; d/db = g*y*log(a)
        if (a->requires_grad) {
            tensor *bm1 = tensor_add_scalar(b, -1.0f), *p = bm1 ? tensor_pow(a, bm1) : NULL, *q = p ? tensor_mul(p, b) : NULL;
            ga = q ? tensor_mul(g, q) : NULL;
            tensor_release(bm1); tensor_release(p); tensor_release(q);
        }
        if (b->requires_grad) {
            tensor *la = tensor_log(a), *q = la ? tensor_mul(y, la) : NULL;
            gb = q ? tensor_mul(g, q) : NULL;
            tensor_release(la); tensor_release(q);
        }
        break;
    case EW_MAX: case EW_MIN: {
        // PyTorch's rule: each input gets g unless it lost; a tie gives each half. With
        // a NaN nobody loses, so both get g.
        tensor *lt = tensor_compare(a, b, TENSOR_LT), *gt = tensor_compare(a, b, TENSOR_GT);
        tensor *eq = tensor_compare(a, b, TENSOR_EQ);
        if (lt && gt && eq) {
            ga = minmax_grad(g, op == EW_MAX ? lt : gt, eq);
            gb = minmax_grad(g, op == EW_MAX ? gt : lt, eq);
        }
        tensor_release(lt); tensor_release(gt); tensor_release(eq);
        break;
    }
    default: tensor_set_error("no derivative for binary op %d", op); return -1;
    }
    tensor_release(t);
    if ((a->requires_grad && !ga) || (b->requires_grad && !gb)) { tensor_release(ga); tensor_release(gb); return -1; }
    gin[0] = ga ? tensor_sum_to(ga, a) : NULL;
    gin[1] = gb ? tensor_sum_to(gb, b) : NULL;
    tensor_release(ga);
    tensor_release(gb);
    return 0;
}

static tensor *binary_op(const char *name, tensor *a, tensor *b, int op) {
    tensor *out = binary(name, a, b, op, binary_back);
    if (out && out->grad_fn) {
        const unsigned A = TENSOR_READS_IN(0), B = TENSOR_READS_IN(1), Y = TENSOR_READS_OUT;
        out->grad_fn->iarg[0] = op;
        out->grad_fn->reads = op == EW_MUL || op == EW_MAX || op == EW_MIN ? A | B
                              : op == EW_DIV ? B | Y : op == EW_POW ? A | B | Y : 0;   // add, sub: nothing
    }
    return out;
}

tensor *tensor_add(tensor *a, tensor *b) { return binary_op("add", a, b, EW_ADD); }
tensor *tensor_sub(tensor *a, tensor *b) { return binary_op("sub", a, b, EW_SUB); }
tensor *tensor_mul(tensor *a, tensor *b) { return binary_op("mul", a, b, EW_MUL); }
tensor *tensor_div(tensor *a, tensor *b) { return binary_op("div", a, b, EW_DIV); }
tensor *tensor_pow(tensor *a, tensor *b) { return binary_op("pow", a, b, EW_POW); }
tensor *tensor_maximum(tensor *a, tensor *b) { return binary_op("maximum", a, b, EW_MAX); }
tensor *tensor_minimum(tensor *a, tensor *b) { return binary_op("minimum", a, b, EW_MIN); }

tensor *tensor_compare(tensor *a, tensor *b, tensor_cmp op) {
    static const char *const names[] = {[TENSOR_EQ] = "eq", [TENSOR_NE] = "ne", [TENSOR_LT] = "lt",
                                        [TENSOR_LE] = "le", [TENSOR_GT] = "gt", [TENSOR_GE] = "ge"};
    return binary(names[op], a, b, EW_EQ + (int)op, NULL);
}
