// layers.c - Linear, Conv2d, pooling, BatchNorm, LayerNorm, Embedding, Dropout,
// each composed of tensor ops so autograd and the meta device come for free.
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "scope.h"

#define LL(x) ((long long)(x))

static int64_t numel_from(const tensor *t, int start) {
    int64_t n = 1;
    for (int i = start; i < t->ndim; i++) n *= t->size[i];
    return n;
}

// x (..., in) -> (..., out); flattened to 2-D so one GEMM covers every leading dim.
tensor *nn_linear(tensor *x, tensor *w, tensor *b) {
    char sx[128], sw[128];
    if (!x || !w) { tensor_set_error("nn.Linear: missing input or weight"); return NULL; }
    if (w->ndim != 2) {
        tensor_set_error("nn.Linear: weight must be [out, in] like PyTorch, got %s", nn_shape(sw, sizeof sw, w));
        return NULL;
    }
    int64_t in = w->size[1], out = w->size[0];
    if (x->ndim < 1 || x->size[x->ndim - 1] != in) {
        char hint[160] = "check in_features, or reshape the input so its last dim is the features";
        if (x->ndim >= 2 && numel_from(x, 1) == in)
            snprintf(hint, sizeof hint, "did you forget {{x:flatten(2)|tensor_flatten(x, 1, -1)}}?");
        else
            for (int d = 0; d < x->ndim; d++)
                if (x->size[d] == in) {
                    snprintf(hint, sizeof hint, "dim {{dim:%d}} has size %lld: move it last, e.g. "
                             "{{x:transpose(%d, %d)|tensor_transpose(x, %d, %d)}}", d, LL(in), d + 1, x->ndim, d,
                             x->ndim - 1);
                    break;
                }
        tensor_set_error("nn.Linear(%lld->%lld): expects last dim %lld, got %s; %s", LL(in), LL(out), LL(in),
                         nn_shape(sx, sizeof sx, x), hint);
        return NULL;
    }
    if (b && (b->ndim != 1 || b->size[0] != out)) {
        tensor_set_error("nn.Linear(%lld->%lld): bias must be [%lld], got %s", LL(in), LL(out), LL(out),
                         nn_shape(sw, sizeof sw, b));
        return NULL;
    }
    nn_scope s = {0};
    tensor *x2, *wt, *y;
    int64_t s2[2] = {-1, in}, so[TENSOR_MAX_DIMS];
    NN_TRY(&s, x2, tensor_reshape(x, 2, s2));
    NN_TRY(&s, wt, tensor_t(w));
    NN_TRY(&s, y, tensor_matmul(x2, wt));
    if (b) NN_TRY(&s, y, tensor_add(y, b));
    memcpy(so, x->size, sizeof(int64_t) * x->ndim);
    so[x->ndim - 1] = out;
    NN_TRY(&s, y, tensor_reshape(y, x->ndim, so));
    return nn_scope_return(&s, y);
fail:
    nn_scope_end(&s);
    return NULL;
}

// The ops validate (tensor/ops_conv.c); the layer only puts its name on their errors.
tensor *nn_conv2d(tensor *x, tensor *w, tensor *b, int stride, int padding, int groups) {
    tensor *y = tensor_conv2d(x, w, b, stride, padding, groups);
    if (!y && w && w->ndim == 4) {
        char name[128];
        int g = groups < 1 ? 1 : groups;
        snprintf(name, sizeof name, "nn.Conv2d(%lld->%lld, k=%lldx%lld%s)", LL(w->size[1] * g), LL(w->size[0]),
                 LL(w->size[2]), LL(w->size[3]), g > 1 ? ", grouped" : "");
        tensor_error_rename("conv2d", name);
    }
    return y;
}

tensor *nn_max_pool2d(tensor *x, int k, int stride, int padding) {
    tensor *y = tensor_max_pool2d(x, k, stride, padding);
    if (!y) tensor_error_rename("max_pool2d", "nn.MaxPool2d");
    return y;
}

tensor *nn_avg_pool2d(tensor *x, int k, int stride, int padding) {
    tensor *y = tensor_avg_pool2d(x, k, stride, padding);
    if (!y) tensor_error_rename("avg_pool2d", "nn.AvgPool2d");
    return y;
}

// x is viewed as (N, C, L) with L the product of the spatial dims (1 for BatchNorm1d
// on (N,C)); statistics are over N and L. tensor_batch_norm checks; the layer names itself.
tensor *nn_batch_norm(tensor *x, tensor *running_mean, tensor *running_var, tensor *weight, tensor *bias,
                      int training, float momentum, float eps) {
    tensor *y = tensor_batch_norm(x, weight, bias, running_mean, running_var, training, momentum, eps);
    if (!y && x) {
        char name[64];
        tensor *p = weight ? weight : running_mean;
        int64_t c = p && p->ndim == 1 ? p->size[0] : x->ndim >= 2 ? x->size[1] : 0;
        snprintf(name, sizeof name, "nn.BatchNorm%s(%lld)", x->ndim == 4 ? "2d" : "1d", LL(c));
        tensor_error_rename("batch_norm", name);
    }
    return y;
}

