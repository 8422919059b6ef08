// ops_index.c - cat, stack, gather, index_select.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "internal.h"

static int cat_back(tensor_node *n, tensor *out, tensor *g, tensor **gin) {
    int dim = (int)n->iarg[0];
    int64_t start = 0;
    for (int i = 0; i < n->n_inputs; i++) {
        tensor *in = n->inputs[i];
        int64_t len = in->size[dim];
        if (in->requires_grad) {
            gin[i] = tensor_narrow(g, dim, start, len);
            if (!gin[i]) return -1;
        }
        start += len;
    }
    return 0;
}

tensor *tensor_cat(int n, tensor **ts, int dim) {
    char s1[160], s2[160];
    if (n <= 0) { tensor_set_error("cat: needs at least one tensor"); return NULL; }
    if (tensor_check_same_device("cat", n, ts)) return NULL;
    tensor *f = ts[0];
    if (f->ndim == 0) { tensor_set_error("cat: cannot concatenate 0-d tensors; use tensor.stack"); return NULL; }
    if (tensor_normalize_dim("cat", f, dim, 0, &dim)) return NULL;
    int64_t sz[TENSOR_MAX_DIMS];
    for (int i = 0; i < f->ndim; i++) sz[i] = f->size[i];
    sz[dim] = 0;
    for (int k = 0; k < n; k++) {
        tensor *t = ts[k];
        int ok = t->ndim == f->ndim;
        for (int i = 0; ok && i < f->ndim; i++) ok = i == dim || t->size[i] == f->size[i];
        if (!ok) {
            tensor_set_error("cat: tensor {{index:%d}} has shape %s but tensor {{index:0}} has %s; all sizes except dim "
                             "{{dim:%d}} must match", k, tensor_shape_str(s1, sizeof s1, t),
                             tensor_shape_str(s2, sizeof s2, f), dim);
            return NULL;
        }
        sz[dim] += t->size[dim];
    }
    tensor *out = tensor_empty(f->ndim, sz, f->storage->device);
    if (!out) return NULL;
    int64_t start = 0;
    int prev = tensor_set_grad_enabled(0);
    for (int k = 0; k < n; k++) {
        tensor *dst = tensor_narrow(out, dim, start, ts[k]->size[dim]);
        int rc = !dst || tensor_copy_(dst, ts[k]);
        tensor_release(dst);
        if (rc) { tensor_set_grad_enabled(prev); tensor_release(out); return NULL; }
        start += ts[k]->size[dim];
    }
    tensor_set_grad_enabled(prev);
    tensor_node *node = tensor_record(out, "cat", cat_back, n, ts);
    if (node) node->iarg[0] = dim;
    return out;
}

tensor *tensor_stack(int n, tensor **ts, int dim) {
    if (n <= 0) { tensor_set_error("stack: needs at least one tensor"); return NULL; }
    tensor **u = calloc((size_t)n, sizeof *u);
    if (!u) { tensor_set_error("stack: out of memory"); return NULL; }
    for (int k = 1; k < n; k++) {
        int same = ts[k]->ndim == ts[0]->ndim;
        for (int i = 0; same && i < ts[0]->ndim; i++) same = ts[k]->size[i] == ts[0]->size[i];
        if (!same) {
            char s1[160], s2[160];
            tensor_set_error("stack: tensor %d has shape %s but tensor 1 has %s; stack needs tensors of one shape", k + 1,
                             tensor_shape_str(s1, sizeof s1, ts[k]), tensor_shape_str(s2, sizeof s2, ts[0]));
            free(u);
            return NULL;
        }
    }
    tensor *out = NULL;
    int d = dim;
    if (tensor_normalize_dim("stack", ts[0], dim, 1, &d) == 0) {
        int k = 0;
        for (; k < n; k++) if (!(u[k] = tensor_unsqueeze(ts[k], d))) break;
        if (k == n) out = tensor_cat(n, u, d);
    }
    for (int k = 0; k < n; k++) tensor_release(u[k]);
    free(u);
    return out;
}

static int gather_back(tensor_node *n, tensor *out, tensor *g, tensor **gin) {
    tensor *a = n->inputs[0], *idx = n->saved[0];
    int dim = (int)n->iarg[0];
    int64_t outer, ra, inner, ro, ri, ii;
    tensor_split_dim(a, dim, &outer, &ra, &inner);
    tensor_split_dim(idx, dim, &ro, &ri, &ii);
    tensor *z = tensor_zeros(a->ndim, a->size, a->storage->device);
    tensor *gc = tensor_contiguous(g);
    int rc = !z || !gc ||
             TENSOR_RUN(g, scatter_add, tensor_data(z), tensor_data(gc), tensor_data(idx), outer, ra, ri, inner);
    tensor_release(gc);
    if (rc) { tensor_release(z); return -1; }
    gin[0] = z;
    return 0;
}

