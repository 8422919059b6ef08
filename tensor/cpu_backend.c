// cpu_backend.c - the CPU kernels behind backend.h: strided elementwise loops,
// reductions, OpenBLAS GEMM, softmax, im2col, gather/scatter, RNG, optimizer updates.
#include <cblas.h>
#include <dlfcn.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>
#include "elementwise.h"
#include "internal.h"

static void *cpu_alloc(size_t bytes) {
    // 64-byte alignment keeps SIMD loads and OpenBLAS happy
    void *p = NULL;
    if (posix_memalign(&p, 64, bytes ? bytes : 64)) {
        tensor_set_error("malloc of %zu bytes failed", bytes);
        return NULL;
    }
    return p;
}
static void cpu_free(void *p) { free(p); }
static int cpu_memcpy(float *dst, const float *src, size_t n) { if (n) memcpy(dst, src, n * sizeof(float)); return 0; }   // empty tensors have no data pointer

// ---- strided iteration ----
// Up to three operands sharing one shape; dims merged where every operand is
// contiguous across them, so most loops collapse to one long inner run.
typedef struct {
    int nd;
    int64_t size[TENSOR_MAX_DIMS];
    int64_t st[3][TENSOR_MAX_DIMS];
} iter;

static void iter_init(iter *it, int nops, const tensor *const *ops) {
    const tensor *s = ops[0];
    int nd = 0;
    for (int d = 0; d < s->ndim; d++) {
        if (s->size[d] == 1) continue;                 // size-1 dims never move the pointer
        int merge = nd > 0;
        for (int k = 0; k < nops && merge; k++)
            if (it->st[k][nd - 1] != ops[k]->stride[d] * s->size[d]) merge = 0;
        if (merge) {
            it->size[nd - 1] *= s->size[d];
            for (int k = 0; k < nops; k++) it->st[k][nd - 1] = ops[k]->stride[d];
        } else {
            it->size[nd] = s->size[d];
            for (int k = 0; k < nops; k++) it->st[k][nd] = ops[k]->stride[d];
            nd++;
        }
    }
    if (nd == 0) {                                     // a single element
        it->size[0] = 1;
        for (int k = 0; k < nops; k++) it->st[k][0] = 0;
        nd = 1;
    }
    it->nd = nd;
}

// Calls row(ptrs, n, strides, ctx) for every run along the innermost merged dim.
typedef void (*row_fn)(float **p, int64_t n, const int64_t *st, const void *ctx);

static void iter_run(const iter *it, int nops, float **base, row_fn row, const void *ctx) {
    int64_t idx[TENSOR_MAX_DIMS] = {0};
    int last = it->nd - 1;
    int64_t inner_st[3];
    for (int k = 0; k < nops; k++) inner_st[k] = it->st[k][last];
    float *p[3];
    for (int k = 0; k < nops; k++) p[k] = base[k];
    for (;;) {
        row(p, it->size[last], inner_st, ctx);
        int d = last - 1;
        for (; d >= 0; d--) {
            idx[d]++;
            for (int k = 0; k < nops; k++) p[k] += it->st[k][d];
            if (idx[d] < it->size[d]) break;
            for (int k = 0; k < nops; k++) p[k] -= it->st[k][d] * it->size[d];
            idx[d] = 0;
        }
        if (d < 0) return;
    }
}

static void row_copy(float **p, int64_t n, const int64_t *st, const void *ctx) {
    float *o = p[0], *a = p[1];
    if (st[0] == 1 && st[1] == 1) { memmove(o, a, (size_t)n * sizeof(float)); return; }
    for (int64_t i = 0; i < n; i++) o[i * st[0]] = a[i * st[1]];
}

static int cpu_copy(tensor *dst, const tensor *src) {
    const tensor *ops[2] = {dst, src};
    iter it;
    iter_init(&it, 2, ops);
    float *base[2] = {tensor_data(dst), tensor_data(src)};
    iter_run(&it, 2, base, row_copy, NULL);
    return 0;
}

static void row_fill(float **p, int64_t n, const int64_t *st, const void *ctx) {
    float v = *(const float *)ctx;
    for (int64_t i = 0; i < n; i++) p[0][i * st[0]] = v;
}

static int cpu_fill(tensor *dst, float v) {
    const tensor *ops[1] = {dst};
    iter it;
    iter_init(&it, 1, ops);
    float *base[1] = {tensor_data(dst)};
    iter_run(&it, 1, base, row_fill, &v);
    return 0;
}

typedef struct { int op; float s0, s1; } unary_ctx;

