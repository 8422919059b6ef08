// ops_norm.c - fused batch norm: statistics, normalisation, affine and running-stat
// update in one backend call, and a backward of two passes (composed of tensor ops it
// took ~6 full passes forward and more backward).
#include "internal.h"


// inputs: x, weight, bias; saved: mean, invstd, contiguous x
static int batch_norm_back(tensor_node *n, tensor *out, tensor *g, tensor **gin) {
    tensor *x = n->inputs[0], *w = n->inputs[1], *b = n->inputs[2];
    tensor *mean = n->saved[0], *invstd = n->saved[1], *xc = n->saved[2];
    int64_t N = n->iarg[0], C = n->iarg[1], L = n->iarg[2];
    int use_batch = (int)n->iarg[3];
    int ok = 1;
    tensor *gc = tensor_contiguous(g);
    tensor *wc = opt_contiguous(w, &ok);
    tensor *gx = x->requires_grad ? tensor_empty(x->ndim, x->size, x->storage->device) : NULL;
    tensor *gw = w && w->requires_grad ? tensor_empty(1, &C, x->storage->device) : NULL;
    tensor *gb = b && b->requires_grad ? tensor_empty(1, &C, x->storage->device) : NULL;
    int rc = !gc || !ok || (x->requires_grad && !gx) || (w && w->requires_grad && !gw) || (b && b->requires_grad && !gb);
    if (!rc && N * C * L != 0)
        rc = TENSOR_RUN(x, batch_norm_backward, opt_data(gx), opt_data(gw), opt_data(gb), tensor_data(gc),
                        tensor_data(xc), tensor_data(mean), tensor_data(invstd), opt_data(wc), N, C, L, use_batch);
    else if (!rc) {   // an empty batch: sums over nothing are 0
        if (gw) rc |= tensor_fill_(gw, 0.0f);
        if (gb) rc |= tensor_fill_(gb, 0.0f);
    }
    tensor_release(gc); tensor_release(wc);
    if (rc) { tensor_release(gx); tensor_release(gw); tensor_release(gb); return -1; }
    gin[0] = gx; gin[1] = gw; gin[2] = gb;
    return 0;
}

// x is (N, C, ...) viewed as (N, C, L); weight, bias, running_mean, running_var are
// (C) or NULL. Uses the batch's statistics when training or when a running stat is
// missing, and then updates the running stats (if given) in place, as PyTorch does.
tensor *tensor_batch_norm(tensor *x, tensor *weight, tensor *bias, tensor *running_mean, tensor *running_var,
                          int training, float momentum, float eps) {
    char s1[160], s2[160];
    tensor *args[5] = {x, weight, bias, running_mean, running_var};
    static const char *names[5] = {"input", "weight", "bias", "running_mean", "running_var"};
    if (!x || x->ndim < 2) {
        tensor_set_error("batch_norm: expects [N,C] or [N,C,H,W] input, got %s%s",
                         x ? tensor_shape_str(s1, sizeof s1, x) : "nothing",
                         x && x->ndim == 1 ? "; add a batch dim with {{x:unsqueeze(1)|tensor_unsqueeze(x, 0)}}" : "");
        return NULL;
    }
    int64_t N = x->size[0], C = x->size[1], L = 1;
    for (int i = 2; i < x->ndim; i++) L *= x->size[i];
    for (int i = 1; i < 5; i++)
        if (args[i] && (args[i]->ndim != 1 || args[i]->size[0] != C)) {
            tensor_set_error("batch_norm: the input %s has %lld channels at dim {{dim:1}} but the %s is %s (one value "
                             "per channel)", tensor_shape_str(s1, sizeof s1, x), (long long)C, names[i],
                             tensor_shape_str(s2, sizeof s2, args[i]));
            return NULL;
        }
    for (int i = 1; i < 5; i++)
        if (args[i] && tensor_check_same_device("batch_norm", 2, (tensor *[]){x, args[i]})) return NULL;
    int use_batch = training || !running_mean || !running_var;
    int update = use_batch && running_mean && running_var;
    if (use_batch && N * L <= 1) {
        tensor_set_error("batch_norm: expected more than 1 value per channel when training, got input %s; "
                         "use a batch larger than 1 or {{model:eval()|training = 0}}", tensor_shape_str(s1, sizeof s1, x));
        return NULL;
    }
    tensor_device dev = x->storage->device;
    int ok = 1;
    tensor *xc = tensor_contiguous(x);
    tensor *wc = opt_contiguous(weight, &ok), *bc = opt_contiguous(bias, &ok);
    tensor *rm = use_batch && !update ? NULL : opt_contiguous(running_mean, &ok);
    tensor *rv = use_batch && !update ? NULL : opt_contiguous(running_var, &ok);
    tensor *y = xc ? tensor_empty(x->ndim, x->size, dev) : NULL;
    tensor *mean = tensor_empty(1, &C, dev), *invstd = tensor_empty(1, &C, dev);
    int rc = !ok || !xc || !y || !mean || !invstd;
    if (!rc && C)
        rc = TENSOR_RUN(mean, batch_norm, tensor_data(y), tensor_data(mean), tensor_data(invstd), tensor_data(xc),
                        opt_data(wc), opt_data(bc), opt_data(rm), opt_data(rv), N, C, L, use_batch, momentum, eps);
    // a non-contiguous running stat was updated in a copy: write it back
    if (!rc && update && rm != running_mean) rc = tensor_copy_(running_mean, rm);
    if (!rc && update && rv != running_var) rc = tensor_copy_(running_var, rv);
    if (!rc && update && rm == running_mean) tensor_bump_version(running_mean, "batch_norm (running stats)");
    if (!rc && update && rv == running_var) tensor_bump_version(running_var, "batch_norm (running stats)");
    tensor_release(wc); tensor_release(bc); tensor_release(rm); tensor_release(rv);
    if (rc) {
        tensor_release(xc); tensor_release(y); tensor_release(mean); tensor_release(invstd);
        return NULL;
    }
    tensor_node *n = tensor_record(y, "batch_norm", batch_norm_back, 3, (tensor *[]){x, weight, bias});
    if (n) {
        tensor_node_save(n, 0, mean);
        tensor_node_save(n, 1, invstd);
        tensor_node_save(n, 2, xc);          // x itself when contiguous: its changes are caught
        n->reads = TENSOR_READS_IN(1);       // the weight
        n->iarg[0] = N; n->iarg[1] = C; n->iarg[2] = L; n->iarg[3] = use_batch;
    } else {
        tensor_release(mean); tensor_release(invstd); tensor_release(xc);
    }
    return y;
}
