// tensor.c - storage, lifetime, creation and inspection of tensors.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "internal.h"

static int64_t live_bytes[3], peak_bytes[3];

// Free lists for the many tiny tensors a Lua loop makes: malloc/free of three
// blocks per op cost more than the op itself (measured: ~550 ns of a 4-element add).
#define POOL_CAP 256
#define SMALL_CLASSES 7                     // 64 B .. 4 KB data buffers
static tensor *free_headers[POOL_CAP];
static int n_free_headers;
static tensor_storage *free_storages[POOL_CAP];
static int n_free_storages;
static tensor_node *free_nodes[POOL_CAP];   // autograd records (their inputs inline up to 3)
static int n_free_nodes;
static float *free_small[SMALL_CLASSES][POOL_CAP / 4];
static int n_free_small[SMALL_CLASSES];

static int small_class(int64_t bytes) {
    int c = 0;
    for (int64_t cap = 64; cap < bytes; cap <<= 1) c++;
    return c;
}

static float *cpu_data_alloc(const tensor_backend *be, int64_t bytes) {
    int c = small_class(bytes);
    if (c < SMALL_CLASSES) {
        if (n_free_small[c]) return free_small[c][--n_free_small[c]];
        return be->alloc((size_t)64 << c);
    }
    return be->alloc((size_t)bytes);
}

static void cpu_data_free(const tensor_backend *be, float *p, int64_t bytes) {
    int c = small_class(bytes);
    if (c < SMALL_CLASSES && n_free_small[c] < POOL_CAP / 4) { free_small[c][n_free_small[c]++] = p; return; }
    be->free(p);
}

int64_t tensor_live_bytes(tensor_device d) { return live_bytes[d]; }
int64_t tensor_peak_bytes(tensor_device d) { return peak_bytes[d]; }
void tensor_reset_peak(tensor_device d) { peak_bytes[d] = live_bytes[d]; }
int64_t tensor_nbytes_of(int64_t numel) { return numel * (int64_t)sizeof(float); }

const char *tensor_device_name(tensor_device d) {
    return d == TENSOR_CUDA ? "cuda" : d == TENSOR_META ? "meta" : "cpu";
}

int tensor_parse_device(const char *name, tensor_device *d) {
    if (!strcmp(name, "cpu")) *d = TENSOR_CPU;
    else if (!strcmp(name, "cuda") || !strcmp(name, "gpu")) *d = TENSOR_CUDA;
    else if (!strcmp(name, "meta")) *d = TENSOR_META;
    else if (!strncmp(name, "cuda:", 5)) {   // cuda:N picks the process's GPU (device.c)
        if (tensor_cuda_select_name(name) != 0) return -1;
        *d = TENSOR_CUDA;
    } else {
        tensor_set_error("unknown device '%s': use \"cpu\", \"cuda\" or \"meta\"", name);
        return -1;
    }
    return 0;
}

// Product of sizes with overflow and sanity checks; -1 with an error on failure.
static int64_t checked_numel(const char *op, int ndim, const int64_t *sizes) {
    char s[160];
    if (ndim < 0 || ndim > TENSOR_MAX_DIMS) {
        tensor_set_error("%s: %d dims requested; nnlab tensors have at most %d", op, ndim, TENSOR_MAX_DIMS);
        return -1;
    }
    int64_t n = 1, nonzero = 1;   // nonzero: the strides of an empty tensor must not overflow either
    for (int i = 0; i < ndim; i++) {
        if (sizes[i] < 0) {
            tensor_set_error("%s: size %lld at dim {{dim:%d}} of %s is negative", op, (long long)sizes[i], i,
                             tensor_sizes_str(s, sizeof s, ndim, sizes));
            return -1;
        }
        if (sizes[i] && (n > INT64_MAX / 8 / sizes[i] || nonzero > INT64_MAX / 8 / sizes[i])) {
            tensor_set_error("%s: the sizes %s overflow a 64-bit element count", op,
                             tensor_sizes_str(s, sizeof s, ndim, sizes));
            return -1;
        }
        n *= sizes[i];
        if (sizes[i]) nonzero *= sizes[i];
    }
    return n;
}

// ---- what the machine can still give (checked for large cpu allocations) ----
static int64_t memory_limit;   // tensor_set_memory_limit; 0: MemAvailable / the cgroup's room

void tensor_set_memory_limit(int64_t bytes) { memory_limit = bytes > 0 ? bytes : 0; }