// one loop per op so the compiler specialises (and vectorises) each formula
#define UNARY_CASE(OP) case OP: \
    if (sa == 1) { for (int64_t i = 0; i < n; i++) o[i] = ew_unary(OP, a[i], s0, s1); } \
    else { for (int64_t i = 0; i < n; i++) o[i] = ew_unary(OP, a[i * sa], s0, s1); } \
    break;

static void row_unary(float **p, int64_t n, const int64_t *st, const void *vctx) {
    const unary_ctx *c = vctx;
    float *o = p[0];
    const float *a = p[1];
    int64_t sa = st[1];
    float s0 = c->s0, s1 = c->s1;
    switch (c->op) {
        UNARY_CASE(EW_NEG) UNARY_CASE(EW_EXP) UNARY_CASE(EW_LOG) UNARY_CASE(EW_SQRT) UNARY_CASE(EW_ABS)
        UNARY_CASE(EW_RELU) UNARY_CASE(EW_SIGMOID) UNARY_CASE(EW_TANH) UNARY_CASE(EW_GELU)
        UNARY_CASE(EW_SIN) UNARY_CASE(EW_COS) UNARY_CASE(EW_SIGN) UNARY_CASE(EW_ADD_S) UNARY_CASE(EW_MUL_S)
        UNARY_CASE(EW_RSUB_S) UNARY_CASE(EW_RDIV_S) UNARY_CASE(EW_DIV_S) UNARY_CASE(EW_POW_S) UNARY_CASE(EW_CLAMP)
    default:
        for (int64_t i = 0; i < n; i++) o[i] = ew_unary(c->op, a[i * sa], s0, s1);
    }
}

static int cpu_unary(tensor *out, const tensor *a, int op, float s0, float s1) {
    const tensor *ops[2] = {out, a};
    iter it;
    iter_init(&it, 2, ops);
    float *base[2] = {tensor_data(out), tensor_data(a)};
    unary_ctx c = {op, s0, s1};
    iter_run(&it, 2, base, row_unary, &c);
    return 0;
}

#define BINARY_CASE(OP) case OP: \
    if (sa == 1 && sb == 1) { for (int64_t i = 0; i < n; i++) o[i] = ew_binary(OP, a[i], b[i]); } \
    else if (sa == 1 && sb == 0) { float bv = b[0]; for (int64_t i = 0; i < n; i++) o[i] = ew_binary(OP, a[i], bv); } \
    else { for (int64_t i = 0; i < n; i++) o[i] = ew_binary(OP, a[i * sa], b[i * sb]); } \
    break;

static void row_binary(float **p, int64_t n, const int64_t *st, const void *ctx) {
    float *o = p[0];
    const float *a = p[1], *b = p[2];
    int64_t sa = st[1], sb = st[2];
    switch (*(const int *)ctx) {
        BINARY_CASE(EW_ADD) BINARY_CASE(EW_SUB) BINARY_CASE(EW_MUL) BINARY_CASE(EW_DIV)
        BINARY_CASE(EW_RELU_BWD) BINARY_CASE(EW_SIGMOID_BWD) BINARY_CASE(EW_TANH_BWD) BINARY_CASE(EW_GELU_BWD)
    default: {
        int op = *(const int *)ctx;
        for (int64_t i = 0; i < n; i++) o[i] = ew_binary(op, a[i * sa], b[i * sb]);
    }
    }
}

static int cpu_binary(tensor *out, const tensor *a, const tensor *b, int op) {
    const tensor *ops[3] = {out, a, b};
    iter it;
    iter_init(&it, 3, ops);
    float *base[3] = {tensor_data(out), tensor_data(a), tensor_data(b)};
    iter_run(&it, 3, base, row_binary, &op);
    return 0;
}

// a is (outer, r, inner) -> out (outer, inner)
static int cpu_reduce(float *out, const float *a, int64_t outer, int64_t r, int64_t inner, int op) {
    for (int64_t o = 0; o < outer; o++) {
        const float *src = a + o * r * inner;
        float *dst = out + o * inner;
        if (op == REDUCE_SUM) {
            if (inner == 1) {
                double acc = 0;   // double: long sums stay accurate
                for (int64_t i = 0; i < r; i++) acc += src[i];
                dst[0] = (float)acc;
                continue;
            }
            for (int64_t j = 0; j < inner; j++) dst[j] = src[j];
            for (int64_t i = 1; i < r; i++)
                for (int64_t j = 0; j < inner; j++) dst[j] += src[i * inner + j];
            continue;
        }
        int want_max = op == REDUCE_MAX || op == REDUCE_ARGMAX;
        int want_idx = op == REDUCE_ARGMAX || op == REDUCE_ARGMIN;
        for (int64_t j = 0; j < inner; j++) {
            float best = src[j];
            int64_t bi = 0;
            for (int64_t i = 1; i < r; i++) {
                float v = src[i * inner + j];
                // NaN wins, as in PyTorch, so it is never hidden
                if (isnan(best)) break;
                if (isnan(v) || (want_max ? v > best : v < best)) { best = v; bi = i; }
            }
            dst[j] = want_idx ? (float)bi : best;
        }
    }
    return 0;
}

