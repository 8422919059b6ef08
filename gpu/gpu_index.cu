// gpu_index.cu - gather and its adjoint scatter_add along the middle dim of
// (outer, r, inner), with indices held as 0-based floats, and the labels check of
// cross-entropy and embeddings; bad values go to the sticky device flag (gpu_error.cu).
#include "gpu_internal.h"

// Index f (a float) -> the 0-based position it names in a dim of size r, or -1 (and
// the error recorded in the sticky device flag) when it is not a whole number in [0, r).
static __device__ inline int64_t gpu_check_index(float f, int64_t r, int64_t pos, gpu_device_error *err, int site) {
    int64_t k = f >= 0.0f && f < (float)r ? (int64_t)f : -1;   // NaN fails the test too
    if (k >= 0 && (float)k == f && k < r) return k;
    gpu_record_error(err, site, f, pos, r);
    return -1;
}

// a is (outer, ra, inner); idx and out are (outer, ri, inner)
__global__ void gpu_gather_kernel(float *out, const float *a, const float *idx, int64_t ra, int64_t ri,
                                  int64_t inner, int64_t n, gpu_device_error *err, int site) {
    GPU_FOR_EACH(e, n) {
        int64_t j = e % inner, o = e / (ri * inner);
        int64_t k = gpu_check_index(idx[e], ra, e, err, site);
        out[e] = k < 0 ? 0.0f : a[(o * ra + k) * inner + j];
    }
}

// a is (outer, ra, inner); idx and src are (outer, ri, inner). Repeated indices add up
// with atomicAdd, so the summation order (and the last bits) may vary run to run.
__global__ void gpu_scatter_add_kernel(float *a, const float *src, const float *idx, int64_t ra, int64_t ri,
                                       int64_t inner, int64_t n, gpu_device_error *err, int site) {
    GPU_FOR_EACH(e, n) {
        int64_t j = e % inner, o = e / (ri * inner);
        int64_t k = gpu_check_index(idx[e], ra, e, err, site);
        if (k >= 0) atomicAdd(&a[(o * ra + k) * inner + j], src[e]);
    }
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
    int site = gpu_error_site(op, NULL, 0);
    if (!err) return -1;
    gpu_gather_kernel<<<gpu_blocks(n, GPU_THREADS), GPU_THREADS>>>(out, a, idx, ra, ri, inner, n, err, site);
    GPU_CHECK_LAUNCH(gpu_gather_kernel);
    gpu_errors_armed();
    return 0;
}

int gpu_scatter_add(float *a, const float *src, const float *idx,
                    int64_t outer, int64_t ra, int64_t ri, int64_t inner) {
    int64_t n = outer * ri * inner;
    if (n == 0) return 0;
    gpu_device_error *err = gpu_device_errors();
    int site = gpu_error_site("scatter_add", NULL, 0);
    if (!err) return -1;
    gpu_scatter_add_kernel<<<gpu_blocks(n, GPU_THREADS), GPU_THREADS>>>(a, src, idx, ra, ri, inner, n, err, site);
    GPU_CHECK_LAUNCH(gpu_scatter_add_kernel);
    gpu_errors_armed();
    return 0;
}

// labels (n floats) must be whole numbers in base..base+classes-1; checked on the device,
// a bad one reported at the next sync in the CPU check's words (nn/loss.c)
__global__ void gpu_check_labels_kernel(const float *v, int64_t n, int64_t classes, int base,
                                        gpu_device_error *err, int site) {
    GPU_FOR_EACH(i, n) {
        float x = v[i];
        if (!(x == floorf(x) && x >= (float)base && x < (float)(base + classes))) gpu_record_error(err, site, x, i, classes);
    }
}

int gpu_check_labels(const float *v, int64_t n, int64_t classes, int base, const char *op, const char *what) {
    if (n == 0) return 0;
    gpu_device_error *err = gpu_device_errors();
    int site = gpu_error_site(op, what, base);
    if (!err) return -1;
    gpu_check_labels_kernel<<<gpu_blocks(n, GPU_THREADS), GPU_THREADS>>>(v, n, classes, base, err, site);
    GPU_CHECK_LAUNCH(gpu_check_labels_kernel);
    gpu_errors_armed();
    return 0;
}
