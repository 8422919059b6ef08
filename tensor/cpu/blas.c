// blas.c - GEMM through OpenBLAS, loaded with dlopen on the first matmul.
#include <cblas.h>
#include <dlfcn.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <unistd.h>
#if defined(__x86_64__)
#include <cpuid.h>
#endif
#include "cpu.h"
#if defined(__SSE2__)
#include <xmmintrin.h>
#endif

// OpenBLAS is dlopen()ed on the first matmul: loading it (and its thread pool)
// costs 10-16 ms, more than the rest of nnlab's start-up together.
typedef void (*sgemm_fn)(enum CBLAS_ORDER, enum CBLAS_TRANSPOSE, enum CBLAS_TRANSPOSE, blasint, blasint, blasint,
                         float, const float *, blasint, const float *, blasint, float, float *, blasint);
static sgemm_fn blas_sgemm;
static int (*blas_threads)(void);   // openblas_get_num_threads; NULL for another BLAS
static void (*blas_set_threads)(int);   // openblas_set_num_threads
static int blas_ready;

// tensor_set_num_threads: OpenBLAS follows (now, or when it loads)
void cpu_blas_set_threads(int n) {
    if (blas_set_threads) blas_set_threads(n);
}

// OpenBLAS 0.3.21 (Debian 12) picks its kernels by CPU model number, and a model it has
// not heard of gets the Prescott (SSE3) ones: on this VM's Xeon (family 6, model 207,
// AVX-512) sgemm ran 5-8x slower than with the AVX-512 kernels (1024^3: 100 vs 14 ms).
// Its own fallback by features is right, so nnlab names the core by what cpuid and the
// OS allow, before the library loads, unless OPENBLAS_CORETYPE is set already.
static const char *core_by_features(void) {
#if defined(__x86_64__)
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & bit_OSXSAVE)) return NULL;
    int fma = (c & bit_FMA) != 0, avx = (c & bit_AVX) != 0;
    unsigned lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    int ymm = (lo & 0x6) == 0x6, zmm = (lo & 0xe6) == 0xe6;   // the OS saves YMM / ZMM state
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return avx && ymm ? "SandyBridge" : NULL;
    int avx2 = (b & bit_AVX2) != 0;
    int avx512 = (b & bit_AVX512F) && (b & bit_AVX512CD) && (b & bit_AVX512BW) && (b & bit_AVX512DQ) && (b & bit_AVX512VL);
    unsigned a1 = 0, b1, c1, d1;
    __get_cpuid_count(7, 1, &a1, &b1, &c1, &d1);
    if (avx512 && zmm) return a1 & (1u << 5) ? "Cooperlake" : "SkylakeX";   // AVX512_BF16
    if (avx2 && fma && ymm) return "Haswell";
    if (avx && ymm) return "SandyBridge";
#endif
    return NULL;
}

static const char *(*blas_corename)(void);   // openblas_get_corename

static int blas_load(void) {
    static const char *libs[] = {"libopenblas.so.0", "libopenblas.so", "libblas.so.3"};
    char why[256] = "";
    const char *core = core_by_features();
    int named = core && !getenv("OPENBLAS_CORETYPE") && setenv("OPENBLAS_CORETYPE", core, 0) == 0;
    for (size_t i = 0; i < sizeof libs / sizeof *libs && !blas_sgemm; i++) {
        void *h = dlopen(libs[i], RTLD_NOW | RTLD_GLOBAL);
        if (!h) { snprintf(why, sizeof why, "%s", dlerror()); continue; }
        blas_sgemm = (sgemm_fn)dlsym(h, "cblas_sgemm");
        blas_threads = (int (*)(void))dlsym(h, "openblas_get_num_threads");
        blas_set_threads = (void (*)(int))dlsym(h, "openblas_set_num_threads");
        blas_corename = (const char *(*)(void))dlsym(h, "openblas_get_corename");
    }
    if (named) unsetenv("OPENBLAS_CORETYPE");     // read at load; the script's environment stays its own
    if (blas_set_threads) blas_set_threads(tensor_get_num_threads());
    if (!blas_sgemm) {
        tensor_set_error("matmul: cannot load OpenBLAS (%s); install it with: sudo apt-get install libopenblas0", why);
        return -1;
    }
    return 0;
}

