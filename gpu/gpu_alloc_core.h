// gpu_alloc_core.h - the bookkeeping of the GPU's caching allocator, in plain C over a
// raw allocator given as function pointers: gpu_alloc.cu runs it over cudaMalloc, and
// tests/c/test_gpu_alloc.c over malloc, so splitting, coalescing and the out-of-memory
// path are tested on the CPU. Include once per program part; state is static.
//
// cudaMalloc/cudaFree synchronise the device and cost tens of microseconds, so memory is
// taken in segments and handed out in blocks, as PyTorch's allocator does:
//  - requests are rounded to 512 bytes; up to 1 MiB they come from 2 MiB segments (the
//    small pool), up to 10 MiB from 20 MiB segments, larger ones get a segment of their
//    own rounded to 2 MiB (the large pool);
//  - the best-fitting free block is split, the rest stays free (small pool: any rest of
//    512 bytes or more; large pool: rests over 1 MiB), and a freed block merges with
//    free neighbours of its segment, so a freed 1 GiB can serve two 500 MiB requests;
//  - when the device is full: segments with nothing live in them are given back, then
//    the host collects its garbage (Lua's unreachable tensors free their blocks), then
//    a segment of exactly the request is tried, and only then out-of-memory is reported,
//    with the request, its size class and what is held.
// One thread (the tensor library is single-threaded): no lock.
#ifndef NNLAB_GPU_ALLOC_CORE_H
#define NNLAB_GPU_ALLOC_CORE_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define GA_ALIGN ((size_t)512)
#define GA_MIB ((size_t)1 << 20)
#define GA_SMALL_MAX GA_MIB
#define GA_SMALL_SEGMENT (2 * GA_MIB)
#define GA_MID_MAX (10 * GA_MIB)
#define GA_LARGE_SEGMENT (20 * GA_MIB)
#define GA_BUCKETS 4096

typedef struct {
    // NULL on failure; *oom = 1 when the device is out of memory (else the error is set)
    void *(*raw_alloc)(size_t bytes, int *oom);
    void (*raw_free)(void *p);
    void (*collect_garbage)(void);   // may be NULL
    void (*set_error)(const char *fmt, ...);
} ga_ops;

typedef struct ga_block {
    char *p;
    size_t size;
    int is_free, pool;               // pool 0: small, 1: large
    struct ga_block *prev, *next;    // address neighbours in the segment (NULL at its ends)
    struct ga_block *fprev, *fnext;  // the pool's free list, by size then address
    struct ga_block *hnext;          // handed-out blocks, hashed by pointer
} ga_block;

typedef struct {
    ga_block *free_list[2];
    ga_block *live[GA_BUCKETS];
    int64_t allocated;               // bytes in handed-out blocks
    int64_t reserved;                // bytes in segments (allocated + cached)
    int64_t segments;
    int64_t gc_runs;                 // garbage collections asked for on a full device
} ga_state;

static size_t ga_round(size_t bytes) { return bytes <= GA_ALIGN ? GA_ALIGN : (bytes + GA_ALIGN - 1) / GA_ALIGN * GA_ALIGN; }
static int ga_pool_of(size_t rounded) { return rounded > GA_SMALL_MAX; }
static size_t ga_segment_for(size_t rounded) {
    if (rounded <= GA_SMALL_MAX) return GA_SMALL_SEGMENT;
    if (rounded <= GA_MID_MAX) return GA_LARGE_SEGMENT;
    return (rounded + 2 * GA_MIB - 1) / (2 * GA_MIB) * (2 * GA_MIB);
}

static unsigned ga_bucket(const void *p) {
    uintptr_t x = (uintptr_t)p >> 9;   // blocks are 512-aligned
    return (unsigned)((x ^ (x >> 12)) % GA_BUCKETS);
}

static void ga_free_list_remove(ga_state *s, ga_block *b) {
    if (b->fprev) b->fprev->fnext = b->fnext;
    else s->free_list[b->pool] = b->fnext;
    if (b->fnext) b->fnext->fprev = b->fprev;
    b->fprev = b->fnext = NULL;
}

static void ga_free_list_insert(ga_state *s, ga_block *b) {
    ga_block **link = &s->free_list[b->pool], *prev = NULL;
    while (*link && ((*link)->size < b->size || ((*link)->size == b->size && (*link)->p < b->p))) {
        prev = *link;
        link = &(*link)->fnext;
    }
    b->fnext = *link;
    b->fprev = prev;
    if (*link) (*link)->fprev = b;
    *link = b;
}

static ga_block *ga_best_fit(ga_state *s, int pool, size_t rounded) {
    for (ga_block *b = s->free_list[pool]; b; b = b->fnext)
        if (b->size >= rounded) return b;
    return NULL;
}

// Gives back every segment with nothing live in it (one free block spanning it).
static void ga_release_free_segments(ga_state *s, const ga_ops *ops) {
    for (int pool = 0; pool < 2; pool++) {
        ga_block *b = s->free_list[pool];
        while (b) {
            ga_block *next = b->fnext;
            if (!b->prev && !b->next) {
                ga_free_list_remove(s, b);
                ops->raw_free(b->p);
                s->reserved -= (int64_t)b->size;
                s->segments--;
                free(b);
            }
            b = next;
        }
    }
}