// OpenBLAS is dlopen()ed on the first matmul: loading it (and its thread pool)
// costs 10-16 ms, more than the rest of nnlab's start-up together.
typedef void (*sgemm_fn)(enum CBLAS_ORDER, enum CBLAS_TRANSPOSE, enum CBLAS_TRANSPOSE, blasint, blasint, blasint,
                         float, const float *, blasint, const float *, blasint, float, float *, blasint);
static sgemm_fn blas_sgemm;
static int (*blas_threads)(void);   // openblas_get_num_threads; NULL for another BLAS
static int blas_ready;

static int blas_load(void) {
    static const char *libs[] = {"libopenblas.so.0", "libopenblas.so", "libblas.so.3"};
    char why[256] = "";
    for (size_t i = 0; i < sizeof libs / sizeof *libs && !blas_sgemm; i++) {
        void *h = dlopen(libs[i], RTLD_NOW | RTLD_GLOBAL);
        if (!h) { snprintf(why, sizeof why, "%s", dlerror()); continue; }
        blas_sgemm = (sgemm_fn)dlsym(h, "cblas_sgemm");
        blas_threads = (int (*)(void))dlsym(h, "openblas_get_num_threads");
    }
    if (!blas_sgemm) {
        tensor_set_error("matmul: cannot load OpenBLAS (%s); install it with: sudo apt-get install libopenblas0", why);
        return -1;
    }
    return 0;
}

// OpenBLAS mallocs a 128 MB scratch buffer per thread on its first threaded call, and
// when malloc fails (ulimit -v) it retries forever: a matmul spun with Ctrl-C ignored.
// So the first call is a small threaded one made only while the address space has room
// for those buffers; every later call reuses them.
#define BLAS_BUFFER_BYTES ((int64_t)129 << 20)
static int blas_warm_up(void) {
    if (!blas_threads) return 0;
    int64_t need = (int64_t)(blas_threads() + 1) * BLAS_BUFFER_BYTES;
    struct rlimit rl;
    FILE *f = fopen("/proc/self/statm", "r");
    long long vm_pages = 0;
    if (f && fscanf(f, "%lld", &vm_pages) != 1) vm_pages = 0;
    if (f) fclose(f);
    if (getrlimit(RLIMIT_AS, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) {
        int64_t room = (int64_t)rl.rlim_cur - (int64_t)vm_pages * sysconf(_SC_PAGESIZE);
        if (room < need) {
            tensor_set_error("matmul: out of memory: OpenBLAS needs %lld MB of scratch memory for its %d threads but "
                             "only %lld MB of address space are left under the limit (ulimit -v); free some tensors "
                             "(x = nil; collectgarbage()), raise the limit, or set OPENBLAS_NUM_THREADS=1",
                             (long long)(need >> 20), blas_threads(), (long long)(room > 0 ? room >> 20 : 0));
            return -1;
        }
    }
    static float a[128 * 128], c[128 * 128];   // zeros; 128^3 is past OpenBLAS's threading threshold
    blas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, 128, 128, 128, 1.0f, a, 128, a, 128, 0.0f, c, 128);
    return 0;
}

static int cpu_gemm(int batch, int ta, int tb, int64_t m, int64_t n, int64_t k, float alpha,
                    const float *a, int64_t lda, int64_t sa, const float *b, int64_t ldb, int64_t sb,
                    float beta, float *c, int64_t ldc, int64_t sc) {
    if (!blas_ready) {
        if ((!blas_sgemm && blas_load()) || blas_warm_up()) return -1;
        blas_ready = 1;
    }
    if (m > INT32_MAX || n > INT32_MAX || k > INT32_MAX) {
        tensor_set_error("matmul: %lld x %lld x %lld exceeds BLAS's 32-bit sizes", (long long)m, (long long)k, (long long)n);
        return -1;
    }
    for (int i = 0; i < batch; i++)
        blas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
                   (blasint)m, (blasint)n, (blasint)k, alpha, a + i * sa, (blasint)lda, b + i * sb, (blasint)ldb, beta,
                   c + i * sc, (blasint)ldc);
    return 0;
}

