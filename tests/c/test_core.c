// test_core.c - the tensor core from C: views share storage, broadcasting,
// reductions, matmul against a naive loop, autograd against finite differences.
#include <stdlib.h>
#include <string.h>
#include "../../tensor/tensor.h"
#include "tap.h"

static tensor *from(int nd, const int64_t *sz, const float *v) { return tensor_from_data(nd, sz, v, TENSOR_CPU); }

static float at(tensor *t, int64_t i) {
    float *h = tensor_to_host(t);
    float v = h[i];
    free(h);
    return v;
}

static void test_views(void) {
    float v[6] = {1, 2, 3, 4, 5, 6};
    tensor *a = from(2, (int64_t[]){2, 3}, v);
    tensor *t = tensor_t(a);
    tap_ok(t->storage == a->storage && !tensor_is_contiguous(t), "t() is a view, not contiguous");
    tap_close(at(t, 1), 4, 0, "t() element [1][2] is a[2][1]");
    tensor *row = tensor_select(a, 0, 1);
    tensor_fill_(row, 9);
    tap_close(at(a, 3), 9, 0, "writing through select shows in the base");
    tensor *r = tensor_reshape(t, 1, (int64_t[]){6});
    tap_ok(r->storage != a->storage, "reshape of a transposed tensor copies");
    tensor *bad = tensor_view(t, 1, (int64_t[]){6});
    tap_ok(bad == NULL && strstr(tensor_last_error(), "not contiguous"), "view of a transposed tensor errors");
    tensor *n = tensor_narrow(a, 1, 1, 2);
    tap_ok(n->size[1] == 2 && n->offset == 1, "narrow offsets into storage");
    tensor *bad2 = tensor_narrow(a, 1, 2, 2);
    tap_ok(bad2 == NULL, "narrow past the end errors");
    tensor_release(a); tensor_release(t); tensor_release(row); tensor_release(r); tensor_release(n);
}

static void test_broadcast_reduce(void) {
    float av[6] = {1, 2, 3, 4, 5, 6}, bv[3] = {10, 20, 30};
    tensor *a = from(2, (int64_t[]){2, 3}, av), *b = from(1, (int64_t[]){3}, bv);
    tensor *c = tensor_add(a, b);
    tap_close(at(c, 5), 36, 0, "[2,3] + [3] broadcasts");
    tensor *s = tensor_sum(a, 0, 0), *m = tensor_max(a, 1, 1), *am = tensor_argmax(a, 1, 0);
    tap_close(at(s, 2), 9, 0, "sum over dim 0");
    tap_ok(m->ndim == 2 && m->size[1] == 1, "keepdim keeps the dim");
    tap_close(at(am, 1), 2, 0, "argmax is 0-based in C");
    tensor *var = tensor_var(a, TENSOR_ALL_DIMS, 0, 1);
    tap_close(at(var, 0), 3.5, 1e-6, "unbiased var of 1..6");
    float bad[2] = {1, 2};
    tensor *x = from(1, (int64_t[]){2}, bad);
    tap_ok(tensor_add(a, x) == NULL && strstr(tensor_last_error(), "do not broadcast"), "mismatched shapes error");
    // the C reading is 0-based; the Lua rendering of the same raw message is 1-based
    tap_ok(strstr(tensor_last_error(), "dim 1 of the left is 3 but dim 0 of the right is 2") != NULL,
           "an error's dims read 0-based in C");
    char lua[1024];
    tensor_error_render(lua, sizeof lua, tensor_last_error_raw(), TENSOR_WORDS_LUA);
    tap_ok(strstr(lua, "dim 2 of the left is 3 but dim 1 of the right is 2") != NULL, "and 1-based for Lua");
    tap_ok(tensor_last_error_op() && strcmp(tensor_last_error_op(), "add") == 0, "the error names its op as a field");
    tensor_error_render(lua, sizeof lua, "f: use {{x:clone()|tensor_clone(x)}} at {{dim:0}}", TENSOR_WORDS_C);
    tap_ok(strcmp(lua, "f: use tensor_clone(x) at 0") == 0, "a fix worded for C");
    tensor_error_render(lua, sizeof lua, "f: use {{x:clone()|tensor_clone(x)}} at {{dim:0}}", TENSOR_WORDS_LUA);
    tap_ok(strcmp(lua, "f: use x:clone() at 1") == 0, "and for Lua");
    tensor_release(a); tensor_release(b); tensor_release(c); tensor_release(s); tensor_release(m);
    tensor_release(am); tensor_release(var); tensor_release(x);
}

