// norm.c - batch norm forward and backward, one channel at a time.
#include <math.h>
#include "cpu.h"

// ---- batch norm ----
// sum of n floats with 8 partial sums (vectorises; rounds better than one running sum)
static float row_sum(const float *p, int64_t n) {
    float acc[8] = {0};
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int j = 0; j < 8; j++) acc[j] += p[i + j];
    float s = 0.0f;
    for (; i < n; i++) s += p[i];
    for (int j = 0; j < 8; j++) s += acc[j];
    return s;
}

// sum of (p - m)^2, as row_sum
static float row_sq_dev(const float *p, int64_t n, float m) {
    float acc[8] = {0};
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int j = 0; j < 8; j++) { float d = p[i + j] - m; acc[j] += d * d; }
    float s = 0.0f;
    for (; i < n; i++) { float d = p[i] - m; s += d * d; }
    for (int j = 0; j < 8; j++) s += acc[j];
    return s;
}

// sum of dy and of dy * (x - m), as row_sum
static void row_dy_sums(const float *dy, const float *x, int64_t n, float m, float *sdy, float *sdyx) {
    float a[8] = {0}, b[8] = {0};
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int j = 0; j < 8; j++) { a[j] += dy[i + j]; b[j] += dy[i + j] * (x[i + j] - m); }
    float s = 0.0f, t = 0.0f;
    for (; i < n; i++) { s += dy[i]; t += dy[i] * (x[i] - m); }
    for (int j = 0; j < 8; j++) { s += a[j]; t += b[j]; }
    *sdy = s;
    *sdyx = t;
}

typedef struct {
    float *y, *mean, *invstd, *rm, *rv, *gx, *gw, *gb;
    const float *x, *w, *b, *dy;
    int64_t N, C, L;
    int use_batch;
    float momentum, eps;
} bn_ctx;

// channels [c0, c1) of the forward
static int bn_chunk(void *vc, int64_t c0, int64_t c1, int64_t chunk) {
    const bn_ctx *k = vc;
    const float *x = k->x, *w = k->w, *b = k->b;
    float *y = k->y, *rm = k->rm, *rv = k->rv;
    int64_t N = k->N, C = k->C, L = k->L, M = N * L;
    for (int64_t c = c0; c < c1; c++) {
        float m, is;
        if (k->use_batch) {
            double s = 0;   // double across rows: long sums stay accurate
            for (int64_t n = 0; n < N; n++) s += row_sum(x + (n * C + c) * L, L);
            m = (float)(s / (double)M);
            double ss = 0;
            for (int64_t n = 0; n < N; n++) ss += row_sq_dev(x + (n * C + c) * L, L, m);
            float var = (float)(ss / (double)M);
            is = (float)(1.0 / sqrt((double)var + (double)k->eps));
            if (rm && rv) ew_running_stats(&rm[c], &rv[c], m, var, M, k->momentum);
        } else {
            m = rm[c];
            is = (float)(1.0 / sqrt((double)rv[c] + (double)k->eps));
        }
        k->mean[c] = m;
        k->invstd[c] = is;
        float scale = w ? is * w[c] : is, shift = b ? b[c] : 0.0f;
        for (int64_t n = 0; n < N; n++) {
            const float *xr = x + (n * C + c) * L;
            float *yr = y + (n * C + c) * L;
            for (int64_t l = 0; l < L; l++) yr[l] = (xr[l] - m) * scale + shift;
        }
    }
    return 0;
}

// channels per pool chunk: ~32K elements of work
static int64_t bn_grain(int64_t N, int64_t L) {
    int64_t per = N * L > 0 ? N * L : 1;
    return (32768 + per - 1) / per;
}

// x, y are (N, C, L). One channel at a time: its N*L values (400 KB for a 32x28x28
// batch of 128) stay in L2 across the mean, variance and output passes. Channels are
// independent, so the pool splits them and any thread count gives the same bits.
int cpu_batch_norm(float *y, float *mean, float *invstd, const float *x, const float *w, const float *b,
                   float *rm, float *rv, int64_t N, int64_t C, int64_t L, int use_batch, float momentum,
                          float eps) {
    bn_ctx k = {.y = y, .mean = mean, .invstd = invstd, .rm = rm, .rv = rv, .x = x, .w = w, .b = b,
                .N = N, .C = C, .L = L, .use_batch = use_batch, .momentum = momentum, .eps = eps};
    return cpu_parallel_for(C, bn_grain(N, L), bn_chunk, &k);
}

// channels [c0, c1) of the backward
static int bn_back_chunk(void *vc, int64_t c0, int64_t c1, int64_t chunk) {
    const bn_ctx *k = vc;
    const float *dy = k->dy, *x = k->x, *w = k->w, *mean = k->mean, *invstd = k->invstd;
    float *gx = k->gx, *gw = k->gw, *gb = k->gb;
    int64_t N = k->N, C = k->C, L = k->L, M = N * L;
    int use_batch = k->use_batch;
    for (int64_t c = c0; c < c1; c++) {
        float m = mean[c], is = invstd[c];
        double sdy = 0, sdyx = 0;
        if (gw || gb || (gx && use_batch))
            for (int64_t n = 0; n < N; n++) {
                float a, t;
                row_dy_sums(dy + (n * C + c) * L, x + (n * C + c) * L, L, m, &a, &t);
                sdy += a;
                sdyx += t;
            }
        float sum_dy = (float)sdy, sum_dy_xhat = (float)(sdyx * is);
        if (gb) gb[c] = sum_dy;
        if (gw) gw[c] = sum_dy_xhat;
        if (!gx) continue;
        float kk = w ? w[c] * is : is;
        // gx = k * (dy - mean(dy) - xhat * mean(dy * xhat)), xhat = (x - m) * is
        float a = use_batch ? sum_dy / (float)M : 0.0f, b = use_batch ? sum_dy_xhat / (float)M * is : 0.0f;
        for (int64_t n = 0; n < N; n++) {
            const float *dr = dy + (n * C + c) * L, *xr = x + (n * C + c) * L;
            float *gr = gx + (n * C + c) * L;
            for (int64_t l = 0; l < L; l++) gr[l] = kk * (dr[l] - a - (xr[l] - m) * b);
        }
    }
    return 0;
}

// dy, x, gx are (N, C, L); per channel two passes: the sums, then gx
int cpu_batch_norm_backward(float *gx, float *gw, float *gb, const float *dy, const float *x,
                            const float *mean, const float *invstd, const float *w, int64_t N, int64_t C,
                                   int64_t L, int use_batch) {
    bn_ctx k = {.gx = gx, .gw = gw, .gb = gb, .dy = dy, .x = x, .mean = (float *)mean, .invstd = (float *)invstd,
                .w = w, .N = N, .C = C, .L = L, .use_batch = use_batch};
    return cpu_parallel_for(C, bn_grain(N, L), bn_back_chunk, &k);
}