// A new segment of `bytes`, as one free block in the pool; NULL (*oom set) on failure.
static ga_block *ga_new_segment(ga_state *s, const ga_ops *ops, int pool, size_t bytes, int *oom) {
    *oom = 0;
    ga_block *b = (ga_block *)calloc(1, sizeof *b);
    if (!b) { ops->set_error("gpu: allocator: out of host memory"); return NULL; }
    b->p = (char *)ops->raw_alloc(bytes, oom);
    if (!b->p) { free(b); return NULL; }
    b->size = bytes;
    b->is_free = 1;
    b->pool = pool;
    s->reserved += (int64_t)bytes;
    s->segments++;
    ga_free_list_insert(s, b);
    return b;
}

static void ga_fmt_bytes(char *buf, size_t n, double b) {
    if (b >= 1073741824.0) snprintf(buf, n, "%.2f GiB", b / 1073741824.0);
    else if (b >= 1048576.0) snprintf(buf, n, "%.1f MiB", b / 1048576.0);
    else snprintf(buf, n, "%.0f KiB", b / 1024.0);
}

static void *ga_alloc(ga_state *s, const ga_ops *ops, size_t bytes) {
    size_t r = ga_round(bytes);
    int pool = ga_pool_of(r), oom = 0;
    size_t seg = ga_segment_for(r);
    ga_block *b = ga_best_fit(s, pool, r);
    if (!b) b = ga_new_segment(s, ops, pool, seg, &oom);
    if (!b && oom) {   // the device is full: what is cached and not live goes back first
        ga_release_free_segments(s, ops);
        b = ga_new_segment(s, ops, pool, seg, &oom);
    }
    if (!b && oom && ops->collect_garbage) {   // garbage tensors may hold what we need
        s->gc_runs++;
        ops->collect_garbage();
        b = ga_best_fit(s, pool, r);
        if (!b) {
            ga_release_free_segments(s, ops);
            b = ga_new_segment(s, ops, pool, seg, &oom);
        }
    }
    size_t exact = (r + 2 * GA_MIB - 1) / (2 * GA_MIB) * (2 * GA_MIB);
    if (!b && oom && pool == 1 && exact < seg) b = ga_new_segment(s, ops, pool, exact, &oom);   // 20 MiB may not fit
    if (!b) {
        if (oom) {
            char req[32], cls[32], segs[32], live[32], cached[32];
            ga_fmt_bytes(req, sizeof req, (double)bytes);
            ga_fmt_bytes(cls, sizeof cls, (double)r);
            ga_fmt_bytes(segs, sizeof segs, (double)seg);
            ga_fmt_bytes(live, sizeof live, (double)s->allocated);
            ga_fmt_bytes(cached, sizeof cached, (double)(s->reserved - s->allocated));
            ops->set_error("out of GPU memory: asked for %s (size class: a %s block of the %s pool, from a new %s "
                           "segment, which the device could not give); %s held by live tensors, %s cached in "
                           "blocks too small or split; %sfree tensors you no longer need (x = nil) or use a "
                           "smaller batch", req, cls, pool ? "large" : "small", segs, live, cached,
                           ops->collect_garbage ? "a full garbage collection ran first; " : "");
        }
        return NULL;
    }
    ga_free_list_remove(s, b);
    size_t rest = b->size - r;
    if (rest >= (pool ? GA_SMALL_MAX + 1 : GA_ALIGN)) {   // split: the rest stays free
        ga_block *t = (ga_block *)calloc(1, sizeof *t);
        if (t) {
            t->p = b->p + r;
            t->size = rest;
            t->is_free = 1;
            t->pool = pool;
            t->prev = b;
            t->next = b->next;
            if (b->next) b->next->prev = t;
            b->next = t;
            b->size = r;
            ga_free_list_insert(s, t);
        }   // without a record the block is handed out whole
    }
    b->is_free = 0;
    unsigned h = ga_bucket(b->p);
    b->hnext = s->live[h];
    s->live[h] = b;
    s->allocated += (int64_t)b->size;
    return b->p;
}

// 0, or -1 for a pointer the allocator did not hand out (the error is set)
static int ga_free(ga_state *s, const ga_ops *ops, void *p) {
    if (!p) return 0;
    ga_block **link = &s->live[ga_bucket(p)];
    while (*link && (*link)->p != (char *)p) link = &(*link)->hnext;
    ga_block *b = *link;
    if (!b) {
        ops->set_error("gpu: allocator: free of a pointer it did not hand out");
        return -1;
    }
    *link = b->hnext;
    b->hnext = NULL;
    s->allocated -= (int64_t)b->size;
    b->is_free = 1;
    // Reuse without a sync is safe: every kernel runs on the one default stream, so the
    // block's next user is queued after its last one.
    ga_block *n = b->next;
    if (n && n->is_free) {   // merge the next block into this one
        ga_free_list_remove(s, n);
        b->size += n->size;
        b->next = n->next;
        if (n->next) n->next->prev = b;
        free(n);
    }
    ga_block *q = b->prev;
    if (q && q->is_free) {   // and this one into the previous
        ga_free_list_remove(s, q);
        q->size += b->size;
        q->next = b->next;
        if (b->next) b->next->prev = q;
        free(b);
        b = q;
    }
    ga_free_list_insert(s, b);
    return 0;
}

#endif
