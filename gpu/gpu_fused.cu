// gpu_fused.cu - kernels that do in one launch what the composed ops do in many:
// softmax + cross-entropy (forward and backward) and layer norm (forward and backward).
// A warp owns a row: rows of a few to a few thousand elements (class counts, feature
// widths) are walked by 32 lanes with coalesced reads and reduced with shuffles, and a
// block of 256 threads serves 8 rows at once. The CPU's composed path is the reference
// (tests/lua/test_gpu_parity.lua compares them).
#include <math.h>
#include "gpu_internal.h"

#define GPU_WARPS_PER_BLOCK (GPU_THREADS / 32)

static __device__ inline float gpu_warp_sum(float v) {
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;   // every lane has the sum
}

static __device__ inline float gpu_warp_max(float v) {
    for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
    return v;
}

// Rows `row` of a warp-per-row kernel; lane walks the row's elements.
#define GPU_FOR_EACH_WARP_ROW(row, rows) \
    for (int64_t row = (int64_t)blockIdx.x * GPU_WARPS_PER_BLOCK + (threadIdx.x >> 5); row < (rows); \
         row += (int64_t)gridDim.x * GPU_WARPS_PER_BLOCK)

static unsigned gpu_warp_row_blocks(int64_t rows) { return gpu_blocks(rows, GPU_WARPS_PER_BLOCK); }

// ---- softmax + cross-entropy -------------------------------------------------------------------
// logits (rows, C), labels (rows) 0-based class floats (checked beforehand on the device)
// -> loss (rows) = logsumexp(x) - x[label], lse (rows) kept for the backward.
// The max is taken first so exp never overflows (as log_softmax on the CPU).
__global__ void gpu_cross_entropy_kernel(float *loss, float *lse, const float *x, const float *labels,
                                         int64_t rows, int64_t C) {
    unsigned lane = threadIdx.x & 31;
    GPU_FOR_EACH_WARP_ROW(r, rows) {
        const float *xr = x + r * C;
        float m = -INFINITY;
        for (int64_t k = lane; k < C; k += 32) m = fmaxf(m, xr[k]);
        m = gpu_warp_max(m);
        float s = 0.0f;
        for (int64_t k = lane; k < C; k += 32) s += expf(xr[k] - m);
        s = gpu_warp_sum(s);
        if (lane == 0) {
            float l = m + logf(s);
            int64_t y = (int64_t)labels[r];
            lse[r] = l;
            loss[r] = y >= 0 && y < C ? l - xr[y] : 0.0f;   // a bad label is already recorded
        }
    }
}

// gx (rows, C) = g[r] * (softmax(x)[k] - [k == label]), g (rows) the loss's gradient
__global__ void gpu_cross_entropy_backward_kernel(float *gx, const float *g, const float *x, const float *lse,
                                                  const float *labels, int64_t rows, int64_t C) {
    GPU_FOR_EACH(i, rows * C) {
        int64_t r = i / C, k = i - r * C;
        float p = expf(x[i] - lse[r]);
        gx[i] = g[r] * (p - (k == (int64_t)labels[r] ? 1.0f : 0.0f));
    }
}

int gpu_cross_entropy(float *loss, float *lse, const float *logits, const float *labels, int64_t rows, int64_t C) {
    if (rows == 0) return 0;
    gpu_cross_entropy_kernel<<<gpu_warp_row_blocks(rows), GPU_THREADS>>>(loss, lse, logits, labels, rows, C);
    GPU_CHECK_LAUNCH(gpu_cross_entropy_kernel);
    return 0;
}

int gpu_cross_entropy_backward(float *gx, const float *g, const float *logits, const float *lse,
                               const float *labels, int64_t rows, int64_t C) {
    if (rows * C == 0) return 0;
    gpu_cross_entropy_backward_kernel<<<gpu_blocks(rows * C, GPU_THREADS), GPU_THREADS>>>(gx, g, logits, lse, labels,
                                                                                          rows, C);
    GPU_CHECK_LAUNCH(gpu_cross_entropy_backward_kernel);
    return 0;
}