// x is (outer, r, inner); softmax over r, subtracting the max for stability
static int cpu_softmax(float *out, const float *x, int64_t outer, int64_t r, int64_t inner, int log) {
    for (int64_t o = 0; o < outer; o++)
        for (int64_t j = 0; j < inner; j++) {
            const float *src = x + o * r * inner + j;
            float *dst = out + o * r * inner + j;
            float mx = -INFINITY;
            for (int64_t i = 0; i < r; i++) if (src[i * inner] > mx) mx = src[i * inner];
            double sum = 0;
            for (int64_t i = 0; i < r; i++) sum += expf(src[i * inner] - mx);
            if (log) {
                float lse = mx + (float)logf((float)sum);
                for (int64_t i = 0; i < r; i++) dst[i * inner] = src[i * inner] - lse;
            } else {
                float inv = (float)(1.0 / sum);
                for (int64_t i = 0; i < r; i++) dst[i * inner] = expf(src[i * inner] - mx) * inv;
            }
        }
    return 0;
}

static int cpu_softmax_backward(float *gin, const float *y, const float *g, int64_t outer, int64_t r,
                                int64_t inner, int log) {
    for (int64_t o = 0; o < outer; o++)
        for (int64_t j = 0; j < inner; j++) {
            int64_t base = o * r * inner + j;
            double s = 0;
            for (int64_t i = 0; i < r; i++)
                s += log ? g[base + i * inner] : g[base + i * inner] * y[base + i * inner];
            for (int64_t i = 0; i < r; i++) {
                int64_t q = base + i * inner;
                gin[q] = log ? g[q] - expf(y[q]) * (float)s : y[q] * (g[q] - (float)s);
            }
        }
    return 0;
}

// where row r (= c*kh*kw + ki*kw + kj) of image b starts in cols of either layout
static inline int64_t cols_row(int64_t b, int64_t r, int64_t B, int64_t R, int64_t L, int batch_inner) {
    return (batch_inner ? r * B + b : b * R + r) * L;
}

// the outputs o in [lo, hi) whose window element k, at o*s - p + k, lies inside [0, n)
static void inside_range(int64_t n, int k, int s, int p, int64_t on, int64_t *lo, int64_t *hi) {
    int64_t pk = (int64_t)p - k;   // int64: p near INT_MAX must not overflow below
    *lo = pk > 0 ? (pk + s - 1) / s : 0;
    *hi = n + pk > 0 ? (n + pk + s - 1) / s : 0;
    if (*lo > on) *lo = on;
    if (*hi > on) *hi = on;
    if (*hi < *lo) *hi = *lo;
}

// x is (B,C,H,W) -> cols (B, C*kh*kw, oh*ow) or (C*kh*kw, B, oh*ow)
static int cpu_unfold2d(float *cols, const float *x, int64_t B, int64_t C, int64_t H, int64_t W, int kh, int kw,
                        int sh, int sw, int ph, int pw, int64_t oh, int64_t ow, float pad, int batch_inner) {
    int64_t L = oh * ow, R = C * kh * kw;
    if (L == 0) return 0;   // nothing to write (cols may be NULL)
    for (int64_t b = 0; b < B; b++)
        for (int64_t c = 0; c < C; c++)
            for (int ki = 0; ki < kh; ki++)
                for (int kj = 0; kj < kw; kj++) {
                    // an empty image (H or W 0, x NULL) is only padding: never read, and
                    // NULL + 0 is undefined, so no pointer is formed for it
                    const float *img = (H * W != 0) ? x + (b * C + c) * H * W : NULL;
                    float *row = cols + cols_row(b, (c * kh + ki) * kw + kj, B, R, L, batch_inner);
                    // the output columns whose input column ix = ox*sw - pw + kj lies inside x
                    int64_t pk = (int64_t)pw - kj;
                    int64_t lo = pk > 0 ? (pk + sw - 1) / sw : 0;
                    int64_t hi = W + pk > 0 ? (W + pk + sw - 1) / sw : 0;
                    if (lo > ow) lo = ow;
                    if (hi > ow) hi = ow;
                    if (hi < lo) hi = lo;
                    for (int64_t oy = 0; oy < oh; oy++) {
                        int64_t iy = oy * sh - ph + ki;
                        float *dst = row + oy * ow;
                        if (iy < 0 || iy >= H || !img) { for (int64_t ox = 0; ox < ow; ox++) dst[ox] = pad; continue; }
                        const float *src = img + iy * W - pw + kj;
                        for (int64_t ox = 0; ox < lo; ox++) dst[ox] = pad;
                        if (sw == 1) memcpy(dst + lo, src + lo, (size_t)(hi - lo) * sizeof(float));
                        else for (int64_t ox = lo; ox < hi; ox++) dst[ox] = src[ox * sw];
                        for (int64_t ox = hi; ox < ow; ox++) dst[ox] = pad;
                    }
                }
    return 0;
}

