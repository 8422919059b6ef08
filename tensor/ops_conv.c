// ops_conv.c - unfold (im2col) and conv2d built on it (a GEMM over the columns);
// max and average pooling (direct kernels).
#include <limits.h>
#include <math.h>
#include "internal.h"

// the fix for an input that is not (B,C,H,W), by what it looks like
static const char *image_hint(const tensor *x) {
    return x->ndim == 3 ? "add a batch dim with {{x:unsqueeze(1)|tensor_unsqueeze(x, 0)}}"
         : x->ndim == 2 ? "reshape rows of pixels to images, e.g. "
                          "{{x:view(-1, 1, 28, 28)|tensor_view(x, 4, (int64_t[]){-1, 1, 28, 28})}}"
                        : "reshape it to [B,C,H,W]";
}

static int conv_out(const char *op, const tensor *x, int kh, int kw, int sh, int sw, int ph, int pw,
                    int64_t *oh, int64_t *ow) {
    char s[160];
    if (x->ndim != 4) {
        tensor_set_error("%s: expects [B,C,H,W] input, got %s; %s", op, tensor_shape_str(s, sizeof s, x), image_hint(x));
        return -1;
    }
    if (kh <= 0 || kw <= 0 || sh <= 0 || sw <= 0 || ph < 0 || pw < 0) {
        tensor_set_error("%s: kernel %dx%d, stride %dx%d, padding %dx%d: kernel and stride must be positive, "
                         "padding non-negative", op, kh, kw, sh, sw, ph, pw);
        return -1;
    }
    // int64: 2 * padding overflows an int from padding = 2^30 on
    int64_t hp = x->size[2] + 2 * (int64_t)ph, wp = x->size[3] + 2 * (int64_t)pw;
    *oh = (hp - kh) / sh + 1;
    *ow = (wp - kw) / sw + 1;
    if (hp < kh || wp < kw) {
        tensor_set_error("%s: kernel %dx%d is larger than the padded input %lldx%lld of %s; use a smaller kernel or "
                         "more padding", op, kh, kw,
                         (long long)hp, (long long)wp, tensor_shape_str(s, sizeof s, x));
        return -1;
    }
    // the columns are (C*kh*kw, oh*ow) per image: products that wrap int64 would give a
    // silently empty or wrong shape (padding 2^31-1 made a 4x4 image 2^32 x 0)
    int64_t l, r;
    if (__builtin_mul_overflow(*oh, *ow, &l) || __builtin_mul_overflow(x->size[1], (int64_t)kh * kw, &r) ||
        (l && r > INT64_MAX / 8 / l)) {
        tensor_set_error("%s: kernel %dx%d, stride %dx%d, padding %dx%d on %s give %lldx%lld windows of %lld "
                         "pixels: too large to compute; use a smaller padding or kernel", op, kh, kw, sh, sw,
                         ph, pw, tensor_shape_str(s, sizeof s, x), (long long)*oh, (long long)*ow, (long long)kh * kw);
        return -1;
    }
    return 0;
}

static int unfold_back(tensor_node *n, tensor *out, tensor *g, tensor **gin) {
    tensor *x = n->inputs[0];
    const int64_t *a = n->iarg;
    tensor *z = tensor_zeros(x->ndim, x->size, x->storage->device);
    tensor *gc = tensor_contiguous(g);
    int rc = !z || !gc ||
             TENSOR_RUN(x, fold2d, tensor_data(z), tensor_data(gc), x->size[0], x->size[1], x->size[2], x->size[3],
                        (int)a[0], (int)a[1], (int)a[2], (int)a[3], (int)a[4], (int)a[5], a[6], a[7], (int)a[8]);
    tensor_release(gc);
    if (rc) { tensor_release(z); return -1; }
    gin[0] = z;
    return 0;
}

