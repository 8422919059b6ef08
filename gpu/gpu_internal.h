// gpu_internal.h - private to gpu/: error checks, launch sizes, strided layouts and
// the allocator entry points that the kernels' files share.
#ifndef NNLAB_GPU_INTERNAL_H
#define NNLAB_GPU_INTERNAL_H

#include <cuda_runtime.h>
#include <cublas_v2.h>
#include "gpu.h"
#include "../tensor/elementwise.h"
#include "../tensor/layout.h"

// ---- errors: every CUDA and cuBLAS call is checked ----------------------------------
// The host's tensor_set_error and garbage collector, from gpu_backend_init's host
// argument: the library takes no symbol from the nnlab executable.
extern const tensor_host *gpu_host;
#define gpu_set_error(...) gpu_host->set_error(__VA_ARGS__)
// Set "gpu: FILE:LINE: CALL: message" (CALL cut at its '(') and return -1.
int gpu_cuda_failed(cudaError_t e, const char *call, const char *file, int line);
int gpu_cublas_failed(cublasStatus_t s, const char *call, const char *file, int line);
int gpu_report_failed(const char *call, const char *file, int line, const char *msg);   // any library's message

#define GPU_CHECK(call) do { \
    cudaError_t gpu_e_ = (call); \
    if (gpu_e_ != cudaSuccess) return gpu_cuda_failed(gpu_e_, #call, __FILE__, __LINE__); \
} while (0)
#define GPU_CHECK_CUBLAS(call) do { \
    cublasStatus_t gpu_s_ = (call); \
    if (gpu_s_ != CUBLAS_STATUS_SUCCESS) return gpu_cublas_failed(gpu_s_, #call, __FILE__, __LINE__); \
} while (0)
// After a <<<>>> launch: a bad configuration (or an earlier asynchronous fault) shows here.
#define GPU_CHECK_LAUNCH(kernel) do { \
    cudaError_t gpu_e_ = cudaGetLastError(); \
    if (gpu_e_ != cudaSuccess) return gpu_cuda_failed(gpu_e_, #kernel " launch", __FILE__, __LINE__); \
} while (0)

// ---- errors found by kernels in the data: a sticky device flag (gpu_error.cu) ----------
// A kernel records the first bad value and carries on; the host reports it at the next
// point that waits for the device anyway (to_host, synchronize), naming the op.
typedef struct {
    int bad;            // 0, or 1 once a value was recorded
    int site;           // gpu_error_site's id: which op, how to word it
    float value;        // the bad value
    long long pos;      // its flat position in the checked tensor
    long long limit;    // the dim size (indices) or class count (labels)
} gpu_device_error;

__device__ inline void gpu_record_error(gpu_device_error *err, int site, float value, int64_t pos, int64_t limit) {
    if (atomicCAS(&err->bad, 0, 1) == 0) {   // the first one wins; the fields are read after the kernel
        err->site = site;
        err->value = value;
        err->pos = pos;
        err->limit = limit;
    }
}

int gpu_error_site(const char *op, const char *what, int base);   // an id > 0 for the report
gpu_device_error *gpu_device_errors(void);                        // NULL + error
void gpu_errors_armed(void);            // call after launching a kernel that may record
int gpu_check_device_errors(void);      // after a sync: -1 with the recorded error set
void gpu_format_device_error(char *buf, size_t n, const gpu_device_error *h);
int gpu_synchronize(void);

// ---- launch sizes ------------------------------------------------------------------------
#define GPU_THREADS 256
// Kernels loop grid-stride, so the grid is capped rather than sized to n.
#define GPU_MAX_BLOCKS 65536

static inline unsigned gpu_blocks(int64_t n, int threads) {
    int64_t b = (n + threads - 1) / threads;
    return (unsigned)(b < 1 ? 1 : b > GPU_MAX_BLOCKS ? GPU_MAX_BLOCKS : b);
}

#define GPU_FOR_EACH(i, n) \
    for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < (n); \
         i += (int64_t)gridDim.x * blockDim.x)

// ---- strided layouts ------------------------------------------------------------------
// Up to three operands of one shape, each with its own strides; passed to kernels by
// value. The dim merging is the CPU's own (tensor/layout.h: tensor_layout_make), so the
// common contiguous case becomes one dim and the index math costs one multiply.
#define GPU_MAX_OPERANDS LAYOUT_MAX_OPS
typedef tensor_layout gpu_layout;
#define gpu_layout_make tensor_layout_make

// Element i (row-major over the layout's shape) -> its offset in each operand.
template <int NOPS>
__device__ inline void gpu_layout_offsets(const gpu_layout &l, int64_t i, int64_t *off) {
    for (int k = 0; k < NOPS; k++) off[k] = 0;
    for (int d = l.ndim - 1; d >= 0; d--) {
        int64_t idx = d ? i % l.size[d] : i;
        i = d ? i / l.size[d] : 0;
        for (int k = 0; k < NOPS; k++) off[k] += idx * l.stride[k][d];
    }
}

static inline float *gpu_tensor_data(const tensor *t) { return t->storage->data + t->offset; }

// ---- memory (gpu_alloc.cu) -------------------------------------------------------------
void *gpu_alloc(size_t bytes);     // NULL + error when out of memory
void gpu_free(void *p);
void gpu_empty_cache(void);
int gpu_memory_stats(int64_t *allocated, int64_t *cached);

