// reduce.c - reductions along one dim and softmax / log_softmax.
#include <math.h>
#include "cpu.h"

// a is (outer, r, inner) -> out (outer, inner)
int cpu_reduce(float *out, const float *a, int64_t outer, int64_t r, int64_t inner, int op) {
    for (int64_t o = 0; o < outer; o++) {
        const float *src = a + o * r * inner;
        float *dst = out + o * inner;
        if (op == REDUCE_SUM) {
            if (inner == 1) {
                double acc = 0;   // double: long sums stay accurate
                for (int64_t i = 0; i < r; i++) acc += src[i];
                dst[0] = (float)acc;
                continue;
            }
            for (int64_t j = 0; j < inner; j++) dst[j] = src[j];
            for (int64_t i = 1; i < r; i++)
                for (int64_t j = 0; j < inner; j++) dst[j] += src[i * inner + j];
            continue;
        }
        int want_max = op == REDUCE_MAX || op == REDUCE_ARGMAX;
        int want_idx = op == REDUCE_ARGMAX || op == REDUCE_ARGMIN;
        for (int64_t j = 0; j < inner; j++) {
            float best = src[j];
            int64_t bi = 0;
            for (int64_t i = 1; i < r; i++) {
                float v = src[i * inner + j];
                // NaN wins, as in PyTorch, so it is never hidden
                if (isnan(best)) break;
                if (isnan(v) || (want_max ? v > best : v < best)) { best = v; bi = i; }
            }
            dst[j] = want_idx ? (float)bi : best;
        }
    }
    return 0;
}

// x is (outer, r, inner); softmax over r, subtracting the max for stability
int cpu_softmax(float *out, const float *x, int64_t outer, int64_t r, int64_t inner, int log) {
    for (int64_t o = 0; o < outer; o++)
        for (int64_t j = 0; j < inner; j++) {
            const float *src = x + o * r * inner + j;
            float *dst = out + o * r * inner + j;
            float mx = -INFINITY;
            for (int64_t i = 0; i < r; i++) if (src[i * inner] > mx) mx = src[i * inner];
            double sum = 0;
            for (int64_t i = 0; i < r; i++) sum += expf(src[i * inner] - mx);
            if (log) {
                float lse = mx + (float)logf((float)sum);
                for (int64_t i = 0; i < r; i++) dst[i * inner] = src[i * inner] - lse;
            } else {
                float inv = (float)(1.0 / sum);
                for (int64_t i = 0; i < r; i++) dst[i * inner] = expf(src[i * inner] - mx) * inv;
            }
        }
    return 0;
}

int cpu_softmax_backward(float *gin, const float *y, const float *g, int64_t outer, int64_t r,
                         int64_t inner, int log) {
    for (int64_t o = 0; o < outer; o++)
        for (int64_t j = 0; j < inner; j++) {
            int64_t base = o * r * inner + j;
            double s = 0;
            for (int64_t i = 0; i < r; i++)
                s += log ? g[base + i * inner] : g[base + i * inner] * y[base + i * inner];
            for (int64_t i = 0; i < r; i++) {
                int64_t q = base + i * inner;
                gin[q] = log ? g[q] - expf(y[q]) * (float)s : y[q] * (g[q] - (float)s);
            }
        }
    return 0;
}
