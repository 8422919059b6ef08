// gpu_gemm.cu - matmul through cuBLAS, and the unfold/fold (im2col/col2im) pair that
// turns a convolution into a matmul.
#include <limits.h>
#include "gpu_internal.h"

static cublasHandle_t gpu_cublas;

cublasStatus_t gpu_gemm_init(void) { return cublasCreate(&gpu_cublas); }

// TF32 rounds the inputs to a 10-bit mantissa inside the tensor cores (~1e-3 relative);
// CUBLAS_DEFAULT_MATH keeps sgemm in full FP32, so CPU/GPU parity holds by default.
int gpu_set_matmul_precision(int tf32) {
    GPU_CHECK_CUBLAS(cublasSetMathMode(gpu_cublas, tf32 ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_DEFAULT_MATH));
    return 0;
}

// ---- gemm ---------------------------------------------------------------------------------
// Row-major C (m,n) = alpha op(A) (m,k) op(B) (k,n) + beta C, batched.
// cuBLAS is column-major, where a row-major (m,n) matrix reads as its (n,m) transpose:
// so ask it for C^T = op(B)^T op(A)^T, i.e. swap the operands and m with n.
int gpu_gemm(int batch, int trans_a, int trans_b, int64_t m, int64_t n, int64_t k, float alpha,
             const float *a, int64_t lda, int64_t stride_a,
             const float *b, int64_t ldb, int64_t stride_b,
             float beta, float *c, int64_t ldc, int64_t stride_c) {
    if (batch <= 0 || m == 0 || n == 0) return 0;
    if (m > INT_MAX || n > INT_MAX || k > INT_MAX || lda > INT_MAX || ldb > INT_MAX || ldc > INT_MAX) {
        gpu_set_error("gpu: %s:%d: gemm: a dim of (%lld,%lld)x(%lld,%lld) is over cuBLAS's 32-bit limit",
                         __FILE__, __LINE__, (long long)m, (long long)k, (long long)k, (long long)n);
        return -1;
    }
    cublasOperation_t op_a = trans_a ? CUBLAS_OP_T : CUBLAS_OP_N;
    cublasOperation_t op_b = trans_b ? CUBLAS_OP_T : CUBLAS_OP_N;
    // cuBLAS wants ld >= 1 even when k == 0 (then C = beta C)
    int ia = (int)(lda > 0 ? lda : 1), ib = (int)(ldb > 0 ? ldb : 1);
    if (stride_c == 0 && batch > 1) {
        // every product adds into one C (a summed weight gradient): one GEMM at a time,
        // since a strided batch would write C concurrently
        for (int i = 0; i < batch; i++) {
            float beta_i = i ? 1.0f : beta;
            GPU_CHECK_CUBLAS(cublasSgemm(gpu_cublas, op_b, op_a, (int)n, (int)m, (int)k, &alpha,
                                         b + i * stride_b, ib, a + i * stride_a, ia, &beta_i, c, (int)ldc));
        }
        return 0;
    }
    GPU_CHECK_CUBLAS(cublasSgemmStridedBatched(gpu_cublas, op_b, op_a, (int)n, (int)m, (int)k, &alpha,
                                               b, ib, stride_b, a, ia, stride_a, &beta, c, (int)ldc,
                                               stride_c, batch));
    return 0;
}

// ---- unfold / fold ------------------------------------------------------------------------
// The geometry of a 2-D sliding window, passed to kernels by value.
struct gpu_window {
    int64_t B, C, H, W, oh, ow;
    int kh, kw, sh, sw, ph, pw;
    int batch_inner;   // cols laid out (C*kh*kw, B, L) instead of (B, C*kh*kw, L)
};

// offset in cols of (image b, row r = c*kh*kw + ki*kw + kj, position l)
__device__ static inline int64_t gpu_cols_at(const gpu_window &g, int64_t b, int64_t r, int64_t l) {
    int64_t L = g.oh * g.ow, R = g.C * g.kh * g.kw;
    return (g.batch_inner ? r * g.B + b : b * R + r) * L + l;
}

