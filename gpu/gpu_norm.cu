// gpu_norm.cu - fused batch norm (a block per channel); the same math as the CPU
// kernels (layer norm's fused kernel: gpu_fused.cu; pooling: gpu_pool.cu).
#include "gpu_internal.h"

// ---- block reductions -------------------------------------------------------------------
// Sum of v over the block (blockDim.x a multiple of 32, at most 1024); every thread
// gets the result. Partial sums in double: a channel of a large batch has millions of values.
__device__ static double gpu_block_sum(double v) {
    __shared__ double warp_sum[32];
    __shared__ double total;
    int lane = threadIdx.x % 32, warp = threadIdx.x / 32, warps = (blockDim.x + 31) / 32;
    for (int o = 16; o > 0; o >>= 1) v += __shfl_down_sync(0xffffffffu, v, o);
    if (lane == 0) warp_sum[warp] = v;
    __syncthreads();
    if (warp == 0) {
        v = lane < warps ? warp_sum[lane] : 0.0;
        for (int o = 16; o > 0; o >>= 1) v += __shfl_down_sync(0xffffffffu, v, o);
        if (lane == 0) total = v;
    }
    __syncthreads();
    v = total;
    __syncthreads();   // the next call may overwrite total
    return v;
}

// ---- batch norm ----------------------------------------------------------------------------
// x, y are (N, C, L); a block per channel c walks its N*L values (element k of the
// channel is x[(k / L) * C * L + c * L + k % L]).
__global__ void gpu_batch_norm_kernel(float *y, float *mean, float *invstd, const float *x, const float *w,
                                      const float *b, float *rm, float *rv, int64_t N, int64_t C, int64_t L,
                                      int use_batch, float momentum, float eps) {
    int64_t M = N * L;
    for (int64_t c = blockIdx.x; c < C; c += gridDim.x) {
        const float *xc = x + c * L;
        float m, is;
        if (use_batch) {
            double s = 0;
            for (int64_t k = threadIdx.x; k < M; k += blockDim.x) s += xc[(k / L) * C * L + k % L];
            m = (float)(gpu_block_sum(s) / (double)M);
            double ss = 0;
            for (int64_t k = threadIdx.x; k < M; k += blockDim.x) {
                float d = xc[(k / L) * C * L + k % L] - m;
                ss += d * d;
            }
            float var = (float)(gpu_block_sum(ss) / (double)M);
            is = (float)(1.0 / sqrt((double)var + (double)eps));
            if (rm && rv && threadIdx.x == 0) ew_running_stats(&rm[c], &rv[c], m, var, M, momentum);
        } else {
            m = rm[c];
            is = (float)(1.0 / sqrt((double)rv[c] + (double)eps));
        }
        if (threadIdx.x == 0) { mean[c] = m; invstd[c] = is; }
        float scale = w ? is * w[c] : is, shift = b ? b[c] : 0.0f;
        for (int64_t k = threadIdx.x; k < M; k += blockDim.x) {
            int64_t e = c * L + (k / L) * C * L + k % L;
            y[e] = (x[e] - m) * scale + shift;
        }
    }
}

// dy, x, gx are (N, C, L); mean, invstd, w are (C); a block per channel
__global__ void gpu_batch_norm_backward_kernel(float *gx, float *gw, float *gb, const float *dy, const float *x,
                                               const float *mean, const float *invstd, const float *w,
                                               int64_t N, int64_t C, int64_t L, int use_batch) {
    int64_t M = N * L;
    for (int64_t c = blockIdx.x; c < C; c += gridDim.x) {
        float m = mean[c], is = invstd[c];
        double sdy = 0, sdyx = 0;
        if (gw || gb || (gx && use_batch)) {
            for (int64_t k = threadIdx.x; k < M; k += blockDim.x) {
                int64_t e = c * L + (k / L) * C * L + k % L;
                sdy += dy[e];
                sdyx += dy[e] * (x[e] - m);
            }
            sdy = gpu_block_sum(sdy);
            sdyx = gpu_block_sum(sdyx);
        }
        float sum_dy = (float)sdy, sum_dy_xhat = (float)(sdyx * is);
        if (threadIdx.x == 0) {
            if (gb) gb[c] = sum_dy;
            if (gw) gw[c] = sum_dy_xhat;
        }
        if (!gx) continue;
        float kc = w ? w[c] * is : is;
        float a = use_batch ? sum_dy / (float)M : 0.0f, bb = use_batch ? sum_dy_xhat / (float)M * is : 0.0f;
        for (int64_t k = threadIdx.x; k < M; k += blockDim.x) {
            int64_t e = c * L + (k / L) * C * L + k % L;
            gx[e] = kc * (dy[e] - a - (x[e] - m) * bb);
        }
    }
}

int gpu_batch_norm(float *y, float *mean, float *invstd, const float *x, const float *weight, const float *bias,
                   float *running_mean, float *running_var, int64_t N, int64_t C, int64_t L, int use_batch,
                   float momentum, float eps) {
    if (C == 0) return 0;
    unsigned blocks = (unsigned)(C < GPU_MAX_BLOCKS ? C : GPU_MAX_BLOCKS);
    gpu_batch_norm_kernel<<<blocks, GPU_THREADS>>>(y, mean, invstd, x, weight, bias, running_mean, running_var,
                                                   N, C, L, use_batch, momentum, eps);
    GPU_CHECK_LAUNCH(gpu_batch_norm_kernel);
    return 0;
}

int gpu_batch_norm_backward(float *gx, float *gw, float *gb, const float *dy, const float *x, const float *mean,
                            const float *invstd, const float *weight, int64_t N, int64_t C, int64_t L,
                            int use_batch) {
    if (C == 0) return 0;
    unsigned blocks = (unsigned)(C < GPU_MAX_BLOCKS ? C : GPU_MAX_BLOCKS);
    gpu_batch_norm_backward_kernel<<<blocks, GPU_THREADS>>>(gx, gw, gb, dy, x, mean, invstd, weight, N, C, L,
                                                            use_batch);
    GPU_CHECK_LAUNCH(gpu_batch_norm_backward_kernel);
    return 0;
}
