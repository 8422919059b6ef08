// gpu_backend.cu - the CUDA backend's entry point: device set-up, error messages, the
// caching allocator, host<->device copies and the table of backend functions.
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "gpu_internal.h"

// ---- errors -----------------------------------------------------------------------------
const tensor_host *gpu_host;
static int gpu_report(const char *call, const char *file, int line, const char *msg) {
    gpu_set_error("gpu: %s:%d: %.*s: %s", file, line, (int)strcspn(call, "("), call, msg);
    return -1;
}

int gpu_cuda_failed(cudaError_t e, const char *call, const char *file, int line) {
    (void)cudaGetLastError();   // clear a non-sticky error so the next launch check is not blamed
    return gpu_report(call, file, line, cudaGetErrorString(e));
}

int gpu_cublas_failed(cublasStatus_t s, const char *call, const char *file, int line) {
    return gpu_report(call, file, line, cublasGetStatusString(s));
}

// ---- layouts ----------------------------------------------------------------------------
int64_t gpu_layout_make(gpu_layout *l, int ndim, const int64_t *size, int nops,
                        const int64_t *const *strides) {
    int64_t n = 1;
    l->ndim = 0;
    for (int d = 0; d < ndim; d++) {
        n *= size[d];
        if (size[d] == 1) continue;            // a size-1 dim never moves an index
        int last = l->ndim - 1, merge = last >= 0;
        for (int k = 0; k < nops && merge; k++)
            merge = l->stride[k][last] == strides[k][d] * size[d];
        if (merge) {
            l->size[last] *= size[d];
            for (int k = 0; k < nops; k++) l->stride[k][last] = strides[k][d];
        } else {
            l->size[l->ndim] = size[d];
            for (int k = 0; k < nops; k++) l->stride[k][l->ndim] = strides[k][d];
            l->ndim++;
        }
    }
    return n;
}

// ---- caching allocator ------------------------------------------------------------------
// cudaMalloc/cudaFree synchronise the device and cost tens of microseconds, so freed
// blocks are kept in free lists by size class and handed out again. Classes are
// quarter powers of two from 512 bytes (at most 25% waste). All use is from one thread
// (the tensor library is single-threaded), so there is no lock.
#define GPU_MIN_BLOCK 512
#define GPU_CLASSES 256
#define GPU_BUCKETS 4096

typedef struct gpu_block {
    void *p;
    size_t bytes;              // the class size
    struct gpu_block *next;
} gpu_block;

static gpu_block *gpu_free_lists[GPU_CLASSES];   // cached blocks by class
static gpu_block *gpu_live[GPU_BUCKETS];         // handed-out blocks by pointer
static gpu_block *gpu_spare_records;             // recycled records
static int64_t gpu_allocated_bytes, gpu_cached_bytes;

// bytes -> class index; *class_bytes gets the rounded size
static int gpu_size_class(size_t bytes, size_t *class_bytes) {
    if (bytes <= GPU_MIN_BLOCK) { *class_bytes = GPU_MIN_BLOCK; return 0; }
    int e = 63 - __builtin_clzll((unsigned long long)(bytes - 1));   // 2^e < bytes <= 2^(e+1)
    size_t step = (size_t)1 << (e - 2);
    size_t q = (bytes + step - 1) / step;                           // 5..8 quarters
    *class_bytes = q * step;
    return 1 + (e - 9) * 4 + (int)(q - 5);
}

static unsigned gpu_bucket(const void *p) {
    uintptr_t x = (uintptr_t)p >> 9;   // cudaMalloc pointers are at least 512-aligned
    return (unsigned)((x ^ (x >> 12)) % GPU_BUCKETS);
}

static gpu_block *gpu_record(void *p, size_t bytes) {
    gpu_block *b = gpu_spare_records;
    if (b) gpu_spare_records = b->next;
    else if (!(b = (gpu_block *)malloc(sizeof *b))) return NULL;
    b->p = p;
    b->bytes = bytes;
    b->next = NULL;
    return b;
}

static void gpu_empty_cache(void);

// cudaMalloc of a class size; on out-of-memory gives the cache back and tries once more
static void *gpu_device_malloc(size_t bytes, size_t class_bytes) {
    void *p = NULL;
    cudaError_t e = cudaMalloc(&p, class_bytes);
    if (e == cudaErrorMemoryAllocation && gpu_cached_bytes > 0) {
        (void)cudaGetLastError();
        gpu_empty_cache();
        e = cudaMalloc(&p, class_bytes);
    }
    if (e == cudaErrorMemoryAllocation) {
        (void)cudaGetLastError();
        gpu_set_error("gpu: %s:%d: cudaMalloc: out of memory (requested %zu bytes; "
                         "%lld bytes held by live tensors)", __FILE__, __LINE__,
                         bytes, (long long)gpu_allocated_bytes);
        return NULL;
    }
    if (e != cudaSuccess) {
        gpu_cuda_failed(e, "cudaMalloc", __FILE__, __LINE__);
        return NULL;
    }
    return p;
}

