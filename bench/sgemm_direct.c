// sgemm_direct.c - OpenBLAS cblas_sgemm called directly: the ceiling for nnlab's matmul.
// usage: sgemm_direct  -> "sgemm_direct_N seconds" lines (median of runs)
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec * 1e-9; }
static int cmp(const void *a, const void *b) { double x = *(const double *)a, y = *(const double *)b; return (x > y) - (x < y); }

int main(void) {
    int sizes[3] = {256, 1024, 2048};
    for (int s = 0; s < 3; s++) {
        int n = sizes[s], reps = n >= 2048 ? 5 : 9, inner = n <= 256 ? 50 : 3;
        float *a = malloc(sizeof(float) * n * n), *b = malloc(sizeof(float) * n * n), *c = malloc(sizeof(float) * n * n);
        for (long i = 0; i < (long)n * n; i++) { a[i] = (float)rand() / RAND_MAX; b[i] = (float)rand() / RAND_MAX; }
        double ts[9];
        for (int r = 0; r < reps; r++) {
            double t0 = now();
            for (int k = 0; k < inner; k++)
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, a, n, b, n, 0.0f, c, n);
            ts[r] = (now() - t0) / inner;
        }
        qsort(ts, reps, sizeof *ts, cmp);
        printf("matmul_%d %.9f\n", n, ts[reps / 2]);
        free(a); free(b); free(c);
    }
    return 0;
}
