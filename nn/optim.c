// optim.c - the optimizer steps over p->grad (torch.optim's rules, fused in tensor/):
// the state's shapes are checked against the parameter first.
#include "scope.h"

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
