// gpu_matmul.cu - matmul through cuBLAS (batched, strided) and its precision setting
// (convolution: gpu_conv.cu).
#include <limits.h>
#include "gpu_internal.h"

static cublasHandle_t gpu_cublas;

cublasStatus_t gpu_gemm_init(void) { return cublasCreate(&gpu_cublas); }

// TF32 rounds the inputs to a 10-bit mantissa inside the tensor cores (~1e-3 relative);
// CUBLAS_DEFAULT_MATH keeps sgemm in full FP32, so CPU/GPU parity holds by default.
int gpu_set_matmul_precision(int tf32) {
    GPU_CHECK_CUBLAS(cublasSetMathMode(gpu_cublas, tf32 ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_DEFAULT_MATH));
    gpu_conv_tf32 = tf32;   // cuDNN's convolutions follow the same setting
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
        // One C for every product (stride 0): backend.h's C[i] = alpha A[i] B[i] + beta C[i]
        // read in order, as tensor/cpu/blas.c's cpu_gemm runs it: product i sees the C
        // that product i-1 left and scales it by beta again (beta 1 sums the products,
        // beta 0 keeps the last one). One GEMM at a time, in order: a strided batch would
        // write C concurrently. No op issues this today (matmul's output is never
        // broadcast); tests/c/test_gpu_kernels.c checks it against the CPU backend.
        for (int i = 0; i < batch; i++)
            GPU_CHECK_CUBLAS(cublasSgemm(gpu_cublas, op_b, op_a, (int)n, (int)m, (int)k, &alpha,
                                         b + i * stride_b, ib, a + i * stride_a, ia, &beta, c, (int)ldc));
        return 0;
    }
    GPU_CHECK_CUBLAS(cublasSgemmStridedBatched(gpu_cublas, op_b, op_a, (int)n, (int)m, (int)k, &alpha,
                                               b, ib, stride_b, a, ia, stride_a, &beta, c, (int)ldc,
                                               stride_c, batch));
    return 0;
}
