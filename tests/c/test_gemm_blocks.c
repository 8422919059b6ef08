// test_gemm_blocks.c - a big matmul runs as blocks of C (tensor/cpu/blas.c, so that Ctrl-C
// can stop it between them). With the block size made tiny (NNLAB_GEMM_BLOCK_FLOPS), every
// shape below is cut into uneven row and column blocks, and small products with a
// transposed B go through blas.c's own transpose (n and k not multiples of its 4x4
// tiles); each result, with and without transposed operands, must equal a
// double-precision triple loop.
#include <stdio.h>
#include <stdlib.h>
#include "tap.h"
#include "../../tensor/tensor.h"

static float *filled(int64_t n, unsigned seed) {
    float *v = malloc((size_t)n * sizeof *v);
    for (int64_t i = 0; i < n; i++) {
        seed = seed * 1103515245u + 12345u;
        v[i] = (float)((seed >> 8) & 0xffff) / 65536.0f - 0.5f;
    }
    return v;
}

// the worst |c - a b| over c (m,n) = a (m,k) b (k,n), a and b row-major
static double worst_error(const float *c, const float *a, const float *b, int64_t m, int64_t n, int64_t k) {
    double worst = 0;
    for (int64_t i = 0; i < m; i++)
        for (int64_t j = 0; j < n; j++) {
            double s = 0;
            for (int64_t p = 0; p < k; p++) s += (double)a[i * k + p] * b[p * n + j];
            double e = c[i * n + j] - s;
            if (e < 0) e = -e;
            if (e > worst) worst = e;
        }
    return worst;
}

int main(void) {
    setenv("NNLAB_GEMM_BLOCK_FLOPS", "2e5", 1);   // read on the first matmul
    int64_t shapes[][3] = {{700, 700, 65}, {1100, 9, 40}, {9, 1100, 40}, {513, 1025, 3}, {64, 64, 64}};
    for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++) {
        int64_t m = shapes[s][0], n = shapes[s][1], k = shapes[s][2];
        float *a = filled(m * k, 1 + (unsigned)s), *b = filled(k * n, 100 + (unsigned)s);
        for (int trans = 0; trans < 4; trans++) {
            // a transposed operand: stored as its transpose, handed over as a transposed view
            int ta = trans & 1, tb = trans >> 1;
            float *as = a, *bs = b;
            if (ta) { as = malloc((size_t)(m * k) * sizeof *as); for (int64_t i = 0; i < m * k; i++) as[(i % k) * m + i / k] = a[i]; }
            if (tb) { bs = malloc((size_t)(k * n) * sizeof *bs); for (int64_t i = 0; i < k * n; i++) bs[(i % n) * k + i / n] = b[i]; }
            int64_t sa[2] = {ta ? k : m, ta ? m : k}, sb[2] = {tb ? n : k, tb ? k : n};
            tensor *A = tensor_from_data(2, sa, as, TENSOR_CPU), *B = tensor_from_data(2, sb, bs, TENSOR_CPU);
            tensor *Av = ta ? tensor_transpose(A, 0, 1) : A, *Bv = tb ? tensor_transpose(B, 0, 1) : B;
            tensor *C = tensor_matmul(Av, Bv);
            char name[160];
            snprintf(name, sizeof name, "blocked matmul (%lld,%lld)x(%lld,%lld)%s%s equals the triple loop",
                     (long long)m, (long long)k, (long long)k, (long long)n, ta ? ", A transposed" : "",
                     tb ? ", B transposed" : "");
            float *c = C ? tensor_to_host(C) : NULL;
            double err = c ? worst_error(c, a, b, m, n, k) : 1e9;
            free(c);
            if (!C) printf("# %s\n", tensor_last_error());
            if (err > 1e-4) printf("# worst error %g\n", err);
            tap_ok(err <= 1e-4, name);
            tensor_release(C);
            if (ta) tensor_release(Av);
            if (tb) tensor_release(Bv);
            tensor_release(A);
            tensor_release(B);
            if (ta) free(as);
            if (tb) free(bs);
        }
        free(a);
        free(b);
    }
    return tap_done();
}
