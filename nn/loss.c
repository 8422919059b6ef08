// loss.c - MSE, cross-entropy and BCE-with-logits, composed of tensor ops.
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "scope.h"

#define LL(x) ((long long)(x))

int nn_parse_reduction(const char *name, nn_reduction *out) {
    if (!name || !strcmp(name, "mean")) *out = NN_REDUCTION_MEAN;
    else if (!strcmp(name, "sum")) *out = NN_REDUCTION_SUM;
    else if (!strcmp(name, "none")) *out = NN_REDUCTION_NONE;
    else {
        tensor_set_error("reduction '%s': use \"mean\", \"sum\" or \"none\"", name);
        return -1;
    }
    return 0;
}

// Takes over loss (a new reference) and returns the reduced one.
static tensor *reduce(tensor *loss, nn_reduction r) {
    if (!loss || r == NN_REDUCTION_NONE) return loss;
    tensor *out = r == NN_REDUCTION_SUM ? tensor_sum(loss, TENSOR_ALL_DIMS, 0) : tensor_mean(loss, TENSOR_ALL_DIMS, 0);
    tensor_release(loss);
    return out;
}

static int check_same(const char *op, const char *a_name, const tensor *a, const char *b_name, const tensor *b) {
    char sa[128], sb[128];
    if (!a || !b) { tensor_set_error("%s: missing %s", op, a ? b_name : a_name); return -1; }
    if (nn_same_shape(a, b)) return 0;
    const char *hint = "give both the same shape";
    if (tensor_numel(a) == tensor_numel(b))
        hint = "same number of values: reshape one, e.g. "
               "{{target:view(input:shape())|tensor_view(target, input->ndim, input->size)}}";
    tensor_set_error("%s: %s %s and %s %s differ in shape (broadcasting them is almost always a bug); %s", op,
                     a_name, nn_shape(sa, sizeof sa, a), b_name, nn_shape(sb, sizeof sb, b), hint);
    return -1;
}

int nn_check_labels(const char *op, const char *what, const tensor *labels, int64_t n_classes, int base) {
    if (!labels) { tensor_set_error("%s: missing %ss", op, what); return -1; }
    if (nn_device(labels) == TENSOR_META) return 0;      // no values to check
    // the GPU checks them itself and reports at the next sync: no copy, no wait here
    int on_device = tensor_check_labels_on_device(op, what, labels, n_classes, base);
    if (on_device) return on_device < 0 ? -1 : 0;
    float *v = tensor_to_host(labels);
    if (!v) return -1;
    int64_t n = tensor_numel(labels);
    int rc = 0;
    for (int64_t i = 0; i < n; i++) {
        float x = v[i];
        if (x != floorf(x) || x < (float)base || x >= (float)(base + n_classes)) {
            tensor_set_error("%s: %s %g at position %lld: %ss are %d-based %s %d..%lld", op, what, x,
                             LL(i + base), what, base, strcmp(what, "label") ? "ids" : "classes", base,
                             LL(base + n_classes - 1));
            rc = -1;
            break;
        }
    }
    free(v);
    return rc;
}

tensor *nn_mse_loss(tensor *pred, tensor *target, nn_reduction r) {
    if (check_same("nn.mse_loss", "input", pred, "target", target)) return NULL;
    nn_scope s = {0};
    tensor *d, *sq;
    NN_TRY(&s, d, tensor_sub(pred, target));
    NN_TRY(&s, sq, tensor_mul(d, d));
    return reduce(nn_scope_return(&s, sq), r);
fail:
    nn_scope_end(&s);
    return NULL;
}

tensor *nn_cross_entropy(tensor *logits, tensor *labels, nn_reduction r) {
    return nn_cross_entropy_base(logits, labels, r, 0);
}

// logits (..., C), labels (...): -log_softmax(logits)[label - base].
tensor *nn_cross_entropy_base(tensor *logits, tensor *labels, nn_reduction r, int base) {
    return nn_cross_entropy_opts(logits, labels, NULL, 0.0f, r, base);
}

