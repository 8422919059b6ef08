// gpu_reduce.cu - reductions over the middle dim of (outer, r, inner): sum, max, min,
// argmax, argmin, and softmax / log_softmax forward and backward.
//
// Two ways to walk a row of r elements (element k at row[k * inner]):
//  - BLOCK (inner == 1 and r long): a block per row, threads stride over r, then a
//    block-wide reduction;
//  - otherwise a thread per row; neighbouring threads take neighbouring columns, so
//    reads over (outer, r, inner) with inner > 1 are coalesced.
#include <math.h>
#include "gpu_internal.h"

#define GPU_ROW_MIN_BLOCK 64   // rows shorter than this get a thread, not a block

// a running reduction: value, and the index it came from (for argmax/argmin)
struct gpu_acc { float v; int64_t i; };

static __device__ inline bool gpu_is_max(int op) { return op == REDUCE_MAX || op == REDUCE_ARGMAX; }

static __device__ inline gpu_acc gpu_acc_init(int op) {
    if (op == REDUCE_SUM) return gpu_acc{0.0f, 0};
    return gpu_acc{gpu_is_max(op) ? -INFINITY : INFINITY, INT64_MAX};
}

static __device__ inline gpu_acc gpu_acc_combine(int op, gpu_acc a, gpu_acc b) {
    if (op == REDUCE_SUM) return gpu_acc{a.v + b.v, 0};
    bool nan_a = isnan(a.v), nan_b = isnan(b.v);
    bool better;
    if (nan_a != nan_b) better = nan_b;                                // NaN wins, as in PyTorch
    else if (a.v == b.v || nan_a) better = b.i < a.i;                  // first index on ties
    else better = gpu_is_max(op) ? b.v > a.v : b.v < a.v;
    return better ? b : a;
}

// Combines every thread's acc of a block (BLOCK) or returns the thread's own.
// Every thread of the block must call it; all get the result.
template <bool BLOCK>
static __device__ gpu_acc gpu_acc_reduce(int op, gpu_acc a) {
    if (!BLOCK) return a;
    __shared__ gpu_acc warp_acc[32];
    __shared__ gpu_acc result;
    unsigned lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = (blockDim.x + 31) >> 5;
    for (int o = 16; o > 0; o >>= 1)
        a = gpu_acc_combine(op, a, gpu_acc{__shfl_down_sync(0xffffffffu, a.v, o),
                                           (int64_t)__shfl_down_sync(0xffffffffu, (long long)a.i, o)});
    if (lane == 0) warp_acc[warp] = a;
    __syncthreads();
    if (warp == 0) {
        a = lane < warps ? warp_acc[lane] : gpu_acc_init(op);
        for (int o = 16; o > 0; o >>= 1)
            a = gpu_acc_combine(op, a, gpu_acc{__shfl_down_sync(0xffffffffu, a.v, o),
                                               (int64_t)__shfl_down_sync(0xffffffffu, (long long)a.i, o)});
        if (lane == 0) result = a;
    }
    __syncthreads();
    a = result;
    __syncthreads();   // the next call may overwrite result
    return a;
}

// Rows `it` of a kernel: a block each (BLOCK) or a thread each; k walks one row.
#define GPU_FOR_EACH_ROW(BLOCK, it, n) \
    for (int64_t it = BLOCK ? (int64_t)blockIdx.x : (int64_t)blockIdx.x * blockDim.x + threadIdx.x; \
         it < (n); it += BLOCK ? (int64_t)gridDim.x : (int64_t)gridDim.x * blockDim.x)
#define GPU_FOR_ROW_ELEMENTS(BLOCK, k, k0, k1) \
    for (int64_t k = (k0) + (BLOCK ? threadIdx.x : 0); k < (k1); k += BLOCK ? blockDim.x : 1)

// grid size for `rows` rows: a block or a thread each
static unsigned gpu_row_blocks(bool block, int64_t rows) {
    return block ? (unsigned)(rows < GPU_MAX_BLOCKS ? rows : GPU_MAX_BLOCKS) : gpu_blocks(rows, GPU_THREADS);
}