// x is (B,C,H,W) -> (B, C*kh*kw, OH*OW), or with batch_inner (C*kh*kw, B, OH*OW)
static tensor *unfold(const char *op, tensor *x, int kh, int kw, int sh, int sw, int ph, int pw, float pad_value,
                      int batch_inner) {
    int64_t oh, ow;
    if (conv_out(op, x, kh, kw, sh, sw, ph, pw, &oh, &ow)) return NULL;
    int64_t B = x->size[0], C = x->size[1];
    int64_t sz[3] = {B, C * kh * kw, oh * ow};
    if (batch_inner) { sz[0] = C * kh * kw; sz[1] = B; }
    tensor *xc = tensor_contiguous(x);
    tensor *out = xc ? tensor_empty(3, sz, x->storage->device) : NULL;
    int rc = !out || TENSOR_RUN(out, unfold2d, tensor_data(out), tensor_data(xc), B, C, x->size[2], x->size[3], kh,
                                kw, sh, sw, ph, pw, oh, ow, pad_value, batch_inner);
    tensor_release(xc);
    if (rc) { tensor_release(out); return NULL; }
    tensor_node *n = tensor_record(out, "unfold", unfold_back, 1, &x);
    if (n) {
        int64_t a[9] = {kh, kw, sh, sw, ph, pw, oh, ow, batch_inner};
        for (int i = 0; i < 9; i++) n->iarg[i] = a[i];
    }
    return out;
}

tensor *tensor_unfold2d(tensor *x, int kh, int kw, int sh, int sw, int ph, int pw, float pad_value) {
    return unfold("unfold", x, kh, kw, sh, sw, ph, pw, pad_value, 0);
}

// ---- direct convolution: the backend's own kernels (oneDNN on the cpu, cuDNN on the gpu) ----

// the geometry of x * w with PyTorch's floor for the output size
static void conv_geometry(const tensor *x, const tensor *w, int stride, int padding, int groups, tensor_conv_shape *s) {
    s->B = x->size[0]; s->C = x->size[1]; s->H = x->size[2]; s->W = x->size[3];
    s->O = w->size[0]; s->kh = w->size[2]; s->kw = w->size[3];
    s->sh = s->sw = stride; s->ph = s->pw = padding; s->groups = groups;
    s->oh = (s->H + 2 * (int64_t)padding - s->kh) / stride + 1;
    s->ow = (s->W + 2 * (int64_t)padding - s->kw) / stride + 1;
    s->pr_h = (s->oh - 1) * stride + s->kh - s->H - padding;
    s->pr_w = (s->ow - 1) * stride + s->kw - s->W - padding;
}

static int conv_direct_back(tensor_node *n, tensor *out, tensor *g, tensor **gin) {
    tensor *x = n->inputs[0], *w = n->inputs[1], *b = n->n_inputs > 2 ? n->inputs[2] : NULL;
    const tensor_backend *be = tensor_backend_of(x);
    tensor_conv_shape s;
    conv_geometry(x, w, (int)n->iarg[0], (int)n->iarg[1], (int)n->iarg[2], &s);
    tensor *gc = tensor_contiguous(g), *gx = NULL, *gw = NULL, *gb = NULL, *xc = NULL, *wc = NULL;
    int rc = !gc;
    if (!rc && x->requires_grad) {
        wc = tensor_contiguous(w);
        gx = wc ? tensor_empty(4, x->size, x->storage->device) : NULL;
        rc = !gx || be->conv2d_backward_data(tensor_data(gx), tensor_data(gc), tensor_data(wc), &s);
    }
    if (!rc && (w->requires_grad || (b && b->requires_grad))) {
        xc = tensor_contiguous(x);
        gw = xc ? tensor_empty(4, w->size, w->storage->device) : NULL;
        gb = gw && b ? tensor_empty(1, b->size, b->storage->device) : NULL;
        rc = !gw || (b && !gb) ||
             be->conv2d_backward_weights(tensor_data(gw), gb ? tensor_data(gb) : NULL, tensor_data(xc), tensor_data(gc), &s);
    }
    // the forward ran here, so its backward has a kernel too; 1 would be a oneDNN surprise
    if (rc == 1) tensor_set_error("backward of conv2d: the direct kernel refused this shape; run with NNLAB_CONV=im2col");
    tensor_release(gc); tensor_release(xc); tensor_release(wc);
    if (rc) { tensor_release(gx); tensor_release(gw); tensor_release(gb); return -1; }
    gin[0] = gx;
    gin[1] = gw;
    if (b) gin[2] = gb;
    return 0;
}

