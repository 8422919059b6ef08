// gpu_index.cu - gather and its adjoint scatter_add along the middle dim of
// (outer, r, inner), with indices held as 0-based floats.
#include "gpu_internal.h"

// A bad index found by a kernel: the first one wins, the host reads it after the kernel.
struct gpu_index_error { int bad; float value; };

static gpu_index_error *gpu_index_err;   // device memory, allocated on first use

// Index f (a float) -> the 0-based position it names in a dim of size r, or -1 (and
// the error recorded) when it is not a whole number in [0, r).
static __device__ inline int64_t gpu_check_index(float f, int64_t r, gpu_index_error *err) {
    int64_t k = f >= 0.0f && f < (float)r ? (int64_t)f : -1;   // NaN fails the test too
    if (k >= 0 && (float)k == f && k < r) return k;
    if (atomicCAS(&err->bad, 0, 1) == 0) err->value = f;
    return -1;
}

// a is (outer, ra, inner); idx and out are (outer, ri, inner)
__global__ void gpu_gather_kernel(float *out, const float *a, const float *idx, int64_t ra, int64_t ri,
                                  int64_t inner, int64_t n, gpu_index_error *err) {
    GPU_FOR_EACH(e, n) {
        int64_t j = e % inner, o = e / (ri * inner);
        int64_t k = gpu_check_index(idx[e], ra, err);
        out[e] = k < 0 ? 0.0f : a[(o * ra + k) * inner + j];
    }
}

// a is (outer, ra, inner); idx and src are (outer, ri, inner). Repeated indices add up
// with atomicAdd, so the summation order (and the last bits) may vary run to run.
__global__ void gpu_scatter_add_kernel(float *a, const float *src, const float *idx, int64_t ra, int64_t ri,
                                       int64_t inner, int64_t n, gpu_index_error *err) {
    GPU_FOR_EACH(e, n) {
        int64_t j = e % inner, o = e / (ri * inner);
        int64_t k = gpu_check_index(idx[e], ra, err);
        if (k >= 0) atomicAdd(&a[(o * ra + k) * inner + j], src[e]);
    }
}

// Clears the error flag before an indexing kernel.
static int gpu_index_begin(void) {
    if (!gpu_index_err) GPU_CHECK(cudaMalloc(&gpu_index_err, sizeof *gpu_index_err));
    GPU_CHECK(cudaMemsetAsync(gpu_index_err, 0, sizeof *gpu_index_err, 0));
    return 0;
}

// Waits for the kernel and reports a bad index it met, worded as the CPU backend words it
// (indices shown 1-based, as Lua users write them).
static int gpu_index_end(const char *op, int64_t r) {
    gpu_index_error h;
    GPU_CHECK(cudaMemcpy(&h, gpu_index_err, sizeof h, cudaMemcpyDeviceToHost));
    if (!h.bad) return 0;
    gpu_set_error("%s: index %g is out of range: indices must be whole numbers in 1..%lld", op,
                     (double)h.value + 1, (long long)r);
    return -1;
}

int gpu_gather(float *out, const float *a, const float *idx,
               int64_t outer, int64_t ra, int64_t ri, int64_t inner) {
    int64_t n = outer * ri * inner;
    if (n == 0) return 0;
    if (gpu_index_begin() != 0) return -1;
    gpu_gather_kernel<<<gpu_blocks(n, GPU_THREADS), GPU_THREADS>>>(out, a, idx, ra, ri, inner, n, gpu_index_err);
    GPU_CHECK_LAUNCH(gpu_gather_kernel);
    return gpu_index_end("gather", ra);
}

int gpu_scatter_add(float *a, const float *src, const float *idx,
                    int64_t outer, int64_t ra, int64_t ri, int64_t inner) {
    int64_t n = outer * ri * inner;
    if (n == 0) return 0;
    if (gpu_index_begin() != 0) return -1;
    gpu_scatter_add_kernel<<<gpu_blocks(n, GPU_THREADS), GPU_THREADS>>>(a, src, idx, ra, ri, inner, n, gpu_index_err);
    GPU_CHECK_LAUNCH(gpu_scatter_add_kernel);
    return gpu_index_end("scatter_add", ra);
}
