// backend.h - the kernel interface a device implements.
// The CPU backend lives in tensor/cpu_*.c; the CUDA backend in gpu/ (loaded with
// dlopen on first use); the meta backend does nothing and allocates nothing.
// The op layer (ops_*.c) checks shapes, allocates outputs and records autograd;
// a backend only computes. Pointers already include the tensor offset.
// All functions return 0 on success, -1 with tensor_set_error on failure.
#ifndef NNLAB_BACKEND_H
#define NNLAB_BACKEND_H

#include "tensor.h"

// A 2-D convolution's geometry for the optional conv2d entries: x (B,C,H,W), w
// (O,C/groups,kh,kw), y (B,O,oh,ow); padding ph/pw on the top/left, pr_h/pr_w on the
// bottom/right (what makes oh and ow come out with PyTorch's floor). All int64, no padding
// bytes: a cache may compare two with memcmp.
typedef struct {
    int64_t B, C, H, W, O, kh, kw, sh, sw, ph, pw, pr_h, pr_w, groups, oh, ow;
} tensor_conv_shape;

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
    // gin contiguous <- ew_unary_backward(op, s, g, s0, s1) for an op_table.h row: s is the
    // saved input or output, g the upstream gradient, both strided with gin's shape.
    int (*unary_backward)(tensor *gin, const tensor *s, const tensor *g, int op, float s0, float s1);
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

    // x is (B,C,H,W) contiguous -> out (B,C,oh,ow) = the window max (-inf padding, NaN
    // wins, ties keep the first), idx (B,C,oh,ow) = the winner's 0-based y*W+x in its plane.
    int (*max_pool2d)(float *out, float *idx, const float *x, int64_t B, int64_t C, int64_t H, int64_t W,
                      int kh, int kw, int sh, int sw, int ph, int pw, int64_t oh, int64_t ow);
    // gx (planes, hw), zeroed by the caller, += g (planes, l) at idx (planes, l)
    int (*max_pool2d_backward)(float *gx, const float *g, const float *idx, int64_t planes, int64_t hw, int64_t l);
    // x is (B,C,H,W) contiguous -> out (B,C,oh,ow) = window mean, zero padding counted
    // (PyTorch's count_include_pad). backward: gx (zeroed) += g / (kh*kw) over each window.
    int (*avg_pool2d)(float *out, const float *x, int64_t B, int64_t C, int64_t H, int64_t W,
                      int kh, int kw, int sh, int sw, int ph, int pw, int64_t oh, int64_t ow);
    int (*avg_pool2d_backward)(float *gx, const float *g, int64_t B, int64_t C, int64_t H, int64_t W,
                               int kh, int kw, int sh, int sw, int ph, int pw, int64_t oh, int64_t ow);

    // Batch norm over x (N, C, L) contiguous, per channel c. With use_batch the
    // statistics are the batch's (biased var) and, when running_mean/var are set, those
    // are updated in place: r = (1-momentum) r + momentum * stat, unbiased var for
    // running_var. Without, they are running_mean/var. Writes mean (C) and invstd
    // (C) = 1/sqrt(var + eps), and y (N, C, L) = (x - mean) * invstd * weight + bias;
    // weight and bias (C) may be NULL (1 and 0).
    int (*batch_norm)(float *y, float *mean, float *invstd, const float *x, const float *weight,
                      const float *bias, float *running_mean, float *running_var,
                      int64_t N, int64_t C, int64_t L, int use_batch, float momentum, float eps);
    // dy, x (N, C, L); mean, invstd, weight (C, weight may be NULL). Any of gx (N,C,L),
    // gw (C), gb (C) may be NULL. gb = sum(dy), gw = sum(dy * xhat); with use_batch
    // gx = w*invstd/M * (M*dy - sum(dy) - xhat*sum(dy*xhat)), M = N*L; else gx = w*invstd*dy.
    int (*batch_norm_backward)(float *gx, float *gw, float *gb, const float *dy, const float *x,
                               const float *mean, const float *invstd, const float *weight,
                               int64_t N, int64_t C, int64_t L, int use_batch);

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

    // Optional direct convolution (oneDNN on the cpu, cuDNN on the gpu); NULL, or a return
    // of 1 ("not here": library missing, shape not supported, NNLAB_CONV=im2col), means
    // the op layer runs im2col + GEMM, which is also the reference in tests. All buffers
    // contiguous; outputs are overwritten. bias and gb may be NULL.
    int (*conv2d)(float *y, const float *x, const float *w, const float *bias, const tensor_conv_shape *s);
    int (*conv2d_backward_data)(float *gx, const float *gy, const float *w, const tensor_conv_shape *s);
    int (*conv2d_backward_weights)(float *gw, float *gb, const float *x, const float *gy, const tensor_conv_shape *s);

    // ---- optional: NULL means "use the generic path" (the CPU backend sets none) ----
    // Waits for all queued work; reports errors kernels found in the data (an index or
    // label out of range, kept in a sticky device flag). to_host reports them too.
    int (*synchronize)(void);
    // v (n, contiguous): whole numbers in base..base+classes-1, else an error worded
    // "op: what X at position P: ...". May be queued and reported at the next sync.
    int (*check_labels)(const float *v, int64_t n, int64_t classes, int base, const char *op, const char *what);
    // The op a bad index of the next gather is reported under (index_select runs as a
    // gather); the report comes at the next sync, so the name is kept with the launch.
    void (*name_next_index_op)(const char *op);
    // float32 matmuls from now on: 0 full FP32 ("highest"), 1 TF32 tensor cores ("high")
    int (*set_matmul_precision)(int tf32);

    // Fused softmax + cross-entropy over rows: logits (rows, C) contiguous, labels (rows)
    // 0-based floats already checked -> loss (rows) = logsumexp - logit of the label, and
    // lse (rows) for the backward: gx (rows, C) = g[r] * (softmax - onehot(label)).
    int (*cross_entropy)(float *loss, float *lse, const float *logits, const float *labels, int64_t rows, int64_t C);
    int (*cross_entropy_backward)(float *gx, const float *g, const float *logits, const float *lse,
                                  const float *labels, int64_t rows, int64_t C);
    // Layer norm over the rows of x (rows, D): y = (x - mean) * invstd * w + b (biased var),
    // mean and invstd (rows) kept; w, b (D) may be NULL. Backward: any of gx, gw, gb NULL.
    int (*layer_norm)(float *y, float *mean, float *invstd, const float *x, const float *w, const float *b,
                      int64_t rows, int64_t D, float eps);
    int (*layer_norm_backward)(float *gx, float *gw, float *gb, const float *dy, const float *x, const float *mean,
                               const float *invstd, const float *w, int64_t rows, int64_t D);
    // adam/sgd over count parameters in as few launches as the device can (per-tensor
    // bias corrections and first steps: parameters may have taken different step counts)
    int (*adam_multi)(int count, float *const *p, const float *const *g, float *const *m, float *const *v,
                      const int64_t *n, const float *bias_c1, const float *bias_c2, float lr, float beta1,
                      float beta2, float eps, float weight_decay, int decoupled);
    int (*sgd_multi)(int count, float *const *p, const float *const *g, float *const *buf, const int64_t *n,
                     const int *first_step, float lr, float momentum, float dampening, float weight_decay,
                     int nesterov);
} tensor_backend;