// adjoint of unfold2d: x += cols scattered back
static int cpu_fold2d(float *x, const float *cols, int64_t B, int64_t C, int64_t H, int64_t W, int kh, int kw,
                      int sh, int sw, int ph, int pw, int64_t oh, int64_t ow, int batch_inner) {
    int64_t L = oh * ow, R = C * kh * kw;
    if (L == 0 || H * W == 0) return 0;   // nothing flows back (and x or cols may be NULL)
    for (int64_t b = 0; b < B; b++)
        for (int64_t c = 0; c < C; c++)
            for (int ki = 0; ki < kh; ki++)
                for (int kj = 0; kj < kw; kj++) {
                    float *img = x + (b * C + c) * H * W;
                    const float *row = cols + cols_row(b, (c * kh + ki) * kw + kj, B, R, L, batch_inner);
                    // only the output columns [lo, hi) land inside x: no bounds test per
                    // element, and with stride 1 the add vectorises
                    int64_t lo, hi;
                    inside_range(W, kj, sw, pw, ow, &lo, &hi);
                    for (int64_t oy = 0; oy < oh; oy++) {
                        int64_t iy = oy * sh - ph + ki;
                        if (iy < 0 || iy >= H) continue;
                        float *dst = img + iy * W - pw + kj;
                        const float *src = row + oy * ow;
                        if (sw == 1) for (int64_t ox = lo; ox < hi; ox++) dst[ox] += src[ox];
                        else for (int64_t ox = lo; ox < hi; ox++) dst[ox * sw] += src[ox];
                    }
                }
    return 0;
}

static int check_index(const char *op, float v, int64_t r) {
    if (!(v >= 0 && v < (float)r) || v != floorf(v)) {
        tensor_set_error("%s: index %g is out of range: indices must be whole numbers in 1..%lld", op,
                         (double)v + 1, (long long)r);
        return -1;
    }
    return 0;
}

// a is (outer, ra, inner), idx (outer, ri, inner) -> out (outer, ri, inner)
static int cpu_gather(float *out, const float *a, const float *idx, int64_t outer, int64_t ra, int64_t ri,
                      int64_t inner) {
    for (int64_t o = 0; o < outer; o++)
        for (int64_t i = 0; i < ri; i++) {
            const float *ix = idx + (o * ri + i) * inner;
            float *dst = out + (o * ri + i) * inner;
            for (int64_t j = 0; j < inner;) {
                float v = ix[j];
                if (check_index("gather", v, ra)) return -1;
                // runs of one index (all of index_select's rows) copy as a block
                int64_t e = j + 1;
                while (e < inner && ix[e] == v) e++;
                memcpy(dst + j, a + (o * ra + (int64_t)v) * inner + j, (size_t)(e - j) * sizeof(float));
                j = e;
            }
        }
    return 0;
}

static int cpu_scatter_add(float *a, const float *src, const float *idx, int64_t outer, int64_t ra, int64_t ri,
                           int64_t inner) {
    for (int64_t o = 0; o < outer; o++)
        for (int64_t i = 0; i < ri; i++)
            for (int64_t j = 0; j < inner; j++) {
                float v = idx[(o * ri + i) * inner + j];
                if (check_index("scatter_add", v, ra)) return -1;
                a[(o * ra + (int64_t)v) * inner + j] += src[(o * ri + i) * inner + j];
            }
    return 0;
}

// ---- pooling, direct (no im2col copy) ----

// v (at index at) replaces a best that is not NaN when larger or NaN: PyTorch's rule,
// first max wins and a NaN stays. Bit masks, not branches: on random data the
// branches mispredicted half the time (20 ns per output).
static inline void pool_take(float v, int32_t at, float *best, int32_t *bi) {
    uint32_t m = 0u - (uint32_t)(((v > *best) | (v != v)) & (*best == *best));
    uint32_t vb, bb;
    memcpy(&vb, &v, sizeof vb);
    memcpy(&bb, best, sizeof bb);
    bb = (vb & m) | (bb & ~m);
    memcpy(best, &bb, sizeof bb);
    *bi = (int32_t)(((uint32_t)at & m) | ((uint32_t)*bi & ~m));
}

