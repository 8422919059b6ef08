// conv_pool.c - im2col (unfold/fold) for convolution, and direct max/avg pooling.
#include <math.h>
#include <string.h>
#include "cpu.h"

// where row r (= c*kh*kw + ki*kw + kj) of image b starts in cols of either layout
static inline int64_t cols_row(int64_t b, int64_t r, int64_t B, int64_t R, int64_t L, int batch_inner) {
    return (batch_inner ? r * B + b : b * R + r) * L;
}

// The geometry of one unfold/fold/pool call; the pool splits its (image, channel) planes,
// which read and write disjoint memory, so every thread count gives the same bits.
typedef struct {
    float *dst;
    const float *src, *idx;
    int64_t B, C, H, W, oh, ow;
    int kh, kw, sh, sw, ph, pw, batch_inner;
    float pad;
} plane_job;

// planes per pool chunk: ~32K elements written or read
static int64_t plane_grain(int64_t per_plane) {
    if (per_plane < 1) per_plane = 1;
    return (32768 + per_plane - 1) / per_plane;
}

static int unfold_chunk(void *vj, int64_t p0, int64_t p1, int64_t chunk) {
    const plane_job *j = vj;
    float *cols = j->dst, pad = j->pad;
    const float *x = j->src;
    int64_t B = j->B, C = j->C, H = j->H, W = j->W, oh = j->oh, ow = j->ow, L = oh * ow;
    int kh = j->kh, kw = j->kw, sh = j->sh, sw = j->sw, ph = j->ph, pw = j->pw, batch_inner = j->batch_inner;
    int64_t R = C * kh * kw;
    for (int64_t p = p0; p < p1; p++) {
        int64_t b = p / C, c = p % C;
            for (int ki = 0; ki < kh; ki++)
                for (int kj = 0; kj < kw; kj++) {
                    // an empty image (H or W 0, x NULL) is only padding: never read, and
                    // NULL + 0 is undefined, so no pointer is formed for it
                    const float *img = (H * W != 0) ? x + (b * C + c) * H * W : NULL;
                    float *row = cols + cols_row(b, (c * kh + ki) * kw + kj, B, R, L, batch_inner);
                    // the output columns whose input column ix = ox*sw - pw + kj lies inside x
                    int64_t lo, hi;
                    window_outputs(W, kj, sw, pw, ow, &lo, &hi);
                    for (int64_t oy = 0; oy < oh; oy++) {
                        int64_t iy = oy * sh - ph + ki;
                        float *dst = row + oy * ow;
                        if (iy < 0 || iy >= H || !img) { for (int64_t ox = 0; ox < ow; ox++) dst[ox] = pad; continue; }
                        const float *src = img + iy * W - pw + kj;
                        for (int64_t ox = 0; ox < lo; ox++) dst[ox] = pad;
                        if (sw == 1) memcpy(dst + lo, src + lo, (size_t)(hi - lo) * sizeof(float));
                        else for (int64_t ox = lo; ox < hi; ox++) dst[ox] = src[ox * sw];
                        for (int64_t ox = hi; ox < ow; ox++) dst[ox] = pad;
                    }
                }
    }
    return 0;
}

// x is (B,C,H,W) -> cols (B, C*kh*kw, oh*ow) or (C*kh*kw, B, oh*ow)
int cpu_unfold2d(float *cols, const float *x, int64_t B, int64_t C, int64_t H, int64_t W, int kh, int kw,
                 int sh, int sw, int ph, int pw, int64_t oh, int64_t ow, float pad, int batch_inner) {
    if (oh * ow == 0) return 0;   // nothing to write (cols may be NULL)
    plane_job j = {.dst = cols, .src = x, .B = B, .C = C, .H = H, .W = W, .oh = oh, .ow = ow, .kh = kh, .kw = kw,
                   .sh = sh, .sw = sw, .ph = ph, .pw = pw, .batch_inner = batch_inner, .pad = pad};
    return cpu_parallel_for(B * C, plane_grain((int64_t)kh * kw * oh * ow), unfold_chunk, &j);
}