// y, or NULL with *declined = 1 when the backend has no direct kernel for this case
static tensor *conv_direct(tensor *x, tensor *w, tensor *bias, int stride, int padding, int groups, int *declined) {
    const tensor_backend *be = tensor_backend_of(x);
    *declined = 1;   // meta and empty tensors take the im2col route, which only shapes them
    if (!tensor_has_work(x) || !tensor_has_work(w) || !be->conv2d || !be->conv2d_backward_data ||
        !be->conv2d_backward_weights)
        return NULL;
    tensor_conv_shape s;
    conv_geometry(x, w, stride, padding, groups, &s);
    int64_t ys[4] = {s.B, s.O, s.oh, s.ow};
    tensor *xc = tensor_contiguous(x), *wc = xc ? tensor_contiguous(w) : NULL;
    tensor *bc = wc && bias ? tensor_contiguous(bias) : NULL;
    tensor *y = wc && (!bias || bc) ? tensor_empty(4, ys, x->storage->device) : NULL;
    int rc = y ? be->conv2d(tensor_data(y), tensor_data(xc), tensor_data(wc), bc ? tensor_data(bc) : NULL, &s) : -1;
    tensor_release(xc); tensor_release(wc); tensor_release(bc);
    if (rc) {
        tensor_release(y);
        *declined = rc == 1;
        return NULL;
    }
    *declined = 0;
    tensor *in[3] = {x, w, bias};
    tensor_node *n = tensor_record(y, "conv2d", conv_direct_back, bias ? 3 : 2, in);
    if (n) {
        n->iarg[0] = stride; n->iarg[1] = padding; n->iarg[2] = groups;
        n->reads = TENSOR_READS_IN(0) | TENSOR_READS_IN(1);
    }
    return y;
}

