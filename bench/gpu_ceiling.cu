// gpu_ceiling.cu - what the hardware and CUDA's own libraries reach on the tasks of
// bench/gpu_bench.lua, measured in the same run so nnlab's rows have a ceiling beside
// them: cuBLAS sgemm (FP32 and TF32) and a device-to-device copy (the memory-bound
// kernels' limit). Prints "name value unit" lines, as gpu_bench.lua does.
// Built by `make gpu-bundle` (gpu/gpu.mk) into build/gpu_ceiling.
#include <stdio.h>
#include <cuda_runtime.h>
#include <cublas_v2.h>

#define CHECK(call) do { cudaError_t e_ = (call); if (e_ != cudaSuccess) { \
    fprintf(stderr, "gpu_ceiling: %s: %s\n", #call, cudaGetErrorString(e_)); return 1; } } while (0)
#define CHECK_BLAS(call) do { cublasStatus_t s_ = (call); if (s_ != CUBLAS_STATUS_SUCCESS) { \
    fprintf(stderr, "gpu_ceiling: %s: %s\n", #call, cublasGetStatusString(s_)); return 1; } } while (0)

// x[i] = a small pseudo-random value, so cuBLAS does not see zeros
__global__ void fill_kernel(float *x, size_t n) {
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x)
        x[i] = (float)((i * 2654435761u) % 1000) / 1000.0f - 0.5f;
}

// median of 5 timings of `inner` calls each, in seconds per call
static int time_sgemm(cublasHandle_t h, int n, const float *a, const float *b, float *c, int inner, double *out) {
    const float one = 1.0f, zero = 0.0f;
    cudaEvent_t e0, e1;
    CHECK(cudaEventCreate(&e0));
    CHECK(cudaEventCreate(&e1));
    CHECK_BLAS(cublasSgemm(h, CUBLAS_OP_N, CUBLAS_OP_N, n, n, n, &one, a, n, b, n, &zero, c, n));   // warm up
    double t[5];
    for (int r = 0; r < 5; r++) {
        CHECK(cudaEventRecord(e0));
        for (int i = 0; i < inner; i++)
            CHECK_BLAS(cublasSgemm(h, CUBLAS_OP_N, CUBLAS_OP_N, n, n, n, &one, a, n, b, n, &zero, c, n));
        CHECK(cudaEventRecord(e1));
        CHECK(cudaEventSynchronize(e1));
        float ms;
        CHECK(cudaEventElapsedTime(&ms, e0, e1));
        t[r] = ms / 1e3 / inner;
    }
    for (int i = 1; i < 5; i++)   // insertion sort for the median
        for (int j = i; j > 0 && t[j] < t[j - 1]; j--) { double s = t[j]; t[j] = t[j - 1]; t[j - 1] = s; }
    *out = t[2];
    cudaEventDestroy(e0);
    cudaEventDestroy(e1);
    return 0;
}

int main(void) {
    int count = 0;
    if (cudaGetDeviceCount(&count) != cudaSuccess || count == 0) {
        printf("gpu_ceiling: skipped: no CUDA device\n");
        return 0;
    }
    cublasHandle_t h;
    CHECK_BLAS(cublasCreate(&h));
    const int n = 4096;
    size_t elems = (size_t)n * n;
    float *a, *b, *c;
    CHECK(cudaMalloc(&a, elems * sizeof(float)));
    CHECK(cudaMalloc(&b, elems * sizeof(float)));
    CHECK(cudaMalloc(&c, elems * sizeof(float)));
    fill_kernel<<<1024, 256>>>(a, elems);
    fill_kernel<<<1024, 256>>>(b, elems);
    CHECK(cudaGetLastError());

    double s;
    int sizes[2] = {1024, 4096};
    for (int k = 0; k < 2; k++) {
        int m = sizes[k];
        CHECK_BLAS(cublasSetMathMode(h, CUBLAS_DEFAULT_MATH));
        if (time_sgemm(h, m, a, b, c, m >= 4096 ? 10 : 50, &s)) return 1;
        printf("sgemm_%d %.6g GFLOP/s\n", m, 2.0 * m * m * m / s / 1e9);
        CHECK_BLAS(cublasSetMathMode(h, CUBLAS_TF32_TENSOR_OP_MATH));
        if (time_sgemm(h, m, a, b, c, m >= 4096 ? 10 : 50, &s)) return 1;
        printf("sgemm_%d_tf32 %.6g GFLOP/s\n", m, 2.0 * m * m * m / s / 1e9);
    }

    // device-to-device copy of 64M floats: bytes read + written, as gpu_bench's add_64M counts
    size_t big = (size_t)64 << 20;
    float *x, *y;
    CHECK(cudaMalloc(&x, big * sizeof(float)));
    CHECK(cudaMalloc(&y, big * sizeof(float)));
    CHECK(cudaMemcpy(y, x, big * sizeof(float), cudaMemcpyDeviceToDevice));
    cudaEvent_t e0, e1;
    CHECK(cudaEventCreate(&e0));
    CHECK(cudaEventCreate(&e1));
    CHECK(cudaEventRecord(e0));
    for (int i = 0; i < 10; i++) CHECK(cudaMemcpy(y, x, big * sizeof(float), cudaMemcpyDeviceToDevice));
    CHECK(cudaEventRecord(e1));
    CHECK(cudaEventSynchronize(e1));
    float ms;
    CHECK(cudaEventElapsedTime(&ms, e0, e1));
    printf("copy_64M %.6g GB/s\n", 2.0 * 4 * big / (ms / 1e3 / 10) / 1e9);
    cudaFree(x); cudaFree(y); cudaFree(a); cudaFree(b); cudaFree(c);
    cublasDestroy(h);
    return 0;
}
