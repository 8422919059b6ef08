// autograd.c - the define-by-run tape: ops attach a node to their output; backward
// walks the nodes in reverse topological order and accumulates gradients.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "internal.h"

static int grad_enabled = 1;
static int detect_anomaly;
static char scope[128];                  // tensor_set_scope
static unsigned long anomaly_passes;     // backward passes since anomaly detection went on
static tensor_trace_fn trace_fn;
static void *trace_ud;

int tensor_grad_enabled(void) { return grad_enabled; }
int tensor_set_grad_enabled(int on) { int old = grad_enabled; grad_enabled = on; return old; }
void tensor_set_detect_anomaly(int on) { detect_anomaly = on; anomaly_passes = 0; }
void tensor_set_scope(const char *s) { snprintf(scope, sizeof scope, "%s", s ? s : ""); }
int tensor_detect_anomaly(void) { return detect_anomaly; }
void tensor_set_trace(tensor_trace_fn fn, void *ud) { trace_fn = fn; trace_ud = ud; }

void tensor_trace(const char *op, int n, tensor *const *inputs, const tensor *out) {
    if (trace_fn) trace_fn(op, n, inputs, out, trace_ud);
}

// a node for out over inputs (retained), with the versions of what it may read
static tensor_node *node_new(tensor *out, const char *op, tensor_backward_fn bw, int n, tensor *const *inputs) {
    tensor_node *node = tensor_node_alloc(n);
    if (!node) return NULL;            // no graph: backward will say so
    tensor **ins = node->inputs;
    node->op = op;
    node->backward = bw;
    if (detect_anomaly && scope[0]) node->scope = strdup(scope);   // only then: it costs a malloc
    node->n_inputs = n;
    node->inputs = ins;
    for (int i = 0; i < n; i++) {
        ins[i] = tensor_retain(inputs[i]);
        if (i < 3 && ins[i]) node->version[i] = ins[i]->storage->version;
    }
    node->version[3] = out->storage->version;
    return node;
}

tensor_node *tensor_record(tensor *out, const char *op, tensor_backward_fn bw, int n, tensor *const *inputs) {
    tensor_trace(op, n, inputs, out);
    if (!grad_enabled || !bw) return NULL;
    int need = 0;
    for (int i = 0; i < n; i++) if (inputs[i] && inputs[i]->requires_grad) need = 1;
    if (!need) return NULL;
    tensor_node *node = node_new(out, op, bw, n, inputs);
    if (!node) return NULL;
    out->grad_fn = node;
    out->requires_grad = 1;
    return node;
}

void tensor_node_save(tensor_node *n, int k, tensor *t) {
    n->saved[k] = t;
    if (t) n->saved_version[k] = t->storage->version;
}

// ---- in-place writes (PyTorch's rules) ----
// the tensor a chain of views of t starts from (t itself when it is no view)
static tensor *view_base(tensor *t) {
    while (t->grad_fn && t->grad_fn->is_view && t->grad_fn->n_inputs == 1 && t->grad_fn->inputs[0])
        t = t->grad_fn->inputs[0];
    return t;
}

static int is_view(const tensor *t) { return t->grad_fn && t->grad_fn->is_view; }

int tensor_inplace_check(const char *op, tensor *dst, tensor *src) {
    if (!grad_enabled) return 0;
    tensor *base = view_base(dst);
    if (!base->grad_fn && base->requires_grad) {
        tensor_set_error("%s: cannot write in place into %s that requires grad (a parameter?): autograd "
                         "could not see the change. Do it inside tensor.no_grad(function() ... end), as "
                         "optimizers do, or compute a new tensor instead", op,
                         base == dst ? "a leaf tensor" : "a view of a leaf tensor");
        return -1;
    }
    if (!dst->requires_grad && !(src && src->requires_grad)) return 0;   // no graph is involved
    if (is_view(dst)) {
        tensor_set_error("%s: writing in place into a view (x[i], narrow, select, ...) of a tensor that has a "
                         "graph is not tracked by autograd; build the result out of place (e.g. with "
                         "tensor.cat), or write inside tensor.no_grad if no gradient should flow", op);
        return -1;
    }
    if (dst->refcount > 1 || (!dst->grad_fn && dst->storage->refcount > 1)) {
        tensor_set_error("%s: this tensor is already used by an op recorded for backward (or shares its "
                         "memory with a view or {{x:detach()|tensor_detach(x)}}), so rewriting its history in place "
                         "would change what those gradients mean; compute into a new tensor instead "
                         "({{y = src:clone()|y = tensor_clone(src)}})", op);
        return -1;
    }
    return 0;
}