// the first number in file (after key, when given), or -1
static int64_t read_number(const char *path, const char *key) {
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    char line[256];
    long long v = -1;
    while (fgets(line, sizeof line, f)) {
        if (key && strncmp(line, key, strlen(key))) continue;
        if (sscanf(line + (key ? strlen(key) : 0), "%lld", &v) != 1) v = -1;
        break;
    }
    fclose(f);
    return v;
}

// Bytes the process may hold in tensors: an explicit limit, else what it holds resident
// plus what the machine (or its memory cgroup, whichever is tighter) still has free.
// Resident, not live: pages malloc gave but nobody touched yet are not counted twice.
static int64_t memory_budget(char *what, size_t n) {
    if (memory_limit) { snprintf(what, n, "the limit set by tensor.set_memory_limit"); return memory_limit; }
    int64_t avail = read_number("/proc/meminfo", "MemAvailable:");
    if (avail < 0) return -1;
    avail *= 1024;
    snprintf(what, n, "MemAvailable");
    static const char *cg[][2] = {{"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"},
                                  {"/sys/fs/cgroup/memory/memory.limit_in_bytes", "/sys/fs/cgroup/memory/memory.usage_in_bytes"}};
    for (int i = 0; i < 2; i++) {
        int64_t max = read_number(cg[i][0], NULL), cur = read_number(cg[i][1], NULL);
        if (max > 0 && cur >= 0 && max - cur < avail) { avail = max - cur; snprintf(what, n, "the memory cgroup's limit"); }
    }
    int64_t resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    long long vm, rss;
    if (f && fscanf(f, "%lld %lld", &vm, &rss) == 2) resident = rss * (int64_t)sysconf(_SC_PAGESIZE);
    if (f) fclose(f);
    return avail + resident;
}

// -1 with the usual message when live tensors plus bytes would not fit (four 8.6 GB
// buffers of nn.BatchNorm1d(2^31) each fit alone and the OOM killer ended the process)
static int check_budget(int64_t bytes, int ndim, const int64_t *sizes) {
    if (bytes < ((int64_t)64 << 20) && !memory_limit) return 0;   // reading /proc costs; small ones can't matter
    char what[64] = "";
    int64_t budget = memory_budget(what, sizeof what), live = live_bytes[TENSOR_CPU];
    if (budget < 0 || live + bytes <= budget) return 0;
    char sh[160];
    tensor_set_error("out of memory: a tensor of shape %s needs %.3g GB, tensors already hold %.3g GB, and %s "
                     "leaves room for %.3g GB; free some (x = nil; collectgarbage()), use a smaller size, or the "
                     "meta device to see shapes without memory", tensor_sizes_str(sh, sizeof sh, ndim, sizes),
                     bytes / 1e9, live / 1e9, what, budget / 1e9);
    return -1;
}

static tensor_storage *storage_new(int64_t numel, tensor_device d, const int64_t *sizes, int ndim) {
    const tensor_backend *be = tensor_backend_for(d);
    if (!be) return NULL;
    tensor_storage *s = n_free_storages ? free_storages[--n_free_storages] : malloc(sizeof *s);
    if (!s) { tensor_set_error("out of memory allocating a tensor header"); return NULL; }
    s->data = NULL;
    int64_t bytes = tensor_nbytes_of(numel);
    if (d != TENSOR_META && numel > 0) {
        if (d == TENSOR_CPU) {
            // refuse what the machine cannot hold, rather than let overcommit kill us later
            static int64_t phys;   // cached: sysconf costs a syscall and this is the hot path
            if (!phys) phys = (int64_t)sysconf(_SC_PHYS_PAGES) * (int64_t)sysconf(_SC_PAGESIZE);
            if (phys > 0 && bytes > phys) {
                char sh[160];
                tensor_set_error("out of memory: a tensor of shape %s needs %.1f GB but this machine has %.1f GB; "
                                 "use a smaller size, or the meta device to see shapes without memory",
                                 tensor_sizes_str(sh, sizeof sh, ndim, sizes), bytes / 1e9, phys / 1e9);
                free(s);
                return NULL;
            }
            if (check_budget(bytes, ndim, sizes)) { free(s); return NULL; }
        }
        s->data = d == TENSOR_CPU ? cpu_data_alloc(be, bytes) : be->alloc((size_t)bytes);
        if (!s->data) {
            char sh[160];
            char why[512];
            snprintf(why, sizeof why, "%s", tensor_last_error_raw());
            tensor_set_error("out of memory: a tensor of shape %s needs %.3g GB on %s (%s)",
                             tensor_sizes_str(sh, sizeof sh, ndim, sizes), bytes / 1e9, tensor_device_name(d), why);
            free(s);
            return NULL;
        }
    }
    s->numel = numel;
    s->refcount = 1;
    s->device = d;
    s->version = 0;
    s->writer = NULL;
    live_bytes[d] += bytes;
    if (live_bytes[d] > peak_bytes[d]) peak_bytes[d] = live_bytes[d];
    return s;
}