static int fold_chunk(void *vj, int64_t p0, int64_t p1, int64_t chunk) {
    const plane_job *j = vj;
    float *x = j->dst;
    const float *cols = j->src;
    int64_t B = j->B, C = j->C, H = j->H, W = j->W, oh = j->oh, ow = j->ow, L = oh * ow;
    int kh = j->kh, kw = j->kw, sh = j->sh, sw = j->sw, ph = j->ph, pw = j->pw, batch_inner = j->batch_inner;
    int64_t R = C * kh * kw;
    for (int64_t p = p0; p < p1; p++) {
        int64_t b = p / C, c = p % C;
            for (int ki = 0; ki < kh; ki++)
                for (int kj = 0; kj < kw; kj++) {
                    float *img = x + (b * C + c) * H * W;
                    const float *row = cols + cols_row(b, (c * kh + ki) * kw + kj, B, R, L, batch_inner);
                    // only the output columns [lo, hi) land inside x: no bounds test per
                    // element, and with stride 1 the add vectorises
                    int64_t lo, hi;
                    window_outputs(W, kj, sw, pw, ow, &lo, &hi);
                    for (int64_t oy = 0; oy < oh; oy++) {
                        int64_t iy = oy * sh - ph + ki;
                        if (iy < 0 || iy >= H) continue;
                        float *dst = img + iy * W - pw + kj;
                        const float *src = row + oy * ow;
                        if (sw == 1) for (int64_t ox = lo; ox < hi; ox++) dst[ox] += src[ox];
                        else for (int64_t ox = lo; ox < hi; ox++) dst[ox * sw] += src[ox];
                    }
                }
    }
    return 0;
}

// adjoint of unfold2d: x += cols scattered back; each (image, channel) plane of x is
// written by its own rows of cols only
int cpu_fold2d(float *x, const float *cols, int64_t B, int64_t C, int64_t H, int64_t W, int kh, int kw,
               int sh, int sw, int ph, int pw, int64_t oh, int64_t ow, int batch_inner) {
    if (oh * ow == 0 || H * W == 0) return 0;   // nothing flows back (and x or cols may be NULL)
    plane_job j = {.dst = x, .src = cols, .B = B, .C = C, .H = H, .W = W, .oh = oh, .ow = ow, .kh = kh, .kw = kw,
                   .sh = sh, .sw = sw, .ph = ph, .pw = pw, .batch_inner = batch_inner};
    return cpu_parallel_for(B * C, plane_grain((int64_t)kh * kw * oh * ow), fold_chunk, &j);
}

// ---- pooling, direct (no im2col copy) ----

// v (at index at) replaces a best that is not NaN when larger or NaN: PyTorch's rule,
// first max wins and a NaN stays. Bit masks, not branches: on random data the
// branches mispredicted half the time (20 ns per output).
static inline void pool_take(float v, int32_t at, float *best, int32_t *bi) {
    uint32_t m = 0u - (uint32_t)(((v > *best) | (v != v)) & (*best == *best));
    uint32_t vb, bb;
    memcpy(&vb, &v, sizeof vb);
    memcpy(&bb, best, sizeof bb);
    bb = (vb & m) | (bb & ~m);
    memcpy(best, &bb, sizeof bb);
    *bi = (int32_t)(((uint32_t)at & m) | ((uint32_t)*bi & ~m));
}

