// optim.c - optimizer updates: Adam/AdamW and SGD, in place.
#include <math.h>
#include "cpu.h"

// torch.optim.Adam / AdamW. Weight decay is applied in its own pass so the main
// loop is branch-free and vectorises (restrict: p, g, m, v never alias).
int cpu_adam(float *restrict p, const float *restrict g, float *restrict m, float *restrict v, int64_t n,
             float lr, float b1, float b2, float eps, float wd, float bc1, float bc2, int decoupled) {
    float step_size = lr / bc1;
    float inv_bc2_sqrt = 1.0f / sqrtf(bc2);
    if (decoupled && wd != 0.0f)
        for (int64_t i = 0; i < n; i++) p[i] *= 1.0f - lr * wd;
    float l2 = decoupled ? 0.0f : wd;   // Adam's L2 term joins the gradient
    for (int64_t i = 0; i < n; i++) {
        float gi = g[i] + l2 * p[i];
        float mi = b1 * m[i] + (1.0f - b1) * gi;
        float vi = b2 * v[i] + (1.0f - b2) * gi * gi;
        m[i] = mi;
        v[i] = vi;
        p[i] -= step_size * mi / (sqrtf(vi) * inv_bc2_sqrt + eps);
    }
    return 0;
}

// torch.optim.SGD
int cpu_sgd(float *p, const float *g, float *buf, int64_t n, float lr, float momentum, float dampening,
            float wd, int nesterov, int first) {
    for (int64_t i = 0; i < n; i++) {
        float gi = g[i] + wd * p[i];
        if (momentum != 0.0f) {
            buf[i] = first ? gi : momentum * buf[i] + (1.0f - dampening) * gi;
            gi = nesterov ? gi + momentum * buf[i] : buf[i];
        }
        p[i] -= lr * gi;
    }
    return 0;
}