static void storage_release(tensor_storage *s) {
    if (!s || --s->refcount > 0) return;
    int64_t bytes = tensor_nbytes_of(s->numel);
    live_bytes[s->device] -= bytes;
    if (s->data) {
        const tensor_backend *be = tensor_backend_for(s->device);
        if (s->device == TENSOR_CPU) cpu_data_free(be, s->data, bytes);
        else if (be) be->free(s->data);
    }
    if (n_free_storages < POOL_CAP) free_storages[n_free_storages++] = s;
    else free(s);
}

static void node_release(tensor_node *n);
static void header_free(tensor *t);

tensor *tensor_retain(tensor *t) { if (t) t->refcount++; return t; }

// Freeing is iterative: a dead tensor releases its node, whose inputs may die in turn,
// once per op of a graph; recursion would overflow the C stack on a long chain (a loss
// summed a million times without :item()). Dead tensors wait on a list linked through
// their grad_acc field (a dead tensor's own grad_acc is released as it is linked).
static tensor *dead_head;
static int draining;

static void push_dead(tensor *t) {
    while (t) {
        tensor *ga = t->grad_acc;
        t->grad_acc = dead_head;
        dead_head = t;
        t = (ga && --ga->refcount == 0) ? ga : NULL;
    }
}

void tensor_release(tensor *t) {
    if (!t || --t->refcount > 0) return;
    push_dead(t);
    if (draining) return;             // an outer tensor_release is emptying the list
    draining = 1;
    while (dead_head) {
        tensor *d = dead_head;
        dead_head = d->grad_acc;
        d->grad_acc = NULL;
        header_free(d);
    }
    draining = 0;
}

// what a dead tensor holds; tensors it drops go on the dead list
static void header_free(tensor *t) {
    tensor_release(t->grad);
    if (t->grad_fn) node_release(t->grad_fn);
    storage_release(t->storage);
    if (n_free_headers < POOL_CAP) free_headers[n_free_headers++] = t;
    else free(t);
}

// a zeroed tensor header, from the free list when possible
tensor *tensor_header_alloc(void) {
    tensor *t = n_free_headers ? free_headers[--n_free_headers] : malloc(sizeof *t);
    if (!t) { tensor_set_error("out of memory allocating a tensor header"); return NULL; }
    memset(t, 0, sizeof *t);
    return t;
}

tensor_node *tensor_node_alloc(int n) {
    tensor_node *node = n_free_nodes ? free_nodes[--n_free_nodes] : malloc(sizeof *node);
    if (!node) return NULL;
    memset(node, 0, sizeof *node);
    node->inputs = n <= 3 ? node->inline_inputs : calloc((size_t)n, sizeof *node->inputs);
    if (!node->inputs) { free(node); return NULL; }
    return node;
}

static void node_release(tensor_node *n) {
    for (int i = 0; i < n->n_inputs; i++) tensor_release(n->inputs[i]);
    for (int i = 0; i < 3; i++) tensor_release(n->saved[i]);
    if (n->inputs != n->inline_inputs) free(n->inputs);
    free(n->scope);
    if (n_free_nodes < POOL_CAP) free_nodes[n_free_nodes++] = n;
    else free(n);
}

// A header viewing storage s (retained) with contiguous strides.
static tensor *header_new(tensor_storage *s, int ndim, const int64_t *sizes) {
    tensor *t = tensor_header_alloc();
    if (!t) return NULL;
    t->refcount = 1;
    t->storage = s;
    t->ndim = ndim;
    int64_t st = 1;
    for (int i = ndim - 1; i >= 0; i--) {
        t->size[i] = sizes[i];
        t->stride[i] = st;
        st *= sizes[i] ? sizes[i] : 1;
    }
    return t;
}