static void test_matmul(void) {
    tensor_manual_seed(1);
    tensor *a = tensor_randn(3, (int64_t[]){4, 5, 7}, TENSOR_CPU);
    tensor *b = tensor_randn(2, (int64_t[]){7, 3}, TENSOR_CPU);
    tensor *c = tensor_matmul(a, b);
    tap_ok(c && c->ndim == 3 && c->size[0] == 4 && c->size[2] == 3, "batched x 2-d broadcasts to [4,5,3]");
    float *ha = tensor_to_host(a), *hb = tensor_to_host(b), *hc = tensor_to_host(c);
    double maxerr = 0;
    for (int n = 0; n < 4; n++)
        for (int i = 0; i < 5; i++)
            for (int j = 0; j < 3; j++) {
                double s = 0;
                for (int k = 0; k < 7; k++) s += ha[n * 35 + i * 7 + k] * hb[k * 3 + j];
                double e = fabs(s - hc[n * 15 + i * 3 + j]);
                if (e > maxerr) maxerr = e;
            }
    tap_ok(maxerr < 1e-4, "matmul equals a naive triple loop");
    tensor *bt = tensor_t(b);
    tensor *bad = tensor_matmul(a, bt);
    tap_ok(!bad && strstr(tensor_last_error(), "matmul: [4,5,7] x [3,7]: dim 2 of the left (7) must equal dim 0"),
           "matmul mismatch names both shapes and the dims");
    free(ha); free(hb); free(hc);
    tensor_release(a); tensor_release(b); tensor_release(c); tensor_release(bt);
}

// d(sum(f(x) * w))/dx by central differences in double-checked float
typedef tensor *(*fn1)(tensor *);
static tensor *f_softmax(tensor *x) { return tensor_softmax(x, 1); }
static tensor *f_logsm(tensor *x) { return tensor_log_softmax(x, 0); }
static tensor *f_tanh(tensor *x) { return tensor_tanh(x); }
static tensor *f_gelu(tensor *x) { return tensor_gelu(x); }
static tensor *f_sig(tensor *x) { return tensor_sigmoid(x); }
static tensor *f_var(tensor *x) { return tensor_var(x, 1, 1, 1); }
static tensor *f_max(tensor *x) { return tensor_max(x, 1, 0); }
static tensor *f_mm(tensor *x) { tensor *t = tensor_t(x); tensor *r = tensor_matmul(x, t); tensor_release(t); return r; }
static tensor *f_pool(tensor *x) {
    tensor *v = tensor_view(x, 4, (int64_t[]){1, 1, 3, 4});
    tensor *r = tensor_max_pool2d(v, 2, 1, 0);
    tensor_release(v);
    return r;
}
static tensor *f_conv(tensor *x) {
    static const float wv[8] = {0.3f, -0.2f, 0.5f, 0.1f, -0.4f, 0.25f, 0.7f, -0.6f};
    tensor *w = tensor_from_data(4, (int64_t[]){2, 1, 2, 2}, wv, TENSOR_CPU);
    tensor *v = tensor_view(x, 4, (int64_t[]){1, 1, 3, 4});
    tensor *r = tensor_conv2d(v, w, NULL, 1, 1, 1);
    tensor_release(v); tensor_release(w);
    return r;
}

