// internal.h - private to tensor/: the autograd node, op helpers shared by ops_*.c.
#ifndef NNLAB_TENSOR_INTERNAL_H
#define NNLAB_TENSOR_INTERNAL_H

#include "tensor.h"
#include "backend.h"

// out = the tensor this node made; gout = its gradient; fill gin[i] (new refs,
// or NULL where an input needs no gradient). Runs with grad mode off.
typedef int (*tensor_backward_fn)(tensor_node *n, tensor *out, tensor *gout, tensor **gin);

// node->reads: which values the backward reads, so an in-place change of one of them
// between forward and backward is an error (PyTorch's version counter). Saved tensors
// (tensor_node_save) are always checked.
#define TENSOR_READS_IN(k) (1u << (k))   // inputs[k], k < 3
#define TENSOR_READS_OUT (1u << 3)       // the output

struct tensor_node {
    const char *op;
    tensor_backward_fn backward;
    int released;                    // saved state freed by a finished backward
    int shape_only;                  // backward needs only shapes (views): kept after backward
    int is_view;                     // the output shares the input's storage
    unsigned reads;                  // TENSOR_READS_* bits
    unsigned version[4];             // storage versions of inputs[0..2] and the output when recorded
    unsigned saved_version[3];
    char *scope;                     // the layer it ran in (anomaly detection only), or NULL
    int n_inputs;
    tensor **inputs;                 // retained; inline_inputs for up to 3
    tensor *inline_inputs[3];
    tensor *saved[3];                // extra tensors the backward needs (retained)
    int64_t iarg[TENSOR_MAX_DIMS + 4];
    float farg[4];
};

// a zeroed node with room for n inputs, from the free list when possible (tensor.c)
tensor_node *tensor_node_alloc(int n);

static inline float *tensor_data(const tensor *t) {
    return t->storage->data ? t->storage->data + t->offset : NULL;
}

// A contiguous copy of an optional tensor (a norm's weight, bias, running stats), or NULL
// when t is NULL (*ok stays 1); opt_data: its data, NULL for none.
static inline tensor *opt_contiguous(tensor *t, int *ok) {
    if (!t) return NULL;
    tensor *c = tensor_contiguous(t);
    if (!c) *ok = 0;
    return c;
}
static inline float *opt_data(tensor *t) { return t ? tensor_data(t) : NULL; }

// The one meta short-circuit: TENSOR_RUN(t, kernel, args...) runs t's device's kernel and
// gives its status, or gives 0 without running anything when t is empty or on the meta
// device (shapes only: the op layer still checks shapes, allocates and records autograd).
static inline int tensor_has_work(const tensor *t) {
    return t->storage->device != TENSOR_META && tensor_numel(t) > 0;
}
#define TENSOR_RUN(t, kernel, ...) (tensor_has_work(t) ? tensor_backend_of(t)->kernel(__VA_ARGS__) : 0)

// Traces the op (for :shapes on) and, when grad mode is on and an input requires
// grad, attaches a node to out. Returns the node (to add saved state) or NULL.
tensor_node *tensor_record(tensor *out, const char *op, tensor_backward_fn bw,
                           int n, tensor *const *inputs);
void tensor_trace(const char *op, int n, tensor *const *inputs, const tensor *out);
// n->saved[k] = t (takes over the reference), remembering its version for backward's check
void tensor_node_save(tensor_node *n, int k, tensor *t);
// an in-place write into t happened (op names it in backward's message)
void tensor_bump_version(tensor *t, const char *op);
// PyTorch's autograd rules for an in-place write of src (NULL for fill) into dst: checks
// before the write (-1 with an error), then tensor_inplace_rewire after it
int tensor_inplace_check(const char *op, tensor *dst, tensor *src);
int tensor_inplace_rewire(const char *op, tensor *dst, tensor *src);

// backend of t's device (NULL + error if unavailable)
const tensor_backend *tensor_backend_of(const tensor *t);
// all tensors on one device; the message names the op and both devices
int tensor_check_same_device(const char *op, int n, tensor *const *ts);

// g reduced (summed) to the shape of like: undoes broadcasting in backward
tensor *tensor_sum_to(tensor *g, const tensor *like);
// new tensor with t's sizes on device d, uninitialised
tensor *tensor_empty_sizes(int ndim, const int64_t *sizes, tensor_device d);
// the same, with op naming the creation function in a size error
tensor *tensor_empty_op(const char *op, int ndim, const int64_t *sizes, tensor_device d);
// in a reduction, the (outer, r, inner) view of a contiguous tensor around dim
void tensor_split_dim(const tensor *t, int dim, int64_t *outer, int64_t *r, int64_t *inner);
// t viewed with broadcast sizes (t itself when equal); not traced, not recorded
tensor *tensor_broadcast_view(tensor *t, int ndim, const int64_t *sizes);
// -1 with an error naming op when t has elements sharing memory (an expanded view)
int tensor_check_writable(const char *op, const tensor *t);
// a zeroed tensor header (pooled); freed by tensor_release
tensor *tensor_header_alloc(void);
// storage bookkeeping hook (tensor.c)
int64_t tensor_nbytes_of(int64_t numel);

#define TENSOR_CHECK(x) do { if (!(x)) goto fail; } while (0)

#endif