tensor *tensor_gather(tensor *a, int dim, tensor *index) {
    char s1[160], s2[160];
    if (tensor_check_same_device("gather", 2, (tensor *[]){a, index})) return NULL;
    if (tensor_normalize_dim("gather", a, dim, 0, &dim)) return NULL;
    int ok = index->ndim == a->ndim;
    for (int i = 0; ok && i < a->ndim; i++) ok = i == dim || index->size[i] == a->size[i];
    if (!ok) {
        tensor_set_error("gather: index %s must have the shape of the input %s except along dim {{dim:%d}}",
                         tensor_shape_str(s1, sizeof s1, index), tensor_shape_str(s2, sizeof s2, a), dim);
        return NULL;
    }
    int64_t outer, ra, inner, ro, ri, ii;
    tensor_split_dim(a, dim, &outer, &ra, &inner);
    tensor_split_dim(index, dim, &ro, &ri, &ii);
    tensor *ac = tensor_contiguous(a), *ic = tensor_contiguous(index);
    tensor *out = ac && ic ? tensor_empty(index->ndim, index->size, a->storage->device) : NULL;
    int rc = !out || TENSOR_RUN(out, gather, tensor_data(out), tensor_data(ac), tensor_data(ic), outer, ra, ri, inner);
    tensor_release(ac);
    if (rc) { tensor_release(ic); tensor_release(out); return NULL; }
    tensor_node *n = tensor_record(out, "gather", gather_back, 1, &a);
    if (n) { n->iarg[0] = dim; tensor_node_save(n, 0, tensor_retain(ic)); }   // the index values
    tensor_release(ic);
    return out;
}

tensor *tensor_index_select(tensor *a, int dim, tensor *index) {
    char s[160];
    if (index->ndim != 1) {
        tensor_set_error("index_select: the index must be 1-d, got %s", tensor_shape_str(s, sizeof s, index));
        return NULL;
    }
    if (tensor_normalize_dim("index_select", a, dim, 0, &dim)) return NULL;
    // index (n) -> shaped (1,..,n,..,1) and broadcast over the other dims, then gather
    int64_t vs[TENSOR_MAX_DIMS], es[TENSOR_MAX_DIMS];
    for (int i = 0; i < a->ndim; i++) {
        vs[i] = i == dim ? index->size[0] : 1;
        es[i] = i == dim ? index->size[0] : a->size[i];
    }
    int prev = tensor_set_grad_enabled(0);
    tensor *v = tensor_reshape(index, a->ndim, vs);
    tensor *e = v ? tensor_broadcast_view(v, a->ndim, es) : NULL;
    tensor *ec = e ? tensor_contiguous(e) : NULL;
    tensor_set_grad_enabled(prev);
    const tensor_backend *be = ec ? tensor_backend_of(a) : NULL;   // the GPU reports index errors later:
    if (be && be->name_next_index_op) be->name_next_index_op("index_select");   // under this op's name
    tensor *out = ec ? tensor_gather(a, dim, ec) : NULL;
    tensor_release(v); tensor_release(e); tensor_release(ec);
    if (!out && !strncmp(tensor_last_error_raw(), "gather:", 7)) {   // name the op the user called
        char msg[1024];
        snprintf(msg, sizeof msg, "%s", tensor_last_error_raw() + 7);
        tensor_set_error("index_select:%s", msg);
    }
    return out;
}

// ---- boolean masks (float 0/1 tensors) ----
// Built from reshape, cat, gather and index_select, so they run on every device those
// run on and their backward is those ops' backward. Index tensors are float32, exact
// up to 2^24: the indexed dim is kept below that.
#define MASK_MAX_INDEX ((int64_t)1 << 24)

// mask's values on the host, checked to hold only 0 and 1; *count = the ones. NULL +
// error otherwise (a meta mask has no values).
static float *mask_values(const char *op, tensor *mask, int64_t *count) {
    if (mask->storage->device == TENSOR_META) {
        tensor_set_error("%s: on the meta device a mask has no values, so which elements it picks (and the size "
                         "of the result) is unknown; run it on cpu or cuda", op);
        return NULL;
    }
    float *m = tensor_to_host(mask);
    if (!m) return NULL;
    int64_t n = tensor_numel(mask), ones = 0;
    for (int64_t i = 0; i < n; i++) {
        if (m[i] == 1.0f) ones++;
        else if (m[i] != 0.0f) {
            char s[160];
            tensor_set_error("%s: the mask %s holds %g at element {{index:%lld}} (row-major); a mask holds only 0 "
                             "and 1, as comparisons like {{x:gt(0)|tensor_compare_scalar(x, 0, TENSOR_GT)}} return (to "
                             "pick by position use {{x:index_select(dim, indices)|tensor_index_select(x, dim, indices)}})",
                             op, tensor_shape_str(s, sizeof s, mask), (double)m[i], (long long)i);
            free(m);
            return NULL;
        }
    }
    *count = ones;
    return m;
}

