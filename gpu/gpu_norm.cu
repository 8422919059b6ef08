// gpu_norm.cu - fused batch norm (a block per channel) and direct max/avg pooling
// (a thread per output, or per input pixel for avg pool's backward); the same math
// as the CPU kernels in tensor/cpu_backend.c.
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
            if (rm && rv && threadIdx.x == 0) {
                float unbiased = var * (float)((double)M / (double)(M - 1));
                rm[c] = rm[c] * (1.0f - momentum) + m * momentum;
                rv[c] = rv[c] * (1.0f - momentum) + unbiased * momentum;
            }
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

// ---- pooling ---------------------------------------------------------------------------------
struct gpu_pool {
    int64_t H, W, oh, ow;
    int kh, kw, sh, sw, ph, pw;
};

// x is (planes, H, W) -> out, idx (planes, oh, ow); a thread per output. Only inside
// pixels compete (-inf padding); first max wins, a NaN wins and stays.
__global__ void gpu_max_pool2d_kernel(float *out, float *idx, const float *x, gpu_pool g, int64_t n) {
    GPU_FOR_EACH(i, n) {
        int64_t ox = i % g.ow, oy = (i / g.ow) % g.oh, p = i / (g.ow * g.oh);
        const float *img = x + p * g.H * g.W;
        int64_t y0 = max(oy * g.sh - g.ph, (int64_t)0), y1 = min(oy * g.sh - g.ph + g.kh, g.H);
        int64_t x0 = max(ox * g.sw - g.pw, (int64_t)0), x1 = min(ox * g.sw - g.pw + g.kw, g.W);
        float best = -INFINITY;
        int64_t bi = -1;
        for (int64_t iy = y0; iy < y1 && !(bi >= 0 && isnan(best)); iy++)
            for (int64_t ix = x0; ix < x1; ix++) {
                float v = img[iy * g.W + ix];
                if (bi < 0 || isnan(v) || v > best) { best = v; bi = iy * g.W + ix; }
                if (isnan(best)) break;
            }
        out[i] = best;
        idx[i] = (float)bi;
    }
}

// gx (planes, hw) += g (planes, l) at idx; overlapping windows may share a winner: atomics
__global__ void gpu_max_pool2d_backward_kernel(float *gx, const float *g, const float *idx, int64_t hw,
                                               int64_t l, int64_t n) {
    GPU_FOR_EACH(i, n) atomicAdd(&gx[(i / l) * hw + (int64_t)idx[i]], g[i]);
}

// x is (planes, H, W) -> out (planes, oh, ow): window sum (padding adds 0) / (kh*kw)
__global__ void gpu_avg_pool2d_kernel(float *out, const float *x, gpu_pool g, int64_t n) {
    float inv = 1.0f / (float)(g.kh * g.kw);
    GPU_FOR_EACH(i, n) {
        int64_t ox = i % g.ow, oy = (i / g.ow) % g.oh, p = i / (g.ow * g.oh);
        const float *img = x + p * g.H * g.W;
        float s = 0.0f;
        for (int64_t iy = oy * g.sh - g.ph; iy < oy * g.sh - g.ph + g.kh; iy++)
            for (int64_t ix = ox * g.sw - g.pw; ix < ox * g.sw - g.pw + g.kw; ix++)
                if (iy >= 0 && iy < g.H && ix >= 0 && ix < g.W) s += img[iy * g.W + ix];
        out[i] = s * inv;
    }
}

// g (planes, oh, ow) -> gx (planes, H, W) += g / (kh*kw) of every window covering the
// pixel; a thread per pixel gathers, so no atomics
__global__ void gpu_avg_pool2d_backward_kernel(float *gx, const float *g, gpu_pool w, int64_t n) {
    float inv = 1.0f / (float)(w.kh * w.kw);
    GPU_FOR_EACH(i, n) {
        int64_t ix = i % w.W, iy = (i / w.W) % w.H, p = i / (w.W * w.H);
        const float *gp = g + p * w.oh * w.ow;
        float s = 0.0f;
        for (int ki = 0; ki < w.kh; ki++) {
            int64_t ty = iy + w.ph - ki;             // = oy * sh for the window that covers iy
            if (ty < 0 || ty % w.sh || ty / w.sh >= w.oh) continue;
            for (int kj = 0; kj < w.kw; kj++) {
                int64_t tx = ix + w.pw - kj;
                if (tx < 0 || tx % w.sw || tx / w.sw >= w.ow) continue;
                s += gp[(ty / w.sh) * w.ow + tx / w.sw] * inv;
            }
        }
        gx[i] += s;
    }
}

int gpu_max_pool2d(float *out, float *idx, const float *x, int64_t B, int64_t C, int64_t H, int64_t W,
                   int kh, int kw, int sh, int sw, int ph, int pw, int64_t oh, int64_t ow) {
    gpu_pool g = {H, W, oh, ow, kh, kw, sh, sw, ph, pw};
    int64_t n = B * C * oh * ow;
    if (n == 0 || H * W == 0) return 0;
    gpu_max_pool2d_kernel<<<gpu_blocks(n, GPU_THREADS), GPU_THREADS>>>(out, idx, x, g, n);
    GPU_CHECK_LAUNCH(gpu_max_pool2d_kernel);
    return 0;
}

int gpu_max_pool2d_backward(float *gx, const float *g, const float *idx, int64_t planes, int64_t hw, int64_t l) {
    int64_t n = planes * l;
    if (n == 0 || hw == 0) return 0;
    gpu_max_pool2d_backward_kernel<<<gpu_blocks(n, GPU_THREADS), GPU_THREADS>>>(gx, g, idx, hw, l, n);
    GPU_CHECK_LAUNCH(gpu_max_pool2d_backward_kernel);
    return 0;
}

int gpu_avg_pool2d(float *out, const float *x, int64_t B, int64_t C, int64_t H, int64_t W,
                   int kh, int kw, int sh, int sw, int ph, int pw, int64_t oh, int64_t ow) {
    gpu_pool g = {H, W, oh, ow, kh, kw, sh, sw, ph, pw};
    int64_t n = B * C * oh * ow;
    if (n == 0) return 0;
    gpu_avg_pool2d_kernel<<<gpu_blocks(n, GPU_THREADS), GPU_THREADS>>>(out, x, g, n);
    GPU_CHECK_LAUNCH(gpu_avg_pool2d_kernel);
    return 0;
}

int gpu_avg_pool2d_backward(float *gx, const float *g, int64_t B, int64_t C, int64_t H, int64_t W,
                            int kh, int kw, int sh, int sw, int ph, int pw, int64_t oh, int64_t ow) {
    gpu_pool w = {H, W, oh, ow, kh, kw, sh, sw, ph, pw};
    int64_t n = B * C * H * W;
    if (n == 0 || oh * ow == 0) return 0;
    gpu_avg_pool2d_backward_kernel<<<gpu_blocks(n, GPU_THREADS), GPU_THREADS>>>(gx, g, w, n);
    GPU_CHECK_LAUNCH(gpu_avg_pool2d_backward_kernel);
    return 0;
}