// ---- reductions ---------------------------------------------------------------------------
// a is (outer, r, inner), read as `splits` chunks of `chunk` along r; in_i (or NULL) holds
// the index of each element of a when a is itself a partial result.
// Results are (outer, splits, inner): into out_f as floats (values, or indices for
// argmax/argmin) when out_f is set, else into out_v/out_i as partials.
template <bool BLOCK>
__global__ void gpu_reduce_kernel(float *out_f, float *out_v, int64_t *out_i, const float *a,
                                  const int64_t *in_i, int64_t outer, int64_t r, int64_t inner,
                                  int64_t splits, int64_t chunk, int op) {
    GPU_FOR_EACH_ROW(BLOCK, it, outer * splits * inner) {
        int64_t j = it % inner, s = (it / inner) % splits, o = it / (inner * splits);
        int64_t base = o * r * inner + j, k1 = min(r, (s + 1) * chunk);
        gpu_acc acc = gpu_acc_init(op);
        GPU_FOR_ROW_ELEMENTS(BLOCK, k, s * chunk, k1)
            acc = gpu_acc_combine(op, acc, gpu_acc{a[base + k * inner], in_i ? in_i[base + k * inner] : k});
        acc = gpu_acc_reduce<BLOCK>(op, acc);
        if (BLOCK && threadIdx.x != 0) continue;
        if (!out_f) { out_v[it] = acc.v; out_i[it] = acc.i; }
        else out_f[it] = op == REDUCE_ARGMAX || op == REDUCE_ARGMIN ? (float)acc.i : acc.v;
    }
}

static int gpu_reduce_pass(float *out_f, float *out_v, int64_t *out_i, const float *a, const int64_t *in_i,
                           int64_t outer, int64_t r, int64_t inner, int64_t splits, int64_t chunk, int op) {
    int64_t items = outer * splits * inner;
    if (inner == 1 && chunk >= GPU_ROW_MIN_BLOCK) {
        gpu_reduce_kernel<true><<<gpu_row_blocks(true, items), GPU_THREADS>>>(
            out_f, out_v, out_i, a, in_i, outer, r, inner, splits, chunk, op);
    } else {
        gpu_reduce_kernel<false><<<gpu_row_blocks(false, items), GPU_THREADS>>>(
            out_f, out_v, out_i, a, in_i, outer, r, inner, splits, chunk, op);
    }
    GPU_CHECK_LAUNCH(gpu_reduce_kernel);
    return 0;
}

int gpu_reduce(float *out, const float *a, int64_t outer, int64_t r, int64_t inner, int op) {
    int64_t n_out = outer * inner;
    if (n_out == 0) return 0;
    // Few long rows (a full sum, a bias gradient) would leave the GPU idle: split r
    // into chunks reduced in parallel, then reduce the partials.
    int64_t splits = 1;
    if (inner == 1 && outer < 1024 && r > 8192)
        splits = min((r + 2047) / 2048, (2048 + outer - 1) / outer);
    else if (inner > 1 && n_out < 65536 && r > 256)
        splits = min((r + 127) / 128, (131072 + n_out - 1) / n_out);
    if (splits <= 1) return gpu_reduce_pass(out, NULL, NULL, a, NULL, outer, r, inner, 1, r, op);

    int64_t chunk = (r + splits - 1) / splits;
    splits = (r + chunk - 1) / chunk;
    float *part_v = (float *)gpu_alloc((size_t)(n_out * splits) * sizeof(float));
    int64_t *part_i = part_v ? (int64_t *)gpu_alloc((size_t)(n_out * splits) * sizeof(int64_t)) : NULL;
    int rc = -1;
    if (part_i && gpu_reduce_pass(NULL, part_v, part_i, a, NULL, outer, r, inner, splits, chunk, op) == 0)
        rc = gpu_reduce_pass(out, NULL, NULL, part_v, part_i, outer, splits, inner, 1, splits, op);
    gpu_free(part_i);   // reused only by work queued after this pass
    gpu_free(part_v);
    return rc;
}