const char *tensor_blas_core(void) {
    if (!blas_sgemm && blas_load()) return NULL;
    return blas_corename ? blas_corename() : "not OpenBLAS";
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
                             "(x = nil; collectgarbage()), raise the limit, or use fewer threads (tensor.set_num_threads(1))",
                             (long long)(need >> 20), blas_threads(), (long long)(room > 0 ? room >> 20 : 0));
            return -1;
        }
    }
    static float a[128 * 128], c[128 * 128];   // zeros; 128^3 is past OpenBLAS's threading threshold
    blas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, 128, 128, 128, 1.0f, a, 128, a, 128, 0.0f, c, 128);
    return 0;
}

// A GEMM larger than twice this many flops runs as blocks of C of about this size (a
// tenth to a third of a second on one core) with the interrupt flag checked between
// them: OpenBLAS itself cannot be stopped, and a 6000^3 matmul is seconds. Blocks are
// few, even and >= 512 wide: 4e9-flop blocks split 2048^3 into 512x1920 and 512x128
// pieces and ran it 13-18% slower than one call. Above 32e9 flops the blocks still cost
// ~10% (4096^3: 0.81 s in 3x3 blocks, 0.72 s as one call that Ctrl-C could not stop).
static double gemm_block_flops = 16e9;

// n split into pieces of at most `most` (and >= 1), as even as possible, multiples of 64
// where that fits: the piece size
static int64_t even_piece(int64_t n, int64_t most) {
    if (most >= n) return n;
    int64_t count = (n + most - 1) / most, piece = (n + count - 1) / count;
    return piece > 64 ? (piece + 63) & ~(int64_t)63 : piece;
}

// dst (k,n) = src^T, src (n,k) with row stride lds: 4x4 tiles through SSE registers
static void transpose(float *dst, const float *src, int64_t n, int64_t k, int64_t lds) {
    int64_t i = 0;
#if defined(__SSE2__)
    for (; i + 4 <= n; i += 4) {
        int64_t j = 0;
        for (; j + 4 <= k; j += 4) {
            __m128 r0 = _mm_loadu_ps(src + (i + 0) * lds + j), r1 = _mm_loadu_ps(src + (i + 1) * lds + j);
            __m128 r2 = _mm_loadu_ps(src + (i + 2) * lds + j), r3 = _mm_loadu_ps(src + (i + 3) * lds + j);
            _MM_TRANSPOSE4_PS(r0, r1, r2, r3);
            _mm_storeu_ps(dst + (j + 0) * n + i, r0);
            _mm_storeu_ps(dst + (j + 1) * n + i, r1);
            _mm_storeu_ps(dst + (j + 2) * n + i, r2);
            _mm_storeu_ps(dst + (j + 3) * n + i, r3);
        }
        for (; j < k; j++)
            for (int64_t t = 0; t < 4; t++) dst[j * n + i + t] = src[(i + t) * lds + j];
    }
#endif
    for (; i < n; i++)
        for (int64_t j = 0; j < k; j++) dst[j * n + i] = src[i * lds + j];
}

// OpenBLAS's small-matrix kernel for a transposed B (x @ W^T, every nn.Linear forward)
// runs at about half the rate of the plain one: (100,32) @ (128,32)^T took 7.8 us, the
// same product with W^T stored took 4.7. Small products transpose B first (~0.3 us for
// 4K floats); big ones pack B anyway and lose only a few percent.
#define SMALL_NT_FLOPS ((int64_t)1 << 21)
#define SMALL_NT_B ((int64_t)1 << 16)
static _Thread_local float *bt_buf;
static _Thread_local int64_t bt_cap;

