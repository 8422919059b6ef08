// optim_step.c - fused in-place optimizer updates (PyTorch's exact rules).
#include <math.h>
#include "internal.h"

static int check_param(const char *op, tensor *p, tensor *g, tensor *s1, tensor *s2) {
    char a[160], b[160];
    tensor *all[4] = {p, g, s1, s2};
    for (int i = 0; i < 4; i++) {
        if (!all[i]) continue;
        if (!tensor_is_contiguous(all[i]) || tensor_numel(all[i]) != tensor_numel(p)) {
            tensor_set_error("%s: parameter %s and its state %s must be contiguous and the same size", op,
                             tensor_shape_str(a, sizeof a, p), tensor_shape_str(b, sizeof b, all[i]));
            return -1;
        }
    }
    return tensor_check_same_device(op, 4, all);
}

int tensor_adam_step(tensor *p, tensor *g, tensor *m, tensor *v, int64_t step, float lr, float beta1, float beta2,
                     float eps, float weight_decay, int decoupled) {
    if (check_param("adam", p, g, m, v)) return -1;
    tensor_bump_version(p, "an optimizer step (adam)");
    float bc1 = 1.0f - powf(beta1, (float)step), bc2 = 1.0f - powf(beta2, (float)step);
    return TENSOR_RUN(p, adam, tensor_data(p), tensor_data(g), tensor_data(m), tensor_data(v), tensor_numel(p), lr,
                      beta1, beta2, eps, weight_decay, bc1, bc2, decoupled);
}

int tensor_sgd_step(tensor *p, tensor *g, tensor *buf, float lr, float momentum, float dampening, float weight_decay,
                    int nesterov, int first_step) {
    if (check_param("sgd", p, g, buf, NULL)) return -1;
    tensor_bump_version(p, "an optimizer step (sgd)");
    return TENSOR_RUN(p, sgd, tensor_data(p), tensor_data(g), buf ? tensor_data(buf) : NULL, tensor_numel(p), lr,
                      momentum, dampening, weight_decay, nesterov, first_step);
}
