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
            tensor_set_error("cat: tensor %d has shape %s but tensor 1 has %s; all sizes except dim %d must match", k + 1,
                             tensor_shape_str(s1, sizeof s1, t), tensor_shape_str(s2, sizeof s2, f), dim + 1);
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
             (tensor_numel(g) && tensor_backend_of(a)->scatter_add(tensor_data(z), tensor_data(gc), tensor_data(idx),
                                                                  outer, ra, ri, inner));
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
        tensor_set_error("gather: index %s must have the shape of the input %s except along dim %d",
                         tensor_shape_str(s1, sizeof s1, index), tensor_shape_str(s2, sizeof s2, a), dim + 1);
        return NULL;
    }
    int64_t outer, ra, inner, ro, ri, ii;
    tensor_split_dim(a, dim, &outer, &ra, &inner);
    tensor_split_dim(index, dim, &ro, &ri, &ii);
    tensor *ac = tensor_contiguous(a), *ic = tensor_contiguous(index);
    tensor *out = ac && ic ? tensor_empty(index->ndim, index->size, a->storage->device) : NULL;
    int rc = !out || (tensor_numel(out) && tensor_backend_of(a)->gather(tensor_data(out), tensor_data(ac), tensor_data(ic),
                                                                       outer, ra, ri, inner));
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
    if (!out && !strncmp(tensor_last_error(), "gather:", 7)) {   // name the op the user called
        char msg[1024];
        snprintf(msg, sizeof msg, "%s", tensor_last_error() + 7);
        tensor_set_error("index_select:%s", msg);
    }
    return out;
}
