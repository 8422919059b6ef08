// fuzz_api.c - the C tensor API driven by a byte program.
//
// The input is a program over 8 tensor slots: each op reads its operands and arguments
// (dims, sizes, scalars, often out of range on purpose) from the following bytes, runs
// one public function, and stores the result in a slot. Every call must either succeed
// or return NULL/-1 with a message; nothing may crash, read out of bounds or leak.
// After the program every slot is released and the live tensor bytes must be back
// where they started (a refcount leak anywhere in the autograd tape shows up here).
// Sizes stay tiny (dims of 0..4) so a run does thousands of programs a second.
//
// Oracles beyond "no crash": an in-place write between forward and backward must make
// backward fail, or leave the gradient of a fresh recompute (a version counter); relu,
// maximum, minimum and clamp keep every NaN of their inputs; a long chain dropped
// without backward frees without recursing; integer arguments reach the C int limits.
#include <limits.h>
#include <math.h>
#include "fuzz_common.h"

#define SLOTS 8

typedef struct prog {
    const uint8_t *p, *end;
} prog;

static int more(prog *g) { return g->p < g->end; }
static unsigned byte(prog *g) { return g->p < g->end ? *g->p++ : 0; }
static int small(prog *g, int n) { return (int)(byte(g) % (unsigned)n); }
// a dim in -6..6 (0-based in C): mostly valid for small tensors, sometimes not
static int dim_arg(prog *g) {
    unsigned b = byte(g);
    if (b == 255) return TENSOR_ALL_DIMS;
    return (int)(b % 13) - 6;
}
static float scalar_arg(prog *g) {
    static const float vals[] = {0.0f, 1.0f, -1.0f, 0.5f, 2.0f, -3.0f, 1e-7f, 1e30f, -1e30f,
                                 INFINITY, -INFINITY, NAN, 3.0f, 0.25f, 100.0f, -0.0f};
    return vals[byte(g) % 16];
}
static int64_t size_arg(prog *g) {
    unsigned b = byte(g);
    if (b >= 250) return b == 255 ? -1 : b == 254 ? -2 : b == 253 ? ((int64_t)1 << 40) : b == 252 ? INT64_MAX : 5;
    return b % 5;
}

// conv/pool sizes: small ones, and the edges of a C int (2*padding used to overflow)
static int int_arg(prog *g) {
    static const int vals[] = {-1, 0, 1, 2, 3, 1 << 20, 1 << 30, INT_MAX, INT_MIN, INT_MAX / 2 + 1};
    unsigned b = byte(g);
    return b < 200 ? (int)(b % 5) - 1 : vals[b % 10];
}

static void fail(const char *what) {
    fprintf(stderr, "fuzz_api: %s\n", what);
    abort();
}

static tensor *slot[SLOTS];
static void put(int i, tensor *t) {
    if (!t) return;   // a failed op keeps the old value
    tensor_release(slot[i]);
    slot[i] = t;
}
static tensor *get(prog *g) { return slot[small(g, SLOTS)]; }

static tensor *create(prog *g) {
    int ndim = small(g, 5);
    int64_t sizes[TENSOR_MAX_DIMS];
    for (int i = 0; i < ndim; i++) sizes[i] = byte(g) % 5;
    unsigned kind = byte(g);
    tensor_device d = kind & 0x80 ? TENSOR_META : TENSOR_CPU;
    tensor *t;
    switch (kind % 6) {
    case 0: t = tensor_randn(ndim, sizes, d); break;
    case 1: t = tensor_zeros(ndim, sizes, d); break;
    case 2: t = tensor_ones(ndim, sizes, d); break;
    case 3: t = tensor_full(ndim, sizes, scalar_arg(g), d); break;
    case 4: t = tensor_rand(ndim, sizes, d); break;
    default: {
        // integer-valued data (useful as gather/index_select indices, labels)
        t = tensor_empty(ndim, sizes, d);
        if (t && d == TENSOR_CPU)
            for (int64_t k = 0; k < tensor_numel(t); k++) t->storage->data[k] = (float)((int)(byte(g) % 7) - 1);
    }
    }
    if (t && (byte(g) & 1)) tensor_requires_grad_(t, 1);
    return t;
}