// x viewed as (rows, D) and weight/bias as (D) for the fused kernel; the composed path
// below is the reference it is tested against
static tensor *layer_norm_fused(tensor *x, int64_t D, tensor *weight, tensor *bias, float eps) {
    nn_scope s = {0};
    tensor *x2, *w = NULL, *b = NULL, *y;
    int64_t s2[2] = {-1, D};
    NN_TRY(&s, x2, tensor_reshape(x, 2, s2));
    if (weight) NN_TRY(&s, w, tensor_reshape(weight, 1, &D));
    if (bias) NN_TRY(&s, b, tensor_reshape(bias, 1, &D));
    NN_TRY(&s, y, tensor_fused_layer_norm(x2, w, b, eps));
    NN_TRY(&s, y, tensor_reshape(y, x->ndim, x->size));
    return nn_scope_return(&s, y);
fail:
    nn_scope_end(&s);
    return NULL;
}

tensor *nn_layer_norm(tensor *x, int k, tensor *weight, tensor *bias, float eps) {
    char sx[128], sw[128];
    const tensor *ref = weight ? weight : bias;
    if (!x || k < 1 || x->ndim < k) {
        tensor_set_error("nn.LayerNorm: cannot normalise the last %d dims of %s", k, nn_shape(sx, sizeof sx, x));
        return NULL;
    }
    for (int i = 0; ref && i < k; i++) {
        if (ref->ndim != k || ref->size[i] != x->size[x->ndim - k + i]) {
            tensor_set_error("nn.LayerNorm(%s): expects the input to end in %s, got %s; normalise the feature dim "
                             "(move it last)", nn_shape(sw, sizeof sw, ref), nn_shape(sw, sizeof sw, ref),
                             nn_shape(sx, sizeof sx, x));
            return NULL;
        }
    }
    if (weight && bias && !nn_same_shape(weight, bias)) {
        tensor_set_error("nn.LayerNorm: weight %s and bias %s differ", nn_shape(sw, sizeof sw, weight),
                         nn_shape(sx, sizeof sx, bias));
        return NULL;
    }
    int64_t s2[2] = {-1, numel_from(x, x->ndim - k)};
    if (s2[1] > 0 && tensor_numel(x) > 0 && tensor_has_fused(x, TENSOR_FUSED_LAYER_NORM))
        return layer_norm_fused(x, s2[1], weight, bias, eps);   // the GPU: one kernel each way
    nn_scope s = {0};
    tensor *x2, *mean, *d, *var, *y, *t;
    NN_TRY(&s, x2, tensor_reshape(x, 2, s2));
    NN_TRY(&s, mean, tensor_mean(x2, 1, 1));
    NN_TRY(&s, d, tensor_sub(x2, mean));
    NN_TRY(&s, t, tensor_mul(d, d));
    NN_TRY(&s, var, tensor_mean(t, 1, 1));
    NN_TRY(&s, t, tensor_add_scalar(var, eps));
    NN_TRY(&s, t, tensor_pow_scalar(t, -0.5f));
    NN_TRY(&s, y, tensor_mul(d, t));
    NN_TRY(&s, y, tensor_reshape(y, x->ndim, x->size));
    if (weight) NN_TRY(&s, y, tensor_mul(y, weight));     // broadcasts over the leading dims
    if (bias) NN_TRY(&s, y, tensor_add(y, bias));
    return nn_scope_return(&s, y);
fail:
    nn_scope_end(&s);
    return NULL;
}

tensor *nn_embedding_base(tensor *weight, tensor *idx, int base) {
    char name[96], sw[128];
    if (!weight || weight->ndim != 2) {
        tensor_set_error("nn.Embedding: weight must be [n, d], got %s", nn_shape(sw, sizeof sw, weight));
        return NULL;
    }
    snprintf(name, sizeof name, "nn.Embedding(%lld, %lld)", LL(weight->size[0]), LL(weight->size[1]));
    if (!idx || idx->ndim >= TENSOR_MAX_DIMS) {
        tensor_set_error("%s: expects ids of at most %d dims, got %s", name, TENSOR_MAX_DIMS - 1,
                         nn_shape(sw, sizeof sw, idx));
        return NULL;
    }
    if (nn_check_labels(name, "id", idx, weight->size[0], base)) return NULL;
    nn_scope s = {0};
    tensor *flat, *rows, *y;
    int64_t n = -1, so[TENSOR_MAX_DIMS];
    NN_TRY(&s, flat, tensor_reshape(idx, 1, &n));
    if (base) NN_TRY(&s, flat, tensor_add_scalar(flat, (float)-base));
    NN_TRY(&s, rows, tensor_index_select(weight, 0, flat));
    memcpy(so, idx->size, sizeof(int64_t) * idx->ndim);
    so[idx->ndim] = weight->size[1];
    NN_TRY(&s, y, tensor_reshape(rows, idx->ndim + 1, so));
    return nn_scope_return(&s, y);
fail:
    nn_scope_end(&s);
    return NULL;
}

// p is checked once, by tensor_dropout: [0, 1] as in PyTorch (p = 1 zeroes everything)
tensor *nn_dropout(tensor *x, float p, int training) { return tensor_dropout(x, p, training); }
