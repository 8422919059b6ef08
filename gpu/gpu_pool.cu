// gpu_pool.cu - direct max/avg pooling over (planes, H, W): a thread per output, or per
// input pixel for avg pool's backward (gathering through gpu_window.h, as col2im does);
// the same math as the CPU kernels.
#include <math.h>
#include "gpu_internal.h"
#include "gpu_window.h"

// x is (planes, H, W) -> out, idx (planes, oh, ow); a thread per output. Only inside
// pixels compete (-inf padding); first max wins, a NaN wins and stays.
__global__ void gpu_max_pool2d_kernel(float *out, float *idx, const float *x, gpu_window g, int64_t n) {
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
__global__ void gpu_avg_pool2d_kernel(float *out, const float *x, gpu_window g, int64_t n) {
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
__global__ void gpu_avg_pool2d_backward_kernel(float *gx, const float *g, gpu_window w, int64_t n) {
    float inv = 1.0f / (float)(w.kh * w.kw);
    GPU_FOR_EACH(i, n) {
        int64_t ix = i % w.W, iy = (i / w.W) % w.H, p = i / (w.W * w.H);
        const float *gp = g + p * w.oh * w.ow;
        float s = 0.0f;
        int64_t oy, ox;
        for (int ki = 0; ki < w.kh; ki++) {
            if (!gpu_window_tap_output(iy, ki, w.sh, w.ph, w.oh, &oy)) continue;
            for (int kj = 0; kj < w.kw; kj++)
                if (gpu_window_tap_output(ix, kj, w.sw, w.pw, w.ow, &ox)) s += gp[oy * w.ow + ox] * inv;
        }
        gx[i] += s;
    }
}

int gpu_max_pool2d(float *out, float *idx, const float *x, int64_t B, int64_t C, int64_t H, int64_t W,
                   int kh, int kw, int sh, int sw, int ph, int pw, int64_t oh, int64_t ow) {
    gpu_window g = {B, C, H, W, oh, ow, kh, kw, sh, sw, ph, pw, 0};
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
    gpu_window g = {B, C, H, W, oh, ow, kh, kw, sh, sw, ph, pw, 0};
    int64_t n = B * C * oh * ow;
    if (n == 0) return 0;
    gpu_avg_pool2d_kernel<<<gpu_blocks(n, GPU_THREADS), GPU_THREADS>>>(out, x, g, n);
    GPU_CHECK_LAUNCH(gpu_avg_pool2d_kernel);
    return 0;
}

int gpu_avg_pool2d_backward(float *gx, const float *g, int64_t B, int64_t C, int64_t H, int64_t W,
                            int kh, int kw, int sh, int sw, int ph, int pw, int64_t oh, int64_t ow) {
    gpu_window w = {B, C, H, W, oh, ow, kh, kw, sh, sw, ph, pw, 0};
    int64_t n = B * C * H * W;
    if (n == 0 || oh * ow == 0) return 0;
    gpu_avg_pool2d_backward_kernel<<<gpu_blocks(n, GPU_THREADS), GPU_THREADS>>>(gx, g, w, n);
    GPU_CHECK_LAUNCH(gpu_avg_pool2d_backward_kernel);
    return 0;
}
