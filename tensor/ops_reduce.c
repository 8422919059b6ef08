// ops_reduce.c - sum/mean/max/min/argmax/argmin/var/std/norm over one dim or all.
#include <stdlib.h>
#include "internal.h"

// Output sizes of reducing dim of a (dim == TENSOR_ALL_DIMS: every dim).
static int reduced_sizes(const tensor *a, int dim, int keepdim, int64_t *sz) {
    int nd = 0;
    for (int i = 0; i < a->ndim; i++) {
        int hit = dim == TENSOR_ALL_DIMS || dim == i;
        if (!hit) sz[nd++] = a->size[i];
        else if (keepdim) sz[nd++] = 1;
    }
    return nd;
}

// Runs backend reduction op over *dim of a (normalised in place to 0-based).
static tensor *reduce_raw(const char *name, tensor *a, int *dim, int keepdim, int op) {
    if (*dim != TENSOR_ALL_DIMS && tensor_normalize_dim(name, a, *dim, 0, dim)) return NULL;
    int64_t sz[TENSOR_MAX_DIMS];
    int nd = reduced_sizes(a, *dim, keepdim, sz);
    int64_t outer = 1, r = tensor_numel(a), inner = 1;
    if (*dim != TENSOR_ALL_DIMS) tensor_split_dim(a, *dim, &outer, &r, &inner);
    if (r == 0 && op != REDUCE_SUM) {
        char s[160];
        tensor_set_error("%s: cannot reduce over an empty dim of %s (there is no %s of nothing)", name,
                         tensor_shape_str(s, sizeof s, a), name);
        return NULL;
    }
    tensor *out = tensor_empty(nd, sz, a->storage->device);
    if (!out) return NULL;
    if (tensor_numel(out) && r == 0) {               // sum over nothing is 0
        if (tensor_fill_(out, 0.0f)) { tensor_release(out); return NULL; }
        return out;
    }
    tensor *c = tensor_contiguous(a);
    int rc = !c || TENSOR_RUN(out, reduce, tensor_data(out), tensor_data(c), outer, r, inner, op);
    tensor_release(c);
    if (rc) { tensor_release(out); return NULL; }
    return out;
}

static int sum_back(tensor_node *n, tensor *out, tensor *g, tensor **gin) {
    tensor *a = n->inputs[0];
    int dim = (int)n->iarg[0];
    int64_t sz[TENSOR_MAX_DIMS];
    int nd = reduced_sizes(a, dim, 1, sz);
    tensor *k = tensor_reshape(g, nd, sz);
    gin[0] = k ? tensor_expand(k, a->ndim, a->size) : NULL;
    tensor_release(k);
    return gin[0] ? 0 : -1;
}

tensor *tensor_sum(tensor *a, int dim, int keepdim) {
    tensor *out = reduce_raw("sum", a, &dim, keepdim, REDUCE_SUM);
    if (!out) return NULL;
    tensor_node *n = tensor_record(out, "sum", sum_back, 1, &a);
    if (n) n->iarg[0] = dim;
    return out;
}

tensor *tensor_mean(tensor *a, int dim, int keepdim) {
    int d = dim;
    if (d != TENSOR_ALL_DIMS && tensor_normalize_dim("mean", a, d, 0, &d)) return NULL;
    int64_t count = d == TENSOR_ALL_DIMS ? tensor_numel(a) : a->size[d];
    if (count == 0) {
        char s[160];
        tensor_set_error("mean: the mean over an empty dim of %s is undefined", tensor_shape_str(s, sizeof s, a));
        return NULL;
    }
    tensor *s = tensor_sum(a, d, keepdim);
    tensor *m = s ? tensor_mul_scalar(s, 1.0f / (float)count) : NULL;
    tensor_release(s);
    return m;
}