// inputs: dst's old history (gets zeros: its values were overwritten), src (copy only),
// which gets the gradient summed back to its shape
static int inplace_back(tensor_node *n, tensor *out, tensor *g, tensor **gin) {
    tensor *old = n->inputs[0], *src = n->n_inputs > 1 ? n->inputs[1] : NULL;
    if (old && old->requires_grad && !(gin[0] = tensor_zeros_like(g))) return -1;
    if (src && src->requires_grad && !(gin[1] = tensor_sum_to(g, src))) return -1;
    return 0;
}

// a header on dst's memory that takes over its history (NULL when it has none)
static tensor *take_history(tensor *dst) {
    if (!dst->grad_fn) return NULL;
    tensor *h = tensor_header_alloc();
    if (!h) return NULL;
    *h = *dst;
    h->refcount = 1;
    h->grad = h->grad_acc = NULL;
    dst->storage->refcount++;
    dst->grad_fn = NULL;
    return h;
}

// After the write, as PyTorch: dst now comes from src (copy) or from nothing (fill) and
// still requires grad; its old history stays an input that gets zeros (h = v*2;
// h:copy(c) gives d/dv = 0).
int tensor_inplace_rewire(const char *op, tensor *dst, tensor *src) {
    if (!grad_enabled || (!dst->requires_grad && !(src && src->requires_grad))) return 0;
    if (src == dst) return 0;   // x:copy(x) keeps its history (and a node must not retain its own tensor)
    tensor *old = take_history(dst);
    if (dst->grad_fn) { tensor_set_error("%s: out of memory recording the in-place write for backward", op); return -1; }
    tensor *ins[2] = {old, src};
    tensor_node *node = node_new(dst, op, inplace_back, src ? 2 : 1, ins);
    tensor_release(old);
    if (!node) { tensor_set_error("%s: out of memory recording the in-place write for backward", op); return -1; }
    dst->grad_fn = node;
    dst->requires_grad = 1;
    return 0;
}

tensor *tensor_requires_grad_(tensor *t, int on) {
    if (t->grad_fn) {
        tensor_set_error("requires_grad: only leaf tensors (made directly, not by an op) can change requires_grad; "
                         "use {{x:detach():requires_grad()|tensor_requires_grad_(tensor_detach(x), 1)}} for a new leaf");
        return NULL;
    }
    t->requires_grad = on;
    return t;
}

const char *tensor_grad_fn_name(const tensor *t) { return t->grad_fn ? t->grad_fn->op : NULL; }

void tensor_zero_grad(tensor *t) { tensor_release(t->grad); t->grad = NULL; }

tensor *tensor_detach(tensor *t) {
    tensor *d = tensor_header_alloc();
    if (!d) return NULL;
    *d = *t;
    d->refcount = 1;
    d->requires_grad = 0;
    d->grad = d->grad_acc = NULL;
    d->grad_fn = NULL;
    d->storage->refcount++;
    return d;
}

// Sum g over the dims that broadcasting expanded, giving like's shape.
tensor *tensor_sum_to(tensor *g, const tensor *like) {
    tensor *cur = tensor_retain(g);
    while (cur && cur->ndim > like->ndim) {
        tensor *n = tensor_sum(cur, 0, 0);
        tensor_release(cur);
        cur = n;
    }
    for (int d = 0; cur && d < like->ndim; d++) {
        if (like->size[d] == 1 && cur->size[d] != 1) {
            tensor *n = tensor_sum(cur, d, 1);
            tensor_release(cur);
            cur = n;
        }
    }
    return cur;
}

// ---- backward ----
typedef struct { tensor **v; int n, cap; } tensor_list;

static int list_push(tensor_list *l, tensor *t) {
    if (l->n == l->cap) {
        int cap = l->cap ? l->cap * 2 : 64;
        tensor **v = realloc(l->v, (size_t)cap * sizeof *v);
        if (!v) { tensor_set_error("backward: out of memory sorting the graph"); return -1; }
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n++] = t;
    return 0;
}