// x is (B,C,H,W) -> out, idx (B,C,oh,ow); padding is -inf, so only inside pixels compete
static int cpu_max_pool2d(float *out, float *idx, const float *x, int64_t B, int64_t C, int64_t H, int64_t W,
                          int kh, int kw, int sh, int sw, int ph, int pw, int64_t oh, int64_t ow) {
    if (H * W == 0) return 0;   // conv_out already rejected windows that hold no pixel
    for (int64_t p = 0; p < B * C; p++) {
        const float *img = x + p * H * W;
        float *o = out + p * oh * ow, *oi = idx + p * oh * ow;
        for (int64_t oy = 0; oy < oh; oy++) {
            int64_t y0 = oy * sh - ph, y1 = y0 + kh;
            if (y0 < 0) y0 = 0;
            if (y1 > H) y1 = H;
            // 2x2 stride 2 without padding (every CNN's pool): no bounds to test, no branches
            if (kh == 2 && kw == 2 && sw == 2 && pw == 0 && y1 - y0 == 2) {
                const float *r0 = img + y0 * W, *r1 = r0 + W;
                float *orow = o + oy * ow, *irow = oi + oy * ow;
                for (int64_t ox = 0; ox < ow; ox++) {
                    int32_t i0 = (int32_t)(y0 * W + 2 * ox), bi = i0;   // H*W < 2^24: checked by the op
                    float best = r0[2 * ox];
                    pool_take(r0[2 * ox + 1], i0 + 1, &best, &bi);
                    pool_take(r1[2 * ox], i0 + (int32_t)W, &best, &bi);
                    pool_take(r1[2 * ox + 1], i0 + (int32_t)W + 1, &best, &bi);
                    orow[ox] = best;
                    irow[ox] = (float)bi;
                }
                continue;
            }
            for (int64_t ox = 0; ox < ow; ox++) {
                int64_t x0 = ox * sw - pw, x1 = x0 + kw;
                if (x0 < 0) x0 = 0;
                if (x1 > W) x1 = W;
                float best = -INFINITY;
                int64_t bi = -1;
                // scan order and NaN rule of PyTorch: first max wins, a NaN wins and stays
                for (int64_t iy = y0; iy < y1 && !(bi >= 0 && isnan(best)); iy++)
                    for (int64_t ix = x0; ix < x1; ix++) {
                        float v = img[iy * W + ix];
                        if (bi < 0 || isnan(v) || v > best) { best = v; bi = iy * W + ix; }
                        if (isnan(best)) break;
                    }
                o[oy * ow + ox] = best;
                oi[oy * ow + ox] = (float)bi;
            }
        }
    }
    return 0;
}

// gx (planes, hw) += g (planes, l) at idx; the indices come from cpu_max_pool2d
static int cpu_max_pool2d_backward(float *gx, const float *g, const float *idx, int64_t planes, int64_t hw,
                                   int64_t l) {
    for (int64_t p = 0; p < planes; p++)
        for (int64_t i = 0; i < l; i++) gx[p * hw + (int64_t)idx[p * l + i]] += g[p * l + i];
    return 0;
}

// x is (B,C,H,W) -> out (B,C,oh,ow): sum over the window's inside pixels (the padding adds
// 0) times 1/(kh*kw), summed in window order as the unfold + mean route did
static int cpu_avg_pool2d(float *out, const float *x, int64_t B, int64_t C, int64_t H, int64_t W,
                          int kh, int kw, int sh, int sw, int ph, int pw, int64_t oh, int64_t ow) {
    float inv = (float)(1.0 / ((double)kh * kw));
    for (int64_t p = 0; p < B * C; p++) {
        const float *img = H * W != 0 ? x + p * H * W : NULL;
        float *o = out + p * oh * ow;
        for (int64_t oy = 0; oy < oh; oy++)
            for (int64_t ox = 0; ox < ow; ox++) {
                // only the inside pixels: a huge padded window must not loop over its padding
                int64_t y0 = oy * sh - ph, y1 = y0 + kh, x0 = ox * sw - pw, x1 = x0 + kw;
                if (y0 < 0) y0 = 0;
                if (y1 > H) y1 = H;
                if (x0 < 0) x0 = 0;
                if (x1 > W) x1 = W;
                float s = 0.0f;
                for (int64_t iy = y0; iy < y1; iy++)
                    for (int64_t ix = x0; ix < x1; ix++) s += img[iy * W + ix];
                o[oy * ow + ox] = s * inv;
            }
    }
    return 0;
}

// window offsets k at o*s - p + k: the first that lies at or right of 0 for the last output,
// and one past the last that lies inside [0, n) for the first output
static int window_first(int64_t on, int s, int p) {
    int64_t k = (int64_t)p - (on - 1) * s;
    return k > 0 ? (int)k : 0;
}
static int window_end(int64_t n, int k, int p) {
    int64_t e = (int64_t)p + n;
    return e < k ? (int)e : k;
}

