// gpu_index.cu - gather and its adjoint scatter_add along the middle dim of
// (outer, r, inner), with indices held as 0-based floats, and the labels check of
// cross-entropy and embeddings; bad values go to the sticky device flag (gpu_error.cu).
#include <stddef.h>
#include "gpu_internal.h"

// ---- the first bad value, as the CPU reports it ----------------------------------------------
// The CPU checks in flat order and stops at the first bad entry (tensor/cpu/index.c,
// nn/loss.c); threads find bad entries in any order. So a checking kernel keeps the
// lowest bad flat position (atomicMin) and its last block to finish records that entry
// in the sticky flag (gpu_record_error: the first launch to record still wins, as the
// CPU would have stopped at that op), then resets the scan for the next launch. No
// extra launch and no host wait; the bad value is re-read from the checked tensor.
typedef struct {
    unsigned long long min_pos;   // ~0 when nothing bad was seen
    unsigned int blocks_done;
} gpu_index_scan;

static gpu_index_scan *gpu_scan;   // device memory; kernels run in order on stream 0

static gpu_index_scan *gpu_index_scan_get(void) {
    if (gpu_scan) return gpu_scan;
    void *p = NULL;
    cudaError_t e = cudaMalloc(&p, sizeof(gpu_index_scan));
    if (e == cudaSuccess) e = cudaMemset(p, 0xff, sizeof(unsigned long long));
    if (e == cudaSuccess) e = cudaMemset((char *)p + offsetof(gpu_index_scan, blocks_done), 0, sizeof(unsigned int));
    if (e != cudaSuccess) {
        gpu_cuda_failed(e, "cudaMalloc(index scan)", __FILE__, __LINE__);
        if (p) cudaFree(p);
        return NULL;
    }
    return gpu_scan = (gpu_index_scan *)p;
}

static __device__ inline void gpu_scan_bad(gpu_index_scan *scan, int64_t pos) {
    atomicMin(&scan->min_pos, (unsigned long long)pos);
}

// Every thread of every block calls this once, after its grid-stride loop.
static __device__ inline void gpu_scan_finish(gpu_index_scan *scan, const float *checked, int64_t limit,
                                              gpu_device_error *err, int site) {
    __shared__ bool last;
    __threadfence();   // this block's atomicMins are seen before its count below
    __syncthreads();
    if (threadIdx.x == 0) last = atomicAdd(&scan->blocks_done, 1u) == gridDim.x - 1;
    __syncthreads();
    if (!last || threadIdx.x != 0) return;
    unsigned long long pos = atomicExch(&scan->min_pos, ~0ull);
    scan->blocks_done = 0;
    if (pos != ~0ull) gpu_record_error(err, site, checked[pos], (int64_t)pos, limit);
}

// Index f (a float) -> the 0-based position it names in a dim of size r, or -1 (and
// the position noted in the scan) when it is not a whole number in [0, r).
static __device__ inline int64_t gpu_check_index(float f, int64_t r, int64_t pos, gpu_index_scan *scan) {
    int64_t k = f >= 0.0f && f < (float)r ? (int64_t)f : -1;   // NaN fails the test too
    if (k >= 0 && (float)k == f && k < r) return k;
    gpu_scan_bad(scan, pos);
    return -1;
}

// a is (outer, ra, inner); idx and out are (outer, ri, inner)
__global__ void gpu_gather_kernel(float *out, const float *a, const float *idx, int64_t ra, int64_t ri,
                                  int64_t inner, int64_t n, gpu_index_scan *scan, gpu_device_error *err, int site) {
    GPU_FOR_EACH(e, n) {
        int64_t j = e % inner, o = e / (ri * inner);
        int64_t k = gpu_check_index(idx[e], ra, e, scan);
        out[e] = k < 0 ? 0.0f : a[(o * ra + k) * inner + j];
    }
    gpu_scan_finish(scan, idx, ra, err, site);
}