// op names the creation function in a size error (tensor.zeros reported tensor.empty)
tensor *tensor_empty_op(const char *op, int ndim, const int64_t *sizes, tensor_device d) {
    int64_t n = checked_numel(op, ndim, sizes);
    if (n < 0) return NULL;
    tensor_storage *s = storage_new(n, d, sizes, ndim);
    if (!s) return NULL;
    tensor *t = header_new(s, ndim, sizes);
    if (!t) storage_release(s);
    return t;
}

tensor *tensor_empty_sizes(int ndim, const int64_t *sizes, tensor_device d) {
    return tensor_empty_op("tensor.empty", ndim, sizes, d);
}

tensor *tensor_empty(int ndim, const int64_t *sizes, tensor_device d) { return tensor_empty_sizes(ndim, sizes, d); }

static tensor *full_op(const char *op, int ndim, const int64_t *sizes, float value, tensor_device d) {
    tensor *t = tensor_empty_op(op, ndim, sizes, d);
    if (t && tensor_fill_(t, value)) { tensor_release(t); return NULL; }
    return t;
}
tensor *tensor_full(int ndim, const int64_t *sizes, float value, tensor_device d) {
    return full_op("tensor.full", ndim, sizes, value, d);
}
tensor *tensor_zeros(int ndim, const int64_t *sizes, tensor_device d) { return full_op("tensor.zeros", ndim, sizes, 0.0f, d); }
tensor *tensor_ones(int ndim, const int64_t *sizes, tensor_device d) { return full_op("tensor.ones", ndim, sizes, 1.0f, d); }
tensor *tensor_scalar(float value, tensor_device d) { return tensor_full(0, NULL, value, d); }
tensor *tensor_zeros_like(const tensor *t) { return tensor_zeros(t->ndim, t->size, t->storage->device); }

tensor *tensor_from_data(int ndim, const int64_t *sizes, const float *data, tensor_device d) {
    tensor *t = tensor_empty(ndim, sizes, d);
    if (!t || d == TENSOR_META) return t;
    const tensor_backend *be = tensor_backend_for(d);
    if (be->from_host(t->storage->data, data, (size_t)tensor_numel(t))) { tensor_release(t); return NULL; }
    return t;
}

tensor *tensor_arange(double start, double stop, double step, tensor_device d) {
    if (step == 0 || !isfinite(start) || !isfinite(stop) || !isfinite(step)) {
        tensor_set_error("tensor.arange(%g, %g, %g): step must be non-zero and the bounds finite", start, stop, step);
        return NULL;
    }
    double nd = ceil((stop - start) / step);
    // check before converting: (int64_t) of a double past 2^63 (or inf) is undefined
    if (nd > 4e12) { tensor_set_error("tensor.arange(%g, %g, %g): %.3g elements is too many", start, stop, step, nd); return NULL; }
    int64_t n = nd > 0 ? (int64_t)nd : 0;
    if (d == TENSOR_META) return tensor_empty(1, &n, d);   // shapes only: no host buffer (5e8 points took 1.9 GB)
    float *buf = malloc((size_t)(n ? n : 1) * sizeof(float));
    if (!buf) { tensor_set_error("tensor.arange: out of memory for %lld elements", (long long)n); return NULL; }
    for (int64_t i = 0; i < n; i++) buf[i] = (float)(start + (double)i * step);
    tensor *t = tensor_from_data(1, &n, buf, d);
    free(buf);
    return t;
}

tensor *tensor_linspace(double start, double stop, int64_t n, tensor_device d) {
    if (n < 0) { tensor_set_error("tensor.linspace: number of points %lld must be >= 0", (long long)n); return NULL; }
    // as arange: n * sizeof(float) must not wrap around size_t below
    if (n > (int64_t)4e12) { tensor_set_error("tensor.linspace: %lld points is too many", (long long)n); return NULL; }
    if (d == TENSOR_META) return tensor_empty(1, &n, d);   // shapes only: no host buffer
    float *buf = malloc((size_t)(n ? n : 1) * sizeof(float));
    if (!buf) { tensor_set_error("tensor.linspace: out of memory for %lld elements", (long long)n); return NULL; }
    for (int64_t i = 0; i < n; i++)
        buf[i] = n == 1 ? (float)start : (float)(start + (stop - start) * (double)i / (double)(n - 1));
    tensor *t = tensor_from_data(1, &n, buf, d);
    free(buf);
    return t;
}

