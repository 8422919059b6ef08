// ops_fused.c - ops a device may run as single fused kernels: softmax + cross-entropy
// and layer norm over rows, and optimizer steps over many parameters at once. Only
// devices that have the kernels take these paths (tensor_has_fused); elsewhere nn/
// composes the same ops from smaller ones, and that composition is the reference the
// GPU parity suite compares against.
#include <math.h>
#include <stdlib.h>
#include "internal.h"

int tensor_has_fused(const tensor *t, tensor_fused_op op) {
    if (!t || t->storage->device != TENSOR_CUDA) return 0;   // the CPU composes (and is the reference)
    const tensor_backend *be = tensor_backend_of(t);
    if (!be) return 0;
    switch (op) {
    case TENSOR_FUSED_CROSS_ENTROPY: return be->cross_entropy && be->cross_entropy_backward;
    case TENSOR_FUSED_LAYER_NORM: return be->layer_norm && be->layer_norm_backward;
    case TENSOR_FUSED_OPTIM: return be->adam_multi && be->sgd_multi;
    }
    return 0;
}

// ---- softmax + cross-entropy ------------------------------------------------------------------------
// inputs: logits, labels; saved: lse, contiguous logits, contiguous labels
static int cross_entropy_back(tensor_node *n, tensor *out, tensor *g, tensor **gin) {
    tensor *x = n->inputs[0], *lse = n->saved[0], *xc = n->saved[1], *yc = n->saved[2];
    int64_t rows = n->iarg[0], C = n->iarg[1];
    tensor *gc = tensor_contiguous(g);
    tensor *gx = x->requires_grad ? tensor_empty(2, x->size, x->storage->device) : NULL;
    int rc = !gc || (x->requires_grad && !gx);
    if (!rc && gx)
        rc = TENSOR_RUN(x, cross_entropy_backward, tensor_data(gx), tensor_data(gc), tensor_data(xc), tensor_data(lse),
                        tensor_data(yc), rows, C);
    tensor_release(gc);
    if (rc) { tensor_release(gx); return -1; }
    gin[0] = gx;
    gin[1] = NULL;
    return 0;
}

tensor *tensor_fused_cross_entropy(tensor *logits, tensor *labels) {
    char s1[160], s2[160];
    if (!logits || !labels || logits->ndim != 2 || labels->ndim != 1 || labels->size[0] != logits->size[0]) {
        tensor_set_error("cross_entropy (fused): expects logits (rows, classes) and labels (rows), got %s and %s",
                         logits ? tensor_shape_str(s1, sizeof s1, logits) : "nothing",
                         labels ? tensor_shape_str(s2, sizeof s2, labels) : "nothing");
        return NULL;
    }
    if (tensor_check_same_device("cross_entropy", 2, (tensor *[]){logits, labels})) return NULL;
    const tensor_backend *be = tensor_backend_of(logits);
    if (!be) return NULL;
    if (!be->cross_entropy) {
        tensor_set_error("cross_entropy (fused): the %s device has no fused kernel (check tensor_has_fused)",
                         tensor_device_name(logits->storage->device));
        return NULL;
    }
    int64_t rows = logits->size[0], C = logits->size[1];
    tensor_device dev = logits->storage->device;
    tensor *xc = tensor_contiguous(logits), *yc = tensor_contiguous(labels);
    tensor *loss = tensor_empty(1, &rows, dev), *lse = tensor_empty(1, &rows, dev);
    int rc = !xc || !yc || !loss || !lse;
    if (!rc) rc = be->cross_entropy(tensor_data(loss), tensor_data(lse), tensor_data(xc), tensor_data(yc), rows, C);
    if (rc) {
        tensor_release(xc); tensor_release(yc); tensor_release(loss); tensor_release(lse);
        return NULL;
    }
    tensor_node *n = tensor_record(loss, "cross_entropy", cross_entropy_back, 2, (tensor *[]){logits, labels});
    if (n) {
        tensor_node_save(n, 0, lse);
        tensor_node_save(n, 1, xc);
        tensor_node_save(n, 2, yc);
        n->iarg[0] = rows; n->iarg[1] = C;
    } else {
        tensor_release(lse); tensor_release(xc); tensor_release(yc);
    }
    return loss;
}

// ---- layer norm ------------------------------------------------------------------------------------------