// a is (outer, ra, inner); idx and src are (outer, ri, inner). Repeated indices add up
// with atomicAdd, so the summation order (and the last bits) may vary run to run.
__global__ void gpu_scatter_add_kernel(float *a, const float *src, const float *idx, int64_t ra, int64_t ri,
                                       int64_t inner, int64_t n, gpu_index_scan *scan, gpu_device_error *err,
                                       int site) {
    GPU_FOR_EACH(e, n) {
        int64_t j = e % inner, o = e / (ri * inner);
        int64_t k = gpu_check_index(idx[e], ra, e, scan);
        if (k >= 0) atomicAdd(&a[(o * ra + k) * inner + j], src[e]);
    }
    gpu_scan_finish(scan, idx, ra, err, site);
}

// A bad index does not make the host wait: the kernel skips it (gather writes 0) and
// records it in the sticky device flag, which the next sync reports (gpu_error.cu).
static const char *gpu_next_gather_name;   // set by name_next_index_op, used once

void gpu_name_next_index_op(const char *op) { gpu_next_gather_name = op; }

int gpu_gather(float *out, const float *a, const float *idx,
               int64_t outer, int64_t ra, int64_t ri, int64_t inner) {
    const char *op = gpu_next_gather_name ? gpu_next_gather_name : "gather";
    gpu_next_gather_name = NULL;
    int64_t n = outer * ri * inner;
    if (n == 0) return 0;
    gpu_device_error *err = gpu_device_errors();
    gpu_index_scan *scan = err ? gpu_index_scan_get() : NULL;
    int site = gpu_error_site(op, NULL, 0);
    if (!scan) return -1;
    gpu_gather_kernel<<<gpu_blocks(n, GPU_THREADS), GPU_THREADS>>>(out, a, idx, ra, ri, inner, n, scan, err, site);
    GPU_CHECK_LAUNCH(gpu_gather_kernel);
    gpu_errors_armed();
    return 0;
}

int gpu_scatter_add(float *a, const float *src, const float *idx,
                    int64_t outer, int64_t ra, int64_t ri, int64_t inner) {
    int64_t n = outer * ri * inner;
    if (n == 0) return 0;
    gpu_device_error *err = gpu_device_errors();
    gpu_index_scan *scan = err ? gpu_index_scan_get() : NULL;
    int site = gpu_error_site("scatter_add", NULL, 0);
    if (!scan) return -1;
    gpu_scatter_add_kernel<<<gpu_blocks(n, GPU_THREADS), GPU_THREADS>>>(a, src, idx, ra, ri, inner, n, scan, err,
                                                                       site);
    GPU_CHECK_LAUNCH(gpu_scatter_add_kernel);
    gpu_errors_armed();
    return 0;
}

// labels (n floats) must be whole numbers in base..base+classes-1; checked on the device,
// the first bad one (nn/loss.c stops at it) reported at the next sync in the CPU check's words
__global__ void gpu_check_labels_kernel(const float *v, int64_t n, int64_t classes, int base, gpu_index_scan *scan,
                                        gpu_device_error *err, int site) {
    GPU_FOR_EACH(i, n) {
        float x = v[i];
        if (!(x == floorf(x) && x >= (float)base && x < (float)(base + classes))) gpu_scan_bad(scan, i);
    }
    gpu_scan_finish(scan, v, classes, err, site);
}

int gpu_check_labels(const float *v, int64_t n, int64_t classes, int base, const char *op, const char *what) {
    if (n == 0) return 0;
    gpu_device_error *err = gpu_device_errors();
    gpu_index_scan *scan = err ? gpu_index_scan_get() : NULL;
    int site = gpu_error_site(op, what, base);
    if (!scan) return -1;
    gpu_check_labels_kernel<<<gpu_blocks(n, GPU_THREADS), GPU_THREADS>>>(v, n, classes, base, scan, err, site);
    GPU_CHECK_LAUNCH(gpu_check_labels_kernel);
    gpu_errors_armed();
    return 0;
}
