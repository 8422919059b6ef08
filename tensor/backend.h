// backend.h - the kernel interface a device implements.
// The CPU backend lives in tensor/cpu_*.c; the CUDA backend in gpu/ (loaded with
// dlopen on first use); the meta backend does nothing and allocates nothing.
// The op layer (ops_*.c) checks shapes, allocates outputs and records autograd;
// a backend only computes. Pointers already include the tensor offset.
// All functions return 0 on success, -1 with tensor_set_error on failure.
#ifndef NNLAB_BACKEND_H
#define NNLAB_BACKEND_H

#include "tensor.h"

typedef struct tensor_backend {
    const char *name;
    // memory
    void *(*alloc)(size_t bytes);                              // NULL + error when out of memory
    void (*free)(void *p);
    int (*to_host)(float *dst, const float *src, size_t n);     // device -> host
    int (*from_host)(float *dst, const float *src, size_t n);   // host -> device

    // dst <- src elementwise; same shape; both strided (src may have 0 strides)
    int (*copy)(tensor *dst, const tensor *src);
    // every element of the strided dst <- v
    int (*fill)(tensor *dst, float v);
    // out contiguous; a strided, same shape as out. op is an EW_* unary op.
    int (*unary)(tensor *out, const tensor *a, int op, float s0, float s1);
    // out contiguous; a and b strided with out's shape (broadcast dims have stride 0).
    int (*binary)(tensor *out, const tensor *a, const tensor *b, int op);

    // a is contiguous (outer, r, inner) -> out (outer, inner). op: REDUCE_*.
    int (*reduce)(float *out, const float *a, int64_t outer, int64_t r, int64_t inner, int op);

    // Row-major batched GEMM: C[i] = alpha * op(A[i]) op(B[i]) + beta * C[i],
    // op(A) is (m,k), op(B) is (k,n), C is (m,n); batch strides in elements, 0 = shared.
    int (*gemm)(int batch, int trans_a, int trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                const float *a, int64_t lda, int64_t stride_a,
                const float *b, int64_t ldb, int64_t stride_b,
                float beta, float *c, int64_t ldc, int64_t stride_c);

    // x is contiguous (outer, r, inner); softmax over r.
    int (*softmax)(float *out, const float *x, int64_t outer, int64_t r, int64_t inner, int log);
    // y = forward output, g = grad of y -> gin.  softmax: y*(g - sum(g*y));  log: g - exp(y)*sum(g)
    int (*softmax_backward)(float *gin, const float *y, const float *g,
                            int64_t outer, int64_t r, int64_t inner, int log);

    // x is (B,C,H,W) contiguous -> cols (B, C*kh*kw, oh*ow), or with batch_inner
    // (C*kh*kw, B, oh*ow) so one GEMM covers the batch; pad_value fills outside x.
    int (*unfold2d)(float *cols, const float *x, int64_t B, int64_t C, int64_t H, int64_t W,
                    int kh, int kw, int sh, int sw, int ph, int pw, int64_t oh, int64_t ow, float pad_value,
                    int batch_inner);
    // The adjoint: x (zeroed by the caller) += scatter of cols (same layouts).
    int (*fold2d)(float *x, const float *cols, int64_t B, int64_t C, int64_t H, int64_t W,
                  int kh, int kw, int sh, int sw, int ph, int pw, int64_t oh, int64_t ow, int batch_inner);

    // a is (outer, ra, inner), idx (outer, ri, inner) of 0-based float indices into ra
    // -> out (outer, ri, inner). Index errors are reported with the bad value.
    int (*gather)(float *out, const float *a, const float *idx,
                  int64_t outer, int64_t ra, int64_t ri, int64_t inner);
    // adjoint of gather: a (outer, ra, inner) += src (outer, ri, inner) at idx
    int (*scatter_add)(float *a, const float *src, const float *idx,
                       int64_t outer, int64_t ra, int64_t ri, int64_t inner);

    // out[i] = ew_random(kind, seed, offset + i, a, b) for i < n
    int (*random)(float *out, int64_t n, int kind, uint64_t seed, uint64_t offset, float a, float b);

    // fused optimizer updates over n contiguous elements (see tensor_adam_step)
    int (*adam)(float *p, const float *g, float *m, float *v, int64_t n, float lr, float beta1,
                float beta2, float eps, float weight_decay, float bias_c1, float bias_c2, int decoupled);
    int (*sgd)(float *p, const float *g, float *buf, int64_t n, float lr, float momentum,
               float dampening, float weight_decay, int nesterov, int first_step);

    // caching allocator statistics (NULL on devices without one)
    int (*memory_stats)(int64_t *allocated, int64_t *cached);
    void (*empty_cache)(void);
} tensor_backend;

enum { REDUCE_SUM, REDUCE_MAX, REDUCE_MIN, REDUCE_ARGMAX, REDUCE_ARGMIN };

// The backend of a device; NULL (with the reason in tensor_last_error) when the
// device is unavailable, e.g. "nnlab was built without CUDA".
const tensor_backend *tensor_backend_for(tensor_device d);

// gpu/ exports this symbol from libnnlab_cuda.so; tensor/device.c dlopen()s it.
// Returns NULL with a reason in why (e.g. "no CUDA device found (...)").
typedef const tensor_backend *(*gpu_backend_init_fn)(char *why, size_t n);
#define GPU_BACKEND_SYMBOL "gpu_backend_init"

#endif
