// summary.c - the mult-add counts behind nn.summary (torchinfo's conventions).
#include <stdint.h>
#include <string.h>
#include "scope.h"

int64_t nn_mult_adds(const char *kind, const tensor *out, const tensor *w) {
    if (!kind || !out) return 0;
    int64_t n = tensor_numel(out);
    if (!strcmp(kind, "linear") && w && w->ndim == 2) return n * w->size[1];
    if (!strcmp(kind, "conv2d") && w && w->ndim == 4) return n * w->size[1] * w->size[2] * w->size[3];
    if (!strcmp(kind, "norm")) return n;
    return 0;
}

// Saturates at INT64_MAX: a learner asking about absurd sizes gets "too many", not UB.
int64_t nn_attention_macs(int64_t batch, int64_t t, int64_t s, int64_t d, int64_t dv) {
    int64_t r = 1, f[4] = {batch, t, s, 0};
    if (__builtin_add_overflow(d, dv, &f[3])) return INT64_MAX;
    for (int i = 0; i < 4; i++)
        if (f[i] < 0 || __builtin_mul_overflow(r, f[i], &r)) return INT64_MAX;
    return r;
}