// mask's sizes are a's first mask->ndim sizes (PyTorch's rule for a[mask]); *lead = their product
static int mask_leading(const char *op, const tensor *a, const tensor *mask, int64_t *lead) {
    char s1[160], s2[160];
    int ok = mask->ndim >= 1 && mask->ndim <= a->ndim;
    int64_t l = 1;
    for (int i = 0; ok && i < mask->ndim; i++) { ok = mask->size[i] == a->size[i]; l *= a->size[i]; }
    if (!ok) {
        tensor_set_error("%s: the mask has shape %s but x has %s; a mask must have x's shape, or the shape of x's "
                         "first dims (to pick whole rows)%s; to pick by position use "
                         "{{x:index_select(dim, indices)|tensor_index_select(x, dim, indices)}}", op, tensor_shape_str(s1, sizeof s1, mask),
                         tensor_shape_str(s2, sizeof s2, a),
                         mask->ndim == 0 ? "; this mask is 0-d" : "");
        return -1;
    }
    if (l >= MASK_MAX_INDEX) {
        tensor_set_error("%s: the mask covers %lld positions; float32 indices are exact only below %lld", op,
                         (long long)l, (long long)MASK_MAX_INDEX);
        return -1;
    }
    *lead = l;
    return 0;
}

// a viewed as (lead, sizes after the mask's dims)
static tensor *as_rows(tensor *a, int mask_ndim, int64_t lead) {
    int64_t sz[TENSOR_MAX_DIMS];
    int nd = 0;
    sz[nd++] = lead;
    for (int i = mask_ndim; i < a->ndim; i++) sz[nd++] = a->size[i];
    return tensor_reshape(a, nd, sz);
}

static tensor *mask_index_op(const char *op, tensor *a, tensor *mask) {
    int64_t lead, count;
    if (tensor_check_same_device(op, 2, (tensor *[]){a, mask}) || mask_leading(op, a, mask, &lead)) return NULL;
    float *m = mask_values(op, mask, &count);
    if (!m) return NULL;
    float *pos = malloc((size_t)(count ? count : 1) * sizeof *pos);
    tensor *idx = NULL, *rows = NULL, *out = NULL;
    if (!pos) { tensor_set_error("%s: out of memory", op); free(m); return NULL; }
    for (int64_t i = 0, k = 0; i < lead; i++) if (m[i] == 1.0f) pos[k++] = (float)i;
    TENSOR_CHECK(idx = tensor_from_data(1, &count, pos, a->storage->device));
    TENSOR_CHECK(rows = as_rows(a, mask->ndim, lead));
    out = tensor_index_select(rows, 0, idx);
fail:
    free(m); free(pos);
    tensor_release(idx); tensor_release(rows);
    return out;
}

tensor *tensor_mask_index(tensor *a, tensor *mask) { return mask_index_op("mask_index", a, mask); }

tensor *tensor_masked_select(tensor *a, tensor *mask) {
    char s1[160], s2[160];
    if (tensor_check_same_device("masked_select", 2, (tensor *[]){a, mask})) return NULL;
    tensor *a1 = a->ndim ? tensor_retain(a) : tensor_reshape(a, 1, (int64_t[]){1});
    tensor *mb = a1 ? tensor_broadcast_view(mask, a1->ndim, a1->size) : NULL;
    tensor *out = NULL;
    if (a1 && !mb)
        tensor_set_error("masked_select: the mask has shape %s, which does not broadcast to x's shape %s",
                         tensor_shape_str(s1, sizeof s1, mask), tensor_shape_str(s2, sizeof s2, a));
    else if (mb) out = mask_index_op("masked_select", a1, mb);
    tensor_release(mb); tensor_release(a1);
    return out;
}

