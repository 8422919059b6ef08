// test_nn.c - the nn C library on its own: values against the PyTorch fixtures
// (tests/fixtures/nn), 0-based label checks, teaching errors, the meta device,
// init bounds, optimizer steps, mult-add counts, and that nothing leaks.
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "tap.h"
#include "../../nn/nn.h"

#define FIX "tests/fixtures/nn/"

static tensor *fx(const char *c, const char *name) {
    char path[256];
    snprintf(path, sizeof path, FIX "%s.%s.npy", c, name);
    tensor *t = tensor_load_npy(path);
    if (!t) printf("# %s\n", tensor_last_error());
    return t;
}

// max |a-b| / max(max|b|, 1e-3)
static double rel_err(const tensor *a, const tensor *b) {
    if (!a || !b || tensor_numel(a) != tensor_numel(b)) return INFINITY;
    float *x = tensor_to_host(a), *y = tensor_to_host(b);
    double err = 0, scale = 1e-3;
    for (int64_t i = 0; i < tensor_numel(a); i++) {
        err = fmax(err, fabs((double)x[i] - y[i]));
        scale = fmax(scale, fabs((double)y[i]));
    }
    free(x);
    free(y);
    return err / scale;
}

// rel_err against fixture case.name (loaded and released here)
static double rel_err_fx(const tensor *a, const char *c, const char *name) {
    tensor *b = fx(c, name);
    double e = rel_err(a, b);
    tensor_release(b);
    return e;
}

static int has(const char *needle) {
    int ok = strstr(tensor_last_error(), needle) != NULL;
    if (!ok) printf("# message: %s\n", tensor_last_error());
    return ok;
}

static void test_linear_fixture(void) {
    tensor *x = fx("linear", "x"), *w = fx("linear", "w"), *b = fx("linear", "b"), *r = fx("linear", "r");
    tensor_requires_grad_(w, 1);
    tensor *y = nn_linear(x, w, b);
    tap_ok(y && rel_err_fx(y, "linear", "out") < 1e-4, "nn_linear [2,3,5] x [4,5]^T matches PyTorch");
    tensor *p = tensor_mul(y, r), *loss = tensor_sum(p, TENSOR_ALL_DIMS, 0);
    tap_ok(tensor_backward(loss, NULL) == 0 && rel_err_fx(w->grad, "linear", "g_w") < 1e-4,
           "nn_linear weight gradient matches PyTorch");
    tensor_release(loss);
    tensor_release(p);
    tensor_release(y);
    tensor_release(x);
    tensor_release(w);
    tensor_release(b);
    tensor_release(r);
}

static void test_cross_entropy(void) {
    tensor *x = fx("ce_mean", "x"), *l1 = fx("ce_mean", "labels");
    tensor *l0 = tensor_add_scalar(l1, -1.0f);                 // fixtures are 1-based; C is 0-based
    tensor *loss = nn_cross_entropy(x, l0, NN_REDUCTION_MEAN);
    tap_ok(loss && rel_err_fx(loss, "ce_mean", "out") < 1e-5, "nn_cross_entropy (0-based labels) matches PyTorch");
    tensor *loss1 = nn_cross_entropy_base(x, l1, NN_REDUCTION_MEAN, 1);
    tap_ok(loss1 && rel_err(loss1, loss) == 0, "nn_cross_entropy_base(.., 1) equals the 0-based call");
    float bad[3] = {0, 5, 1};
    int64_t n = 3;
    tensor *lb = tensor_from_data(1, &n, bad, TENSOR_CPU);
    tensor *x3 = tensor_narrow(x, 0, 0, 3);
    tap_ok(!nn_cross_entropy(x3, lb, NN_REDUCTION_MEAN) &&
           has("label 5 at position 1: labels are 0-based classes 0..4"), "label out of range: named, 0-based in C");
    tensor_release(x3);
    tensor_release(lb);
    tensor_release(loss);
    tensor_release(loss1);
    tensor_release(l0);
    tensor_release(l1);
    tensor_release(x);
}