// max/min values: the gradient goes to the position of the winner
static int select_back(tensor_node *n, tensor *out, tensor *g, tensor **gin) {
    tensor *a = n->inputs[0], *idx = n->saved[0];
    int dim = (int)n->iarg[0];
    int64_t outer = 1, r = tensor_numel(a), inner = 1;
    if (dim != TENSOR_ALL_DIMS) tensor_split_dim(a, dim, &outer, &r, &inner);
    tensor *z = tensor_zeros(a->ndim, a->size, a->storage->device);
    tensor *gc = tensor_contiguous(g);
    int rc = !z || !gc ||
             TENSOR_RUN(g, scatter_add, tensor_data(z), tensor_data(gc), tensor_data(idx), outer, r, 1, inner);
    tensor_release(gc);
    if (rc) { tensor_release(z); return -1; }
    gin[0] = z;
    return 0;
}

static tensor *extreme(const char *name, tensor *a, int dim, int keepdim, int op, int arg_op) {
    tensor *out = reduce_raw(name, a, &dim, keepdim, op);
    if (!out) return NULL;
    tensor_node *n = tensor_record(out, name, select_back, 1, &a);
    if (n) {
        int d = dim;
        n->iarg[0] = dim;
        tensor_node_save(n, 0, reduce_raw(name, a, &d, keepdim, arg_op));
        if (!n->saved[0]) { tensor_release(out); return NULL; }
    }
    return out;
}

tensor *tensor_max(tensor *a, int dim, int keepdim) { return extreme("max", a, dim, keepdim, REDUCE_MAX, REDUCE_ARGMAX); }
tensor *tensor_min(tensor *a, int dim, int keepdim) { return extreme("min", a, dim, keepdim, REDUCE_MIN, REDUCE_ARGMIN); }

static tensor *arg_extreme(const char *name, tensor *a, int dim, int keepdim, int op) {
    tensor *out = reduce_raw(name, a, &dim, keepdim, op);
    if (out) tensor_trace(name, 1, &a, out);
    return out;
}
tensor *tensor_argmax(tensor *a, int dim, int keepdim) { return arg_extreme("argmax", a, dim, keepdim, REDUCE_ARGMAX); }
tensor *tensor_argmin(tensor *a, int dim, int keepdim) { return arg_extreme("argmin", a, dim, keepdim, REDUCE_ARGMIN); }

// composed from differentiable ops, so its gradient comes for free
tensor *tensor_var(tensor *a, int dim, int keepdim, int unbiased) {
    int d = dim;
    if (d != TENSOR_ALL_DIMS && tensor_normalize_dim("var", a, d, 0, &d)) return NULL;
    int64_t count = d == TENSOR_ALL_DIMS ? tensor_numel(a) : a->size[d];
    if (count - (unbiased ? 1 : 0) <= 0) {
        char s[160];
        tensor_set_error("var: needs at least %d values along the dim of %s", unbiased ? 2 : 1, tensor_shape_str(s, sizeof s, a));
        return NULL;
    }
    tensor *m = tensor_mean(a, d, 1);
    tensor *diff = m ? tensor_sub(a, m) : NULL;
    tensor *sq = diff ? tensor_mul(diff, diff) : NULL;
    tensor *s = sq ? tensor_sum(sq, d, keepdim) : NULL;
    tensor *v = s ? tensor_mul_scalar(s, 1.0f / (float)(count - (unbiased ? 1 : 0))) : NULL;
    tensor_release(m); tensor_release(diff); tensor_release(sq); tensor_release(s);
    return v;
}

tensor *tensor_std(tensor *a, int dim, int keepdim, int unbiased) {
    tensor *v = tensor_var(a, dim, keepdim, unbiased);
    tensor *s = v ? tensor_sqrt(v) : NULL;
    tensor_release(v);
    return s;
}

tensor *tensor_norm(tensor *a) {
    tensor *sq = tensor_mul(a, a);
    tensor *s = sq ? tensor_sum(sq, TENSOR_ALL_DIMS, 0) : NULL;
    tensor *r = s ? tensor_sqrt(s) : NULL;
    tensor_release(sq); tensor_release(s);
    return r;
}
