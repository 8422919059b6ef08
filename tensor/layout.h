// layout.h - index geometry shared by the CPU and GPU kernels: merging the dims of
// strided operands, and which outputs of a sliding window see a given input offset.
// Compiled by gcc and nvcc (EW_FN is __host__ __device__ there), like elementwise.h.
#ifndef NNLAB_LAYOUT_H
#define NNLAB_LAYOUT_H

#include <stdint.h>
#include "elementwise.h"
#include "tensor.h"

#define LAYOUT_MAX_OPS 3

// Up to three operands sharing one shape. Dims are merged where every operand is
// contiguous across them and size-1 dims dropped, so the common contiguous case is one
// dim: a CPU loop runs it as one long row, a GPU kernel's index math costs one multiply.
typedef struct {
    int ndim;                                          // 0 for a single element
    int64_t size[TENSOR_MAX_DIMS];
    int64_t stride[LAYOUT_MAX_OPS][TENSOR_MAX_DIMS];
} tensor_layout;

// Returns the number of elements.
EW_FN int64_t tensor_layout_make(tensor_layout *l, int ndim, const int64_t *size, int nops,
                                 const int64_t *const *strides) {
    int64_t n = 1;
    l->ndim = 0;
    for (int d = 0; d < ndim; d++) {
        n *= size[d];
        if (size[d] == 1) continue;                    // a size-1 dim never moves an index
        int last = l->ndim - 1, merge = last >= 0;
        for (int k = 0; k < nops && merge; k++) merge = l->stride[k][last] == strides[k][d] * size[d];
        if (merge) {
            l->size[last] *= size[d];
            for (int k = 0; k < nops; k++) l->stride[k][last] = strides[k][d];
        } else {
            l->size[l->ndim] = size[d];
            for (int k = 0; k < nops; k++) l->stride[k][l->ndim] = strides[k][d];
            l->ndim++;
        }
    }
    return n;
}

// A window of k taps with stride s and padding p over n inputs, with on outputs: tap k of
// output o reads input o*s - p + k.

// the outputs o in [lo, hi) whose tap k lies inside [0, n)
EW_FN void window_outputs(int64_t n, int k, int s, int p, int64_t on, int64_t *lo, int64_t *hi) {
    int64_t pk = (int64_t)p - k;   // int64: p near INT_MAX must not overflow below
    *lo = pk > 0 ? (pk + s - 1) / s : 0;
    *hi = n + pk > 0 ? (n + pk + s - 1) / s : 0;
    if (*lo > on) *lo = on;
    if (*hi > on) *hi = on;
    if (*hi < *lo) *hi = *lo;
}

// the first tap that lies at or right of 0 for the last output, and one past the last
// tap that lies inside [0, n) for the first output: taps outside [first, end) only ever
// see padding
EW_FN int window_first_tap(int64_t on, int s, int p) {
    int64_t k = (int64_t)p - (on - 1) * s;
    return k > 0 ? (int)k : 0;
}
EW_FN int window_end_tap(int64_t n, int k, int p) {
    int64_t e = (int64_t)p + n;
    return e < k ? (int)e : k;
}

// Host only: the words of a bad gather/scatter index v (as stored, 0-based) into a dim of
// size r, the same on every device. Markup as tensor_set_error reads it (error.c).
#include <math.h>
#include <stdio.h>
static inline void tensor_index_error_words(char *buf, size_t n, const char *op, float v, int64_t r) {
    if (v == floorf(v) && fabsf(v) < 1e15f)
        snprintf(buf, n, "%s: index {{index:%lld}} is out of range for a dim of size %lld (indices are {{range:%lld}})",
                 op, (long long)v, (long long)r, (long long)r);
    else   // not a whole number (or NaN): shown as the caller wrote it
        snprintf(buf, n, "%s: index {{%g|%g}} is not a whole number (indices are {{range:%lld}})", op,
                 (double)v + 1, (double)v, (long long)r);
}

#endif
