// init.c - PyTorch-default initialisers, drawn from the seeded RNG (torch.nn.init).
#include <math.h>
#include "scope.h"

#define LL(x) ((long long)(x))

// Draw into a fresh tensor, then copy in place: the parameter keeps its identity
// (and requires_grad), and no autograd is recorded.
static int fill_from(tensor *t, tensor *src) {
    if (!src) return -1;
    int prev = tensor_set_grad_enabled(0);   // an init is not a step of the graph (torch.nn.init: no_grad)
    int rc = tensor_copy_(t, src);
    tensor_set_grad_enabled(prev);
    tensor_release(src);
    return rc;
}

int nn_uniform_(tensor *t, float lo, float hi) {
    if (!t) { tensor_set_error("nn.init.uniform_: missing tensor"); return -1; }
    return fill_from(t, tensor_uniform(t->ndim, t->size, lo, hi, nn_device(t)));
}

int nn_normal_(tensor *t, float mean, float std) {
    if (!t) { tensor_set_error("nn.init.normal_: missing tensor"); return -1; }
    tensor *r = tensor_randn(t->ndim, t->size, nn_device(t)), *a = NULL, *b = NULL;
    if (r && (a = tensor_mul_scalar(r, std))) b = tensor_add_scalar(a, mean);
    tensor_release(r);
    tensor_release(a);
    return fill_from(t, b);
}

int nn_kaiming_uniform_(tensor *w, int64_t fan_in) {
    if (fan_in < 1) { tensor_set_error("nn.init.kaiming_uniform_: fan_in %lld must be >= 1", LL(fan_in)); return -1; }
    float bound = (float)(1.0 / sqrt((double)fan_in));   // kaiming_uniform(a=sqrt(5)) == 1/sqrt(fan_in)
    return nn_uniform_(w, -bound, bound);
}

int nn_xavier_uniform_(tensor *w, int64_t fan_in, int64_t fan_out) {
    if (fan_in + fan_out < 1) { tensor_set_error("nn.init.xavier_uniform_: fan_in + fan_out must be >= 1"); return -1; }
    float bound = (float)sqrt(6.0 / (double)(fan_in + fan_out));
    return nn_uniform_(w, -bound, bound);
}