tensor *tensor_eye(int64_t n, tensor_device d) {
    int64_t sz[2] = {n, n};
    tensor *t = tensor_zeros(2, sz, d);
    if (!t || d == TENSOR_META) return t;
    // the diagonal is a strided view with stride n+1
    tensor diag = *t;
    diag.refcount = 1;
    diag.ndim = 1;
    diag.size[0] = n;
    diag.stride[0] = n + 1;
    diag.grad = NULL; diag.grad_fn = NULL; diag.grad_acc = NULL;
    if (TENSOR_RUN(t, fill, &diag, 1.0f)) { tensor_release(t); return NULL; }
    return t;
}

int64_t tensor_numel(const tensor *t) {
    int64_t n = 1;
    for (int i = 0; i < t->ndim; i++) n *= t->size[i];
    return n;
}

int tensor_is_contiguous(const tensor *t) {
    int64_t st = 1;
    for (int i = t->ndim - 1; i >= 0; i--) {
        if (t->size[i] != 1 && t->stride[i] != st) return 0;
        st *= t->size[i];
    }
    return 1;
}

float *tensor_to_host(const tensor *t) {
    if (t->storage->device == TENSOR_META) {
        tensor_set_error("a meta tensor has no values (it only tracks shapes); run it on cpu or cuda");
        return NULL;
    }
    int64_t n = tensor_numel(t);
    float *out = malloc((size_t)(n ? n : 1) * sizeof(float));
    if (!out) { tensor_set_error("out of memory copying %lld values to the host", (long long)n); return NULL; }
    tensor *c = tensor_contiguous((tensor *)t);
    if (!c) { free(out); return NULL; }
    int rc = n ? tensor_backend_of(c)->to_host(out, tensor_data(c), (size_t)n) : 0;
    tensor_release(c);
    if (rc) { free(out); return NULL; }
    return out;
}

int tensor_item(const tensor *t, float *out) {
    if (tensor_numel(t) != 1) {
        char s[160];
        tensor_set_error("item: only a tensor with one element has an item; this one is %s with %lld elements "
                         "(reduce it first, e.g. {{x:sum()|tensor_sum(x, TENSOR_ALL_DIMS, 0)}})", tensor_shape_str(s, sizeof s, t), (long long)tensor_numel(t));
        return -1;
    }
    float *v = tensor_to_host(t);
    if (!v) return -1;
    *out = v[0];
    free(v);
    return 0;
}

int tensor_normalize_dim(const char *op, const tensor *t, int dim, int ndim_plus, int *out) {
    int nd = t->ndim + ndim_plus;
    int d = dim < 0 ? dim + nd : dim;
    if (d < 0 || d >= nd || nd == 0) {
        char s[160];
        tensor_set_error("%s: dim %d is out of range for a %d-d tensor %s", op, dim, t->ndim, tensor_shape_str(s, sizeof s, t));
        return -1;
    }
    *out = d;
    return 0;
}

void tensor_split_dim(const tensor *t, int dim, int64_t *outer, int64_t *r, int64_t *inner) {
    *outer = 1; *inner = 1;
    for (int i = 0; i < dim; i++) *outer *= t->size[i];
    for (int i = dim + 1; i < t->ndim; i++) *inner *= t->size[i];
    *r = t->size[dim];
}

int tensor_check_writable(const char *op, const tensor *t) {
    for (int i = 0; i < t->ndim; i++) {
        if (t->stride[i] == 0 && t->size[i] > 1) {
            char s[160];
            tensor_set_error("%s: cannot write into %s: it is an expanded view whose dim {{dim:%d}} repeats one "
                             "value %lld times (they share memory); write into {{x:clone()|tensor_clone(x)}} instead",
                             op, tensor_shape_str(s, sizeof s, t), i, (long long)t->size[i]);
            return -1;
        }
    }
    return 0;
}

void tensor_bump_version(tensor *t, const char *op) {
    t->storage->version++;
    t->storage->writer = op;
}

int tensor_fill_(tensor *dst, float v) {
    if (tensor_check_writable("fill", dst) || tensor_inplace_check("fill", dst, NULL)) return -1;
    if (TENSOR_RUN(dst, fill, dst, v)) return -1;
    tensor_bump_version(dst, "fill");
    return tensor_inplace_rewire("fill", dst, NULL);
}

int tensor_zero_(tensor *t) { return tensor_fill_(t, 0.0f); }