// g (B,C,oh,ow) -> gx (B,C,H,W) += g / (kh*kw) over every window covering a pixel
static int cpu_avg_pool2d_backward(float *gx, const float *g, int64_t B, int64_t C, int64_t H, int64_t W,
                                   int kh, int kw, int sh, int sw, int ph, int pw, int64_t oh, int64_t ow) {
    if (H * W == 0) return 0;
    float inv = (float)(1.0 / ((double)kh * kw));
    // window offsets that reach a pixel for some output (the others only see padding)
    int ki0 = window_first(oh, sh, ph), ki1 = window_end(H, kh, ph);
    int kj0 = window_first(ow, sw, pw), kj1 = window_end(W, kw, pw);
    int64_t ylo, yhi, xlo, xhi;
    for (int64_t p = 0; p < B * C; p++) {
        float *img = gx + p * H * W;
        const float *gp = g + p * oh * ow;
        for (int ki = ki0; ki < ki1; ki++) {
            inside_range(H, ki, sh, ph, oh, &ylo, &yhi);
            for (int kj = kj0; kj < kj1; kj++) {
                inside_range(W, kj, sw, pw, ow, &xlo, &xhi);
                for (int64_t oy = ylo; oy < yhi; oy++) {
                    float *row = img + (oy * sh - ph + ki) * W - pw + kj;
                    for (int64_t ox = xlo; ox < xhi; ox++) row[ox * sw] += gp[oy * ow + ox] * inv;
                }
            }
        }
    }
    return 0;
}

// ---- batch norm ----
// sum of n floats with 8 partial sums (vectorises; rounds better than one running sum)
static float row_sum(const float *p, int64_t n) {
    float acc[8] = {0};
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int j = 0; j < 8; j++) acc[j] += p[i + j];
    float s = 0.0f;
    for (; i < n; i++) s += p[i];
    for (int j = 0; j < 8; j++) s += acc[j];
    return s;
}

// sum of (p - m)^2, as row_sum
static float row_sq_dev(const float *p, int64_t n, float m) {
    float acc[8] = {0};
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int j = 0; j < 8; j++) { float d = p[i + j] - m; acc[j] += d * d; }
    float s = 0.0f;
    for (; i < n; i++) { float d = p[i] - m; s += d * d; }
    for (int j = 0; j < 8; j++) s += acc[j];
    return s;
}

// sum of dy and of dy * (x - m), as row_sum
static void row_dy_sums(const float *dy, const float *x, int64_t n, float m, float *sdy, float *sdyx) {
    float a[8] = {0}, b[8] = {0};
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int j = 0; j < 8; j++) { a[j] += dy[i + j]; b[j] += dy[i + j] * (x[i + j] - m); }
    float s = 0.0f, t = 0.0f;
    for (; i < n; i++) { s += dy[i]; t += dy[i] * (x[i] - m); }
    for (int j = 0; j < 8; j++) { s += a[j]; t += b[j]; }
    *sdy = s;
    *sdyx = t;
}

// x, y are (N, C, L). One channel at a time: its N*L values (400 KB for a 32x28x28
// batch of 128) stay in L2 across the mean, variance and output passes.
static int cpu_batch_norm(float *y, float *mean, float *invstd, const float *x, const float *w, const float *b,
                          float *rm, float *rv, int64_t N, int64_t C, int64_t L, int use_batch, float momentum,
                          float eps) {
    int64_t M = N * L;
    for (int64_t c = 0; c < C; c++) {
        float m, is;
        if (use_batch) {
            double s = 0;   // double across rows: long sums stay accurate
            for (int64_t n = 0; n < N; n++) s += row_sum(x + (n * C + c) * L, L);
            m = (float)(s / (double)M);
            double ss = 0;
            for (int64_t n = 0; n < N; n++) ss += row_sq_dev(x + (n * C + c) * L, L, m);
            float var = (float)(ss / (double)M);
            is = (float)(1.0 / sqrt((double)var + (double)eps));
            if (rm && rv) {
                float unbiased = var * (float)((double)M / (double)(M - 1));
                rm[c] = rm[c] * (1.0f - momentum) + m * momentum;
                rv[c] = rv[c] * (1.0f - momentum) + unbiased * momentum;
            }
        } else {
            m = rm[c];
            is = (float)(1.0 / sqrt((double)rv[c] + (double)eps));
        }
        mean[c] = m;
        invstd[c] = is;
        float scale = w ? is * w[c] : is, shift = b ? b[c] : 0.0f;
        for (int64_t n = 0; n < N; n++) {
            const float *xr = x + (n * C + c) * L;
            float *yr = y + (n * C + c) * L;
            for (int64_t l = 0; l < L; l++) yr[l] = (xr[l] - m) * scale + shift;
        }
    }
    return 0;
}

