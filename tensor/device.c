// device.c - which backend serves which device; lazy loading of the CUDA backend;
// moving tensors between devices.
#include <dlfcn.h>
#include <limits.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "internal.h"

extern const tensor_backend tensor_cpu_backend;
extern const tensor_backend tensor_meta_backend;

static const tensor_backend *cuda_backend;
static void cuda_notice(const char *line) { fprintf(stderr, "%s\n", line); }
static tensor_host cuda_host = {.set_error = tensor_set_error, .notice = cuda_notice};
static int matmul_tf32;   // tensor_set_matmul_precision: 0 "highest", 1 "high"
static int cuda_tried;
static char cuda_why[512];

// libnnlab_cuda.so sits next to the nnlab executable; dlopen it only on first GPU
// use so CPU-only sessions never pay cuBLAS's ~100 ms load time.
static void cuda_load(void) {
    cuda_tried = 1;
    char path[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", path, sizeof path - 32);
    if (n <= 0) { snprintf(cuda_why, sizeof cuda_why, "cannot locate the nnlab executable"); return; }
    path[n] = 0;
    char *slash = strrchr(path, '/');
    strcpy(slash ? slash + 1 : path, "libnnlab_cuda.so");
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    // the real reason when the file is there (a missing libcublas/libcudart), not the
    // fallback's "no such file" that said "built without CUDA"
    char first[400] = "";
    if (!h && access(path, F_OK) == 0) snprintf(first, sizeof first, "%s", dlerror());
    if (!h && !first[0]) h = dlopen("libnnlab_cuda.so", RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        const char *err = first[0] ? first : dlerror();
        if (!first[0] && err && strstr(err, "No such file"))
            snprintf(cuda_why, sizeof cuda_why, "nnlab was built without CUDA (no libnnlab_cuda.so next to the binary)");
        else
            snprintf(cuda_why, sizeof cuda_why, "cannot load libnnlab_cuda.so: %s", err ? err : "?");
        return;
    }
    gpu_backend_init_fn init = (gpu_backend_init_fn)dlsym(h, GPU_BACKEND_SYMBOL);
    if (!init) { snprintf(cuda_why, sizeof cuda_why, "libnnlab_cuda.so lacks %s", GPU_BACKEND_SYMBOL); return; }
    cuda_backend = init(&cuda_host, cuda_why, sizeof cuda_why);
    // a precision chosen before the first GPU use applies from the start
    if (cuda_backend && matmul_tf32 && cuda_backend->set_matmul_precision &&
        cuda_backend->set_matmul_precision(matmul_tf32) != 0) {
        snprintf(cuda_why, sizeof cuda_why, "%s", tensor_last_error());
        cuda_backend = NULL;
    }
}

void tensor_set_gc_hook(void (*collect)(void)) { cuda_host.collect_garbage = collect; }

int tensor_cuda_index(void) { return cuda_host.device_index; }

int tensor_cuda_select_name(const char *name) {
    const char *p = name + strlen("cuda:");
    char *end = NULL;
    long n = *p >= '0' && *p <= '9' ? strtol(p, &end, 10) : -1;
    if (n < 0 || n > 1023 || !end || *end) {
        tensor_set_error("unknown device '%s': a GPU is named cuda:N with N a whole number from 0 (cuda:0 is "
                         "the first visible GPU; tensor.cuda_devices() lists them)", name);
        return -1;
    }
    if ((int)n == cuda_host.device_index) return 0;
    if (cuda_backend) {
        tensor_set_error("device '%s': this process already uses cuda:%d, and nnlab drives one GPU per process; "
                         "start nnlab with --device %s (or CUDA_VISIBLE_DEVICES=%ld)", name,
                         cuda_host.device_index, name, n);
        return -1;
    }
    cuda_host.device_index = (int)n;
    cuda_tried = 0;   // an earlier try at another GPU failed: try this one afresh
    return 0;
}

int tensor_cuda_available(char *why, size_t n) {
    if (!cuda_tried) cuda_load();
    if (!cuda_backend && why) snprintf(why, n, "%s", cuda_why);
    return cuda_backend != NULL;
}

const tensor_backend *tensor_backend_for(tensor_device d) {
    if (d == TENSOR_CPU) return &tensor_cpu_backend;
    if (d == TENSOR_META) return &tensor_meta_backend;
    if (!cuda_tried) cuda_load();
    if (!cuda_backend) tensor_set_error("cuda: %s", cuda_why);
    return cuda_backend;
}

int tensor_device_memory(tensor_device d, int64_t *allocated, int64_t *cached) {
    *allocated = *cached = 0;
    const tensor_backend *b = tensor_backend_for(d);
    if (!b) return -1;
    return b->memory_stats ? b->memory_stats(allocated, cached) : 0;
}

void tensor_device_empty_cache(tensor_device d) {
    const tensor_backend *b = d == TENSOR_CUDA && !cuda_backend ? NULL : tensor_backend_for(d);
    if (b && b->empty_cache) b->empty_cache();
}

const tensor_backend *tensor_backend_of(const tensor *t) { return tensor_backend_for(t->storage->device); }

// As PyTorch's torch.set_float32_matmul_precision; the CPU always multiplies in FP32.
int tensor_set_matmul_precision(const char *name) {
    int tf32;
    if (name && !strcmp(name, "highest")) tf32 = 0;
    else if (name && !strcmp(name, "high")) tf32 = 1;
    else {
        tensor_set_error("set_matmul_precision: unknown precision '%s': use \"highest\" (full float32, the "
                         "default) or \"high\" (TF32 on the GPU's tensor cores: faster, ~1e-3 relative error)",
                         name ? name : "(none)");
        return -1;
    }
    if (cuda_backend && cuda_backend->set_matmul_precision && cuda_backend->set_matmul_precision(tf32) != 0)
        return -1;
    matmul_tf32 = tf32;
    return 0;
}

const char *tensor_get_matmul_precision(void) { return matmul_tf32 ? "high" : "highest"; }

int tensor_synchronize(tensor_device d) {
    if (d != TENSOR_CUDA) return 0;
    if (!cuda_tried || !cuda_backend) return 0;   // never used: nothing queued
    return cuda_backend->synchronize ? cuda_backend->synchronize() : 0;
}

int tensor_check_labels_on_device(const char *op, const char *what, const tensor *labels, int64_t classes,
                                  int base) {
    const tensor_backend *be = tensor_backend_of(labels);
    if (!be || !be->check_labels) return be ? 0 : -1;
    tensor *c = tensor_contiguous((tensor *)labels);
    if (!c) return -1;
    int rc = be->check_labels(tensor_data(c), tensor_numel(c), classes, base, op, what);
    tensor_release(c);
    return rc ? -1 : 1;
}

int tensor_check_same_device(const char *op, int n, tensor *const *ts) {
    for (int i = 1; i < n; i++) {
        if (ts[i] && ts[0] && ts[i]->storage->device != ts[0]->storage->device) {
            const char *d0 = tensor_device_name(ts[0]->storage->device);
            tensor_set_error("%s: tensors are on different devices (argument 1 on %s, argument %d on %s); "
                             "move one with {{:to(\"%s\")|tensor_to(t, %s)}}", op, d0, i + 1,
                             tensor_device_name(ts[i]->storage->device), d0, d0);
            return -1;
        }
    }
    return 0;
}

static int to_backward(tensor_node *n, tensor *out, tensor *g, tensor **gin) {
    gin[0] = tensor_to(g, n->inputs[0]->storage->device);
    return gin[0] ? 0 : -1;
}

tensor *tensor_to(tensor *t, tensor_device d) {
    tensor_device from = t->storage->device;
    if (from == d) return tensor_retain(t);
    tensor *out = tensor_empty(t->ndim, t->size, d);
    if (!out) return NULL;
    if (d != TENSOR_META && from != TENSOR_META && tensor_numel(t) > 0) {
        tensor *c = tensor_contiguous(t);
        if (!c) { tensor_release(out); return NULL; }
        size_t n = (size_t)tensor_numel(t);
        int rc;
        if (from == TENSOR_CPU) rc = tensor_backend_for(d)->from_host(tensor_data(out), tensor_data(c), n);
        else if (d == TENSOR_CPU) rc = tensor_backend_of(c)->to_host(tensor_data(out), tensor_data(c), n);
        else rc = -1;
        tensor_release(c);
        if (rc) { tensor_release(out); return NULL; }
    } else if (d != TENSOR_META && tensor_fill_(out, 0.0f)) {   // meta -> real: zeros
        tensor_release(out);
        return NULL;
    }
    tensor_node *nd = tensor_record(out, "to", to_backward, 1, &t);
    if (nd) nd->shape_only = 1;
    return out;
}

// ---- the meta device: shapes only, no memory, no work ----
// Every kernel entry is NULL: the op layer never calls one for a meta tensor (TENSOR_RUN
// and tensor_has_work in internal.h are the one place that decides), so a missed call
// site crashes in tests instead of silently "succeeding".
static void *meta_alloc(size_t bytes) { return NULL; }
static void meta_free(void *p) {}

const tensor_backend tensor_meta_backend = {
    .name = "meta",
    .alloc = meta_alloc,
    .free = meta_free,
};