// (1-e) * nll + e/C * smooth, each (...) per row, reduced as PyTorch: "mean" over the
// weights of the labels (the row count without weights)
static tensor *ce_combine(tensor *nll, tensor *smooth, tensor *wy, float e, int64_t C, nn_reduction r) {
    nn_scope s = {0};
    tensor *a, *b, *loss, *den;
    NN_TRY(&s, a, tensor_mul_scalar(nll, 1.0f - e));
    if (e > 0) {
        NN_TRY(&s, b, tensor_mul_scalar(smooth, e / (float)C));
        NN_TRY(&s, a, tensor_add(a, b));
    }
    if (r == NN_REDUCTION_NONE) return nn_scope_return(&s, a);
    NN_TRY(&s, loss, tensor_sum(a, TENSOR_ALL_DIMS, 0));
    if (r == NN_REDUCTION_MEAN) {
        if (wy) {
            NN_TRY(&s, den, tensor_sum(wy, TENSOR_ALL_DIMS, 0));
            NN_TRY(&s, loss, tensor_div(loss, den));
        } else {
            NN_TRY(&s, loss, tensor_div_scalar(loss, (float)tensor_numel(nll)));
        }
    }
    return nn_scope_return(&s, loss);
fail:
    nn_scope_end(&s);
    return NULL;
}

// The GPU's one-kernel path (no class weights, no smoothing); the composed path below is
// the reference it is tested against (tests/lua/test_gpu_parity.lua).
static tensor *ce_fused(tensor *logits, tensor *labels, int64_t C, nn_reduction r, int base) {
    nn_scope s = {0};
    tensor *x2, *y1, *nll;
    int64_t xs[2] = {-1, C}, ys[1] = {-1};
    NN_TRY(&s, x2, tensor_reshape(logits, 2, xs));
    NN_TRY(&s, y1, tensor_reshape(labels, 1, ys));
    if (base) NN_TRY(&s, y1, tensor_add_scalar(y1, (float)-base));
    NN_TRY(&s, nll, tensor_fused_cross_entropy(x2, y1));
    NN_TRY(&s, nll, tensor_reshape(nll, labels->ndim, labels->size));
    tensor *loss = ce_combine(nll, NULL, NULL, 0.0f, C, r);
    nn_scope_end(&s);
    return loss;
fail:
    nn_scope_end(&s);
    return NULL;
}

