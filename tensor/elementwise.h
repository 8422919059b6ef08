// elementwise.h - the elementwise formulas, written once for the CPU and the GPU.
// Compiled by gcc (plain static inline) and by nvcc (__host__ __device__), so the
// CPU tests check the same math the CUDA kernels run.
#ifndef NNLAB_ELEMENTWISE_H
#define NNLAB_ELEMENTWISE_H

#include <math.h>

#ifdef __CUDACC__
#define EW_FN static inline __host__ __device__
#else
#define EW_FN static inline
#endif

// Unary ops: out = f(x; s0, s1). s0/s1 are scalar arguments where the op has them.
enum {
    EW_NEG, EW_EXP, EW_LOG, EW_SQRT, EW_ABS, EW_RELU, EW_SIGMOID, EW_TANH, EW_GELU,
    EW_SIN, EW_COS, EW_SIGN,
    EW_ADD_S,   // x + s0
    EW_MUL_S,   // x * s0
    EW_RSUB_S,  // s0 - x
    EW_RDIV_S,  // s0 / x
    EW_DIV_S,   // x / s0 (a true division: x * (1/s0) differs in the last bit for a third of x / 3)
    EW_POW_S,   // x ^ s0
    EW_CLAMP,   // min(max(x, s0), s1)
    EW_EQ_S, EW_NE_S, EW_LT_S, EW_LE_S, EW_GT_S, EW_GE_S,   // x ? s0 -> 1/0
    EW_UNARY_COUNT
};

// Binary ops: out = f(a, b). The *_BWD ops are derivatives: a is the saved forward
// value (input x or output y), b the incoming gradient.
enum {
    EW_ADD, EW_SUB, EW_MUL, EW_DIV, EW_POW, EW_MAX, EW_MIN,
    EW_EQ, EW_NE, EW_LT, EW_LE, EW_GT, EW_GE,
    EW_RELU_BWD,     // a = x
    EW_SIGMOID_BWD,  // a = y
    EW_TANH_BWD,     // a = y
    EW_GELU_BWD,     // a = x
    EW_BINARY_COUNT
};

EW_FN float ew_gelu(float x) { return 0.5f * x * (1.0f + erff(x * 0.70710678118654752f)); }

EW_FN float ew_gelu_grad(float x) {
    float cdf = 0.5f * (1.0f + erff(x * 0.70710678118654752f));
    float pdf = 0.39894228040143268f * expf(-0.5f * x * x);
    return cdf + x * pdf;
}

EW_FN float ew_sigmoid(float x) {
    // split on the sign so exp never overflows
    if (x >= 0) { float z = expf(-x); return 1.0f / (1.0f + z); }
    float z = expf(x);
    return z / (1.0f + z);
}

// maximum/minimum as in PyTorch: a NaN on either side wins (fmaxf would hide it)
EW_FN float ew_max(float a, float b) { return a != a || a > b ? a : b; }
EW_FN float ew_min(float a, float b) { return a != a || a < b ? a : b; }

EW_FN float ew_unary(int op, float x, float s0, float s1) {
    switch (op) {
    case EW_NEG: return -x;
    case EW_EXP: return expf(x);
    case EW_LOG: return logf(x);
    case EW_SQRT: return sqrtf(x);
    case EW_ABS: return fabsf(x);
    case EW_RELU: return x < 0 ? 0.0f : x;      // PyTorch: NaN stays NaN, -0 stays -0
    case EW_SIGMOID: return ew_sigmoid(x);
    case EW_TANH: return tanhf(x);
    case EW_GELU: return ew_gelu(x);
    case EW_SIN: return sinf(x);
    case EW_COS: return cosf(x);
    case EW_SIGN: return (float)((x > 0) - (x < 0));
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
    case EW_RELU_BWD: return a <= 0 ? 0.0f : b;   // PyTorch: the gradient passes at NaN
    case EW_SIGMOID_BWD: return b * a * (1.0f - a);
    case EW_TANH_BWD: return b * (1.0f - a * a);
    case EW_GELU_BWD: return b * ew_gelu_grad(a);
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

#endif
