// index.c - gather and its adjoint scatter_add along one dim.
#include <math.h>
#include <string.h>
#include "cpu.h"
#include "../layout.h"

static int check_index(const char *op, float v, int64_t r) {
    if (!(v >= 0 && v < (float)r) || v != floorf(v)) {
        char msg[256];
        tensor_index_error_words(msg, sizeof msg, op, v, r);
        tensor_set_error("%s", msg);
        return -1;
    }
    return 0;
}

// a is (outer, ra, inner), idx (outer, ri, inner) -> out (outer, ri, inner)
int cpu_gather(float *out, const float *a, const float *idx, int64_t outer, int64_t ra, int64_t ri,
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

int cpu_scatter_add(float *a, const float *src, const float *idx, int64_t outer, int64_t ra, int64_t ri,
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
