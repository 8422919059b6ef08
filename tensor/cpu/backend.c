// backend.c - the CPU backend table: host memory and the kernels of tensor/cpu/*.c.
#include <stdlib.h>
#include <string.h>
#include "cpu.h"

int cpu_memcpy(float *dst, const float *src, size_t n) { if (n) memcpy(dst, src, n * sizeof(float)); return 0; }   // empty tensors have no data pointer

const tensor_backend tensor_cpu_backend = {
    .name = "cpu",
    .alloc = cpu_cached_alloc,      // alloc.c: size classes, 64-byte aligned
    .free = cpu_cached_free,
    .to_host = cpu_memcpy,
    .from_host = cpu_memcpy,
    .copy = cpu_copy,
    .fill = cpu_fill,
    .unary = cpu_unary,
    .unary_backward = cpu_unary_backward,
    .binary = cpu_binary,
    .reduce = cpu_reduce,
    .gemm = cpu_gemm,
    .softmax = cpu_softmax,
    .softmax_backward = cpu_softmax_backward,
    .unfold2d = cpu_unfold2d,
    .fold2d = cpu_fold2d,
    .gather = cpu_gather,
    .scatter_add = cpu_scatter_add,
    .max_pool2d = cpu_max_pool2d,
    .max_pool2d_backward = cpu_max_pool2d_backward,
    .avg_pool2d = cpu_avg_pool2d,
    .avg_pool2d_backward = cpu_avg_pool2d_backward,
    .batch_norm = cpu_batch_norm,
    .batch_norm_backward = cpu_batch_norm_backward,
    .random = cpu_random,
    .adam = cpu_adam,
    .sgd = cpu_sgd,
    .memory_stats = cpu_memory_stats,
    .empty_cache = cpu_empty_cache,
    .conv2d = cpu_conv2d,
    .conv2d_backward_data = cpu_conv2d_backward_data,
    .conv2d_backward_weights = cpu_conv2d_backward_weights,
};