static int max_pool_chunk(void *vj, int64_t p0, int64_t p1, int64_t chunk) {
    const plane_job *j = vj;
    int64_t B = j->B, C = j->C, H = j->H, W = j->W, oh = j->oh, ow = j->ow;
    int kh = j->kh, kw = j->kw, sh = j->sh, sw = j->sw, ph = j->ph, pw = j->pw;
    (void)B; (void)C;
    float *out = j->dst, *idx = (float *)j->idx;
    const float *x = j->src;
    for (int64_t p = p0; p < p1; p++) {
        const float *img = x + p * H * W;
        float *o = out + p * oh * ow, *oi = idx + p * oh * ow;
        for (int64_t oy = 0; oy < oh; oy++) {
            int64_t y0 = oy * sh - ph, y1 = y0 + kh;
            if (y0 < 0) y0 = 0;
            if (y1 > H) y1 = H;
            // 2x2 stride 2 without padding (every CNN's pool): no bounds to test, no branches
            if (kh == 2 && kw == 2 && sw == 2 && pw == 0 && y1 - y0 == 2) {
                const float *r0 = img + y0 * W, *r1 = r0 + W;
                float *orow = o + oy * ow, *irow = oi + oy * ow;
                for (int64_t ox = 0; ox < ow; ox++) {
                    int32_t i0 = (int32_t)(y0 * W + 2 * ox), bi = i0;   // H*W < 2^24: checked by the op
                    float best = r0[2 * ox];
                    pool_take(r0[2 * ox + 1], i0 + 1, &best, &bi);
                    pool_take(r1[2 * ox], i0 + (int32_t)W, &best, &bi);
                    pool_take(r1[2 * ox + 1], i0 + (int32_t)W + 1, &best, &bi);
                    orow[ox] = best;
                    irow[ox] = (float)bi;
                }
                continue;
            }
            for (int64_t ox = 0; ox < ow; ox++) {
                int64_t x0 = ox * sw - pw, x1 = x0 + kw;
                if (x0 < 0) x0 = 0;
                if (x1 > W) x1 = W;
                float best = -INFINITY;
                int64_t bi = -1;
                // scan order and NaN rule of PyTorch: first max wins, a NaN wins and stays
                for (int64_t iy = y0; iy < y1 && !(bi >= 0 && isnan(best)); iy++)
                    for (int64_t ix = x0; ix < x1; ix++) {
                        float v = img[iy * W + ix];
                        if (bi < 0 || isnan(v) || v > best) { best = v; bi = iy * W + ix; }
                        if (isnan(best)) break;
                    }
                o[oy * ow + ox] = best;
                oi[oy * ow + ox] = (float)bi;
            }
        }
    }
    return 0;
}

// x is (B,C,H,W) -> out, idx (B,C,oh,ow); padding is -inf, so only inside pixels compete
int cpu_max_pool2d(float *out, float *idx, const float *x, int64_t B, int64_t C, int64_t H, int64_t W,
                   int kh, int kw, int sh, int sw, int ph, int pw, int64_t oh, int64_t ow) {
    if (H * W == 0) return 0;   // conv_out already rejected windows that hold no pixel
    plane_job j = {.dst = out, .idx = idx, .src = x, .B = B, .C = C, .H = H, .W = W, .oh = oh, .ow = ow, .kh = kh,
                   .kw = kw, .sh = sh, .sw = sw, .ph = ph, .pw = pw};
    return cpu_parallel_for(B * C, plane_grain(H * W), max_pool_chunk, &j);
}

// gx (planes, hw) += g (planes, l) at idx; the indices come from cpu_max_pool2d
static int max_pool_back_chunk(void *vj, int64_t p0, int64_t p1, int64_t chunk) {
    const plane_job *j = vj;
    float *gx = j->dst;
    const float *g = j->src, *idx = j->idx;
    int64_t hw = j->H, l = j->W;
    for (int64_t p = p0; p < p1; p++)
        for (int64_t i = 0; i < l; i++) gx[p * hw + (int64_t)idx[p * l + i]] += g[p * l + i];
    return 0;
}

int cpu_max_pool2d_backward(float *gx, const float *g, const float *idx, int64_t planes, int64_t hw,
                            int64_t l) {
    plane_job j = {.dst = gx, .src = g, .idx = idx, .H = hw, .W = l};   // a plane's sizes in and out
    return cpu_parallel_for(planes, plane_grain(l), max_pool_back_chunk, &j);
}