// (B,C,H,W) * (O,C/groups,kh,kw) -> (B,O,OH,OW): the backend's direct kernel when it has
// one (oneDNN, cuDNN), else the columns of each group times its filters
tensor *tensor_conv2d(tensor *x, tensor *w, tensor *bias, int stride, int padding, int groups) {
    char s1[160], s2[160];
    if (!x || !w) { tensor_set_error("conv2d: missing %s", x ? "weight" : "input"); return NULL; }
    if (tensor_check_same_device("conv2d", bias ? 3 : 2, (tensor *[]){x, w, bias})) return NULL;
    if (w->ndim != 4) {
        tensor_set_error("conv2d: the weight must be [out, in/groups, kh, kw], got %s", tensor_shape_str(s1, sizeof s1, w));
        return NULL;
    }
    if (x->ndim != 4) {
        tensor_set_error("conv2d: expects [B,C,H,W] input, got %s; %s", tensor_shape_str(s1, sizeof s1, x), image_hint(x));
        return NULL;
    }
    int64_t O = w->size[0], Cg = w->size[1], C = x->size[1];
    if (groups <= 0 || O % groups) {
        tensor_set_error("conv2d: groups = %d must be a positive divisor of the weight's %lld output channels "
                         "(weight %s)", groups, (long long)O, tensor_shape_str(s1, sizeof s1, w));
        return NULL;
    }
    if (Cg * groups != C) {
        const char *hint = x->size[3] == Cg * groups
                               ? "; channels look last: {{x:permute(1, 4, 2, 3)|tensor_permute(x, (int[]){0, 3, 1, 2})}}"
                               : "";
        tensor_set_error("conv2d: expects %lld input channels at dim {{dim:1}} (weight %s, groups = %d), got %s%s",
                         (long long)(Cg * groups), tensor_shape_str(s2, sizeof s2, w), groups,
                         tensor_shape_str(s1, sizeof s1, x), hint);
        return NULL;
    }
    if (bias && (bias->ndim != 1 || bias->size[0] != O)) {
        tensor_set_error("conv2d: bias must be [%lld], got %s", (long long)O, tensor_shape_str(s1, sizeof s1, bias));
        return NULL;
    }
    if (w->size[2] > INT_MAX || w->size[3] > INT_MAX) {   // kernel sizes run as C ints
        tensor_set_error("conv2d: the weight %s has a kernel larger than %d in a dim; use a smaller kernel",
                         tensor_shape_str(s1, sizeof s1, w), INT_MAX);
        return NULL;
    }
    int kh = (int)w->size[2], kw = (int)w->size[3];
    int64_t oh0, ow0;
    if (conv_out("conv2d", x, kh, kw, stride, stride, padding, padding, &oh0, &ow0)) return NULL;
    int declined;   // oneDNN on the cpu, cuDNN on the gpu, or im2col below
    tensor *y = conv_direct(x, w, bias, stride, padding, groups, &declined);
    if (y || !declined) return y;
    // One GEMM per group over the whole batch, not one per image: the columns come
    // laid out (C*kh*kw, B, L) so the weight (g, O/g, Cg*kh*kw) multiplies all B*L
    // positions at once (128 small GEMMs with K = 9 ran at ~1 GFLOP/s).
    tensor *cols = unfold("conv2d", x, kh, kw, stride, stride, padding, padding, 0.0f, 1);
    if (!cols) return NULL;
    int64_t B = x->size[0], L = cols->size[2];
    int64_t oh = (x->size[2] + 2 * (int64_t)padding - kh) / stride + 1, ow = L / (oh ? oh : 1);
    int64_t K = Cg * kh * kw;
    int64_t cs[3] = {groups, K, B * L}, ws[3] = {groups, O / groups, K}, ys[4] = {O, B, oh, ow};
    tensor *cf = tensor_view(cols, 3, cs);                                  // (g, K, B*L)
    tensor *w3 = cf ? tensor_reshape(w, 3, ws) : NULL;
    y = w3 ? tensor_matmul(w3, cf) : NULL;                                  // (g, O/g, B*L)
    tensor *yo = y ? tensor_view(y, 4, ys) : NULL;                          // (O, B, oh, ow)
    tensor *y4 = yo ? tensor_permute(yo, (int[]){1, 0, 2, 3}) : NULL;       // (B, O, oh, ow), a view
    tensor_release(cf); tensor_release(yo);
    tensor *out = y4;
    if (y4 && bias) {
        int64_t bs[4] = {1, O, 1, 1};
        tensor *b4 = tensor_view(bias, 4, bs);
        out = b4 ? tensor_add(y4, b4) : NULL;
        tensor_release(b4);
        tensor_release(y4);
    }
    tensor_release(cols); tensor_release(w3); tensor_release(y);
    return out;
}

// Pooling runs direct kernels: the unfold route copied every window into columns
// (k*k times the input), reduced them and, backward, scattered and folded them again.
static int max_pool_back(tensor_node *n, tensor *out, tensor *g, tensor **gin) {
    tensor *x = n->inputs[0], *idx = n->saved[0];
    int64_t planes = x->size[0] * x->size[1];
    tensor *z = tensor_zeros(x->ndim, x->size, x->storage->device);
    tensor *gc = tensor_contiguous(g);
    int rc = !z || !gc ||
             TENSOR_RUN(g, max_pool2d_backward, tensor_data(z), tensor_data(gc), tensor_data(idx), planes,
                        x->size[2] * x->size[3], out->size[2] * out->size[3]);
    tensor_release(gc);
    if (rc) { tensor_release(z); return -1; }
    gin[0] = z;
    return 0;
}

