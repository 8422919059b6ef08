// gpu_window.h - the geometry of a 2-D sliding window (convolution's im2col/col2im and
// pooling), shared by gpu_conv.cu and gpu_pool.cu. Plain C, __host__ __device__ under
// nvcc, so the CPU test tests/c/test_gpu_window.c runs the very code the kernels run.
#ifndef NNLAB_GPU_WINDOW_H
#define NNLAB_GPU_WINDOW_H

#include <stdint.h>

#ifdef __CUDACC__
#define GPU_HD __host__ __device__ static inline
#else
#define GPU_HD static inline
#endif

// x (B, C, H, W) seen through kh x kw windows with stride (sh, sw) and zero padding
// (ph, pw), giving (oh, ow) outputs per plane. Passed to kernels by value.
typedef struct {
    int64_t B, C, H, W, oh, ow;
    int kh, kw, sh, sw, ph, pw;
    int batch_inner;   // im2col's columns laid out (C*kh*kw, B, L) instead of (B, C*kh*kw, L)
} gpu_window;

// Along one dim: the output o whose tap k reads input i (i = o*s - p + k), if there is
// one (1, *o set) among the `on` outputs; else 0. Gathering over taps this way (instead
// of scattering with atomics) makes col2im and avg-pool's backward deterministic.
GPU_HD int gpu_window_tap_output(int64_t i, int k, int s, int p, int64_t on, int64_t *o) {
    int64_t t = i + p - k;   // = o * s
    if (t < 0 || t % s || t / s >= on) return 0;
    *o = t / s;
    return 1;
}

// offset in im2col's columns of (image b, row r = c*kh*kw + ki*kw + kj, position l)
GPU_HD int64_t gpu_cols_at(const gpu_window *g, int64_t b, int64_t r, int64_t l) {
    int64_t L = g->oh * g->ow, R = g->C * g->kh * g->kw;
    return (g->batch_inner ? r * g->B + b : b * R + r) * L + l;
}

#endif