// inputs: x, weight, bias; saved: mean, invstd, contiguous x
static int layer_norm_back(tensor_node *n, tensor *out, tensor *g, tensor **gin) {
    tensor *x = n->inputs[0], *w = n->inputs[1], *b = n->inputs[2];
    tensor *mean = n->saved[0], *invstd = n->saved[1], *xc = n->saved[2];
    int64_t rows = n->iarg[0], D = n->iarg[1];
    tensor_device dev = x->storage->device;
    int ok = 1;
    tensor *gc = tensor_contiguous(g), *wc = opt_contiguous(w, &ok);
    tensor *gx = x->requires_grad ? tensor_empty(2, x->size, dev) : NULL;
    tensor *gw = w && w->requires_grad ? tensor_empty(1, &D, dev) : NULL;
    tensor *gb = b && b->requires_grad ? tensor_empty(1, &D, dev) : NULL;
    int rc = !gc || !ok || (x->requires_grad && !gx) || (w && w->requires_grad && !gw) || (b && b->requires_grad && !gb);
    if (!rc)
        rc = tensor_backend_of(x)->layer_norm_backward(opt_data(gx), opt_data(gw), opt_data(gb), tensor_data(gc),
                                                       tensor_data(xc), tensor_data(mean), tensor_data(invstd),
                                                       opt_data(wc), rows, D);
    tensor_release(gc); tensor_release(wc);
    if (rc) { tensor_release(gx); tensor_release(gw); tensor_release(gb); return -1; }
    gin[0] = gx; gin[1] = gw; gin[2] = gb;
    return 0;
}

tensor *tensor_fused_layer_norm(tensor *x, tensor *weight, tensor *bias, float eps) {
    char s1[160], s2[160];
    if (!x || x->ndim != 2) {
        tensor_set_error("layer_norm (fused): expects x (rows, features), got %s",
                         x ? tensor_shape_str(s1, sizeof s1, x) : "nothing");
        return NULL;
    }
    int64_t rows = x->size[0], D = x->size[1];
    tensor *params[2] = {weight, bias};
    for (int i = 0; i < 2; i++) {
        if (!params[i]) continue;
        if (params[i]->ndim != 1 || params[i]->size[0] != D) {
            tensor_set_error("layer_norm (fused): %s must be [%lld] for x %s, got %s", i ? "bias" : "weight",
                             (long long)D, tensor_shape_str(s1, sizeof s1, x), tensor_shape_str(s2, sizeof s2, params[i]));
            return NULL;
        }
        if (tensor_check_same_device("layer_norm", 2, (tensor *[]){x, params[i]})) return NULL;
    }
    const tensor_backend *be = tensor_backend_of(x);
    if (!be) return NULL;
    if (!be->layer_norm) {
        tensor_set_error("layer_norm (fused): the %s device has no fused kernel (check tensor_has_fused)",
                         tensor_device_name(x->storage->device));
        return NULL;
    }
    tensor_device dev = x->storage->device;
    int ok = 1;
    tensor *xc = tensor_contiguous(x), *wc = opt_contiguous(weight, &ok), *bc = opt_contiguous(bias, &ok);
    tensor *y = tensor_empty(2, x->size, dev), *mean = tensor_empty(1, &rows, dev), *invstd = tensor_empty(1, &rows, dev);
    int rc = !ok || !xc || !y || !mean || !invstd;
    if (!rc)
        rc = be->layer_norm(tensor_data(y), tensor_data(mean), tensor_data(invstd), tensor_data(xc), opt_data(wc),
                            opt_data(bc), rows, D, eps);
    tensor_release(wc); tensor_release(bc);
    if (rc) {
        tensor_release(xc); tensor_release(y); tensor_release(mean); tensor_release(invstd);
        return NULL;
    }
    tensor_node *n = tensor_record(y, "layer_norm", layer_norm_back, 3, (tensor *[]){x, weight, bias});
    if (n) {
        tensor_node_save(n, 0, mean);
        tensor_node_save(n, 1, invstd);
        tensor_node_save(n, 2, xc);
        n->reads = TENSOR_READS_IN(1);   // the weight
        n->iarg[0] = rows; n->iarg[1] = D;
    } else {
        tensor_release(mean); tensor_release(invstd); tensor_release(xc);
    }
    return y;
}

// ---- optimizer steps over many parameters -------------------------------------------------------
// Each parameter with its grad and state: contiguous, one size, all on p[0]'s device.
static int check_multi(const char *op, int count, tensor **p, tensor **g, tensor **s1, tensor **s2) {
    char a[160], b[160];
    for (int i = 0; i < count; i++) {
        tensor *all[4] = {p[i], g[i], s1 ? s1[i] : NULL, s2 ? s2[i] : NULL};
        if (!p[i] || !g[i]) {
            tensor_set_error("%s: parameter %d has no %s", op, i + 1, p[i] ? "gradient" : "tensor");
            return -1;
        }
        for (int k = 0; k < 4; k++) {
            if (all[k] && (!tensor_is_contiguous(all[k]) || tensor_numel(all[k]) != tensor_numel(p[i]))) {
                tensor_set_error("%s: parameter %d %s and its state %s must be contiguous and the same size", op, i + 1,
                                 tensor_shape_str(a, sizeof a, p[i]), tensor_shape_str(b, sizeof b, all[k]));
                return -1;
            }
            if (all[k] && tensor_check_same_device(op, 2, (tensor *[]){p[0], all[k]})) return -1;
        }
    }
    return 0;
}

