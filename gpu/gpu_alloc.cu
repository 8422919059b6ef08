// gpu_alloc.cu - the caching allocator over cudaMalloc: segments split into blocks and
// merged back (gpu_alloc_core.h, tested on the CPU by tests/c/test_gpu_alloc.c), a
// garbage collection of the host before out-of-memory, and its statistics.
#include <stdio.h>
#include "gpu_internal.h"
#include "gpu_alloc_core.h"

static ga_state gpu_heap;

static void *gpu_raw_alloc(size_t bytes, int *oom) {
    void *p = NULL;
    cudaError_t e = cudaMalloc(&p, bytes);
    if (e == cudaSuccess) return p;
    *oom = e == cudaErrorMemoryAllocation;
    if (*oom) (void)cudaGetLastError();   // not sticky: clear it so the next launch is not blamed
    else gpu_cuda_failed(e, "cudaMalloc", __FILE__, __LINE__);
    return NULL;
}

static void gpu_raw_free(void *p) {
    cudaError_t e = cudaFree(p);   // waits for the device
    if (e != cudaSuccess) gpu_cuda_failed(e, "cudaFree", __FILE__, __LINE__);
}

// the host's collector is read at each call: the REPL registers it after init
static void gpu_collect(void) {
    if (gpu_host->collect_garbage) gpu_host->collect_garbage();
}

static ga_ops gpu_ops(void) {
    ga_ops o = {gpu_raw_alloc, gpu_raw_free, gpu_host->collect_garbage ? gpu_collect : NULL, gpu_host->set_error};
    return o;
}

void *gpu_alloc(size_t bytes) {
    ga_ops o = gpu_ops();
    return ga_alloc(&gpu_heap, &o, bytes);
}

void gpu_free(void *p) {
    ga_ops o = gpu_ops();
    (void)ga_free(&gpu_heap, &o, p);
}

void gpu_empty_cache(void) {
    ga_ops o = gpu_ops();
    ga_release_free_segments(&gpu_heap, &o);
}

// allocated: bytes in handed-out blocks (rounded to 512); cached: the rest of the
// segments, free for reuse (empty_cache gives back the segments with nothing live)
int gpu_memory_stats(int64_t *allocated, int64_t *cached) {
    if (allocated) *allocated = gpu_heap.allocated;
    if (cached) *cached = gpu_heap.reserved - gpu_heap.allocated;
    return 0;
}
