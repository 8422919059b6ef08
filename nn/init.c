// init.c - PyTorch-default initialisers (drawn from the seeded RNG), the optimizer
// steps over p->grad, and the mult-add counts behind nn.summary.
#include <math.h>
#include <string.h>
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

static int check_state(const char *opt, const tensor *p, const tensor *st, const char *what) {
    char sp[128], ss[128];
    if (st && !nn_same_shape(p, st)) {
        tensor_set_error("%s: %s %s does not match its parameter %s; was the model changed after the optimizer "
                         "was made?", opt, what, nn_shape(ss, sizeof ss, st), nn_shape(sp, sizeof sp, p));
        return -1;
    }
    if (p->grad && !nn_same_shape(p, p->grad)) {
        tensor_set_error("%s: gradient %s does not match its parameter %s", opt, nn_shape(ss, sizeof ss, p->grad),
                         nn_shape(sp, sizeof sp, p));
        return -1;
    }
    return 0;
}

int nn_sgd_step(tensor *p, tensor *buf, float lr, float momentum, float dampening, float weight_decay,
                int nesterov, int first_step) {
    if (!p) { tensor_set_error("optim.SGD: missing parameter"); return -1; }
    if (!p->grad) return 0;                               // unused this step, as in PyTorch
    if (check_state("optim.SGD", p, buf, "momentum buffer")) return -1;
    if (momentum != 0.0f && !buf) { tensor_set_error("optim.SGD: momentum %g needs a buffer", momentum); return -1; }
    return tensor_sgd_step(p, p->grad, buf, lr, momentum, dampening, weight_decay, nesterov, first_step);
}

int nn_adam_step(tensor *p, tensor *m, tensor *v, int64_t step, float lr, float beta1, float beta2, float eps,
                 float weight_decay, int decoupled) {
    if (!p || !m || !v) { tensor_set_error("optim.Adam: missing parameter or state"); return -1; }
    if (!p->grad) return 0;
    if (check_state("optim.Adam", p, m, "exp_avg") || check_state("optim.Adam", p, v, "exp_avg_sq")) return -1;
    return tensor_adam_step(p, p->grad, m, v, step, lr, beta1, beta2, eps, weight_decay, decoupled);
}

int64_t nn_mult_adds(const char *kind, const tensor *out, const tensor *w) {
    if (!kind || !out) return 0;
    int64_t n = tensor_numel(out);
    if (!strcmp(kind, "linear") && w && w->ndim == 2) return n * w->size[1];
    if (!strcmp(kind, "conv2d") && w && w->ndim == 4) return n * w->size[1] * w->size[2] * w->size[3];
    if (!strcmp(kind, "norm")) return n;
    return 0;
}

// Saturates at INT64_MAX: a learner asking about absurd sizes gets "too many", not UB.
int64_t nn_attention_macs(int64_t batch, int64_t t, int64_t s, int64_t d, int64_t dv) {
    int64_t r = 1, f[4] = {batch, t, s, 0};
    if (__builtin_add_overflow(d, dv, &f[3])) return INT64_MAX;
    for (int i = 0; i < 4; i++)
        if (f[i] < 0 || __builtin_mul_overflow(r, f[i], &r)) return INT64_MAX;
    return r;
}
