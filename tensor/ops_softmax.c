// ops_softmax.c - softmax and log_softmax over one dim.
#include "internal.h"

static int softmax_back(tensor_node *n, tensor *y, tensor *g, tensor **gin) {
    int dim = (int)n->iarg[0], log = (int)n->iarg[1];
    int64_t outer, r, inner;
    tensor_split_dim(y, dim, &outer, &r, &inner);
    tensor *gc = tensor_contiguous(g);
    tensor *out = tensor_empty(y->ndim, y->size, y->storage->device);
    int rc = !gc || !out ||
             TENSOR_RUN(y, softmax_backward, tensor_data(out), tensor_data(y), tensor_data(gc), outer, r, inner, log);
    tensor_release(gc);
    if (rc) { tensor_release(out); return -1; }
    gin[0] = out;
    return 0;
}

static tensor *softmax(const char *name, tensor *a, int dim, int log) {
    if (tensor_normalize_dim(name, a, dim, 0, &dim)) return NULL;
    int64_t outer, r, inner;
    tensor_split_dim(a, dim, &outer, &r, &inner);
    tensor *c = tensor_contiguous(a);
    tensor *out = c ? tensor_empty(a->ndim, a->size, a->storage->device) : NULL;
    int rc = !out || TENSOR_RUN(a, softmax, tensor_data(out), tensor_data(c), outer, r, inner, log);
    tensor_release(c);
    if (rc) { tensor_release(out); return NULL; }
    tensor_node *n = tensor_record(out, name, softmax_back, 1, &a);
    if (n) { n->iarg[0] = dim; n->iarg[1] = log; n->reads = TENSOR_READS_OUT; }
    return out;
}

tensor *tensor_softmax(tensor *a, int dim) { return softmax("softmax", a, dim, 0); }
tensor *tensor_log_softmax(tensor *a, int dim) { return softmax("log_softmax", a, dim, 1); }