// ---- layer norm -----------------------------------------------------------------------------------
// x (rows, D) -> y (rows, D) = (x - mean) * invstd * w + b; mean, invstd (rows) kept for the
// backward. Two passes over the row (mean, then the centred squares), as the CPU's
// composed mean((x - mean)^2) does, so no cancellation of sum(x^2) - sum(x)^2.
// w and b (D) may be NULL.
__global__ void gpu_layer_norm_kernel(float *y, float *mean, float *invstd, const float *x, const float *w,
                                      const float *b, int64_t rows, int64_t D, float eps) {
    unsigned lane = threadIdx.x & 31;
    GPU_FOR_EACH_WARP_ROW(r, rows) {
        const float *xr = x + r * D;
        float s = 0.0f;
        for (int64_t k = lane; k < D; k += 32) s += xr[k];
        float mu = gpu_warp_sum(s) / (float)D;
        float q = 0.0f;
        for (int64_t k = lane; k < D; k += 32) { float d = xr[k] - mu; q += d * d; }
        float is = rsqrtf(gpu_warp_sum(q) / (float)D + eps);
        for (int64_t k = lane; k < D; k += 32) {
            float v = (xr[k] - mu) * is;
            if (w) v *= w[k];
            if (b) v += b[k];
            y[r * D + k] = v;
        }
        if (lane == 0) { mean[r] = mu; invstd[r] = is; }
    }
}

// gx (rows, D) = invstd * (dyw - mean(dyw) - xhat * mean(dyw * xhat)), dyw = dy * w
__global__ void gpu_layer_norm_backward_kernel(float *gx, const float *dy, const float *x, const float *mean,
                                               const float *invstd, const float *w, int64_t rows, int64_t D) {
    unsigned lane = threadIdx.x & 31;
    GPU_FOR_EACH_WARP_ROW(r, rows) {
        const float *xr = x + r * D, *dr = dy + r * D;
        float mu = mean[r], is = invstd[r], s1 = 0.0f, s2 = 0.0f;
        for (int64_t k = lane; k < D; k += 32) {
            float dyw = dr[k] * (w ? w[k] : 1.0f);
            s1 += dyw;
            s2 += dyw * (xr[k] - mu) * is;
        }
        s1 = gpu_warp_sum(s1) / (float)D;
        s2 = gpu_warp_sum(s2) / (float)D;
        for (int64_t k = lane; k < D; k += 32) {
            float dyw = dr[k] * (w ? w[k] : 1.0f), xhat = (xr[k] - mu) * is;
            gx[r * D + k] = is * (dyw - s1 - xhat * s2);
        }
    }
}

// gw (D) = sum over rows of dy * xhat, gb (D) = sum of dy (0 for no rows); a thread per
// column, so a warp reads 32 neighbouring columns of one row at a time (coalesced).
// Either may be NULL.
__global__ void gpu_layer_norm_params_kernel(float *gw, float *gb, const float *dy, const float *x,
                                             const float *mean, const float *invstd, int64_t rows, int64_t D) {
    GPU_FOR_EACH(k, D) {
        float sw = 0.0f, sb = 0.0f;
        for (int64_t r = 0; r < rows; r++) {
            float d = dy[r * D + k];
            sb += d;
            sw += d * (x[r * D + k] - mean[r]) * invstd[r];
        }
        if (gw) gw[k] = sw;
        if (gb) gb[k] = sb;
    }
}

int gpu_layer_norm(float *y, float *mean, float *invstd, const float *x, const float *w, const float *b,
                   int64_t rows, int64_t D, float eps) {
    if (rows == 0 || D == 0) return 0;
    gpu_layer_norm_kernel<<<gpu_warp_row_blocks(rows), GPU_THREADS>>>(y, mean, invstd, x, w, b, rows, D, eps);
    GPU_CHECK_LAUNCH(gpu_layer_norm_kernel);
    return 0;
}

int gpu_layer_norm_backward(float *gx, float *gw, float *gb, const float *dy, const float *x, const float *mean,
                            const float *invstd, const float *w, int64_t rows, int64_t D) {
    if (D == 0) return 0;
    if (gx && rows) {
        gpu_layer_norm_backward_kernel<<<gpu_warp_row_blocks(rows), GPU_THREADS>>>(gx, dy, x, mean, invstd, w, rows, D);
        GPU_CHECK_LAUNCH(gpu_layer_norm_backward_kernel);
    }
    if (gw || gb) {
        gpu_layer_norm_params_kernel<<<gpu_blocks(D, GPU_THREADS), GPU_THREADS>>>(gw, gb, dy, x, mean, invstd, rows, D);
        GPU_CHECK_LAUNCH(gpu_layer_norm_params_kernel);
    }
    return 0;
}