static void test_errors(void) {
    int64_t xs[4] = {64, 1, 28, 28}, ws[2] = {10, 784};
    tensor *x = tensor_zeros(4, xs, TENSOR_META), *w = tensor_zeros(2, ws, TENSOR_META);
    tap_ok(!nn_linear(x, w, NULL) &&
           has("nn.Linear(784->10): expects last dim 784, got [64,1,28,28]; did you forget "
               "tensor_flatten(x, 1, -1)?"),
           "Linear on unflattened images names the shapes and the fix, in C terms");
    int64_t cw[4] = {8, 3, 3, 3};
    tensor *k = tensor_zeros(4, cw, TENSOR_META);
    tap_ok(!nn_conv2d(x, k, NULL, 1, 0, 1) &&
               has("nn.Conv2d(3->8, k=3x3): expects 3 input channels at dim 1 (weight [8,3,3,3], groups = 1), "
                   "got [64,1,28,28]"),
           "Conv2d channel mismatch: checked once by the op, named by the layer, 0-based dim in C");
    tap_ok(tensor_last_error_op() && strcmp(tensor_last_error_op(), "nn.Conv2d(3->8, k=3x3)") == 0,
           "the renamed error's op field is the layer");
    tap_ok(!tensor_conv2d(x, k, NULL, 1, 0, 1) && has("conv2d: expects 3 input channels"),
           "the op alone keeps its own name");
    tensor_set_error("matmul: a nested op failed");
    tensor_error_rename("conv2d", "nn.Conv2d(...)");
    tap_ok(has("matmul: a nested op failed") && strcmp(tensor_last_error_op(), "matmul") == 0,
           "a nested op's error keeps its name (only conv2d's own errors are renamed)");
    tensor *img3 = tensor_zeros(3, (int64_t[]){1, 28, 28}, TENSOR_META);
    tap_ok(!nn_conv2d(img3, k, NULL, 1, 0, 1) &&
               has("nn.Conv2d(3->8, k=3x3): expects [B,C,H,W] input, got [1,28,28]; add a batch dim with "
                   "tensor_unsqueeze(x, 0)"),
           "a missing batch dim: the fix in C words");
    tensor_release(img3);
    tap_ok(!nn_max_pool2d(x, 64, 0, 0) && has("nn.MaxPool2d: kernel 64x64 is larger than the padded input 28x28"),
           "MaxPool2d: the op's check under the layer's name");
    tensor *bw = tensor_ones(1, (int64_t[]){3}, TENSOR_META);
    tap_ok(!nn_batch_norm(x, NULL, NULL, bw, NULL, 1, 0.1f, 1e-5f) &&
               has("nn.BatchNorm2d(3): the input [64,1,28,28] has 1 channels at dim 1 but the weight is [3]"),
           "BatchNorm: one check (tensor_batch_norm), the layer's name, a 0-based dim in C");
    tensor_release(bw);
    tap_ok(!nn_dropout(x, 1.5f, 1) && has("must be in [0, 1]"), "Dropout(1.5) is rejected");
    tensor *z = nn_dropout(x, 1.0f, 1);     // p = 1 zeroes everything, as in PyTorch
    tap_ok(z != NULL, "Dropout(1) is allowed");
    tensor_release(z);
    nn_reduction r;
    tap_ok(nn_parse_reduction("avg", &r) == -1 && has("\"mean\", \"sum\" or \"none\""), "unknown reduction");
    tensor_release(x);
    tensor_release(w);
    tensor_release(k);
}

static void test_meta(void) {
    int64_t xs[3] = {1, 65536, 64}, ws[2] = {8, 64};
    tensor *x = tensor_empty(3, xs, TENSOR_META), *w = tensor_empty(2, ws, TENSOR_META);
    tensor *y = nn_linear(x, w, NULL);
    tap_ok(y && y->ndim == 3 && y->size[2] == 8 && y->storage->device == TENSOR_META,
           "Linear(64,8) on meta [1,65536,64] -> [1,65536,8]");
    tap_ok(y && nn_mult_adds("linear", y, w) == 65536LL * 64 * 8, "its mult-adds: 65536*64*8");
    int64_t qs[3] = {8, 224 * 224, 64};
    tensor *q = tensor_empty(3, qs, TENSOR_META);
    tensor_reset_peak(TENSOR_META);
    tensor *a = nn_scaled_dot_attention(q, q, q, 0);
    tap_ok(a && tensor_peak_bytes(TENSOR_META) >= 80.6e9, "full attention over 50176 tokens: >= 80.6e9 bytes on meta");
    tensor_release(a);
    tensor_release(q);
    tensor_release(y);
    tensor_release(x);
    tensor_release(w);
}

static void test_init_and_steps(void) {
    int64_t s[2] = {300, 400};
    tensor *w = tensor_empty(2, s, TENSOR_CPU);
    tensor_manual_seed(0);
    tap_ok(nn_kaiming_uniform_(w, 400) == 0, "kaiming_uniform_ runs");
    float *v = tensor_to_host(w);
    double mx = 0;
    for (int i = 0; i < 300 * 400; i++) mx = fmax(mx, fabs(v[i]));
    free(v);
    tap_ok(mx <= 0.05 && mx > 0.0499, "kaiming bound 1/sqrt(400) = 0.05");
    tap_ok(nn_kaiming_uniform_(w, 0) == -1, "fan_in 0 is an error");
    tensor_release(w);

    int64_t n = 2;
    float pv[2] = {1, 2}, gv[2] = {0.5f, -1};
    tensor *p = tensor_from_data(1, &n, pv, TENSOR_CPU);
    tensor_requires_grad_(p, 1);
    tap_ok(nn_sgd_step(p, NULL, 0.1f, 0, 0, 0, 0, 1) == 0, "sgd without a grad is a no-op");
    p->grad = tensor_from_data(1, &n, gv, TENSOR_CPU);
    tap_ok(nn_sgd_step(p, NULL, 0.1f, 0, 0, 0, 0, 1) == 0, "plain sgd step");
    float out[2];
    float *h = tensor_to_host(p);
    memcpy(out, h, sizeof out);
    free(h);
    tap_close(out[0], 0.95, 1e-6, "p -= lr * g (1)");
    tap_close(out[1], 2.1, 1e-6, "p -= lr * g (2)");
    tensor_release(p);
}

static void test_posenc(void) {
    tensor *pe = nn_pos_sincos_2d(3, 4, 8, TENSOR_CPU);
    tap_ok(pe && rel_err_fx(pe, "pos_sincos_2d", "out") < 1e-6, "pos_sincos_2d(3,4,8) matches the reference");
    tensor_release(pe);
}

int main(void) {
    int64_t cpu0 = tensor_live_bytes(TENSOR_CPU);
    test_linear_fixture();
    test_cross_entropy();
    test_errors();
    test_meta();
    test_init_and_steps();
    test_posenc();
    int64_t left = tensor_live_bytes(TENSOR_CPU) - cpu0;
    if (left) printf("# %lld bytes still live\n", (long long)left);
    tap_ok(left == 0, "no cpu tensors leak");
    return tap_done();
}