// Post-order DFS without recursion: deep graphs (long RNN-style chains) must not overflow the C stack.
static int topo_sort(tensor *root, tensor_list *order) {
    static unsigned mark;
    mark++;
    tensor_list stack = {0};
    tensor_list child_idx = {0};   // stores (tensor*)(intptr_t) next child index per stack entry
    int rc = 0;
    root->visit = mark;
    if (list_push(&stack, root) || list_push(&child_idx, NULL)) { rc = -1; goto done; }
    while (stack.n) {
        tensor *t = stack.v[stack.n - 1];
        intptr_t ci = (intptr_t)child_idx.v[child_idx.n - 1];
        tensor_node *nd = t->grad_fn;
        if (nd && ci < nd->n_inputs) {
            child_idx.v[child_idx.n - 1] = (tensor *)(ci + 1);
            tensor *c = nd->inputs[ci];
            if (c && c->requires_grad && c->visit != mark) {
                c->visit = mark;
                if (list_push(&stack, c) || list_push(&child_idx, NULL)) { rc = -1; goto done; }
            }
            continue;
        }
        stack.n--;
        child_idx.n--;
        if (list_push(order, t)) { rc = -1; goto done; }
    }
done:
    free(stack.v);
    free(child_idx.v);
    return rc;
}

static int all_finite(tensor *g) {
    if (g->storage->device == TENSOR_META) return 1;
    float *v = tensor_to_host(g);
    if (!v) return 1;
    int64_t n = tensor_numel(g);
    int ok = 1;
    for (int64_t i = 0; i < n && ok; i++) ok = isfinite(v[i]);
    free(v);
    return ok;
}

static int accumulate(tensor **acc, tensor *g) {
    if (!*acc) { *acc = tensor_retain(g); return 0; }
    tensor *s = tensor_add(*acc, g);
    if (!s) return -1;
    tensor_release(*acc);
    *acc = s;
    return 0;
}

// PyTorch's message, then which value changed and how to avoid it
static int version_error(tensor_node *nd, const char *what, const tensor *t, unsigned then) {
    char s[160];
    const char *by = t->storage->writer ? t->storage->writer : "an in-place op";
    tensor_set_error("backward: one of the variables needed for gradient computation has been modified by an "
                     "inplace operation: %s of %s (shape %s) is at version %u; expected version %u. It was "
                     "overwritten by %s after the forward pass used it (a write through a view or "
                     "{{x:detach()|tensor_detach(x)}} counts too). Run the forward pass again after changing it, or "
                     "change a copy ({{x:clone()|tensor_clone(x)}})",
                     what, nd->op, tensor_shape_str(s, sizeof s, t), t->storage->version, then, by);
    return -1;
}

// every value nd's backward reads must be as it was when nd was recorded
static int check_versions(tensor_node *nd, const tensor *out) {
    static const char *nth[3] = {"input 1", "input 2", "input 3"};
    for (int k = 0; k < 3 && k < nd->n_inputs; k++) {
        const tensor *in = nd->inputs[k];
        if ((nd->reads & TENSOR_READS_IN(k)) && in && in->storage->version != nd->version[k])
            return version_error(nd, nth[k], in, nd->version[k]);
    }
    if ((nd->reads & TENSOR_READS_OUT) && out->storage->version != nd->version[3])
        return version_error(nd, "the output", out, nd->version[3]);
    for (int k = 0; k < 3; k++)
        if (nd->saved[k] && nd->saved[k]->storage->version != nd->saved_version[k])
            return version_error(nd, "a tensor saved", nd->saved[k], nd->saved_version[k]);
    return 0;
}

