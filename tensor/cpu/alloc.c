// alloc.c - the CPU caching allocator behind the backend's alloc/free.
//
// Freed blocks wait in free lists by size class (quarter powers of two, as gpu/'s) and
// are handed out again most-recently-freed first, so an op's output lands in memory
// that is still in cache and already faulted in: a fresh 64 MB buffer costs ~30 ms of
// page faults, more than the op that fills it, and a fresh 256x256 matmul output made
// matmul 256 run at 0.88x of sgemm called directly. Blocks past 64 MB (a data set and
// its one-off temporaries) go back to the system: kept, they only raised peak RSS.
// (MADV_HUGEPAGE on big blocks was tried: loading Fashion-MNIST took 1.1-1.9 s instead
// of 0.45, the kernel compacting memory on each fault.)
// Each block carries a 64-byte header (its class and the free-list link) in front of
// the data, which stays 64-byte aligned for SIMD loads and OpenBLAS.
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cpu.h"

#define HDR 64
#define MIN_BLOCK 256
#define CLASSES 256
#define CACHE_MAX_BLOCK ((size_t)64 << 20)

typedef struct block {
    size_t bytes;        // the class size (data bytes)
    struct block *next;  // while cached
} block;

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;   // frees may come from any thread
static block *free_lists[CLASSES];
static int64_t allocated_bytes, cached_bytes, cache_cap = -1;

// bytes -> class index; *class_bytes gets the rounded size
static int size_class(size_t bytes, size_t *class_bytes) {
    if (bytes <= MIN_BLOCK) { *class_bytes = MIN_BLOCK; return 0; }
    int e = 63 - __builtin_clzll((unsigned long long)(bytes - 1));   // 2^e < bytes <= 2^(e+1)
    size_t step = (size_t)1 << (e - 2);
    size_t q = (bytes + step - 1) / step;                           // 5..8 quarters
    *class_bytes = q * step;
    return 1 + (e - 8) * 4 + (int)(q - 5);
}

// What the cache may hold: an eighth of the machine, at most 1 GB (NNLAB_CPU_CACHE_MB
// overrides; 0 turns caching off).
static int64_t cap_bytes(void) {
    if (cache_cap >= 0) return cache_cap;
    const char *e = getenv("NNLAB_CPU_CACHE_MB");
    if (e && *e) return cache_cap = (int64_t)atoll(e) << 20;
    int64_t phys = (int64_t)sysconf(_SC_PHYS_PAGES) * (int64_t)sysconf(_SC_PAGESIZE);
    cache_cap = phys > 0 ? phys / 8 : (int64_t)256 << 20;
    if (cache_cap > ((int64_t)1 << 30)) cache_cap = (int64_t)1 << 30;
    return cache_cap;
}

static void system_free(block *b) { free(b); }

static block *system_alloc(size_t class_bytes) {
    void *p = NULL;
    if (posix_memalign(&p, 64, class_bytes + HDR)) return NULL;
    block *b = p;
    b->bytes = class_bytes;
    return b;
}

static void empty_locked(void) {
    for (int c = 0; c < CLASSES; c++)
        while (free_lists[c]) {
            block *b = free_lists[c];
            free_lists[c] = b->next;
            cached_bytes -= (int64_t)b->bytes;
            system_free(b);
        }
}

void *cpu_cached_alloc(size_t bytes) {
    size_t class_bytes;
    int cls = size_class(bytes ? bytes : 1, &class_bytes);
    if (class_bytes > CACHE_MAX_BLOCK) {
        // never cached, so not rounded up to its class: a 1.9 GB tensor must not ask for
        // 2.1 GB (under a memory limit that failed where an exact malloc fits)
        block *big = system_alloc((bytes + 63) & ~(size_t)63);
        if (!big && cached_bytes) {
            cpu_empty_cache();
            big = system_alloc((bytes + 63) & ~(size_t)63);
        }
        if (!big) { tensor_set_error("malloc of %zu bytes failed", bytes); return NULL; }
        pthread_mutex_lock(&mu);
        allocated_bytes += (int64_t)big->bytes;
        pthread_mutex_unlock(&mu);
        return (char *)big + HDR;
    }
    if (cls >= CLASSES) { tensor_set_error("malloc of %zu bytes failed: larger than the allocator's classes", bytes); return NULL; }
    pthread_mutex_lock(&mu);
    block *b = free_lists[cls];
    if (b) {
        free_lists[cls] = b->next;
        cached_bytes -= (int64_t)b->bytes;
    } else {
        b = system_alloc(class_bytes);
        if (!b && cached_bytes) {   // the cache gives its memory back, then one more try
            empty_locked();
            b = system_alloc(class_bytes);
        }
    }
    if (b) allocated_bytes += (int64_t)b->bytes;
    pthread_mutex_unlock(&mu);
    if (!b) { tensor_set_error("malloc of %zu bytes failed", bytes); return NULL; }
    return (char *)b + HDR;
}

void cpu_cached_free(void *p) {
    if (!p) return;
    block *b = (block *)((char *)p - HDR);
    size_t class_bytes;
    int cls = b->bytes <= CACHE_MAX_BLOCK ? size_class(b->bytes, &class_bytes) : -1;
    pthread_mutex_lock(&mu);
    allocated_bytes -= (int64_t)b->bytes;
    if (cls >= 0 && cached_bytes + (int64_t)b->bytes <= cap_bytes()) {
        b->next = free_lists[cls];
        free_lists[cls] = b;
        cached_bytes += (int64_t)b->bytes;
        b = NULL;
    }
    pthread_mutex_unlock(&mu);
    if (b) system_free(b);
}

void cpu_empty_cache(void) {
    pthread_mutex_lock(&mu);
    empty_locked();
    pthread_mutex_unlock(&mu);
}

int cpu_memory_stats(int64_t *allocated, int64_t *cached) {
    pthread_mutex_lock(&mu);
    if (allocated) *allocated = allocated_bytes;
    if (cached) *cached = cached_bytes;
    pthread_mutex_unlock(&mu);
    return 0;
}
