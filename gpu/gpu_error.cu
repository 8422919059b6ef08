// gpu_error.cu - errors the kernels find in the data (an index or a label out of
// range), kept in a sticky device flag instead of making the host wait after every
// launch. The first bad value wins; the host reads the flag only at points that wait
// for the device anyway (to_host: item(), printing, :cpu(); synchronize), and only
// when a checking kernel ran since the last read, so a training step never syncs.
#include <stdio.h>
#include <string.h>
#include "gpu_internal.h"

// What a site id stands for: the op that launched the check and how to word its error.
// what "" : an index of gather/scatter_add, worded by tensor_index_error_words (layout.h);
// else a label/id check worded as nn/loss.c's CPU check words it.
typedef struct {
    char op[96], what[16];   // copies: nn.Embedding's op name is built on the stack
    int base;
} gpu_error_site_info;

#define GPU_ERROR_SITES 64
static gpu_error_site_info gpu_sites[GPU_ERROR_SITES + 1];   // [0] unused: 0 = no site
static int gpu_nsites;
static gpu_device_error *gpu_dev_err;   // device memory, zeroed; allocated on first use
static int gpu_armed;                   // a checking kernel ran since the flag was last read

int gpu_error_site(const char *op, const char *what, int base) {
    if (!what) what = "";
    for (int i = 1; i <= gpu_nsites; i++)
        if (gpu_sites[i].base == base && !strcmp(gpu_sites[i].op, op) && !strcmp(gpu_sites[i].what, what))
            return i;
    // Full (many embedding shapes): start over when no recorded error can point at a
    // site; else share the last slot, which then may word an old error with a new name.
    if (gpu_nsites == GPU_ERROR_SITES) gpu_nsites = gpu_armed ? GPU_ERROR_SITES - 1 : 0;
    gpu_error_site_info *s = &gpu_sites[++gpu_nsites];
    snprintf(s->op, sizeof s->op, "%s", op);
    snprintf(s->what, sizeof s->what, "%s", what);
    s->base = base;
    return gpu_nsites;
}

gpu_device_error *gpu_device_errors(void) {
    if (gpu_dev_err) return gpu_dev_err;
    void *p = NULL;
    cudaError_t e = cudaMalloc(&p, sizeof(gpu_device_error));
    if (e == cudaSuccess) e = cudaMemset(p, 0, sizeof(gpu_device_error));
    if (e != cudaSuccess) {
        gpu_cuda_failed(e, "cudaMalloc(error flag)", __FILE__, __LINE__);
        if (p) cudaFree(p);
        return NULL;
    }
    return gpu_dev_err = (gpu_device_error *)p;
}

void gpu_errors_armed(void) { gpu_armed = 1; }

// Words a recorded error; the format follows the CPU backend's and nn/loss.c's checks.
void gpu_format_device_error(char *buf, size_t n, const gpu_device_error *h) {
    const gpu_error_site_info *s = h->site > 0 && h->site <= gpu_nsites ? &gpu_sites[h->site] : NULL;
    if (!s) {
        snprintf(buf, n, "gpu: a kernel recorded an error at an unknown site %d (value %g)", h->site, (double)h->value);
    } else if (!s->what[0]) {
        tensor_index_error_words(buf, n, s->op, h->value, h->limit);
    } else {
        snprintf(buf, n, "%s: %s %g at position %lld: %ss are %d-based %s %d..%lld", s->op, s->what,
                 (double)h->value, (long long)(h->pos + s->base), s->what, s->base,
                 strcmp(s->what, "label") ? "ids" : "classes", s->base, (long long)(s->base + h->limit - 1));
    }
}

// After the device has been waited for: 0, or -1 with the recorded error set (and the
// flag cleared, so one bad batch is reported once).
int gpu_check_device_errors(void) {
    if (!gpu_armed || !gpu_dev_err) return 0;
    gpu_device_error h;
    GPU_CHECK(cudaMemcpy(&h, gpu_dev_err, sizeof h, cudaMemcpyDeviceToHost));
    gpu_armed = 0;
    if (!h.bad) return 0;
    GPU_CHECK(cudaMemset(gpu_dev_err, 0, sizeof h));
    char msg[400];
    gpu_format_device_error(msg, sizeof msg, &h);
    // the op ran on (skipping the bad entries): what was computed since is suspect
    gpu_set_error("%s (found on the GPU by an earlier %s and reported at this sync, so results since then "
                  "are wrong)", msg, h.site > 0 && h.site <= gpu_nsites ? gpu_sites[h.site].op : "op");
    return -1;
}

// Waits for every queued kernel and reports what they found.
int gpu_synchronize(void) {
    GPU_CHECK(cudaDeviceSynchronize());
    return gpu_check_device_errors();
}