typedef tensor *(*un_fn)(tensor *);
static const un_fn unary[] = {tensor_neg, tensor_exp, tensor_log, tensor_sqrt, tensor_abs, tensor_relu,
                              tensor_sigmoid, tensor_tanh, tensor_gelu, tensor_sin, tensor_cos, tensor_norm,
                              tensor_contiguous, tensor_clone, tensor_detach, tensor_t};
typedef tensor *(*bin_fn)(tensor *, tensor *);
static const bin_fn binary[] = {tensor_add, tensor_sub, tensor_mul, tensor_div,
                                tensor_pow, tensor_maximum, tensor_minimum, tensor_matmul};
typedef tensor *(*red_fn)(tensor *, int, int);
static const red_fn reduce[] = {tensor_sum, tensor_mean, tensor_max, tensor_min, tensor_argmax, tensor_argmin};

// ---- oracles ----
static int64_t host_numel(tensor *t) { return t && t->storage->device == TENSOR_CPU ? tensor_numel(t) : -1; }

// a fresh leaf that requires grad, holding v's values
static tensor *leaf_of(tensor *v) {
    tensor *d = tensor_detach(v), *c = d ? tensor_contiguous(d) : NULL;
    tensor *x = c ? tensor_clone(c) : NULL;
    tensor_release(d);
    tensor_release(c);
    if (x) tensor_requires_grad_(x, 1);
    return x;
}

// y = f(x) for the ops whose backward reads x or y
static tensor *forward_of(int f, tensor *x) {
    tensor *t = NULL, *y = NULL;
    switch (f) {
    case 0: y = tensor_exp(x); break;
    case 1: y = tensor_mul(x, x); break;
    case 2: y = tensor_tanh(x); break;
    case 3: y = tensor_sigmoid(x); break;
    case 4: y = tensor_relu(x); break;
    case 5: y = x->ndim ? tensor_log_softmax(x, -1) : tensor_exp(x); break;
    case 6: t = x->ndim == 2 ? tensor_t(x) : NULL; y = t ? tensor_matmul(x, t) : tensor_sin(x); break;
    default: y = tensor_pow_scalar(x, 3.0f); break;
    }
    tensor_release(t);
    tensor *s = y ? tensor_sum(y, TENSOR_ALL_DIMS, 0) : NULL;
    tensor_release(y);
    return s;
}

static int same_bits(tensor *a, tensor *b) {
    float *x = tensor_to_host(a), *y = tensor_to_host(b);
    int same = x && y && memcmp(x, y, (size_t)tensor_numel(a) * sizeof(float)) == 0;
    free(x);
    free(y);
    return same;
}

// forward, an in-place write into what it used (through a detached alias, a view of one,
// or none), backward: an error naming the in-place change, or the gradient of a fresh
// recompute on the values the forward saw. Without a version counter this answered
// with the gradient of the changed values, silently.
static void inplace_then_backward(prog *g, tensor *a) {
    if (host_numel(a) <= 0) return;
    int prev = tensor_set_grad_enabled(1);
    int f = small(g, 8), how = small(g, 4);
    tensor *x = leaf_of(a), *dx = x ? tensor_detach(x) : NULL;
    tensor *x0 = dx ? tensor_clone(dx) : NULL;   // the values the forward sees
    tensor_release(dx);
    tensor *z = x0 ? forward_of(f, x) : NULL;
    if (!z) goto done;
    tensor *alias = tensor_detach(x);
    float v = scalar_arg(g);
    if (how == 0) tensor_fill_(alias, v);
    else if (how == 1 && alias->ndim) {
        tensor *row = tensor_select(alias, 0, 0);
        if (row) tensor_fill_(row, v);
        tensor_release(row);
    } else if (how == 2) tensor_copy_(alias, x0);   // same values: still a write
    tensor_release(alias);
    if (tensor_backward(z, NULL)) {
        const char *e = tensor_last_error();
        int named = how != 3 && strstr(e, "modified by an inplace operation");
        if (!named && !strstr(e, "NaN or Inf")) fail("backward after an in-place write failed without naming it");
    } else {
        tensor *x1 = leaf_of(x0), *z1 = x1 ? forward_of(f, x1) : NULL;
        if (z1 && !tensor_backward(z1, NULL) && x->grad && x1->grad && !same_bits(x->grad, x1->grad))
            fail("backward after an in-place write gave a gradient that differs from a fresh recompute");
        tensor_release(z1);
        tensor_release(x1);
    }
done:
    tensor_release(z);
    tensor_release(x);
    tensor_release(x0);
    tensor_set_grad_enabled(prev);
}