static void sgemm(int ta, int tb, int64_t m, int64_t n, int64_t k, float alpha, const float *a, int64_t lda,
                  const float *b, int64_t ldb, float beta, float *c, int64_t ldc) {
    if (tb && !ta && m >= 8 && m * n * k <= SMALL_NT_FLOPS && n * k <= SMALL_NT_B) {
        if (bt_cap < n * k) {
            float *nb = realloc(bt_buf, (size_t)(n * k) * sizeof *nb);
            if (nb) { bt_buf = nb; bt_cap = n * k; }
        }
        if (bt_cap >= n * k) {
            transpose(bt_buf, b, n, k, ldb);
            b = bt_buf;
            ldb = n;
            tb = 0;
        }
    }
    blas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, (blasint)m,
               (blasint)n, (blasint)k, alpha, a, (blasint)lda, b, (blasint)ldb, beta, c, (blasint)ldc);
}

// C (m,n) = alpha op(A) op(B) + beta C in blocks of rows, then of columns
static int sgemm_blocked(int ta, int tb, int64_t m, int64_t n, int64_t k, float alpha, const float *a,
                         int64_t lda, const float *b, int64_t ldb, float beta, float *c, int64_t ldc) {
    double flops = 2.0 * (double)m * (double)n * (double)k;
    if (flops <= 2 * gemm_block_flops) {
        sgemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
        return 0;
    }
    // Each row block packs B again and each column block A: near-square blocks keep the
    // repacking least (4096^3: 3x3 blocks instead of 8x2)
    int64_t side = (int64_t)sqrt(gemm_block_flops / (2.0 * (double)k));
    int64_t nb = even_piece(n, side < 512 ? 512 : side);
    int64_t mb = (int64_t)(gemm_block_flops / (2.0 * (double)nb * (double)k));
    mb = even_piece(m, mb < 512 ? 512 : mb);
    for (int64_t i = 0; i < m; i += mb)
        for (int64_t j = 0; j < n; j += nb) {
            if (cpu_check_interrupt()) return -1;
            int64_t bm = m - i < mb ? m - i : mb, bn = n - j < nb ? n - j : nb;
            // row i of op(A): row i of A, or column i of a transposed A; likewise for B's columns
            const float *ai = ta ? a + i : a + i * lda, *bj = tb ? b + j * ldb : b + j;
            sgemm(ta, tb, bm, bn, k, alpha, ai, lda, bj, ldb, beta, c + i * ldc + j, ldc);
        }
    return 0;
}

int cpu_gemm(int batch, int ta, int tb, int64_t m, int64_t n, int64_t k, float alpha,
             const float *a, int64_t lda, int64_t sa, const float *b, int64_t ldb, int64_t sb,
                    float beta, float *c, int64_t ldc, int64_t sc) {
    if (!blas_ready) {
        if ((!blas_sgemm && blas_load()) || blas_warm_up()) return -1;
        blas_ready = 1;
        const char *e = getenv("NNLAB_GEMM_BLOCK_FLOPS");   // for bench/: the block size's cost
        if (e && atof(e) > 0) gemm_block_flops = atof(e);
    }
    if (m > INT32_MAX || n > INT32_MAX || k > INT32_MAX) {
        tensor_set_error("matmul: %lld x %lld x %lld exceeds BLAS's 32-bit sizes", (long long)m, (long long)k, (long long)n);
        return -1;
    }
    for (int i = 0; i < batch; i++) {
        // many small GEMMs: a check between them, a block check inside big ones
        if ((i & 63) == 63 && cpu_check_interrupt()) return -1;
        if (sgemm_blocked(ta, tb, m, n, k, alpha, a + i * sa, lda, b + i * sb, ldb, beta, c + i * sc, ldc)) return -1;
    }
    return 0;
}