// dy, x, gx are (N, C, L); per channel two passes: the sums, then gx
static int cpu_batch_norm_backward(float *gx, float *gw, float *gb, const float *dy, const float *x,
                                   const float *mean, const float *invstd, const float *w, int64_t N, int64_t C,
                                   int64_t L, int use_batch) {
    int64_t M = N * L;
    for (int64_t c = 0; c < C; c++) {
        float m = mean[c], is = invstd[c];
        double sdy = 0, sdyx = 0;
        if (gw || gb || (gx && use_batch))
            for (int64_t n = 0; n < N; n++) {
                float a, t;
                row_dy_sums(dy + (n * C + c) * L, x + (n * C + c) * L, L, m, &a, &t);
                sdy += a;
                sdyx += t;
            }
        float sum_dy = (float)sdy, sum_dy_xhat = (float)(sdyx * is);
        if (gb) gb[c] = sum_dy;
        if (gw) gw[c] = sum_dy_xhat;
        if (!gx) continue;
        float k = w ? w[c] * is : is;
        // gx = k * (dy - mean(dy) - xhat * mean(dy * xhat)), xhat = (x - m) * is
        float a = use_batch ? sum_dy / (float)M : 0.0f, b = use_batch ? sum_dy_xhat / (float)M * is : 0.0f;
        for (int64_t n = 0; n < N; n++) {
            const float *dr = dy + (n * C + c) * L, *xr = x + (n * C + c) * L;
            float *gr = gx + (n * C + c) * L;
            for (int64_t l = 0; l < L; l++) gr[l] = k * (dr[l] - a - (xr[l] - m) * b);
        }
    }
    return 0;
}

static int cpu_random(float *out, int64_t n, int kind, uint64_t seed, uint64_t offset, float a, float b) {
    for (int64_t i = 0; i < n; i++) out[i] = ew_random(kind, seed, offset + (uint64_t)i, a, b);
    return 0;
}

// torch.optim.Adam / AdamW. Weight decay is applied in its own pass so the main
// loop is branch-free and vectorises (restrict: p, g, m, v never alias).
static int cpu_adam(float *restrict p, const float *restrict g, float *restrict m, float *restrict v, int64_t n,
                    float lr, float b1, float b2, float eps, float wd, float bc1, float bc2, int decoupled) {
    float step_size = lr / bc1;
    float inv_bc2_sqrt = 1.0f / sqrtf(bc2);
    if (decoupled && wd != 0.0f)
        for (int64_t i = 0; i < n; i++) p[i] *= 1.0f - lr * wd;
    float l2 = decoupled ? 0.0f : wd;   // Adam's L2 term joins the gradient
    for (int64_t i = 0; i < n; i++) {
        float gi = g[i] + l2 * p[i];
        float mi = b1 * m[i] + (1.0f - b1) * gi;
        float vi = b2 * v[i] + (1.0f - b2) * gi * gi;
        m[i] = mi;
        v[i] = vi;
        p[i] -= step_size * mi / (sqrtf(vi) * inv_bc2_sqrt + eps);
    }
    return 0;
}

// torch.optim.SGD
static int cpu_sgd(float *p, const float *g, float *buf, int64_t n, float lr, float momentum, float dampening,
                   float wd, int nesterov, int first) {
    for (int64_t i = 0; i < n; i++) {
        float gi = g[i] + wd * p[i];
        if (momentum != 0.0f) {
            buf[i] = first ? gi : momentum * buf[i] + (1.0f - dampening) * gi;
            gi = nesterov ? gi + momentum * buf[i] : buf[i];
        }
        p[i] -= lr * gi;
    }
    return 0;
}

const tensor_backend tensor_cpu_backend = {
    .name = "cpu",
    .alloc = cpu_alloc,
    .free = cpu_free,
    .to_host = cpu_memcpy,
    .from_host = cpu_memcpy,
    .copy = cpu_copy,
    .fill = cpu_fill,
    .unary = cpu_unary,
    .binary = cpu_binary,
    .reduce = cpu_reduce,
    .gemm = cpu_gemm,
    .softmax = cpu_softmax,
    .softmax_backward = cpu_softmax_backward,
    .unfold2d = cpu_unfold2d,
    .fold2d = cpu_fold2d,
    .gather = cpu_gather,
    .scatter_add = cpu_scatter_add,
    .max_pool2d = cpu_max_pool2d,
    .max_pool2d_backward = cpu_max_pool2d_backward,
    .avg_pool2d = cpu_avg_pool2d,
    .avg_pool2d_backward = cpu_avg_pool2d_backward,
    .batch_norm = cpu_batch_norm,
    .batch_norm_backward = cpu_batch_norm_backward,
    .random = cpu_random,
    .adam = cpu_adam,
    .sgd = cpu_sgd,
};