// x is (B,C,H,W) -> out (B,C,oh,ow): sum over the window's inside pixels (the padding adds
// 0) times 1/(kh*kw), summed in window order as the unfold + mean route did
static int avg_pool_chunk(void *vj, int64_t p0, int64_t p1, int64_t chunk) {
    const plane_job *j = vj;
    int64_t B = j->B, C = j->C, H = j->H, W = j->W, oh = j->oh, ow = j->ow;
    int kh = j->kh, kw = j->kw, sh = j->sh, sw = j->sw, ph = j->ph, pw = j->pw;
    (void)B; (void)C;
    float *out = j->dst;
    const float *x = j->src;
    float inv = (float)(1.0 / ((double)kh * kw));
    for (int64_t p = p0; p < p1; p++) {
        const float *img = H * W != 0 ? x + p * H * W : NULL;
        float *o = out + p * oh * ow;
        for (int64_t oy = 0; oy < oh; oy++)
            for (int64_t ox = 0; ox < ow; ox++) {
                // only the inside pixels: a huge padded window must not loop over its padding
                int64_t y0 = oy * sh - ph, y1 = y0 + kh, x0 = ox * sw - pw, x1 = x0 + kw;
                if (y0 < 0) y0 = 0;
                if (y1 > H) y1 = H;
                if (x0 < 0) x0 = 0;
                if (x1 > W) x1 = W;
                float s = 0.0f;
                for (int64_t iy = y0; iy < y1; iy++)
                    for (int64_t ix = x0; ix < x1; ix++) s += img[iy * W + ix];
                o[oy * ow + ox] = s * inv;
            }
    }
    return 0;
}

int cpu_avg_pool2d(float *out, const float *x, int64_t B, int64_t C, int64_t H, int64_t W,
                   int kh, int kw, int sh, int sw, int ph, int pw, int64_t oh, int64_t ow) {
    plane_job j = {.dst = out, .src = x, .B = B, .C = C, .H = H, .W = W, .oh = oh, .ow = ow, .kh = kh, .kw = kw,
                   .sh = sh, .sw = sw, .ph = ph, .pw = pw};
    return cpu_parallel_for(B * C, plane_grain((int64_t)kh * kw * oh * ow), avg_pool_chunk, &j);
}

// g (B,C,oh,ow) -> gx (B,C,H,W) += g / (kh*kw) over every window covering a pixel
static int avg_pool_back_chunk(void *vj, int64_t p0, int64_t p1, int64_t chunk) {
    const plane_job *j = vj;
    int64_t B = j->B, C = j->C, H = j->H, W = j->W, oh = j->oh, ow = j->ow;
    int kh = j->kh, kw = j->kw, sh = j->sh, sw = j->sw, ph = j->ph, pw = j->pw;
    (void)B; (void)C;
    float *gx = j->dst;
    const float *g = j->src;
    float inv = (float)(1.0 / ((double)kh * kw));
    // window offsets that reach a pixel for some output (the others only see padding)
    int ki0 = window_first_tap(oh, sh, ph), ki1 = window_end_tap(H, kh, ph);
    int kj0 = window_first_tap(ow, sw, pw), kj1 = window_end_tap(W, kw, pw);
    int64_t ylo, yhi, xlo, xhi;
    for (int64_t p = p0; p < p1; p++) {
        float *img = gx + p * H * W;
        const float *gp = g + p * oh * ow;
        for (int ki = ki0; ki < ki1; ki++) {
            window_outputs(H, ki, sh, ph, oh, &ylo, &yhi);
            for (int kj = kj0; kj < kj1; kj++) {
                window_outputs(W, kj, sw, pw, ow, &xlo, &xhi);
                for (int64_t oy = ylo; oy < yhi; oy++) {
                    float *row = img + (oy * sh - ph + ki) * W - pw + kj;
                    for (int64_t ox = xlo; ox < xhi; ox++) row[ox * sw] += gp[oy * ow + ox] * inv;
                }
            }
        }
    }
    return 0;
}

int cpu_avg_pool2d_backward(float *gx, const float *g, int64_t B, int64_t C, int64_t H, int64_t W,
                            int kh, int kw, int sh, int sw, int ph, int pw, int64_t oh, int64_t ow) {
    if (H * W == 0) return 0;
    plane_job j = {.dst = gx, .src = g, .B = B, .C = C, .H = H, .W = W, .oh = oh, .ow = ow, .kh = kh, .kw = kw,
                   .sh = sh, .sw = sw, .ph = ph, .pw = pw};
    return cpu_parallel_for(B * C, plane_grain((int64_t)kh * kw * oh * ow), avg_pool_back_chunk, &j);
}