// PyTorch's clamp of one value (+-INFINITY: no bound; a lone NaN bound is ignored)
static float clamp_ref(float x, float lo, float hi) {
    if (isnan(lo) && hi == INFINITY) lo = -INFINITY;
    if (isnan(hi) && lo == -INFINITY) hi = INFINITY;
    if (isnan(x) || isnan(lo) || isnan(hi)) return NAN;
    x = x < lo ? lo : x;
    return x > hi ? hi : x;
}

// relu, maximum, minimum, clamp: an output element is NaN wherever its input was, and
// clamp matches PyTorch's rule (lo > hi gives hi)
static void nan_kept(prog *g, tensor *a, tensor *b) {
    if (host_numel(a) <= 0) return;
    int which = small(g, 4);
    float lo = scalar_arg(g), hi = scalar_arg(g);
    tensor *bb = which == 1 || which == 2 ? (host_numel(b) > 0 ? b : a) : NULL;
    tensor *y = which == 0 ? tensor_relu(a) : which == 1 ? tensor_maximum(a, bb) : which == 2 ? tensor_minimum(a, bb)
                : tensor_clamp(a, lo, hi);
    if (!y) return;
    // a broadcast to y's shape, element by element
    tensor *ea = tensor_expand(a, y->ndim, y->size), *ca = ea ? tensor_contiguous(ea) : NULL;
    float *xv = ca ? tensor_to_host(ca) : NULL, *yv = tensor_to_host(y);
    for (int64_t i = 0; xv && yv && i < tensor_numel(y); i++)
        if ((isnan(xv[i]) && !isnan(yv[i])) ||
            (which == 3 && yv[i] != clamp_ref(xv[i], lo, hi) && !(isnan(yv[i]) && isnan(clamp_ref(xv[i], lo, hi)))))
            fail("relu/maximum/minimum/clamp lost a NaN, or clamp differs from PyTorch's rule");
    free(xv);
    free(yv);
    tensor_release(ca);
    tensor_release(ea);
    tensor_release(y);
}

// a loss summed over many steps without backward, then dropped: freeing must not recurse
// once per op (that overflowed the C stack at ~150k ops, sooner under ASan)
static void long_chain(prog *g) {
    static int done;   // once per process: it costs ~0.1 s
    if (done || !(byte(g) & 1)) return;
    done = 1;
    int prev = tensor_set_grad_enabled(1);
    tensor *w = tensor_scalar(1.0f, TENSOR_CPU), *total = tensor_scalar(0.0f, TENSOR_CPU);
    tensor_requires_grad_(w, 1);
    for (int i = 0; i < 300000 && total; i++) {
        tensor *next = tensor_add(total, w);
        tensor_release(total);
        total = next;
    }
    tensor_release(total);
    tensor_release(w);
    tensor_set_grad_enabled(prev);
}