// Pointer lists for the backend (freed by the caller); NULL + error when out of memory.
static void *lists(size_t bytes) {
    void *v = calloc(1, bytes ? bytes : 1);
    if (!v) tensor_set_error("optimizer step: out of host memory");
    return v;
}

int tensor_adam_step_multi(int count, tensor **p, tensor **g, tensor **m, tensor **v, const int64_t *step, float lr,
                           float beta1, float beta2, float eps, float weight_decay, int decoupled) {
    if (count <= 0) return 0;
    if (check_multi("adam", count, p, g, m, v)) return -1;
    const tensor_backend *be = tensor_backend_of(p[0]);
    if (!be) return -1;
    if (!be->adam_multi || p[0]->storage->device == TENSOR_META) {   // one kernel per parameter
        for (int i = 0; i < count; i++)
            if (tensor_adam_step(p[i], g[i], m[i], v[i], step[i], lr, beta1, beta2, eps, weight_decay, decoupled))
                return -1;
        return 0;
    }
    float **pd = lists(count * sizeof *pd), **gd = lists(count * sizeof *gd), **md = lists(count * sizeof *md);
    float **vd = lists(count * sizeof *vd), *bc1 = lists(count * sizeof *bc1), *bc2 = lists(count * sizeof *bc2);
    int64_t *n = lists(count * sizeof *n);
    int rc = !pd || !gd || !md || !vd || !bc1 || !bc2 || !n;
    for (int i = 0; !rc && i < count; i++) {
        tensor_bump_version(p[i], "an optimizer step (adam)");
        pd[i] = tensor_data(p[i]); gd[i] = tensor_data(g[i]); md[i] = tensor_data(m[i]); vd[i] = tensor_data(v[i]);
        n[i] = tensor_numel(p[i]);
        bc1[i] = 1.0f - powf(beta1, (float)step[i]);   // as tensor_adam_step
        bc2[i] = 1.0f - powf(beta2, (float)step[i]);
    }
    if (!rc) rc = be->adam_multi(count, pd, (const float *const *)gd, md, vd, n, bc1, bc2, lr, beta1, beta2, eps,
                                 weight_decay, decoupled);
    free(pd); free(gd); free(md); free(vd); free(bc1); free(bc2); free(n);
    return rc ? -1 : 0;
}

int tensor_sgd_step_multi(int count, tensor **p, tensor **g, tensor **buf, const int *first_step, float lr,
                          float momentum, float dampening, float weight_decay, int nesterov) {
    if (count <= 0) return 0;
    if (check_multi("sgd", count, p, g, buf, NULL)) return -1;
    for (int i = 0; momentum != 0.0f && i < count; i++)
        if (!buf || !buf[i]) {
            tensor_set_error("sgd: parameter %d has no momentum buffer (momentum = %g needs one)", i + 1, momentum);
            return -1;
        }
    const tensor_backend *be = tensor_backend_of(p[0]);
    if (!be) return -1;
    if (!be->sgd_multi || p[0]->storage->device == TENSOR_META) {
        for (int i = 0; i < count; i++)
            if (tensor_sgd_step(p[i], g[i], buf ? buf[i] : NULL, lr, momentum, dampening, weight_decay, nesterov,
                                first_step[i]))
                return -1;
        return 0;
    }
    float **pd = lists(count * sizeof *pd), **gd = lists(count * sizeof *gd), **bd = lists(count * sizeof *bd);
    int64_t *n = lists(count * sizeof *n);
    int rc = !pd || !gd || !bd || !n;
    for (int i = 0; !rc && i < count; i++) {
        tensor_bump_version(p[i], "an optimizer step (sgd)");
        pd[i] = tensor_data(p[i]); gd[i] = tensor_data(g[i]); bd[i] = buf && buf[i] ? tensor_data(buf[i]) : NULL;
        n[i] = tensor_numel(p[i]);
    }
    if (!rc) rc = be->sgd_multi(count, pd, (const float *const *)gd, bd, n, first_step, lr, momentum, dampening,
                                weight_decay, nesterov);
    free(pd); free(gd); free(bd); free(n);
    return rc ? -1 : 0;
}