// x is (B,C,H,W) -> cols (B, C*kh*kw, oh*ow) or (C*kh*kw, B, oh*ow); a thread per element
__global__ void gpu_unfold2d_kernel(float *cols, const float *x, gpu_window g, int64_t n, float pad_value) {
    GPU_FOR_EACH(i, n) {
        int64_t t = i;
        int64_t ox = t % g.ow; t /= g.ow;
        int64_t oy = t % g.oh; t /= g.oh;
        int64_t kj = t % g.kw; t /= g.kw;
        int64_t ki = t % g.kh; t /= g.kh;            // t is now b*C + c
        int64_t iy = oy * g.sh - g.ph + ki, ix = ox * g.sw - g.pw + kj;
        bool inside = iy >= 0 && iy < g.H && ix >= 0 && ix < g.W;
        int64_t b = t / g.C, r = ((t % g.C) * g.kh + ki) * g.kw + kj;
        cols[gpu_cols_at(g, b, r, oy * g.ow + ox)] = inside ? x[(t * g.H + iy) * g.W + ix] : pad_value;
    }
}

// cols (B, C*kh*kw, oh*ow) -> x (B,C,H,W) += the sum of the windows covering each pixel.
// A thread per pixel gathers (instead of scattering with atomics): deterministic.
__global__ void gpu_fold2d_kernel(float *x, const float *cols, gpu_window g, int64_t n) {
    GPU_FOR_EACH(i, n) {
        int64_t ix = i % g.W, iy = (i / g.W) % g.H, bc = i / (g.W * g.H);
        float s = 0.0f;
        for (int ki = 0; ki < g.kh; ki++) {
            int64_t ty = iy + g.ph - ki;             // = oy * sh for the window that covers iy
            if (ty < 0 || ty % g.sh || ty / g.sh >= g.oh) continue;
            for (int kj = 0; kj < g.kw; kj++) {
                int64_t tx = ix + g.pw - kj;
                if (tx < 0 || tx % g.sw || tx / g.sw >= g.ow) continue;
                int64_t r = ((bc % g.C) * g.kh + ki) * g.kw + kj;
                s += cols[gpu_cols_at(g, bc / g.C, r, (ty / g.sh) * g.ow + tx / g.sw)];
            }
        }
        x[i] += s;
    }
}

int gpu_unfold2d(float *cols, const float *x, int64_t B, int64_t C, int64_t H, int64_t W,
                 int kh, int kw, int sh, int sw, int ph, int pw, int64_t oh, int64_t ow, float pad_value,
                 int batch_inner) {
    gpu_window g = {B, C, H, W, oh, ow, kh, kw, sh, sw, ph, pw, batch_inner};
    int64_t n = B * C * kh * kw * oh * ow;
    if (n == 0) return 0;
    gpu_unfold2d_kernel<<<gpu_blocks(n, GPU_THREADS), GPU_THREADS>>>(cols, x, g, n, pad_value);
    GPU_CHECK_LAUNCH(gpu_unfold2d_kernel);
    return 0;
}

int gpu_fold2d(float *x, const float *cols, int64_t B, int64_t C, int64_t H, int64_t W,
               int kh, int kw, int sh, int sw, int ph, int pw, int64_t oh, int64_t ow, int batch_inner) {
    gpu_window g = {B, C, H, W, oh, ow, kh, kw, sh, sw, ph, pw, batch_inner};
    int64_t n = B * C * H * W;
    if (n == 0) return 0;
    gpu_fold2d_kernel<<<gpu_blocks(n, GPU_THREADS), GPU_THREADS>>>(x, cols, g, n);
    GPU_CHECK_LAUNCH(gpu_fold2d_kernel);
    return 0;
}
