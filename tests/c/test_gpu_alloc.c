// test_gpu_alloc.c - the GPU caching allocator's bookkeeping (gpu/gpu_alloc_core.h) over
// malloc with a pretend device of limited size: size classes, splitting, coalescing,
// reuse, empty_cache, and out-of-memory after giving back the cache and collecting the
// host's garbage, with the size class in the message.
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "tap.h"
#include "../../gpu/gpu_alloc_core.h"

static size_t dev_capacity, dev_used;
static int dev_mallocs, dev_frees;
static char last_error[1024];
typedef struct { void *p; size_t n; } raw;
static raw raws[256];

static void *fake_alloc(size_t bytes, int *oom) {
    if (dev_used + bytes > dev_capacity) { *oom = 1; return NULL; }
    void *p = aligned_alloc(512, bytes);
    for (int i = 0; i < 256; i++) if (!raws[i].p) { raws[i].p = p; raws[i].n = bytes; break; }
    dev_used += bytes;
    dev_mallocs++;
    return p;
}

static void fake_free(void *p) {
    for (int i = 0; i < 256; i++) if (raws[i].p == p) { dev_used -= raws[i].n; raws[i].p = NULL; break; }
    dev_frees++;
    free(p);
}

static void fake_error(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_error, sizeof last_error, fmt, ap);
    va_end(ap);
}

// the "Lua garbage": blocks the collector frees when asked
static void *garbage[8];
static int ngarbage;
static ga_state S;
static ga_ops O;
static void fake_gc(void) {
    for (int i = 0; i < ngarbage; i++) ga_free(&S, &O, garbage[i]);
    ngarbage = 0;
}

int main(void) {
    O = (ga_ops){fake_alloc, fake_free, fake_gc, fake_error};
    dev_capacity = 64 * GA_MIB;

    tap_ok(ga_round(1) == 512 && ga_round(513) == 1024 && ga_round(4096) == 4096, "requests round up to 512 bytes");
    tap_ok(ga_segment_for(1000) == 2 * GA_MIB && ga_segment_for(4 * GA_MIB) == 20 * GA_MIB &&
           ga_segment_for(11 * GA_MIB) == 12 * GA_MIB, "segments: 2 MiB small, 20 MiB mid, large rounded to 2 MiB");

    // small blocks share one 2 MiB segment
    void *a = ga_alloc(&S, &O, 1000), *b = ga_alloc(&S, &O, 3000), *c = ga_alloc(&S, &O, 512);
    tap_ok(a && b && c && dev_mallocs == 1, "three small blocks come from one segment (one device malloc)");
    tap_ok((char *)b == (char *)a + 1024 && (char *)c == (char *)b + 3072, "split in address order, 512-rounded");
    tap_ok(S.allocated == 1024 + 3072 + 512, "allocated counts the rounded blocks");
    tap_ok(S.reserved == (int64_t)(2 * GA_MIB), "reserved is the segment");

    // coalescing: free the middle, then its neighbours; one block spans the segment again
    ga_free(&S, &O, b);
    void *b2 = ga_alloc(&S, &O, 2048);
    tap_ok(b2 == b, "a freed block is reused by a request that fits (best fit)");
    ga_free(&S, &O, b2);
    ga_free(&S, &O, a);
    ga_free(&S, &O, c);
    tap_ok(S.allocated == 0 && S.free_list[0] && !S.free_list[0]->fnext && S.free_list[0]->size == 2 * GA_MIB,
           "freed neighbours merge back into one block spanning the segment");

    // a large freed block serves two smaller requests after a split
    void *big = ga_alloc(&S, &O, 16 * GA_MIB);
    int mallocs = dev_mallocs;
    ga_free(&S, &O, big);
    void *h1 = ga_alloc(&S, &O, 7 * GA_MIB), *h2 = ga_alloc(&S, &O, 7 * GA_MIB);
    tap_ok(h1 && h2 && dev_mallocs == mallocs && (char *)h2 == (char *)h1 + 7 * GA_MIB,
           "a freed 20 MiB segment serves two 7 MiB requests without a new malloc");
    ga_free(&S, &O, h1);
    ga_free(&S, &O, h2);

    ga_release_free_segments(&S, &O);
    tap_ok(S.reserved == 0 && dev_used == 0 && S.segments == 0, "empty_cache gives back every segment with nothing live");

    // a live block keeps its segment; the rest of it is cached
    void *keep = ga_alloc(&S, &O, 100);
    ga_release_free_segments(&S, &O);
    tap_ok(S.reserved == (int64_t)(2 * GA_MIB) && S.reserved - S.allocated == (int64_t)(2 * GA_MIB - 512),
           "a segment with a live block stays, its free part counted as cached");
    ga_free(&S, &O, keep);
    ga_release_free_segments(&S, &O);

    // out of memory: the cache goes back first
    void *x = ga_alloc(&S, &O, 30 * GA_MIB);
    ga_free(&S, &O, x);                       // 30 MiB cached
    void *y = ga_alloc(&S, &O, 40 * GA_MIB);  // does not fit next to the cached 30 MiB
    tap_ok(y != NULL && S.reserved == (int64_t)(40 * GA_MIB), "a full device gives back the cache, then allocates");
    ga_free(&S, &O, y);
    ga_release_free_segments(&S, &O);

    // out of memory: then garbage is collected
    garbage[ngarbage++] = ga_alloc(&S, &O, 30 * GA_MIB);
    garbage[ngarbage++] = ga_alloc(&S, &O, 30 * GA_MIB);
    int64_t runs = S.gc_runs;
    void *z = ga_alloc(&S, &O, 50 * GA_MIB);
    tap_ok(z != NULL && S.gc_runs == runs + 1, "a full device asks the host to collect garbage, then allocates");
    ga_free(&S, &O, z);

    // a mid-sized request whose 20 MiB segment does not fit gets an exact one
    void *fill = ga_alloc(&S, &O, 52 * GA_MIB);   // 12 MiB left
    void *mid = ga_alloc(&S, &O, 9 * GA_MIB);
    tap_ok(mid != NULL, "a 9 MiB request fits in the last 12 MiB (exact segment instead of 20 MiB)");
    ga_free(&S, &O, mid);

    // really out of memory: the message says what was asked, its size class and what is held
    void *none = ga_alloc(&S, &O, 40 * GA_MIB);
    tap_ok(none == NULL, "a request larger than what is left fails");
    tap_ok(strstr(last_error, "out of GPU memory: asked for 40.0 MiB") && strstr(last_error, "large pool") &&
           strstr(last_error, "52.0 MiB held by live tensors") && strstr(last_error, "garbage collection ran"),
           "the message gives the request, its size class, the live bytes and that GC ran");
    if (!strstr(last_error, "40.0 MiB")) printf("# %s\n", last_error);
    ga_free(&S, &O, fill);
    tap_ok(ga_free(&S, &O, (char *)fill + 512) == -1 && strstr(last_error, "did not hand out"),
           "freeing an unknown pointer is an error, not a crash");
    ga_release_free_segments(&S, &O);
    tap_ok(S.allocated == 0 && S.reserved == 0 && dev_used == 0, "everything given back at the end");
    return tap_done();
}
