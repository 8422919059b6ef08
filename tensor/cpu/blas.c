// blas.c - GEMM through OpenBLAS, loaded with dlopen on the first matmul.
#include <cblas.h>
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <unistd.h>
#include "cpu.h"

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

int cpu_gemm(int batch, int ta, int tb, int64_t m, int64_t n, int64_t k, float alpha,
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