tensor *tensor_masked_fill(tensor *a, tensor *mask, float v) {
    char s1[160], s2[160];
    const char *op = "masked_fill";
    if (tensor_check_same_device(op, 2, (tensor *[]){a, mask})) return NULL;
    tensor *mb = tensor_broadcast_view(mask, a->ndim, a->size);
    if (!mb) {
        tensor_set_error("%s: the mask has shape %s, which does not broadcast to x's shape %s", op,
                         tensor_shape_str(s1, sizeof s1, mask), tensor_shape_str(s2, sizeof s2, a));
        return NULL;
    }
    // a as (outer, r) with r its last dim; out = gather(cat([a, v], 2), 2, idx) with idx
    // = j where the mask is 0 and r (the v column) where it is 1: exact for v = -inf too
    int64_t n = tensor_numel(a), r = a->ndim ? a->size[a->ndim - 1] : 1, count = 0;
    if (n == 0) { tensor_release(mb); return tensor_clone(a); }
    if (r >= MASK_MAX_INDEX) {
        tensor_set_error("%s: the last dim of %s has %lld elements; float32 indices are exact only below %lld", op,
                         tensor_shape_str(s1, sizeof s1, a), (long long)r, (long long)MASK_MAX_INDEX);
        tensor_release(mb);
        return NULL;
    }
    int64_t outer = n / r;
    tensor_device d = a->storage->device;
    float *m = NULL, *ix = NULL;
    tensor *idx = NULL, *a2 = NULL, *col = NULL, *src = NULL, *g = NULL, *out = NULL;
    if (d == TENSOR_META) {
        TENSOR_CHECK(idx = tensor_empty(2, (int64_t[]){outer, r}, d));
    } else {
        TENSOR_CHECK(m = mask_values(op, mb, &count));
        ix = malloc((size_t)n * sizeof *ix);
        if (!ix) { tensor_set_error("%s: out of memory", op); goto fail; }
        for (int64_t i = 0; i < n; i++) ix[i] = m[i] == 1.0f ? (float)r : (float)(i % r);
        TENSOR_CHECK(idx = tensor_from_data(2, (int64_t[]){outer, r}, ix, d));
    }
    TENSOR_CHECK(a2 = tensor_reshape(a, 2, (int64_t[]){outer, r}));
    TENSOR_CHECK(col = tensor_full(2, (int64_t[]){outer, 1}, v, d));
    TENSOR_CHECK(src = tensor_cat(2, (tensor *[]){a2, col}, 1));
    TENSOR_CHECK(g = tensor_gather(src, 1, idx));
    out = tensor_reshape(g, a->ndim, a->size);
fail:
    free(m); free(ix);
    tensor_release(mb); tensor_release(idx); tensor_release(a2); tensor_release(col);
    tensor_release(src); tensor_release(g);
    return out;
}

tensor *tensor_mask_put(tensor *a, tensor *mask, tensor *values) {
    char s1[160], s2[160];
    const char *op = "mask_put";
    int64_t lead, count;
    if (tensor_check_same_device(op, 3, (tensor *[]){a, mask, values}) || mask_leading(op, a, mask, &lead))
        return NULL;
    float *m = mask_values(op, mask, &count);
    if (!m) return NULL;
    // rows (lead, rest): out = index_select over dim 0 of cat([rows, values as (count, rest)]) with
    // idx = i for an unmasked row, lead + k for the k-th masked one
    int64_t vs[TENSOR_MAX_DIMS];
    int nd = 0;
    vs[nd++] = count;
    for (int i = mask->ndim; i < a->ndim; i++) vs[nd++] = a->size[i];
    float *ix = NULL;
    tensor *ve = NULL, *rows = NULL, *src = NULL, *idx = NULL, *sel = NULL, *out = NULL;
    ve = tensor_expand(values, nd, vs);
    if (!ve) {
        tensor_set_error("%s: the values have shape %s, but the mask picks %lld slices of shape %s: give that many "
                         "values (shape %s) or one that broadcasts to it, e.g. a number", op,
                         tensor_shape_str(s1, sizeof s1, values), (long long)count,
                         tensor_sizes_str(s2, sizeof s2, nd - 1, vs + 1),
                         tensor_sizes_str((char[160]){0}, 160, nd, vs));
        goto fail;
    }
    if (lead + count >= MASK_MAX_INDEX) {
        tensor_set_error("%s: %lld rows; float32 indices are exact only below %lld", op,
                         (long long)(lead + count), (long long)MASK_MAX_INDEX);
        goto fail;
    }
    ix = malloc((size_t)(lead ? lead : 1) * sizeof *ix);
    if (!ix) { tensor_set_error("%s: out of memory", op); goto fail; }
    for (int64_t i = 0, k = 0; i < lead; i++) ix[i] = m[i] == 1.0f ? (float)(lead + k++) : (float)i;
    TENSOR_CHECK(idx = tensor_from_data(1, &lead, ix, a->storage->device));
    TENSOR_CHECK(rows = as_rows(a, mask->ndim, lead));
    TENSOR_CHECK(src = tensor_cat(2, (tensor *[]){rows, ve}, 0));
    TENSOR_CHECK(sel = tensor_index_select(src, 0, idx));
    out = tensor_reshape(sel, a->ndim, a->size);
fail:
    free(m); free(ix);
    tensor_release(ve); tensor_release(rows); tensor_release(src); tensor_release(idx); tensor_release(sel);
    return out;
}
