// gpu_optim.cu - optimizer updates, PyTorch's rules fused into one kernel per parameter
// (gpu_adam, gpu_sgd) or one launch for many parameters (gpu_adam_multi, gpu_sgd_multi:
// a model of 20 tensors steps in 1 launch instead of 20).
#include "gpu_internal.h"

// ---- the update of one element, shared by the single and multi-tensor kernels ----------------
// Adam adds weight decay to the gradient; AdamW (decoupled) shrinks p. The expression is
// tensor/cpu/optim.c's adam_range, term for term, so that every element is bitwise the
// CPU's: the gradient always gets l2 * p (0 * p for AdamW and weight_decay 0, as on the
// CPU: an infinite p makes NaN there too), the denominator multiplies by 1/sqrt(bias_c2)
// (computed on the host as the CPU does) instead of PyTorch's divide, and this file is
// built with -fmad=false (gpu.mk) so that nothing is fused into one rounding; sqrtf and
// the division are IEEE round-to-nearest under nvcc's default -prec-sqrt/-prec-div.
// p -= (lr / bias_c1) * m / (sqrt(v) * (1 / sqrt(bias_c2)) + eps).
static __device__ inline void gpu_adam_elem(float *p, const float *g, float *m, float *v, int64_t i, float lr,
                                            float beta1, float beta2, float eps, float weight_decay,
                                            float step_size, float inv_bc2_sqrt, int decoupled) {
    float pi = p[i];
    if (decoupled && weight_decay != 0.0f) pi *= 1.0f - lr * weight_decay;
    float l2 = decoupled ? 0.0f : weight_decay;
    float gi = g[i] + l2 * pi;
    float mi = beta1 * m[i] + (1.0f - beta1) * gi;
    float vi = beta2 * v[i] + (1.0f - beta2) * gi * gi;
    m[i] = mi;
    v[i] = vi;
    p[i] = pi - step_size * mi / (sqrtf(vi) * inv_bc2_sqrt + eps);
}

// torch.optim.SGD as tensor/cpu/optim.c's sgd_range, term for term (and no FMA: gpu.mk);
// buf (the momentum buffer) is unused when momentum is 0
static __device__ inline void gpu_sgd_elem(float *p, const float *g, float *buf, int64_t i, float lr, float momentum,
                                           float dampening, float weight_decay, int nesterov, int first_step) {
    float gi = g[i] + weight_decay * p[i];
    if (momentum != 0.0f) {
        float b = first_step ? gi : momentum * buf[i] + (1.0f - dampening) * gi;
        buf[i] = b;
        gi = nesterov ? gi + momentum * b : b;
    }
    p[i] -= lr * gi;
}

// p, g, m, v are (n)
__global__ void gpu_adam_kernel(float *p, const float *g, float *m, float *v, int64_t n, float lr,
                                float beta1, float beta2, float eps, float weight_decay,
                                float step_size, float inv_bc2_sqrt, int decoupled) {
    GPU_FOR_EACH(i, n) gpu_adam_elem(p, g, m, v, i, lr, beta1, beta2, eps, weight_decay, step_size, inv_bc2_sqrt,
                                     decoupled);
}

int gpu_adam(float *p, const float *g, float *m, float *v, int64_t n, float lr, float beta1,
             float beta2, float eps, float weight_decay, float bias_c1, float bias_c2, int decoupled) {
    if (n == 0) return 0;
    gpu_adam_kernel<<<gpu_blocks(n, GPU_THREADS), GPU_THREADS>>>(p, g, m, v, n, lr, beta1, beta2, eps,
                                                                 weight_decay, lr / bias_c1, 1.0f / sqrtf(bias_c2),
                                                                 decoupled);
    GPU_CHECK_LAUNCH(gpu_adam_kernel);
    return 0;
}

// p, g, buf are (n)
__global__ void gpu_sgd_kernel(float *p, const float *g, float *buf, int64_t n, float lr, float momentum,
                               float dampening, float weight_decay, int nesterov, int first_step) {
    GPU_FOR_EACH(i, n) gpu_sgd_elem(p, g, buf, i, lr, momentum, dampening, weight_decay, nesterov, first_step);
}

int gpu_sgd(float *p, const float *g, float *buf, int64_t n, float lr, float momentum,
            float dampening, float weight_decay, int nesterov, int first_step) {
    if (n == 0) return 0;
    gpu_sgd_kernel<<<gpu_blocks(n, GPU_THREADS), GPU_THREADS>>>(p, g, buf, n, lr, momentum, dampening,
                                                                weight_decay, nesterov, first_step);
    GPU_CHECK_LAUNCH(gpu_sgd_kernel);
    return 0;
}

// ---- many parameters in one launch ---------------------------------------------------------------
// The tensors' pointers travel in the kernel's parameters (no host->device copy, which
// from pageable memory would make the host wait): up to GPU_MULTI tensors a launch.
// Element e of the launch's concatenation belongs to the tensor k with
// start[k] <= e < start[k+1], found by binary search (a few steps in a table of 24).
#define GPU_MULTI 24