// batch norm with x as the (2,2,3) input (N=2, C=2, L=3), fixed weight and bias
static tensor *bn_of(tensor *x, tensor *w, int training) {
    static const float bv[2] = {0.1f, -0.3f}, rmv[2] = {0.2f, -0.1f}, rvv[2] = {1.5f, 0.7f};
    tensor *b = tensor_from_data(1, (int64_t[]){2}, bv, TENSOR_CPU);
    tensor *rm = tensor_from_data(1, (int64_t[]){2}, rmv, TENSOR_CPU);
    tensor *rv = tensor_from_data(1, (int64_t[]){2}, rvv, TENSOR_CPU);
    tensor *r = tensor_batch_norm(x, w, b, rm, rv, training, 0.1f, 1e-5f);
    tensor_release(b); tensor_release(rm); tensor_release(rv);
    return r;
}
static tensor *f_bn(tensor *x, int training) {
    static const float wv[2] = {0.8f, -1.3f};
    tensor *w = tensor_from_data(1, (int64_t[]){2}, wv, TENSOR_CPU);
    tensor *v = tensor_view(x, 3, (int64_t[]){2, 2, 3});
    tensor *r = bn_of(v, w, training);
    tensor_release(v); tensor_release(w);
    return r;
}
static tensor *f_bn_train(tensor *x) { return f_bn(x, 1); }
static tensor *f_bn_eval(tensor *x) { return f_bn(x, 0); }
// the weight's gradient: x (3,4) gives 2 of its values as the weight of a fixed input
static tensor *f_bn_weight(tensor *x) {
    tensor_manual_seed(11);
    tensor *in = tensor_randn(3, (int64_t[]){2, 2, 3}, TENSOR_CPU);
    tensor *flat = tensor_view(x, 1, (int64_t[]){12});
    tensor *w = tensor_narrow(flat, 0, 0, 2);
    tensor *r = bn_of(in, w, 1);
    tensor *xv = tensor_view(x, 3, (int64_t[]){2, 2, 3});
    tensor *s = tensor_mul(r, xv);   // every x gets a gradient, the weight's two also through r
    tensor_release(in); tensor_release(flat); tensor_release(w); tensor_release(r); tensor_release(xv);
    return s;
}

static double loss_of(fn1 f, tensor *x, tensor **wout) {
    tensor *y = f(x);
    if (!*wout) { tensor_manual_seed(7); *wout = tensor_randn(y->ndim, y->size, TENSOR_CPU); }
    tensor *p = tensor_mul(y, *wout), *s = tensor_sum(p, TENSOR_ALL_DIMS, 0);
    float v;
    tensor_item(s, &v);
    tensor_release(y); tensor_release(p); tensor_release(s);
    return v;
}

static void gradcheck(const char *name, fn1 f) {
    tensor_manual_seed(3);
    tensor *x = tensor_randn(2, (int64_t[]){3, 4}, TENSOR_CPU);
    tensor_requires_grad_(x, 1);
    tensor *w = NULL;
    tensor *y = f(x);
    loss_of(f, x, &w);
    tensor *p = tensor_mul(y, w), *s = tensor_sum(p, TENSOR_ALL_DIMS, 0);
    int rc = tensor_backward(s, NULL);
    float *g = tensor_to_host(x->grad);
    double maxerr = 0;
    for (int i = 0; i < 12; i++) {
        float *d = x->storage->data;
        float orig = d[i];
        const float h = strcmp(name, "max") ? 1e-2f : 1e-3f;
        d[i] = orig + h; double lp = loss_of(f, x, &w);
        d[i] = orig - h; double lm = loss_of(f, x, &w);
        d[i] = orig;
        double num = (lp - lm) / (2 * h), err = fabs(num - g[i]) / (1 + fabs(num));
        if (err > maxerr) maxerr = err;
    }
    char msg[128];
    snprintf(msg, sizeof msg, "gradcheck %s (max rel err %.2g)", name, maxerr);
    tap_ok(rc == 0 && maxerr < 2e-2, msg);
    free(g);
    tensor_release(x); tensor_release(w); tensor_release(y); tensor_release(p); tensor_release(s);
}