void *gpu_alloc(size_t bytes) {
    size_t class_bytes;
    int cls = gpu_size_class(bytes, &class_bytes);
    gpu_block *b = gpu_free_lists[cls];
    if (b) {
        gpu_free_lists[cls] = b->next;
        gpu_cached_bytes -= (int64_t)b->bytes;
    } else {
        void *p = gpu_device_malloc(bytes, class_bytes);
        if (!p) return NULL;
        if (!(b = gpu_record(p, class_bytes))) {
            cudaError_t e = cudaFree(p);
            if (e != cudaSuccess) gpu_cuda_failed(e, "cudaFree", __FILE__, __LINE__);
            gpu_set_error("gpu: %s:%d: malloc: out of host memory", __FILE__, __LINE__);
            return NULL;
        }
    }
    unsigned h = gpu_bucket(b->p);
    b->next = gpu_live[h];
    gpu_live[h] = b;
    gpu_allocated_bytes += (int64_t)b->bytes;
    return b->p;
}

void gpu_free(void *p) {
    if (!p) return;
    gpu_block **link = &gpu_live[gpu_bucket(p)];
    while (*link && (*link)->p != p) link = &(*link)->next;
    gpu_block *b = *link;
    if (!b) {
        gpu_set_error("gpu: %s:%d: free of a pointer the allocator did not hand out", __FILE__, __LINE__);
        return;
    }
    *link = b->next;
    gpu_allocated_bytes -= (int64_t)b->bytes;
    // Reuse is safe without a sync: every kernel runs on the one default stream, so
    // the block's next user is queued after its last one.
    size_t class_bytes;
    int cls = gpu_size_class(b->bytes, &class_bytes);
    b->next = gpu_free_lists[cls];
    gpu_free_lists[cls] = b;
    gpu_cached_bytes += (int64_t)b->bytes;
}

static void gpu_empty_cache(void) {
    for (int c = 0; c < GPU_CLASSES; c++) {
        while (gpu_free_lists[c]) {
            gpu_block *b = gpu_free_lists[c];
            gpu_free_lists[c] = b->next;
            cudaError_t e = cudaFree(b->p);   // waits for the device
            if (e != cudaSuccess) gpu_cuda_failed(e, "cudaFree", __FILE__, __LINE__);
            gpu_cached_bytes -= (int64_t)b->bytes;
            b->next = gpu_spare_records;
            gpu_spare_records = b;
        }
    }
}

static int gpu_memory_stats(int64_t *allocated, int64_t *cached) {
    if (allocated) *allocated = gpu_allocated_bytes;
    if (cached) *cached = gpu_cached_bytes;
    return 0;
}

// ---- host <-> device ---------------------------------------------------------------------
// cudaMemcpy waits for queued kernels, so an earlier asynchronous fault is reported here.
// It is also where errors that kernels found in the data are reported (gpu_error.cu).
static int gpu_to_host(float *dst, const float *src, size_t n) {
    if (n) GPU_CHECK(cudaMemcpy(dst, src, n * sizeof(float), cudaMemcpyDeviceToHost));
    return gpu_check_device_errors();
}

static int gpu_from_host(float *dst, const float *src, size_t n) {
    if (n) GPU_CHECK(cudaMemcpy(dst, src, n * sizeof(float), cudaMemcpyHostToDevice));
    return 0;
}

// ---- set-up ---------------------------------------------------------------------------------
// Launched by nobody: asking for its attributes tells whether this library holds code
// the device can run (a GPU older than the build's architectures has none).
__global__ void gpu_probe_kernel(void) {}

__attribute__((format(printf, 3, 4)))
static void gpu_why(char *why, size_t n, const char *fmt, ...) {
    if (!why || !n) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, n, fmt, ap);
    va_end(ap);
}

// On a shared server: one line when other processes hold most of this GPU's memory,
// before the user's first allocation fails for a reason they cannot see.
static void gpu_note_busy(int dev) {
    size_t free_b = 0, total_b = 0;
    if (!gpu_host->notice || cudaMemGetInfo(&free_b, &total_b) != cudaSuccess || !total_b) {
        (void)cudaGetLastError();
        return;
    }
    if (free_b >= total_b / 2) return;
    cudaDeviceProp prop;
    char line[640];   // prop.name is up to 256
    snprintf(line, sizeof line, "cuda: note: cuda:%d (%s) has %.1f of %.1f GiB free: other processes hold the "
             "rest. tensor.cuda_devices() shows each GPU's memory and load; pick one with --device cuda:N",
             dev, cudaGetDeviceProperties(&prop, dev) == cudaSuccess ? prop.name : "?",
             free_b / 1073741824.0, total_b / 1073741824.0);
    gpu_host->notice(line);
}

