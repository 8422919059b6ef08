// gpu_backend.cu - the CUDA backend's entry point: device set-up, error messages,
// host<->device copies and the table of backend functions (allocator: gpu_alloc.cu).
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "gpu_internal.h"

// ---- errors -----------------------------------------------------------------------------
const tensor_host *gpu_host;
int gpu_report_failed(const char *call, const char *file, int line, const char *msg) {
    gpu_set_error("gpu: %s:%d: %.*s: %s", file, line, (int)strcspn(call, "("), call, msg);
    return -1;
}

int gpu_cuda_failed(cudaError_t e, const char *call, const char *file, int line) {
    (void)cudaGetLastError();   // clear a non-sticky error so the next launch check is not blamed
    return gpu_report_failed(call, file, line, cudaGetErrorString(e));
}

int gpu_cublas_failed(cublasStatus_t s, const char *call, const char *file, int line) {
    return gpu_report_failed(call, file, line, cublasGetStatusString(s));
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
    be->unary_backward = gpu_unary_backward;
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
    be->name_next_index_op = gpu_name_next_index_op;
    be->set_matmul_precision = gpu_set_matmul_precision;
    be->cross_entropy = gpu_cross_entropy;
    be->cross_entropy_backward = gpu_cross_entropy_backward;
    be->layer_norm = gpu_layer_norm;
    be->layer_norm_backward = gpu_layer_norm_backward;
    be->conv2d = gpu_conv2d;
    be->conv2d_backward_data = gpu_conv2d_backward_data;
    be->conv2d_backward_weights = gpu_conv2d_backward_weights;
    be->adam_multi = gpu_adam_multi;
    be->sgd_multi = gpu_sgd_multi;
    gpu_ready = 1;
    return be;
}
