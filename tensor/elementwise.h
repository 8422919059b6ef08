// elementwise.h - the elementwise formulas, written once for the CPU and the GPU.
// Compiled by gcc (plain static inline) and by nvcc (__host__ __device__), so the
// CPU tests check the same math the CUDA kernels run.
#ifndef NNLAB_ELEMENTWISE_H
#define NNLAB_ELEMENTWISE_H

#include <math.h>
#include <stdint.h>
#include "op_table.h"

#ifdef __CUDACC__
#define EW_FN static inline __host__ __device__
#else
// always inlined: the CPU loops call ew_unary(OP, ...) with a constant OP, and only an
// inlined switch folds to the one formula that the loop can vectorise
#define EW_FN static inline __attribute__((always_inline))
#endif

// Unary ops: out = f(x; s0, s1). s0/s1 are scalar arguments where the op has them. The
// rows of op_table.h come first (their formulas are below); then the ops with a scalar
// operand, whose backward is written in ops_elementwise.c.
#define EW_ROW_CODE(name, OP, ...) EW_##OP,
enum {
    TENSOR_UNARY_OPS(EW_ROW_CODE)
    EW_TABLE_COUNT,
    EW_ADD_S = EW_TABLE_COUNT,   // x + s0
    EW_MUL_S,   // x * s0
    EW_RSUB_S,  // s0 - x
    EW_RDIV_S,  // s0 / x
    EW_DIV_S,   // x / s0 (a true division: x * (1/s0) differs in the last bit for a third of x / 3)
    EW_POW_S,   // x ^ s0
    EW_CLAMP,   // min(max(x, s0), s1)
    EW_EQ_S, EW_NE_S, EW_LT_S, EW_LE_S, EW_GT_S, EW_GE_S,   // x ? s0 -> 1/0
    EW_UNARY_COUNT
};
#undef EW_ROW_CODE

// Binary ops: out = f(a, b).
enum {
    EW_ADD, EW_SUB, EW_MUL, EW_DIV, EW_POW, EW_MAX, EW_MIN,
    EW_EQ, EW_NE, EW_LT, EW_LE, EW_GT, EW_GE,
    EW_BINARY_COUNT
};

// ---- exp, erf and tanh that a CPU loop can vectorise ----
// glibc's expf/erff/tanhf are scalar calls (its vector variants need -ffast-math), which
// made exp, sigmoid, tanh and gelu 5-20x slower than PyTorch's Sleef loops. These are
// branch-free (selects only), so gcc turns a loop of them into SIMD code. The GPU keeps
// its own libm.
#ifdef __CUDACC__
EW_FN float ew_expf(float x) { return expf(x); }
EW_FN float ew_erff(float x) { return erff(x); }
EW_FN float ew_tanhf(float x) { return tanhf(x); }
#else
typedef union { float f; int i; } ew_bits;