// ---- backend functions, by file ------------------------------------------------------
// gpu_map.cu
int gpu_copy(tensor *dst, const tensor *src);
int gpu_fill(tensor *dst, float v);
int gpu_unary(tensor *out, const tensor *a, int op, float s0, float s1);
int gpu_binary(tensor *out, const tensor *a, const tensor *b, int op);
int gpu_unary_backward(tensor *gin, const tensor *s, const tensor *g, int op, float s0, float s1);
int gpu_random(float *out, int64_t n, int kind, uint64_t seed, uint64_t offset, float a, float b);
// gpu_optim.cu
int gpu_adam(float *p, const float *g, float *m, float *v, int64_t n, float lr, float beta1,
             float beta2, float eps, float weight_decay, float bias_c1, float bias_c2, int decoupled);
int gpu_sgd(float *p, const float *g, float *buf, int64_t n, float lr, float momentum,
            float dampening, float weight_decay, int nesterov, int first_step);
int gpu_adam_multi(int count, float *const *p, const float *const *g, float *const *m, float *const *v,
                   const int64_t *n, const float *bias_c1, const float *bias_c2, float lr, float beta1, float beta2,
                   float eps, float weight_decay, int decoupled);
int gpu_sgd_multi(int count, float *const *p, const float *const *g, float *const *buf, const int64_t *n,
                  const int *first_step, float lr, float momentum, float dampening, float weight_decay, int nesterov);
// gpu_fused.cu
int gpu_cross_entropy(float *loss, float *lse, const float *logits, const float *labels, int64_t rows, int64_t C);
int gpu_cross_entropy_backward(float *gx, const float *g, const float *logits, const float *lse,
                               const float *labels, int64_t rows, int64_t C);
int gpu_layer_norm(float *y, float *mean, float *invstd, const float *x, const float *w, const float *b,
                   int64_t rows, int64_t D, float eps);
int gpu_layer_norm_backward(float *gx, float *gw, float *gb, const float *dy, const float *x, const float *mean,
                            const float *invstd, const float *w, int64_t rows, int64_t D);
// gpu_reduce.cu
int gpu_reduce(float *out, const float *a, int64_t outer, int64_t r, int64_t inner, int op);
int gpu_softmax(float *out, const float *x, int64_t outer, int64_t r, int64_t inner, int log);
int gpu_softmax_backward(float *gin, const float *y, const float *g,
                         int64_t outer, int64_t r, int64_t inner, int log);
// gpu_matmul.cu
cublasStatus_t gpu_gemm_init(void);   // creates the cuBLAS handle
int gpu_set_matmul_precision(int tf32);
int gpu_gemm(int batch, int trans_a, int trans_b, int64_t m, int64_t n, int64_t k, float alpha,
             const float *a, int64_t lda, int64_t stride_a,
             const float *b, int64_t ldb, int64_t stride_b,
             float beta, float *c, int64_t ldc, int64_t stride_c);
// gpu_conv.cu
extern int gpu_conv_tf32;             // cuDNN may use TF32 (set_matmul_precision "high")
const char *gpu_conv_engine(void);    // "cudnn", or why im2col is used
// the backend's direct-convolution entries through cuDNN (1: declined, im2col runs)
int gpu_conv2d(float *y, const float *x, const float *w, const float *bias, const tensor_conv_shape *s);
int gpu_conv2d_backward_data(float *gx, const float *gy, const float *w, const tensor_conv_shape *s);
int gpu_conv2d_backward_weights(float *gw, float *gb, const float *x, const float *gy, const tensor_conv_shape *s);
int gpu_unfold2d(float *cols, const float *x, int64_t B, int64_t C, int64_t H, int64_t W,
                 int kh, int kw, int sh, int sw, int ph, int pw, int64_t oh, int64_t ow, float pad_value,
                 int batch_inner);
int gpu_fold2d(float *x, const float *cols, int64_t B, int64_t C, int64_t H, int64_t W,
               int kh, int kw, int sh, int sw, int ph, int pw, int64_t oh, int64_t ow, int batch_inner);
// gpu_norm.cu
int gpu_batch_norm(float *y, float *mean, float *invstd, const float *x, const float *weight, const float *bias,
                   float *running_mean, float *running_var, int64_t N, int64_t C, int64_t L, int use_batch,
                   float momentum, float eps);
int gpu_batch_norm_backward(float *gx, float *gw, float *gb, const float *dy, const float *x, const float *mean,
                            const float *invstd, const float *weight, int64_t N, int64_t C, int64_t L,
                            int use_batch);
// gpu_pool.cu
int gpu_max_pool2d(float *out, float *idx, const float *x, int64_t B, int64_t C, int64_t H, int64_t W,
                   int kh, int kw, int sh, int sw, int ph, int pw, int64_t oh, int64_t ow);
int gpu_max_pool2d_backward(float *gx, const float *g, const float *idx, int64_t planes, int64_t hw, int64_t l);
int gpu_avg_pool2d(float *out, const float *x, int64_t B, int64_t C, int64_t H, int64_t W,
                   int kh, int kw, int sh, int sw, int ph, int pw, int64_t oh, int64_t ow);
int gpu_avg_pool2d_backward(float *gx, const float *g, int64_t B, int64_t C, int64_t H, int64_t W,
                            int kh, int kw, int sh, int sw, int ph, int pw, int64_t oh, int64_t ow);
// gpu_index.cu
int gpu_gather(float *out, const float *a, const float *idx,
               int64_t outer, int64_t ra, int64_t ri, int64_t inner);
int gpu_scatter_add(float *a, const float *src, const float *idx,
                    int64_t outer, int64_t ra, int64_t ri, int64_t inner);
int gpu_check_labels(const float *v, int64_t n, int64_t classes, int base, const char *op, const char *what);
void gpu_name_next_index_op(const char *op);

#endif