static int avg_pool_back(tensor_node *n, tensor *out, tensor *g, tensor **gin) {
    tensor *x = n->inputs[0];
    int k = (int)n->iarg[0], st = (int)n->iarg[1], p = (int)n->iarg[2];
    tensor *z = tensor_zeros(x->ndim, x->size, x->storage->device);
    tensor *gc = tensor_contiguous(g);
    int rc = !z || !gc ||
             TENSOR_RUN(g, avg_pool2d_backward, tensor_data(z), tensor_data(gc), x->size[0], x->size[1], x->size[2],
                        x->size[3], k, k, st, st, p, p, out->size[2], out->size[3]);
    tensor_release(gc);
    if (rc) { tensor_release(z); return -1; }
    gin[0] = z;
    return 0;
}

// x is (B,C,H,W) -> (B,C,OH,OW): max (NaN wins, -inf padding) or mean (zero padding counted)
static tensor *pool(const char *op, tensor *x, int k, int stride, int padding, int is_max) {
    char s[160];
    if (!x) { tensor_set_error("%s: missing input", op); return NULL; }
    if (stride <= 0) stride = k;
    if (padding > k / 2) {
        tensor_set_error("%s: padding %d must be at most half the kernel size %d", op, padding, k);
        return NULL;
    }
    int64_t oh, ow;
    if (conv_out(op, x, k, k, stride, stride, padding, padding, &oh, &ow)) return NULL;
    int64_t B = x->size[0], C = x->size[1], H = x->size[2], W = x->size[3];
    if (C == 0 || H == 0 || W == 0) {   // a window of padding only has no value (max gave uninitialised memory)
        tensor_set_error("%s: input %s has an empty dim {{dim:%d}}; only the batch dim may be 0 (as in PyTorch)", op,
                         tensor_shape_str(s, sizeof s, x), C == 0 ? 1 : H == 0 ? 2 : 3);
        return NULL;
    }
    if (is_max && H * W > ((int64_t)1 << 24)) {   // the argmax is kept as a float
        tensor_set_error("%s: an image plane of %s has more than 2^24 pixels", op, tensor_shape_str(s, sizeof s, x));
        return NULL;
    }
    int64_t os[4] = {B, C, oh, ow};
    tensor *xc = tensor_contiguous(x);
    tensor *out = xc ? tensor_empty(4, os, x->storage->device) : NULL;
    tensor *idx = out && is_max ? tensor_empty(4, os, x->storage->device) : NULL;
    int rc = !out || (is_max && !idx);
    if (!rc)
        rc = is_max ? TENSOR_RUN(out, max_pool2d, tensor_data(out), tensor_data(idx), tensor_data(xc), B, C, H, W, k, k,
                                 stride, stride, padding, padding, oh, ow)
                    : TENSOR_RUN(out, avg_pool2d, tensor_data(out), tensor_data(xc), B, C, H, W, k, k, stride, stride,
                                 padding, padding, oh, ow);
    tensor_release(xc);
    if (rc) { tensor_release(out); tensor_release(idx); return NULL; }
    tensor_node *n = tensor_record(out, op, is_max ? max_pool_back : avg_pool_back, 1, &x);
    if (n) {
        n->iarg[0] = k; n->iarg[1] = stride; n->iarg[2] = padding;
        tensor_node_save(n, 0, idx);
    } else {
        tensor_release(idx);
    }
    return out;
}

tensor *tensor_max_pool2d(tensor *x, int k, int stride, int padding) { return pool("max_pool2d", x, k, stride, padding, 1); }
tensor *tensor_avg_pool2d(tensor *x, int k, int stride, int padding) { return pool("avg_pool2d", x, k, stride, padding, 0); }