// cross-entropy on logits, or (is_logp) the negative log-likelihood of log-probabilities
// given as they are: nll_loss is cross_entropy without the log_softmax
static tensor *ce_core(const char *op, tensor *logits, tensor *labels, tensor *weight, float e, nn_reduction r,
                       int base, int is_logp) {
    char sl[128], sy[128];
    const char *in = is_logp ? "log-probs" : "logits";
    if (!logits || !labels) { tensor_set_error("%s: missing %s or labels", op, in); return NULL; }
    int ok = logits->ndim >= 1 && labels->ndim == logits->ndim - 1;
    for (int i = 0; ok && i < labels->ndim; i++) ok = labels->size[i] == logits->size[i];
    if (!ok) {
        const char *hint = "labels hold one class index per row";
        if (labels->ndim == logits->ndim && nn_same_shape(labels, logits))
            hint = "labels look one-hot: pass class indices, e.g. {{labels:argmax(-1)|tensor_argmax(labels, -1, 0)}}";
        else if (labels->ndim == logits->ndim && labels->size[labels->ndim - 1] == 1)
            hint = "drop the last dim with {{labels:view(-1)|tensor_view(labels, 1, (int64_t[]){-1})}}";
        tensor_set_error("%s: %s %s (rows x classes) need labels of their leading shape, got %s; %s", op, in,
                         nn_shape(sl, sizeof sl, logits), nn_shape(sy, sizeof sy, labels), hint);
        return NULL;
    }
    int cdim = logits->ndim - 1;
    int64_t C = logits->size[cdim];
    if (!(e >= 0 && e <= 1)) {
        tensor_set_error("%s: label_smoothing = %g must be in [0, 1]", op, e);
        return NULL;
    }
    if (weight && (weight->ndim != 1 || weight->size[0] != C)) {
        tensor_set_error("%s: weight must be [%lld] (one per class of %s %s), got %s", op, LL(C), in,
                         nn_shape(sl, sizeof sl, logits), nn_shape(sy, sizeof sy, weight));
        return NULL;
    }
    if (nn_check_labels(op, "label", labels, C, base)) return NULL;
    if (!is_logp && !weight && e == 0 && C > 0 && tensor_numel(labels) > 0 &&
        tensor_has_fused(logits, TENSOR_FUSED_CROSS_ENTROPY))
        return ce_fused(logits, labels, C, r, base);
    nn_scope s = {0};
    tensor *logp, *idx, *picked, *nll, *smooth = NULL, *wy = NULL, *t;
    NN_TRY(&s, logp, is_logp ? tensor_retain(logits) : tensor_log_softmax(logits, cdim));
    NN_TRY(&s, idx, base ? tensor_add_scalar(labels, (float)-base) : tensor_retain(labels));
    NN_TRY(&s, t, tensor_unsqueeze(idx, cdim));
    NN_TRY(&s, picked, tensor_gather(logp, cdim, t));
    NN_TRY(&s, picked, tensor_squeeze(picked, cdim));
    NN_TRY(&s, nll, tensor_neg(picked));
    if (weight) {   // w[y_i], in the labels' shape
        int64_t n = tensor_numel(idx);
        NN_TRY(&s, t, tensor_reshape(idx, 1, &n));
        NN_TRY(&s, wy, tensor_index_select(weight, 0, t));
        NN_TRY(&s, wy, tensor_reshape(wy, labels->ndim, labels->size));
        NN_TRY(&s, nll, tensor_mul(nll, wy));
    }
    if (e > 0) {
        NN_TRY(&s, t, weight ? tensor_mul(logp, weight) : tensor_retain(logp));
        NN_TRY(&s, t, tensor_sum(t, cdim, 0));
        NN_TRY(&s, smooth, tensor_neg(t));
    }
    tensor *loss = ce_combine(nll, smooth, wy, e, C, r);
    nn_scope_end(&s);
    return loss;
fail:
    nn_scope_end(&s);
    return NULL;
}

tensor *nn_cross_entropy_opts(tensor *logits, tensor *labels, tensor *weight, float e, nn_reduction r, int base) {
    return ce_core("nn.cross_entropy", logits, labels, weight, e, r, base, 0);
}

tensor *nn_nll_loss(tensor *logp, tensor *labels, tensor *weight, nn_reduction r, int base) {
    return ce_core("nn.nll_loss", logp, labels, weight, 0.0f, r, base, 1);
}

// max(x,0) - x*y + log(1 + exp(-|x|)): never overflows, gradient sigmoid(x) - y.
tensor *nn_bce_with_logits(tensor *x, tensor *y, nn_reduction r) {
    if (check_same("nn.bce_with_logits", "logits", x, "target", y)) return NULL;
    nn_scope s = {0};
    tensor *pos, *xy, *t, *loss;
    NN_TRY(&s, pos, tensor_relu(x));
    NN_TRY(&s, xy, tensor_mul(x, y));
    NN_TRY(&s, t, tensor_abs(x));
    NN_TRY(&s, t, tensor_neg(t));
    NN_TRY(&s, t, tensor_exp(t));
    NN_TRY(&s, t, tensor_add_scalar(t, 1.0f));
    NN_TRY(&s, t, tensor_log(t));
    NN_TRY(&s, loss, tensor_sub(pos, xy));
    NN_TRY(&s, loss, tensor_add(loss, t));
    return reduce(nn_scope_return(&s, loss), r);
fail:
    nn_scope_end(&s);
    return NULL;
}