static tensor_backend gpu_be;
static int gpu_ready;

const tensor_backend *gpu_backend_init(const tensor_host *host, char *why, size_t n) {
    tensor_backend *be = &gpu_be;
    if (gpu_ready) return be;
    if (!host || !host->set_error) {
        gpu_why(why, n, "gpu_backend_init: no host error setter given (nnlab and libnnlab_cuda.so "
                "are from different builds; rebuild both with make)");
        return NULL;
    }
    gpu_host = host;

    int count = 0;
    cudaError_t e = cudaGetDeviceCount(&count);
    if (e != cudaSuccess || count == 0) {
        (void)cudaGetLastError();
        gpu_why(why, n, "no CUDA device found (cudaGetDeviceCount: %s)",
                e != cudaSuccess ? cudaGetErrorString(e) : "0 devices");
        return NULL;
    }
    int dev = host->device_index;
    if (dev >= count) {
        const char *vis = getenv("CUDA_VISIBLE_DEVICES");
        gpu_why(why, n, "cuda:%d does not exist: %d GPU%s visible (cuda:0..cuda:%d)%s%s%s", dev, count,
                count == 1 ? " is" : "s are", count - 1, vis ? "; CUDA_VISIBLE_DEVICES=" : "", vis ? vis : "",
                vis ? " renumbers them from 0" : "");
        return NULL;
    }
    if ((e = cudaSetDevice(dev)) != cudaSuccess) {
        gpu_why(why, n, "CUDA device cuda:%d is not usable (cudaSetDevice: %s)", dev, cudaGetErrorString(e));
        return NULL;
    }
    cudaFuncAttributes attr;
    if ((e = cudaFuncGetAttributes(&attr, gpu_probe_kernel)) != cudaSuccess) {
        (void)cudaGetLastError();
        cudaDeviceProp prop;
        char arch[300] = "an unknown GPU";
        if (cudaGetDeviceProperties(&prop, dev) == cudaSuccess)
            snprintf(arch, sizeof arch, "%s, sm_%d%d", prop.name, prop.major, prop.minor);
        gpu_why(why, n, "libnnlab_cuda.so has no code for this GPU (%s; rebuild with GPU_GENCODE "
                "set for it): %s", arch, cudaGetErrorString(e));
        return NULL;
    }
    gpu_note_busy(dev);
    cublasStatus_t s = gpu_gemm_init();
    if (s != CUBLAS_STATUS_SUCCESS) {
        gpu_why(why, n, "cuBLAS could not start (cublasCreate: %s)", cublasGetStatusString(s));
        return NULL;
    }

    be->name = "cuda";
    be->alloc = gpu_alloc;
    be->free = gpu_free;
    be->to_host = gpu_to_host;
    be->from_host = gpu_from_host;
    be->copy = gpu_copy;
    be->fill = gpu_fill;
    be->unary = gpu_unary;
    be->binary = gpu_binary;
    be->reduce = gpu_reduce;
    be->gemm = gpu_gemm;
    be->softmax = gpu_softmax;
    be->softmax_backward = gpu_softmax_backward;
    be->unfold2d = gpu_unfold2d;
    be->fold2d = gpu_fold2d;
    be->gather = gpu_gather;
    be->scatter_add = gpu_scatter_add;
    be->max_pool2d = gpu_max_pool2d;
    be->max_pool2d_backward = gpu_max_pool2d_backward;
    be->avg_pool2d = gpu_avg_pool2d;
    be->avg_pool2d_backward = gpu_avg_pool2d_backward;
    be->batch_norm = gpu_batch_norm;
    be->batch_norm_backward = gpu_batch_norm_backward;
    be->random = gpu_random;
    be->adam = gpu_adam;
    be->sgd = gpu_sgd;
    be->memory_stats = gpu_memory_stats;
    be->empty_cache = gpu_empty_cache;
    be->synchronize = gpu_synchronize;
    be->check_labels = gpu_check_labels;
    be->set_matmul_precision = gpu_set_matmul_precision;
    be->cross_entropy = gpu_cross_entropy;
    be->cross_entropy_backward = gpu_cross_entropy_backward;
    be->layer_norm = gpu_layer_norm;
    be->layer_norm_backward = gpu_layer_norm_backward;
    be->adam_multi = gpu_adam_multi;
    be->sgd_multi = gpu_sgd_multi;
    gpu_ready = 1;
    return be;
}