static void run_op(prog *g) {
    unsigned op = byte(g) % 23;
    int out = small(g, SLOTS);
    tensor *a = get(g), *b = get(g);
    switch (op) {
    case 0: case 1: put(out, create(g)); break;
    case 2: if (a) put(out, unary[byte(g) % 16](a)); break;
    case 3: if (a && b) put(out, binary[byte(g) % 8](a, b)); break;
    case 4:
        if (a && b) put(out, tensor_compare(a, b, (tensor_cmp)(byte(g) % 6)));
        break;
    case 5: {
        if (!a) break;
        float s = scalar_arg(g), s2 = scalar_arg(g);
        switch (byte(g) % 7) {
        case 0: put(out, tensor_pow_scalar(a, s)); break;
        case 1: put(out, tensor_add_scalar(a, s)); break;
        case 2: put(out, tensor_mul_scalar(a, s)); break;
        case 3: put(out, tensor_rsub_scalar(s, a)); break;
        case 4: put(out, tensor_rdiv_scalar(s, a)); break;
        case 5: put(out, tensor_clamp(a, s, s2)); break;
        default: put(out, tensor_compare_scalar(a, s, (tensor_cmp)(byte(g) % 6))); break;
        }
        break;
    }
    case 6: {
        if (!a) break;
        int dim = dim_arg(g), keep = byte(g) & 1;
        unsigned k = byte(g) % 9;
        if (k < 6) put(out, reduce[k](a, dim, keep));
        else if (k < 8) put(out, (k == 6 ? tensor_var : tensor_std)(a, dim, keep, byte(g) & 1));
        else put(out, tensor_norm(a));
        break;
    }
    case 7: {   // reshaping views
        if (!a) break;
        int64_t sizes[TENSOR_MAX_DIMS];
        int n = small(g, 6);
        for (int i = 0; i < n; i++) sizes[i] = size_arg(g);
        switch (byte(g) % 3) {
        case 0: put(out, tensor_view(a, n, sizes)); break;
        case 1: put(out, tensor_reshape(a, n, sizes)); break;
        default: put(out, tensor_expand(a, n, sizes)); break;
        }
        break;
    }
    case 8: {   // dim views
        if (!a) break;
        int d0 = dim_arg(g), d1 = dim_arg(g);
        int64_t s0 = size_arg(g) - 1, s1 = size_arg(g);
        switch (byte(g) % 8) {
        case 0: put(out, tensor_transpose(a, d0, d1)); break;
        case 1: put(out, tensor_narrow(a, d0, s0, s1)); break;
        case 2: put(out, tensor_select(a, d0, s0)); break;
        case 3: put(out, tensor_unsqueeze(a, d0)); break;
        case 4: put(out, tensor_squeeze(a, byte(g) & 1 ? TENSOR_ALL_DIMS : d0)); break;
        case 5: put(out, tensor_flatten(a, d0, d1)); break;
        case 6: {
            int perm[TENSOR_MAX_DIMS];
            for (int i = 0; i < TENSOR_MAX_DIMS; i++) perm[i] = dim_arg(g);
            put(out, tensor_permute(a, perm));
            break;
        }
        default: put(out, tensor_to(a, byte(g) & 1 ? TENSOR_META : TENSOR_CPU)); break;
        }
        break;
    }
    case 9: {
        if (!a) break;
        int dim = dim_arg(g);
        put(out, byte(g) & 1 ? tensor_softmax(a, dim) : tensor_log_softmax(a, dim));
        break;
    }
    case 10: {   // cat / stack of 1..4 slots
        tensor *ts[4];
        int n = 1 + small(g, 4), k = 0;
        for (int i = 0; i < n; i++) if ((ts[k] = get(g))) k++;
        int dim = dim_arg(g);
        if (k) put(out, byte(g) & 1 ? tensor_stack(k, ts, dim) : tensor_cat(k, ts, dim));
        break;
    }
    case 11: {   // indexing with whatever b holds (out of range, fractional, NaN...)
        if (!a || !b) break;
        int dim = dim_arg(g);
        put(out, byte(g) & 1 ? tensor_gather(a, dim, b) : tensor_index_select(a, dim, b));
        break;
    }
    case 12: {   // convolution family
        if (!a) break;
        int k = int_arg(g), s = int_arg(g), p = int_arg(g);
        switch (byte(g) % 5) {
        case 0: if (b) put(out, tensor_conv2d(a, b, byte(g) & 1 ? get(g) : NULL, s, p, 1 + small(g, 3))); break;
        case 1: put(out, tensor_max_pool2d(a, k, s, p)); break;
        case 2: put(out, tensor_avg_pool2d(a, k, s, p)); break;
        case 3: put(out, tensor_unfold2d(a, k, k < INT_MAX ? k + small(g, 2) : k, s, s, p, p, scalar_arg(g))); break;
        default: if (b) put(out, tensor_conv2d(a, b, NULL, s, p, 0)); break;
        }
        break;
    }
    case 13:
        if (a) put(out, tensor_dropout(a, scalar_arg(g), byte(g) & 1));
        break;
    case 14:   // in place writes
        if (!a) break;
        switch (byte(g) % 3) {
        case 0: if (b) tensor_copy_(a, b); break;
        case 1: tensor_fill_(a, scalar_arg(g)); break;
        default: tensor_zero_(a); break;
        }
        break;
    case 15:   // backward, possibly twice, possibly on a non-scalar
        if (!a) break;
        tensor_backward(a, byte(g) & 1 ? b : NULL);
        if (byte(g) & 1) tensor_zero_grad(a);
        break;
    case 16: {
        if (!a) break;
        float v;
        tensor_item(a, &v);
        free(tensor_to_host(a));
        break;
    }
    case 17: {   // optimizer steps on arbitrary slots
        tensor *c = get(g), *d = get(g);
        if (!a || !b || !c) break;
        if (byte(g) & 1) {
            if (d) tensor_adam_step(a, b, c, d, 1 + small(g, 3), 0.01f, 0.9f, 0.999f, 1e-8f, scalar_arg(g), byte(g) & 1);
        } else {
            tensor_sgd_step(a, b, c, 0.1f, scalar_arg(g), 0.0f, 0.0f, byte(g) & 1, byte(g) & 1);
        }
        break;
    }
    case 18:
        tensor_set_grad_enabled(byte(g) & 1);
        tensor_set_detect_anomaly(byte(g) & 1);
        break;
    case 20: if (a) inplace_then_backward(g, a); break;
    case 21: if (a) nan_kept(g, a, b); break;
    case 22: long_chain(g); break;
    default: {   // creation with argument edge cases
        unsigned k = byte(g) % 4;
        if (k == 0) {   // at most ~1M points on the cpu: 1.2e8 of them made 30 s units under ASan
            float a0 = scalar_arg(g), a1 = scalar_arg(g), st = scalar_arg(g);
            int meta = !(fabsf((a1 - a0) / st) < (float)(1 << 20));
            put(out, tensor_arange(a0, a1, st, meta ? TENSOR_META : TENSOR_CPU));
        }
        else if (k == 1) put(out, tensor_linspace(scalar_arg(g), scalar_arg(g), size_arg(g), TENSOR_CPU));
        else if (k == 2) put(out, tensor_eye(size_arg(g), byte(g) & 1 ? TENSOR_META : TENSOR_CPU));
        else put(out, tensor_scalar(scalar_arg(g), TENSOR_CPU));
        break;
    }
    }
    (void)b;
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    setenv("OPENBLAS_NUM_THREADS", "1", 1);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static int init;
    if (!init) {
        LLVMFuzzerInitialize(NULL, NULL);
        init = 1;
    }
    int64_t before = tensor_live_bytes(TENSOR_CPU), before_meta = tensor_live_bytes(TENSOR_META);
    prog g = {data, data + size};
    tensor_manual_seed(1);
    for (int steps = 0; more(&g) && steps < 64; steps++) run_op(&g);
    for (int i = 0; i < SLOTS; i++) {
        tensor_release(slot[i]);
        slot[i] = NULL;
    }
    tensor_set_grad_enabled(1);
    tensor_set_detect_anomaly(0);
    if (tensor_live_bytes(TENSOR_CPU) != before || tensor_live_bytes(TENSOR_META) != before_meta) {
        fprintf(stderr, "fuzz_api: live bytes %lld -> %lld (cpu), %lld -> %lld (meta) after releasing "
                "every tensor: a reference leak\n", (long long)before, (long long)tensor_live_bytes(TENSOR_CPU),
                (long long)before_meta, (long long)tensor_live_bytes(TENSOR_META));
        abort();
    }
    return 0;
}