int tensor_backward(tensor *loss, tensor *grad) {
    char s1[160], s2[160];
    if (!loss->requires_grad) {
        tensor_set_error("backward: this tensor does not require grad (no input had :requires_grad(), "
                         "or it was computed inside tensor.no_grad)");
        return -1;
    }
    if (!grad && tensor_numel(loss) != 1) {
        tensor_set_error("backward: called on a tensor of shape %s; backward() without an argument needs a "
                         "scalar (one element), e.g. {{loss = y:sum() or y:mean()|tensor_sum(y, TENSOR_ALL_DIMS, 0)}}", tensor_shape_str(s1, sizeof s1, loss));
        return -1;
    }
    if (grad && grad->storage->device != loss->storage->device) {   // kernels would mix devices (the fuzzer's find)
        const char *dev = tensor_device_name(loss->storage->device);
        tensor_set_error("backward: the gradient is on %s but the tensor is on %s; give it on the tensor's device "
                         "({{g:to(\"%s\")|tensor_to(g, %s)}})", tensor_device_name(grad->storage->device), dev, dev,
                         dev);
        return -1;
    }
    if (grad && tensor_numel(grad) != tensor_numel(loss)) {
        tensor_set_error("backward: gradient shape %s does not match the tensor's shape %s",
                         tensor_shape_str(s1, sizeof s1, grad), tensor_shape_str(s2, sizeof s2, loss));
        return -1;
    }
    if (loss->grad_fn && loss->grad_fn->released) {
        tensor_set_error("backward: the graph of this result was already used by a backward pass and freed; "
                         "compute the loss again before calling backward a second time");
        return -1;
    }
    tensor_list order = {0};
    if (topo_sort(loss, &order)) return -1;
    if (detect_anomaly) anomaly_passes++;
    int prev = tensor_set_grad_enabled(0);
    int rc = 0;
    loss->grad_acc = grad ? tensor_reshape(grad, loss->ndim, loss->size) : tensor_ones(loss->ndim, loss->size, loss->storage->device);
    if (!loss->grad_acc) rc = -1;
    for (int i = order.n - 1; i >= 0 && rc == 0; i--) {
        tensor *t = order.v[i];
        tensor *g = t->grad_acc;
        t->grad_acc = NULL;
        if (!g) continue;
        tensor_node *nd = t->grad_fn;
        if (!nd) {                                         // a leaf: keep the gradient
            // a gradient someone else still holds is copied, so zeroing one never zeroes the other
            tensor *c = (g->refcount > 1 || !tensor_is_contiguous(g)) ? tensor_clone(g) : tensor_retain(g);
            if (!c || accumulate(&t->grad, c)) rc = -1;
            tensor_release(c);
            tensor_release(g);
            continue;
        }
        if (nd->released) {
            tensor_set_error("backward: part of this graph was already freed by an earlier backward; "
                             "recompute the forward pass");
            tensor_release(g);
            rc = -1;
            break;
        }
        if (check_versions(nd, t)) { tensor_release(g); rc = -1; break; }
        tensor *gin_small[4] = {0};
        tensor **gin = nd->n_inputs <= 4 ? gin_small : calloc((size_t)nd->n_inputs, sizeof *gin);
        if (!gin) { tensor_release(g); rc = -1; break; }
        if (nd->backward(nd, t, g, gin)) {
            char msg[900];
            snprintf(msg, sizeof msg, "%s", tensor_last_error_raw());
            tensor_set_error("backward of %s: %s", nd->op, msg);
            rc = -1;
        }
        for (int k = 0; k < nd->n_inputs; k++) {
            tensor *in = nd->inputs[k];
            if (rc == 0 && gin[k] && in && in->requires_grad) {
                if (detect_anomaly && !all_finite(gin[k])) {
                    char where[200] = "";
                    if (nd->scope) snprintf(where, sizeof where, " inside %s", nd->scope);
                    tensor_set_error("backward pass %lu: the gradient flowing from %s%s into its input %d (shape %s) "
                                     "is NaN or Inf (anomaly detection): the first layer, going backward from the loss, "
                                     "whose gradient is not finite; check its inputs, the learning rate and the loss",
                                     anomaly_passes, nd->op, where, k + 1, tensor_shape_str(s1, sizeof s1, in));
                    rc = -1;
                } else if (accumulate(&in->grad_acc, gin[k])) rc = -1;
            }
            tensor_release(gin[k]);
        }
        if (gin != gin_small) free(gin);
        tensor_release(g);
    }
    // free the graph (as PyTorch does without retain_graph): saved activations go now
    for (int i = 0; i < order.n; i++) {
        tensor *t = order.v[i];
        tensor_release(t->grad_acc);
        t->grad_acc = NULL;
        tensor_node *nd = t->grad_fn;
        if (nd && !nd->released && !nd->shape_only) {
            nd->released = 1;
            for (int k = 0; k < 3; k++) { tensor_release(nd->saved[k]); nd->saved[k] = NULL; }
        }
    }
    // inputs are dropped last, and only after the walk: releasing one may free
    // tensors that are still entries of order
    tensor_list drop = {0};
    for (int i = 0; i < order.n; i++) {
        tensor_node *nd = order.v[i]->grad_fn;
        if (nd && nd->shape_only) continue;   // a view stays usable in the next graph, as in PyTorch
        for (int k = 0; nd && k < nd->n_inputs; k++) {
            if (nd->inputs[k] && list_push(&drop, nd->inputs[k]) == 0) nd->inputs[k] = NULL;
        }
    }
    for (int i = 0; i < drop.n; i++) tensor_release(drop.v[i]);
    free(drop.v);
    free(order.v);
    tensor_set_grad_enabled(prev);
    return rc;
}
