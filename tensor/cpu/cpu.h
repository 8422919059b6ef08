// cpu.h - what the CPU kernel files share: the strided row iterator and the kernels
// that tensor/cpu/backend.c puts in the backend table. Each kernel's contract (shapes,
// layouts, errors) is documented once, in tensor/backend.h.
#ifndef NNLAB_CPU_H
#define NNLAB_CPU_H

#include "../internal.h"
#include "../layout.h"

// The hot loops are compiled twice, for SSE2 and for AVX2 (8 lanes, as PyTorch's
// dispatch picks on this class of CPU), and the loader picks by the CPU. No FMA: -std=c11
// keeps fp-contract off, so both builds give the same bits.
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
#define CPU_SIMD_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define CPU_SIMD_CLONES
#endif

// Calls row(ptrs, n, strides, ctx) for every run along the innermost merged dim of
// up to three same-shape operands (ops[0]'s shape).
// Split over the thread pool; 0, or -1 with "interrupted" after Ctrl-C.
typedef void (*cpu_row_fn)(float **p, int64_t n, const int64_t *st, const void *ctx);
int cpu_each_row(int nops, const tensor *const *ops, cpu_row_fn row, const void *ctx);

// pool.c: fn(ctx, begin, end, chunk) for the chunks [c*grain, (c+1)*grain) of [0, n),
// on the pool's threads; a single chunk runs on the caller. The chunks depend on n and
// grain only, so per-chunk partial results combined in chunk order are the same on any
// thread count. Between chunks it checks the interrupt flag. 0, or -1 when a chunk
// failed or Ctrl-C came ("interrupted").
typedef int (*cpu_chunk_fn)(void *ctx, int64_t begin, int64_t end, int64_t chunk);
int cpu_parallel_for(int64_t n, int64_t grain, cpu_chunk_fn fn, void *ctx);
// 0, or -1 with the error "interrupted" when Ctrl-C has been requested
int cpu_check_interrupt(void);
// the thread setting passed on to the libraries with threads of their own
void cpu_blas_set_threads(int n);
void cpu_dnnl_set_threads(int n);

// alloc.c: the caching allocator
void *cpu_cached_alloc(size_t bytes);
void cpu_cached_free(void *p);
void cpu_empty_cache(void);
int cpu_memory_stats(int64_t *allocated, int64_t *cached);
// map.c
int cpu_copy(tensor *dst, const tensor *src);
int cpu_fill(tensor *dst, float v);
int cpu_unary(tensor *out, const tensor *a, int op, float s0, float s1);
int cpu_binary(tensor *out, const tensor *a, const tensor *b, int op);
int cpu_unary_backward(tensor *gin, const tensor *s, const tensor *g, int op, float s0, float s1);
int cpu_random(float *out, int64_t n, int kind, uint64_t seed, uint64_t offset, float a, float b);
// reduce.c
int cpu_reduce(float *out, const float *a, int64_t outer, int64_t r, int64_t inner, int op);
int cpu_softmax(float *out, const float *x, int64_t outer, int64_t r, int64_t inner, int log);
int cpu_softmax_backward(float *gin, const float *y, const float *g, int64_t outer, int64_t r,
                         int64_t inner, int log);
// blas.c
int cpu_gemm(int batch, int ta, int tb, int64_t m, int64_t n, int64_t k, float alpha,
             const float *a, int64_t lda, int64_t sa, const float *b, int64_t ldb, int64_t sb,
             float beta, float *c, int64_t ldc, int64_t sc);
// conv_pool.c
int cpu_unfold2d(float *cols, const float *x, int64_t B, int64_t C, int64_t H, int64_t W, int kh, int kw,
                 int sh, int sw, int ph, int pw, int64_t oh, int64_t ow, float pad, int batch_inner);
int cpu_fold2d(float *x, const float *cols, int64_t B, int64_t C, int64_t H, int64_t W, int kh, int kw,
               int sh, int sw, int ph, int pw, int64_t oh, int64_t ow, int batch_inner);
int cpu_max_pool2d(float *out, float *idx, const float *x, int64_t B, int64_t C, int64_t H, int64_t W,
                   int kh, int kw, int sh, int sw, int ph, int pw, int64_t oh, int64_t ow);
int cpu_max_pool2d_backward(float *gx, const float *g, const float *idx, int64_t planes, int64_t hw, int64_t l);
int cpu_avg_pool2d(float *out, const float *x, int64_t B, int64_t C, int64_t H, int64_t W,
                   int kh, int kw, int sh, int sw, int ph, int pw, int64_t oh, int64_t ow);
int cpu_avg_pool2d_backward(float *gx, const float *g, int64_t B, int64_t C, int64_t H, int64_t W,
                            int kh, int kw, int sh, int sw, int ph, int pw, int64_t oh, int64_t ow);
// dnnl.c: oneDNN convolution; 1 when declined (the op layer then runs im2col)
typedef tensor_conv_shape cpu_conv_shape;
int cpu_conv2d(float *y, const float *x, const float *w, const float *bias, const cpu_conv_shape *s);
int cpu_conv2d_backward_data(float *gx, const float *gy, const float *w, const cpu_conv_shape *s);
int cpu_conv2d_backward_weights(float *gw, float *gb, const float *x, const float *gy, const cpu_conv_shape *s);
// index.c
int cpu_gather(float *out, const float *a, const float *idx, int64_t outer, int64_t ra, int64_t ri,
               int64_t inner);
int cpu_scatter_add(float *a, const float *src, const float *idx, int64_t outer, int64_t ra, int64_t ri,
                    int64_t inner);
// norm.c
int cpu_batch_norm(float *y, float *mean, float *invstd, const float *x, const float *w, const float *b,
                   float *running_mean, float *running_var, int64_t N, int64_t C, int64_t L, int use_batch,
                   float momentum, float eps);
int cpu_batch_norm_backward(float *gx, float *gw, float *gb, const float *dy, const float *x,
                            const float *mean, const float *invstd, const float *w, int64_t N, int64_t C,
                            int64_t L, int use_batch);
// optim.c
int cpu_adam(float *restrict p, const float *restrict g, float *restrict m, float *restrict v, int64_t n,
             float lr, float b1, float b2, float eps, float wd, float bc1, float bc2, int decoupled);
int cpu_sgd(float *p, const float *g, float *buf, int64_t n, float lr, float momentum, float dampening,
            float wd, int nesterov, int first);

#endif