// ---- softmax ------------------------------------------------------------------------------
// x, out are (outer, r, inner); softmax (or log_softmax) over r
template <bool BLOCK>
__global__ void gpu_softmax_kernel(float *out, const float *x, int64_t outer, int64_t r, int64_t inner, int log) {
    GPU_FOR_EACH_ROW(BLOCK, it, outer * inner) {
        int64_t base = (it / inner) * r * inner + it % inner;
        gpu_acc mx = gpu_acc_init(REDUCE_MAX);
        GPU_FOR_ROW_ELEMENTS(BLOCK, k, 0, r)
            mx = gpu_acc_combine(REDUCE_MAX, mx, gpu_acc{x[base + k * inner], 0});
        float m = gpu_acc_reduce<BLOCK>(REDUCE_MAX, mx).v;
        float s = 0.0f;
        GPU_FOR_ROW_ELEMENTS(BLOCK, k, 0, r) s += expf(x[base + k * inner] - m);
        s = gpu_acc_reduce<BLOCK>(REDUCE_SUM, gpu_acc{s, 0}).v;
        float lse = m + logf(s), inv = 1.0f / s;   // rounded as the CPU rounds them
        GPU_FOR_ROW_ELEMENTS(BLOCK, k, 0, r) {
            float xk = x[base + k * inner];
            out[base + k * inner] = log ? xk - lse : expf(xk - m) * inv;
        }
    }
}

// y (the forward output), g (its gradient), gin are (outer, r, inner)
template <bool BLOCK>
__global__ void gpu_softmax_backward_kernel(float *gin, const float *y, const float *g,
                                            int64_t outer, int64_t r, int64_t inner, int log) {
    GPU_FOR_EACH_ROW(BLOCK, it, outer * inner) {
        int64_t base = (it / inner) * r * inner + it % inner;
        float t = 0.0f;   // log: sum(g); softmax: sum(g*y)
        GPU_FOR_ROW_ELEMENTS(BLOCK, k, 0, r) t += log ? g[base + k * inner] : g[base + k * inner] * y[base + k * inner];
        t = gpu_acc_reduce<BLOCK>(REDUCE_SUM, gpu_acc{t, 0}).v;
        GPU_FOR_ROW_ELEMENTS(BLOCK, k, 0, r) {
            int64_t e = base + k * inner;
            gin[e] = log ? g[e] - expf(y[e]) * t : y[e] * (g[e] - t);
        }
    }
}

int gpu_softmax(float *out, const float *x, int64_t outer, int64_t r, int64_t inner, int log) {
    int64_t rows = outer * inner;
    if (rows == 0 || r == 0) return 0;
    bool block = inner == 1 && r >= GPU_ROW_MIN_BLOCK;
    if (block) gpu_softmax_kernel<true><<<gpu_row_blocks(true, rows), GPU_THREADS>>>(out, x, outer, r, inner, log);
    else gpu_softmax_kernel<false><<<gpu_row_blocks(false, rows), GPU_THREADS>>>(out, x, outer, r, inner, log);
    GPU_CHECK_LAUNCH(gpu_softmax_kernel);
    return 0;
}

int gpu_softmax_backward(float *gin, const float *y, const float *g,
                         int64_t outer, int64_t r, int64_t inner, int log) {
    int64_t rows = outer * inner;
    if (rows == 0 || r == 0) return 0;
    bool block = inner == 1 && r >= GPU_ROW_MIN_BLOCK;
    if (block)
        gpu_softmax_backward_kernel<true><<<gpu_row_blocks(true, rows), GPU_THREADS>>>(gin, y, g, outer, r, inner, log);
    else
        gpu_softmax_backward_kernel<false><<<gpu_row_blocks(false, rows), GPU_THREADS>>>(
            gin, y, g, outer, r, inner, log);
    GPU_CHECK_LAUNCH(gpu_softmax_backward_kernel);
    return 0;
}