static void test_autograd_rules(void) {
    float v[3] = {1, 2, 3};
    tensor *x = from(1, (int64_t[]){3}, v);
    tensor_requires_grad_(x, 1);
    for (int k = 0; k < 2; k++) {
        tensor *y = tensor_mul(x, x), *s = tensor_sum(y, TENSOR_ALL_DIMS, 0);
        tensor_backward(s, NULL);
        tensor_release(y); tensor_release(s);
    }
    tap_close(at(x->grad, 2), 12, 0, "gradients accumulate over two backward calls (2 * 2x)");
    tensor *y = tensor_mul_scalar(x, 2), *s = tensor_sum(y, TENSOR_ALL_DIMS, 0);
    tensor_backward(s, NULL);
    tap_ok(tensor_backward(s, NULL) == -1 && strstr(tensor_last_error(), "already"), "second backward errors clearly");
    tensor *nonscalar = tensor_mul_scalar(x, 3);
    tap_ok(tensor_backward(nonscalar, NULL) == -1 && strstr(tensor_last_error(), "scalar"), "backward on a vector errors");
    tensor_release(x); tensor_release(y); tensor_release(s); tensor_release(nonscalar);
}

static void test_meta(void) {
    int64_t live0 = tensor_live_bytes(TENSOR_META);
    tensor *q = tensor_empty(3, (int64_t[]){8, 50176, 64}, TENSOR_META);
    tensor *kt = tensor_transpose(q, 1, 2);
    tensor *att = tensor_matmul(q, kt);
    tap_ok(att && att->size[1] == 50176 && att->size[2] == 50176, "meta matmul gives [8,50176,50176]");
    tap_ok(tensor_live_bytes(TENSOR_META) - live0 >= (int64_t)8 * 50176 * 50176 * 4, "meta accounts 80.6 GB it never allocates");
    tensor_release(q); tensor_release(kt); tensor_release(att);
    tensor *huge = tensor_empty(2, (int64_t[]){1000000, 1000000}, TENSOR_CPU);
    tap_ok(!huge && strstr(tensor_last_error(), "out of memory"), "a 4 TB tensor is an error, not a crash");
}

// A loss summed a million times without :item() is one long chain; dropping it must
// free every node without recursing once per op (that overflowed the 8 MB C stack).
static void test_free_long_chain(void) {
    int64_t live0 = tensor_live_bytes(TENSOR_CPU);
    tensor *w = tensor_scalar(1.0f, TENSOR_CPU);
    tensor_requires_grad_(w, 1);
    tensor *total = tensor_scalar(0.0f, TENSOR_CPU);
    int ok = 1;
    for (int i = 0; i < 1000000 && ok; i++) {
        tensor *next = tensor_add(total, w);
        ok = next != NULL;
        tensor_release(total);
        total = next;
    }
    tap_ok(ok && total->grad_fn, "a 1,000,000-op autograd chain builds");
    tensor_release(total);
    tensor_release(w);
    tap_ok(tensor_live_bytes(TENSOR_CPU) == live0, "dropping it frees every tensor, without a stack overflow");
}

// an empty batch dim that GEMM's batch does not cover: the loop ran once on NULL data
static void test_matmul_empty_batch(void) {
    tensor *a = tensor_randn(4, (int64_t[]){3, 0, 2, 4}, TENSOR_CPU);
    tensor *ap = tensor_permute(a, (int[]){1, 0, 2, 3});      // [0,3,2,4], dims not mergeable
    tensor *b = tensor_randn(4, (int64_t[]){1, 3, 4, 5}, TENSOR_CPU);
    tensor *c = tensor_matmul(ap, b);
    tap_ok(c && c->ndim == 4 && c->size[0] == 0 && c->size[3] == 5, "matmul with an empty, unmerged batch dim");
    tensor_release(a); tensor_release(ap); tensor_release(b); tensor_release(c);
}

int main(void) {
    test_free_long_chain();
    test_matmul_empty_batch();
    test_views();
    test_broadcast_reduce();
    test_matmul();
    test_autograd_rules();
    test_meta();
    gradcheck("softmax", f_softmax);
    gradcheck("log_softmax", f_logsm);
    gradcheck("tanh", f_tanh);
    gradcheck("gelu", f_gelu);
    gradcheck("sigmoid", f_sig);
    gradcheck("var", f_var);
    gradcheck("max", f_max);
    gradcheck("matmul x x^T", f_mm);
    gradcheck("max_pool2d", f_pool);
    gradcheck("conv2d", f_conv);
    gradcheck("batch_norm train", f_bn_train);
    gradcheck("batch_norm eval", f_bn_eval);
    gradcheck("batch_norm weight", f_bn_weight);
    return tap_done();
}