enum { REDUCE_SUM, REDUCE_MAX, REDUCE_MIN, REDUCE_ARGMAX, REDUCE_ARGMIN };

// The backend of a device; NULL (with the reason in tensor_last_error) when the
// device is unavailable, e.g. "nnlab was built without CUDA".
const tensor_backend *tensor_backend_for(tensor_device d);

// What nnlab hands libnnlab_cuda.so at init, so the library resolves no symbol from
// the executable (no -rdynamic needed). The struct lives as long as the process, and
// fields set later (collect_garbage) are seen by the library.
typedef struct tensor_host {
    void (*set_error)(const char *fmt, ...);   // tensor_set_error
    // Frees what is unreachable (the REPL: a full Lua collection); an allocator calls it
    // once before it declares out-of-memory. NULL when nobody registered one.
    void (*collect_garbage)(void);
    int device_index;                          // cuda:N, of the visible GPUs
    void (*notice)(const char *line);         // a one-line note for the user (stderr)
} tensor_host;

// gpu/ exports this symbol from libnnlab_cuda.so; tensor/device.c dlopen()s it.
// Returns NULL with a reason in why (e.g. "no CUDA device found (...)").
typedef const tensor_backend *(*gpu_backend_init_fn)(const tensor_host *host, char *why, size_t n);
#define GPU_BACKEND_SYMBOL "gpu_backend_init"

#endif
