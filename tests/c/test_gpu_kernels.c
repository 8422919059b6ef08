// test_gpu_kernels.c - backend kernels that no Lua op reaches, run on the CPU backend and
// (with a GPU) on the CUDA backend against the same double-precision reference:
// batched GEMM with one shared output C (stride_c 0). backend.h's contract read in
// order: C = alpha A[i] B[i] + beta C for i = 0..batch-1, so beta scales C once per
// product (beta 1 sums them, beta 0 keeps the last), as tensor/cpu/blas.c runs it.
// The CUDA half skips, with the reason, where libnnlab_cuda.so or a GPU is missing;
// the GPU bundle (scripts/gpu_bundle.sh) carries this binary.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "tap.h"
#include "../../tensor/internal.h"

enum { BATCH = 3, M = 4, N = 5, K = 6 };

// C (M,N) after the products in order; a is (BATCH, M,K) or its per-matrix transpose
static void reference(double *c, const float *a, const float *b, int ta, float alpha, float beta) {
    for (int i = 0; i < BATCH; i++)
        for (int r = 0; r < M; r++)
            for (int q = 0; q < N; q++) {
                double s = 0;
                for (int t = 0; t < K; t++) {
                    float av = ta ? a[i * M * K + t * M + r] : a[i * M * K + r * K + t];
                    s += (double)av * b[i * K * N + t * N + q];
                }
                c[r * N + q] = alpha * s + (beta == 0.0f ? 0.0 : beta * c[r * N + q]);
            }
}

// the backend's gemm on device d with shared C; result copied to want's host layout
static int run_gemm(tensor_device d, const float *a, const float *b, const float *c0, int ta, float alpha,
                    float beta, float *out) {
    const tensor_backend *be = tensor_backend_for(d);
    tensor *ta_ = tensor_from_data(1, (int64_t[]){BATCH * M * K}, a, d);
    tensor *tb_ = tensor_from_data(1, (int64_t[]){BATCH * K * N}, b, d);
    tensor *tc_ = tensor_from_data(1, (int64_t[]){M * N}, c0, d);
    int rc = -1;
    if (be && ta_ && tb_ && tc_)
        rc = be->gemm(BATCH, ta, 0, M, N, K, alpha, tensor_data(ta_), ta ? M : K, M * K, tensor_data(tb_), N, K * N,
                      beta, tensor_data(tc_), N, 0);
    float *h = rc ? NULL : tensor_to_host(tc_);
    if (h) memcpy(out, h, sizeof(float) * M * N);
    else rc = -1;
    free(h);
    tensor_release(ta_);
    tensor_release(tb_);
    tensor_release(tc_);
    return rc;
}

static double worst_rel(const float *got, const double *want) {
    double w = 0;
    for (int i = 0; i < M * N; i++) {
        double d = (got[i] - want[i]) / (fabs(want[i]) > 1 ? fabs(want[i]) : 1);
        if (fabs(d) > w) w = fabs(d);
    }
    return w;
}

int main(void) {
    float a[BATCH * M * K], b[BATCH * K * N], c0[M * N];
    srand(7);
    for (int i = 0; i < BATCH * M * K; i++) a[i] = (float)rand() / RAND_MAX - 0.5f;
    for (int i = 0; i < BATCH * K * N; i++) b[i] = (float)rand() / RAND_MAX - 0.5f;
    for (int i = 0; i < M * N; i++) c0[i] = (float)rand() / RAND_MAX + 1.0f;
    char why[512] = "";
    int cuda = tensor_cuda_available(why, sizeof why);
    const struct { float alpha, beta; int ta; const char *what; } cases[] = {
        {1.0f, 1.0f, 0, "beta 1 sums the products into C"},
        {1.0f, 0.0f, 0, "beta 0 keeps the last product"},
        {1.5f, 0.5f, 0, "beta 0.5 scales C once per product"},
        {0.75f, 0.5f, 1, "transposed A, beta 0.5"},
    };
    for (size_t t = 0; t < sizeof cases / sizeof cases[0]; t++) {
        double want[M * N];
        for (int i = 0; i < M * N; i++) want[i] = c0[i];
        reference(want, a, b, cases[t].ta, cases[t].alpha, cases[t].beta);
        float got[M * N];
        char name[200];
        snprintf(name, sizeof name, "gemm shared output on cpu: %s", cases[t].what);
        int rc = run_gemm(TENSOR_CPU, a, b, c0, cases[t].ta, cases[t].alpha, cases[t].beta, got);
        if (!tap_ok(rc == 0 && worst_rel(got, want) < 1e-5, name))
            printf("# rc %d (%s), worst relative error %g\n", rc, rc ? tensor_last_error() : "", worst_rel(got, want));
        snprintf(name, sizeof name, "gemm shared output on cuda, as the cpu: %s", cases[t].what);
        if (!cuda) {
            tap_n++;
            printf("ok %d - %s # SKIP %s\n", tap_n, name, why);
            continue;
        }
        rc = run_gemm(TENSOR_CUDA, a, b, c0, cases[t].ta, cases[t].alpha, cases[t].beta, got);
        if (!tap_ok(rc == 0 && worst_rel(got, want) < 1e-5, name))
            printf("# rc %d (%s), worst relative error %g\n", rc, rc ? tensor_last_error() : "", worst_rel(got, want));
    }
    return tap_done();
}
