// gpu.h - the one public header of gpu/, the CUDA backend of nnlab.
//
// gpu/ builds into libnnlab_cuda.so, which tensor/device.c dlopen()s on first GPU use
// (so CPU-only runs never pay cuBLAS's start-up cost) and asks for the backend with
// the symbol GPU_BACKEND_SYMBOL of tensor/backend.h. The library takes no symbol from
// the nnlab binary: the error setter (and the garbage-collection hook the allocator
// calls before declaring out-of-memory) come in the init call's tensor_host.
//
// Semantics beyond backend.h:
//  - Kernels run in order on CUDA's default stream; functions return once the work
//    is queued. to_host, gather and scatter_add wait for the device (to_host to copy,
//    the others to report a bad index), so an asynchronous kernel error surfaces at
//    the latest at the next to_host.
//  - memory_stats: allocated = bytes in blocks handed out (rounded to size classes);
//    cached = bytes in free blocks kept for reuse, which empty_cache gives back.
//  - Errors read "gpu: FILE:LINE: CALL: cuda message".
#ifndef NNLAB_GPU_H
#define NNLAB_GPU_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {   // tensor.h and backend.h are C: gpu_backend_init keeps its C name
#endif

#include "../tensor/backend.h"

// The CUDA backend, initialised on first call (device 0, a cuBLAS handle); NULL with
// the reason in why, e.g. "no CUDA device found (cudaGetDeviceCount: ...)". host must
// outlive the library. The only exported symbol (the rest is -fvisibility=hidden).
__attribute__((visibility("default")))
const tensor_backend *gpu_backend_init(const tensor_host *host, char *why, size_t n);

#ifdef __cplusplus
}
#endif

#endif
