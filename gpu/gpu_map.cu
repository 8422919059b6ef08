// gpu_map.cu - one thread per element: strided copy and fill, the elementwise
// formulas of tensor/elementwise.h and random draws (optimizers: gpu_optim.cu).
#include "gpu_internal.h"

// ---- strided elementwise ----------------------------------------------------------------
// Each functor gets the element's offset in each of its operands (out first).
struct gpu_copy_fn {
    float *dst; const float *src;
    __device__ void operator()(const int64_t *off) const { dst[off[0]] = src[off[1]]; }
};
struct gpu_fill_fn {
    float *dst; float v;
    __device__ void operator()(const int64_t *off) const { dst[off[0]] = v; }
};
struct gpu_unary_fn {
    float *out; const float *a; int op; float s0, s1;
    __device__ void operator()(const int64_t *off) const { out[off[0]] = ew_unary(op, a[off[1]], s0, s1); }
};
struct gpu_unary_backward_fn {
    float *gin; const float *s, *g; int op; float s0, s1;
    __device__ void operator()(const int64_t *off) const {
        gin[off[0]] = ew_unary_backward(op, s[off[1]], g[off[2]], s0, s1);
    }
};
struct gpu_binary_fn {
    float *out; const float *a, *b; int op;
    __device__ void operator()(const int64_t *off) const { out[off[0]] = ew_binary(op, a[off[1]], b[off[2]]); }
};

// t0..t(nops-1) all have t0's shape; l is their layout with dims merged
template <int NOPS, typename F>
__global__ void gpu_map_kernel(gpu_layout l, int64_t n, F f) {
    GPU_FOR_EACH(i, n) {
        int64_t off[NOPS];
        gpu_layout_offsets<NOPS>(l, i, off);
        f(off);
    }
}

template <int NOPS, typename F>
static int gpu_map(const gpu_layout &l, int64_t n, F f) {
    if (n == 0) return 0;
    gpu_map_kernel<NOPS><<<gpu_blocks(n, GPU_THREADS), GPU_THREADS>>>(l, n, f);
    GPU_CHECK_LAUNCH(gpu_map_kernel);
    return 0;
}

// The layout of operands ts (shape of ts[0]); returns the element count.
static int64_t gpu_layout_of(gpu_layout *l, int nops, const tensor *const *ts) {
    const int64_t *strides[GPU_MAX_OPERANDS];
    for (int k = 0; k < nops; k++) strides[k] = ts[k]->stride;
    return gpu_layout_make(l, ts[0]->ndim, ts[0]->size, nops, strides);
}

static bool gpu_layout_dense(const gpu_layout &l, int nops) {
    if (l.ndim == 0) return true;
    if (l.ndim > 1) return false;
    for (int k = 0; k < nops; k++)
        if (l.stride[k][0] != 1) return false;
    return true;
}

int gpu_copy(tensor *dst, const tensor *src) {
    gpu_layout l;
    const tensor *ts[2] = {dst, src};
    int64_t n = gpu_layout_of(&l, 2, ts);
    if (n && gpu_layout_dense(l, 2)) {
        GPU_CHECK(cudaMemcpyAsync(gpu_tensor_data(dst), gpu_tensor_data(src), (size_t)n * sizeof(float),
                                  cudaMemcpyDeviceToDevice, 0));
        return 0;
    }
    return gpu_map<2>(l, n, gpu_copy_fn{gpu_tensor_data(dst), gpu_tensor_data(src)});
}

int gpu_fill(tensor *dst, float v) {
    gpu_layout l;
    const tensor *ts[1] = {dst};
    int64_t n = gpu_layout_of(&l, 1, ts);
    if (n && gpu_layout_dense(l, 1) && v == 0.0f && !signbit(v)) {   // all-zero bits
        GPU_CHECK(cudaMemsetAsync(gpu_tensor_data(dst), 0, (size_t)n * sizeof(float), 0));
        return 0;
    }
    return gpu_map<1>(l, n, gpu_fill_fn{gpu_tensor_data(dst), v});
}

int gpu_unary(tensor *out, const tensor *a, int op, float s0, float s1) {
    gpu_layout l;
    const tensor *ts[2] = {out, a};
    int64_t n = gpu_layout_of(&l, 2, ts);
    return gpu_map<2>(l, n, gpu_unary_fn{gpu_tensor_data(out), gpu_tensor_data(a), op, s0, s1});
}

// gin, s (saved x or y), g all share gin's shape: an op_table.h row's backward
int gpu_unary_backward(tensor *gin, const tensor *s, const tensor *g, int op, float s0, float s1) {
    gpu_layout l;
    const tensor *ts[3] = {gin, s, g};
    int64_t n = gpu_layout_of(&l, 3, ts);
    return gpu_map<3>(l, n, gpu_unary_backward_fn{gpu_tensor_data(gin), gpu_tensor_data(s), gpu_tensor_data(g), op,
                                                  s0, s1});
}

int gpu_binary(tensor *out, const tensor *a, const tensor *b, int op) {
    gpu_layout l;
    const tensor *ts[3] = {out, a, b};
    int64_t n = gpu_layout_of(&l, 3, ts);
    return gpu_map<3>(l, n, gpu_binary_fn{gpu_tensor_data(out), gpu_tensor_data(a), gpu_tensor_data(b), op});
}

// ---- random -----------------------------------------------------------------------------
// out is (n); element i is a pure function of (seed, offset + i), as on the CPU.
// Bitwise equal to the CPU's draws: ew_random is the CPU's own source, Philox is integer
// math, ew_u01 an exact scaling, and uniform's a + (b - a) * u is rounded twice as on
// the CPU because this file is built with -fmad=false (gpu.mk). normal goes through
// CUDA's logf/cosf, which round within 2 ulp of glibc's: close, not equal.
__global__ void gpu_random_kernel(float *out, int64_t n, int kind, uint64_t seed, uint64_t offset,
                                  float a, float b) {
    GPU_FOR_EACH(i, n) out[i] = ew_random(kind, seed, offset + (uint64_t)i, a, b);
}

// out is (n): uniform [a, b) only, a kernel of its own so that its PTX holds no
// transcendental and tests/e2e/gpu_fmad.sh can prove it has no fused multiply-add
__global__ void gpu_uniform_kernel(float *out, int64_t n, uint64_t seed, uint64_t offset, float a, float b) {
    GPU_FOR_EACH(i, n) out[i] = ew_random(EW_RAND_UNIFORM, seed, offset + (uint64_t)i, a, b);
}

int gpu_random(float *out, int64_t n, int kind, uint64_t seed, uint64_t offset, float a, float b) {
    if (n == 0) return 0;
    if (kind == EW_RAND_UNIFORM) {
        gpu_uniform_kernel<<<gpu_blocks(n, GPU_THREADS), GPU_THREADS>>>(out, n, seed, offset, a, b);
        GPU_CHECK_LAUNCH(gpu_uniform_kernel);
        return 0;
    }
    gpu_random_kernel<<<gpu_blocks(n, GPU_THREADS), GPU_THREADS>>>(out, n, kind, seed, offset, a, b);
    GPU_CHECK_LAUNCH(gpu_random_kernel);
    return 0;
}