struct gpu_multi_args {
    int count;
    int64_t start[GPU_MULTI + 1];            // prefix sums of the sizes
    float *p[GPU_MULTI], *m[GPU_MULTI], *v[GPU_MULTI];   // m: momentum buffer for SGD
    const float *g[GPU_MULTI];
    float step_size[GPU_MULTI], inv_bc2_sqrt[GPU_MULTI];  // Adam: per tensor, steps may differ
    int first_step[GPU_MULTI];                             // SGD: per tensor
};

static __device__ inline int gpu_multi_find(const gpu_multi_args &a, int64_t e) {
    int lo = 0, hi = a.count - 1;
    while (lo < hi) {
        int mid = (lo + hi + 1) / 2;
        if (a.start[mid] <= e) lo = mid; else hi = mid - 1;
    }
    return lo;
}

// the concatenation of count tensors (a.start[count] elements)
__global__ void gpu_adam_multi_kernel(gpu_multi_args a, float lr, float beta1, float beta2, float eps,
                                      float weight_decay, int decoupled) {
    GPU_FOR_EACH(e, a.start[a.count]) {
        int k = gpu_multi_find(a, e);
        gpu_adam_elem(a.p[k], a.g[k], a.m[k], a.v[k], e - a.start[k], lr, beta1, beta2, eps, weight_decay,
                      a.step_size[k], a.inv_bc2_sqrt[k], decoupled);
    }
}

__global__ void gpu_sgd_multi_kernel(gpu_multi_args a, float lr, float momentum, float dampening, float weight_decay,
                                     int nesterov) {
    GPU_FOR_EACH(e, a.start[a.count]) {
        int k = gpu_multi_find(a, e);
        gpu_sgd_elem(a.p[k], a.g[k], a.m[k], e - a.start[k], lr, momentum, dampening, weight_decay, nesterov,
                     a.first_step[k]);
    }
}

// Fills a with tensors [from, from + a.count) of the lists; empty tensors are left out.
static void gpu_multi_fill(gpu_multi_args *a, int from, int count, float *const *p, const float *const *g,
                           float *const *m, float *const *v, const int64_t *n) {
    int c = 0;
    a->start[0] = 0;
    for (int i = from; i < from + count && c < GPU_MULTI; i++) {
        if (n[i] == 0) continue;
        a->p[c] = p[i]; a->g[c] = g[i];
        a->m[c] = m ? m[i] : NULL; a->v[c] = v ? v[i] : NULL;
        a->start[c + 1] = a->start[c] + n[i];
        c++;
    }
    a->count = c;
}

int gpu_adam_multi(int count, float *const *p, const float *const *g, float *const *m, float *const *v,
                   const int64_t *n, const float *bias_c1, const float *bias_c2, float lr, float beta1, float beta2,
                   float eps, float weight_decay, int decoupled) {
    for (int from = 0; from < count; from += GPU_MULTI) {
        gpu_multi_args a;
        int chunk = count - from < GPU_MULTI ? count - from : GPU_MULTI;
        gpu_multi_fill(&a, from, chunk, p, g, m, v, n);
        for (int i = from, c = 0; i < from + chunk; i++) {
            if (n[i] == 0) continue;
            a.step_size[c] = lr / bias_c1[i];
            a.inv_bc2_sqrt[c] = 1.0f / sqrtf(bias_c2[i]);
            c++;
        }
        if (!a.count) continue;
        gpu_adam_multi_kernel<<<gpu_blocks(a.start[a.count], GPU_THREADS), GPU_THREADS>>>(a, lr, beta1, beta2, eps,
                                                                                         weight_decay, decoupled);
        GPU_CHECK_LAUNCH(gpu_adam_multi_kernel);
    }
    return 0;
}

int gpu_sgd_multi(int count, float *const *p, const float *const *g, float *const *buf, const int64_t *n,
                  const int *first_step, float lr, float momentum, float dampening, float weight_decay, int nesterov) {
    for (int from = 0; from < count; from += GPU_MULTI) {
        gpu_multi_args a;
        int chunk = count - from < GPU_MULTI ? count - from : GPU_MULTI;
        gpu_multi_fill(&a, from, chunk, p, g, buf, NULL, n);
        for (int i = from, c = 0; i < from + chunk; i++)
            if (n[i] != 0) a.first_step[c++] = first_step[i];
        if (!a.count) continue;
        gpu_sgd_multi_kernel<<<gpu_blocks(a.start[a.count], GPU_THREADS), GPU_THREADS>>>(a, lr, momentum, dampening,
                                                                                        weight_decay, nesterov);
        GPU_CHECK_LAUNCH(gpu_sgd_multi_kernel);
    }
    return 0;
}