// Cephes expf: x = n ln2 + r, |r| <= ln2/2, exp(r) by a degree-6 polynomial (<= 1 ulp
// off glibc in tests), 2^n applied as two factors so results down to the denormals are
// right. NaN stays NaN, exp(inf) = inf, exp(-inf) = 0.
EW_FN float ew_expf(float x) {
    // clamp so that NaN becomes a number too: (int)NaN below would be undefined
    float c = x < 88.8f ? x : 88.8f;
    c = c > -104.0f ? c : -104.0f;
    // round(c log2 e) by the 1.5*2^23 trick: no floorf, which SSE2 lacks
    float n = (c * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
    float r = c - n * 0.693359375f;
    r = r - n * -2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    int k = (int)n, k1 = k / 2;
    ew_bits s1, s2;
    s1.i = (k1 + 127) << 23;
    s2.i = (k - k1 + 127) << 23;
    float y = p * s1.f * s2.f;
    return x != x ? x : y;
}

// erf as PyTorch's Vectorized<float>::erf computes it (Abramowitz-Stegun 7.1.26,
// absolute error <= 1.5e-7): sign(x) (1 - t P(t) exp(-x^2)), t = 1 / (1 + p|x|)
EW_FN float ew_erff(float x) {
    float a = fabsf(x);
    float t = 1.0f / (0.3275911f * a + 1.0f);
    float r = 1.061405429f;
    r = r * t + -1.453152027f;
    r = r * t + 1.421413741f;
    r = r * t + -0.284496736f;
    r = r * t + 0.254829592f;
    float e = ew_expf(-(x * x));
    return copysignf(1.0f - r * t * e, x);
}

// Cephes tanhf: an odd polynomial below |x| = 0.625 (where 1 - 2/(e^2x + 1) cancels),
// the exp form above, on |x|; both computed, one selected. NaN stays NaN.
EW_FN float ew_tanhf(float x) {
    float a = fabsf(x), z = x * x;
    float p = -5.70498872745e-3f;
    p = p * z + 2.06390887954e-2f;
    p = p * z + -5.37397155531e-2f;
    p = p * z + 1.33314422036e-1f;
    p = p * z + -3.33332819422e-1f;
    float small = p * z * a + a;
    float big = 1.0f - 2.0f / (ew_expf(2.0f * a) + 1.0f);
    return copysignf(a < 0.625f ? small : big, x);   // odd: tanh(-0) = -0
}
#endif

// PyTorch's formula: exp(-x) overflowing to inf below x = -88.7 gives 0, as there
// (the sign split that was here cost a second exp and a branch: ~10% slower)
EW_FN float ew_sigmoid(float x) { return 1.0f / (1.0f + ew_expf(-x)); }

// maximum/minimum as in PyTorch: a NaN on either side wins (fmaxf would hide it)
EW_FN float ew_max(float a, float b) { return a != a || a > b ? a : b; }
EW_FN float ew_min(float a, float b) { return a != a || a < b ? a : b; }

// ---- the formulas of op_table.h's rows ----
// ew_f_NAME(x, s0, s1) is the op; ew_b_NAME(s, g, s0, s1) the gradient of its input
// given the upstream gradient g and s, the saved x or y (the row's `saved`). Each is
// PyTorch's formula, written as PyTorch's kernel rounds it, NaN behaviour included.
EW_FN float ew_f_neg(float x, float s0, float s1) { return -x; }
EW_FN float ew_b_neg(float s, float g, float s0, float s1) { return -g; }
EW_FN float ew_f_exp(float x, float s0, float s1) { return ew_expf(x); }
EW_FN float ew_b_exp(float y, float g, float s0, float s1) { return g * y; }
EW_FN float ew_f_log(float x, float s0, float s1) { return logf(x); }
EW_FN float ew_b_log(float x, float g, float s0, float s1) { return g / x; }
EW_FN float ew_f_sqrt(float x, float s0, float s1) { return sqrtf(x); }
EW_FN float ew_b_sqrt(float y, float g, float s0, float s1) { return g / (2.0f * y); }
EW_FN float ew_f_abs(float x, float s0, float s1) { return fabsf(x); }
EW_FN float ew_b_abs(float x, float g, float s0, float s1) { return g * (float)((x > 0) - (x < 0)); }
// PyTorch: NaN stays NaN, -0 stays -0; the gradient passes at NaN
EW_FN float ew_f_relu(float x, float s0, float s1) { return x < 0 ? 0.0f : x; }
EW_FN float ew_b_relu(float x, float g, float s0, float s1) { return x <= 0 ? 0.0f : g; }
EW_FN float ew_f_sigmoid(float x, float s0, float s1) { return ew_sigmoid(x); }
EW_FN float ew_b_sigmoid(float y, float g, float s0, float s1) { return g * y * (1.0f - y); }
EW_FN float ew_f_tanh(float x, float s0, float s1) { return ew_tanhf(x); }
EW_FN float ew_b_tanh(float y, float g, float s0, float s1) { return g * (1.0f - y * y); }
// exact (erf) GELU, PyTorch's default
EW_FN float ew_f_gelu(float x, float s0, float s1) { return 0.5f * x * (1.0f + ew_erff(x * 0.70710678118654752f)); }
EW_FN float ew_b_gelu(float x, float g, float s0, float s1) {
    float cdf = 0.5f * (1.0f + ew_erff(x * 0.70710678118654752f));
    float pdf = 0.39894228040143268f * ew_expf(-0.5f * x * x);
    return g * (cdf + x * pdf);
}
EW_FN float ew_f_sin(float x, float s0, float s1) { return sinf(x); }
EW_FN float ew_b_sin(float x, float g, float s0, float s1) { return g * cosf(x); }
EW_FN float ew_f_cos(float x, float s0, float s1) { return cosf(x); }
EW_FN float ew_b_cos(float x, float g, float s0, float s1) { return g * -sinf(x); }
// s0 = negative_slope
EW_FN float ew_f_leaky_relu(float x, float s0, float s1) { return x > 0 ? x : x * s0; }
EW_FN float ew_b_leaky_relu(float x, float g, float s0, float s1) { return x > 0 ? g : g * s0; }
// s0 = alpha; expm1 keeps small negative x exact
EW_FN float ew_f_elu(float x, float s0, float s1) { return x > 0 ? x : s0 * expm1f(x); }
EW_FN float ew_b_elu(float x, float g, float s0, float s1) { return x > 0 ? g : g * s0 * expf(x); }
EW_FN float ew_f_silu(float x, float s0, float s1) { return x / (1.0f + ew_expf(-x)); }
EW_FN float ew_b_silu(float x, float g, float s0, float s1) {
    float s = 1.0f / (1.0f + ew_expf(-x));
    return g * s * (1.0f + x * (1.0f - s));
}
// s0 = beta, s1 = threshold: linear once beta*x passes the threshold
EW_FN float ew_f_softplus(float x, float s0, float s1) { return x * s0 > s1 ? x : log1pf(expf(x * s0)) / s0; }
EW_FN float ew_b_softplus(float x, float g, float s0, float s1) {
    float z = expf(x * s0);
    return x * s0 > s1 ? g : g * z / (z + 1.0f);
}
// s0 = min_val, s1 = max_val; no gradient at or beyond the bounds
EW_FN float ew_f_hardtanh(float x, float s0, float s1) { return ew_min(ew_max(x, s0), s1); }
EW_FN float ew_b_hardtanh(float x, float g, float s0, float s1) { return x <= s0 || x >= s1 ? 0.0f : g; }

#define EW_ROW_FORWARD(name, OP, ...) case EW_##OP: return ew_f_##name(x, s0, s1);
#define EW_ROW_BACKWARD(name, OP, ...) case EW_##OP: return ew_b_##name(s, g, s0, s1);

EW_FN float ew_unary(int op, float x, float s0, float s1) {
    switch (op) {
    TENSOR_UNARY_OPS(EW_ROW_FORWARD)
    case EW_ADD_S: return x + s0;
    case EW_MUL_S: return x * s0;
    case EW_RSUB_S: return s0 - x;
    case EW_RDIV_S: return s0 / x;
    case EW_DIV_S: return x / s0;
    case EW_POW_S: return s0 == 2.0f ? x * x : powf(x, s0);
    case EW_CLAMP: return ew_min(ew_max(x, s0), s1);   // PyTorch: lo > hi gives hi; a NaN bound gives NaN
    case EW_EQ_S: return x == s0;
    case EW_NE_S: return x != s0;
    case EW_LT_S: return x < s0;
    case EW_LE_S: return x <= s0;
    case EW_GT_S: return x > s0;
    case EW_GE_S: return x >= s0;
    default: return 0.0f;
    }
}

// the input gradient of table op `op` from the saved value s and the upstream gradient g
EW_FN float ew_unary_backward(int op, float s, float g, float s0, float s1) {
    switch (op) {
    TENSOR_UNARY_OPS(EW_ROW_BACKWARD)
    default: return 0.0f;
    }
}
#undef EW_ROW_FORWARD
#undef EW_ROW_BACKWARD

EW_FN float ew_binary(int op, float a, float b) {
    switch (op) {
    case EW_ADD: return a + b;
    case EW_SUB: return a - b;
    case EW_MUL: return a * b;
    case EW_DIV: return a / b;
    case EW_POW: return powf(a, b);
    case EW_MAX: return ew_max(a, b);
    case EW_MIN: return ew_min(a, b);
    case EW_EQ: return a == b;
    case EW_NE: return a != b;
    case EW_LT: return a < b;
    case EW_LE: return a <= b;
    case EW_GT: return a > b;
    case EW_GE: return a >= b;
    default: return 0.0f;
    }
}

// Philox4x32-10 (Salmon et al. 2011): counter-based, so element i of a draw is a
// pure function of (seed, offset + i) on any device.
typedef struct { unsigned int v[4]; } ew_u32x4;

EW_FN ew_u32x4 ew_philox(unsigned long long counter, unsigned long long seed) {
    unsigned int c0 = (unsigned int)counter, c1 = (unsigned int)(counter >> 32), c2 = 0, c3 = 0;
    unsigned int k0 = (unsigned int)seed, k1 = (unsigned int)(seed >> 32);
    for (int r = 0; r < 10; r++) {
        unsigned long long p0 = (unsigned long long)0xD2511F53u * c0;
        unsigned long long p1 = (unsigned long long)0xCD9E8D57u * c2;
        unsigned int h0 = (unsigned int)(p0 >> 32), l0 = (unsigned int)p0;
        unsigned int h1 = (unsigned int)(p1 >> 32), l1 = (unsigned int)p1;
        unsigned int n0 = h1 ^ c1 ^ k0, n2 = h0 ^ c3 ^ k1;
        c0 = n0; c1 = l1; c2 = n2; c3 = l0;
        k0 += 0x9E3779B9u; k1 += 0xBB67AE85u;
    }
    ew_u32x4 out = {{c0, c1, c2, c3}};
    return out;
}

// Uniform in [0,1) with 24 random bits: exactly representable in float32.
EW_FN float ew_u01(unsigned int x) { return (float)(x >> 8) * (1.0f / 16777216.0f); }

enum { EW_RAND_UNIFORM, EW_RAND_NORMAL, EW_RAND_BERNOULLI };

// Element i of a random draw: uniform in [a,b), normal(mean a, std b), or bernoulli(keep prob a).
EW_FN float ew_random(int kind, unsigned long long seed, unsigned long long counter, float a, float b) {
    ew_u32x4 r = ew_philox(counter, seed);
    if (kind == EW_RAND_NORMAL) {
        // Box-Muller on two uniforms; u1 in (0,1] so log is finite
        float u1 = 1.0f - ew_u01(r.v[0]);
        float u2 = ew_u01(r.v[1]);
        return a + b * sqrtf(-2.0f * logf(u1)) * cosf(6.28318530717958648f * u2);
    }
    float u = ew_u01(r.v[0]);
    if (kind == EW_RAND_BERNOULLI) return u < a ? 1.0f : 0.0f;
    return a + (b - a) * u;
}

// Batch norm's running statistics after a batch of M values per channel with mean m and
// biased variance var, as PyTorch: r <- r (1 - momentum) + batch * momentum, the variance
// unbiased. One expression for both devices, rounded step by step on the GPU (no FMA
// contraction), so CPU and GPU running stats agree bit for bit.
EW_FN void ew_running_stats(float *rm, float *rv, float m, float var, int64_t M, float momentum) {
    float unbiased = var * (float)((double)M / (double)(M - 1));
#ifdef __CUDA_ARCH__
    *rm = __fadd_rn(__fmul_rn(*rm, 1.0f - momentum), __fmul_rn(m, momentum));
    *rv = __fadd_rn(__fmul_rn(*rv, 1.0f - momentum), __fmul_rn(unbiased, momentum));
#else
    *rm = *rm * (1.0f - momentum) + m * momentum;
    *rv = *rv * (1.0f - momentum) + unbiased * momentum;
#endif
}

#endif
