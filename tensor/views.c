// views.c - ops that return a new view of the same storage (no copy), plus
// contiguous/clone/copy_. Each view's backward maps the gradient back to the source.
#include <stdlib.h>
#include <string.h>
#include "internal.h"

// views record nodes whose backward needs only shapes
static tensor_node *record_view(tensor *v, const char *op, tensor_backward_fn bw, tensor *t) {
    tensor_node *n = tensor_record(v, op, bw, 1, &t);
    if (n) n->shape_only = n->is_view = 1;
    return n;
}

static tensor *view_new(tensor *t) {
    tensor *v = tensor_header_alloc();
    if (!v) return NULL;
    v->refcount = 1;
    v->ndim = t->ndim;
    memcpy(v->size, t->size, sizeof v->size);
    memcpy(v->stride, t->stride, sizeof v->stride);
    v->offset = t->offset;
    v->storage = t->storage;
    t->storage->refcount++;
    return v;
}

// ---- backward functions shared by the views ----
static int reshape_back(tensor_node *n, tensor *out, tensor *g, tensor **gin) {
    tensor *in = n->inputs[0];
    gin[0] = tensor_reshape(g, in->ndim, in->size);
    return gin[0] ? 0 : -1;
}

static int permute_back(tensor_node *n, tensor *out, tensor *g, tensor **gin) {
    int inv[TENSOR_MAX_DIMS];
    for (int i = 0; i < out->ndim; i++) inv[n->iarg[i]] = i;
    gin[0] = tensor_permute(g, inv);
    return gin[0] ? 0 : -1;
}

// narrow/select: the gradient lands in a zero tensor through the same view
static int slice_back(tensor_node *n, tensor *out, tensor *g, tensor **gin) {
    tensor *in = n->inputs[0];
    tensor *z = tensor_zeros(in->ndim, in->size, in->storage->device);
    if (!z) return -1;
    tensor *dst = n->iarg[2] ? tensor_select(z, (int)n->iarg[0], n->iarg[1])
                             : tensor_narrow(z, (int)n->iarg[0], n->iarg[1], n->iarg[3]);
    if (!dst || tensor_copy_(dst, g)) { tensor_release(dst); tensor_release(z); return -1; }
    tensor_release(dst);
    gin[0] = z;
    return 0;
}

static int expand_back(tensor_node *n, tensor *out, tensor *g, tensor **gin) {
    gin[0] = tensor_sum_to(g, n->inputs[0]);
    return gin[0] ? 0 : -1;
}

static int identity_back(tensor_node *n, tensor *out, tensor *g, tensor **gin) {
    gin[0] = tensor_retain(g);
    return 0;
}

// ---- views ----
// Strides for viewing t as sizes without a copy, if they exist (PyTorch's rule:
// each run of source dims that is contiguous in memory may be re-split freely).
static int view_strides(const tensor *t, int ndim, const int64_t *sizes, int64_t *strides) {
    if (tensor_numel(t) == 0 || t->ndim == 0) {
        int64_t st = 1;
        for (int i = ndim - 1; i >= 0; i--) { strides[i] = st; st *= sizes[i] ? sizes[i] : 1; }
        return 1;
    }
    int vd = ndim - 1;
    int64_t base = t->stride[t->ndim - 1];   // stride of the innermost dim of the current run
    int64_t run = 1, chunk = 1;
    for (int td = t->ndim - 1; td >= 0; td--) {
        run *= t->size[td];
        // a run ends where the next-outer dim is not contiguous with this one
        if (td == 0 || (t->size[td - 1] != 1 && t->stride[td - 1] != run * base)) {
            while (vd >= 0 && (chunk < run || sizes[vd] == 1)) {
                strides[vd] = chunk * base;
                chunk *= sizes[vd];
                vd--;
            }
            if (chunk != run) return 0;
            if (td > 0) { base = t->stride[td - 1]; run = 1; chunk = 1; }
        }
    }
    return vd == -1;
}

// resolve one -1 size and check the element count
static int infer_sizes(const char *op, const tensor *t, int ndim, const int64_t *in, int64_t *out) {
    char s1[160], s2[160];
    int neg = -1;
    int64_t prod = 1, nonzero = 1;   // nonzero: bounds the strides of an empty result too
    if (ndim > TENSOR_MAX_DIMS) { tensor_set_error("%s: at most %d dims", op, TENSOR_MAX_DIMS); return -1; }
    for (int i = 0; i < ndim; i++) {
        out[i] = in[i];
        if (in[i] == -1) {
            if (neg >= 0) { tensor_set_error("%s: only one size may be -1", op); return -1; }
            neg = i;
        } else if (in[i] < 0) {
            tensor_set_error("%s: size %lld is invalid", op, (long long)in[i]);
            return -1;
        } else if (__builtin_mul_overflow(prod, in[i], &prod) ||
                   __builtin_mul_overflow(nonzero, in[i] ? in[i] : 1, &nonzero)) {   // signed overflow is undefined
            tensor_set_error("%s: the sizes %s overflow a 64-bit element count", op,
                             tensor_sizes_str(s1, sizeof s1, ndim, in));
            return -1;
        }
    }
    int64_t n = tensor_numel(t);
    if (neg >= 0) {
        if (prod == 0 || n % prod) {
            tensor_set_error("%s: cannot infer the -1 in %s for a tensor of shape %s (%lld elements)", op,
                             tensor_sizes_str(s1, sizeof s1, ndim, in), tensor_shape_str(s2, sizeof s2, t), (long long)n);
            return -1;
        }
        out[neg] = n / prod;
        prod = n;
    }
    if (prod != n) {
        tensor_set_error("%s: shape %s has %lld elements but the tensor %s has %lld", op,
                         tensor_sizes_str(s1, sizeof s1, ndim, in), (long long)prod,
                         tensor_shape_str(s2, sizeof s2, t), (long long)n);
        return -1;
    }
    return 0;
}

static tensor *view_as(const char *op, tensor *t, int ndim, const int64_t *sizes, int may_copy) {
    int64_t sz[TENSOR_MAX_DIMS], st[TENSOR_MAX_DIMS];
    if (infer_sizes(op, t, ndim, sizes, sz)) return NULL;
    if (!view_strides(t, ndim, sz, st)) {
        if (!may_copy) {
            char s[160];
            tensor_set_error("%s: the tensor %s is not contiguous in memory, so it cannot be viewed as %s; "
                             "use {{x:reshape(...)|tensor_reshape(x, ...)}} (copies when needed) or "
                             "{{x:contiguous():view(...)|tensor_view(tensor_contiguous(x), ...)}}", op,
                             tensor_shape_str(s, sizeof s, t), tensor_sizes_str((char[160]){0}, 160, ndim, sz));
            return NULL;
        }
        tensor *c = tensor_contiguous(t);
        if (!c) return NULL;
        tensor *v = view_as(op, c, ndim, sz, 0);
        tensor_release(c);
        return v;
    }
    tensor *v = view_new(t);
    if (!v) return NULL;
    v->ndim = ndim;
    for (int i = 0; i < ndim; i++) { v->size[i] = sz[i]; v->stride[i] = st[i]; }
    record_view(v, op, reshape_back, t);
    return v;
}

tensor *tensor_view(tensor *t, int ndim, const int64_t *sizes) { return view_as("view", t, ndim, sizes, 0); }
tensor *tensor_reshape(tensor *t, int ndim, const int64_t *sizes) { return view_as("reshape", t, ndim, sizes, 1); }

tensor *tensor_permute(tensor *t, const int *dims) {
    int seen[TENSOR_MAX_DIMS] = {0};
    for (int i = 0; i < t->ndim; i++) {
        int d = dims[i];
        if (d < 0) d += t->ndim;
        if (d < 0 || d >= t->ndim || seen[d]) {
            char s[160];
            tensor_set_error("permute: the dims must be a permutation of all %d dims of %s", t->ndim,
                             tensor_shape_str(s, sizeof s, t));
            return NULL;
        }
        seen[d] = 1;
    }
    tensor *v = view_new(t);
    if (!v) return NULL;
    for (int i = 0; i < t->ndim; i++) {
        int d = dims[i] < 0 ? dims[i] + t->ndim : dims[i];
        v->size[i] = t->size[d];
        v->stride[i] = t->stride[d];
    }
    tensor_node *n = record_view(v, "permute", permute_back, t);
    if (n) for (int i = 0; i < t->ndim; i++) n->iarg[i] = dims[i] < 0 ? dims[i] + t->ndim : dims[i];
    return v;
}

tensor *tensor_transpose(tensor *t, int d0, int d1) {
    if (tensor_normalize_dim("transpose", t, d0, 0, &d0) || tensor_normalize_dim("transpose", t, d1, 0, &d1)) return NULL;
    int dims[TENSOR_MAX_DIMS];
    for (int i = 0; i < t->ndim; i++) dims[i] = i;
    dims[d0] = d1;
    dims[d1] = d0;
    return tensor_permute(t, dims);
}

tensor *tensor_t(tensor *t) {
    if (t->ndim != 2) {
        char s[160];
        tensor_set_error("t: expects a 2-d tensor, got %s; use {{x:transpose(d1, d2)|tensor_transpose(x, d1, d2)}} or "
                         "{{x:permute(...)|tensor_permute(x, dims)}}",
                         tensor_shape_str(s, sizeof s, t));
        return NULL;
    }
    return tensor_transpose(t, 0, 1);
}

static tensor *slice(const char *op, tensor *t, int dim, int64_t start, int64_t len, int drop) {
    char s[160];
    if (tensor_normalize_dim(op, t, dim, 0, &dim)) return NULL;
    if (start < 0 || len < 0 || start > t->size[dim] - len) {   // no start + len: it can overflow
        if (drop)
            tensor_set_error("%s: index {{index:%lld}} is out of range for dim {{dim:%d}} of size %lld in %s "
                             "(indices are {{range:%lld}})", op, (long long)start, dim, (long long)t->size[dim],
                             tensor_shape_str(s, sizeof s, t), (long long)t->size[dim]);
        else
            tensor_set_error("%s: start {{index:%lld}}, length %lld run past dim {{dim:%d}} of size %lld in %s", op,
                             (long long)start, (long long)len, dim, (long long)t->size[dim],
                             tensor_shape_str(s, sizeof s, t));
        return NULL;
    }
    tensor *v = view_new(t);
    if (!v) return NULL;
    v->offset += start * t->stride[dim];
    if (drop) {
        for (int i = dim; i < t->ndim - 1; i++) { v->size[i] = t->size[i + 1]; v->stride[i] = t->stride[i + 1]; }
        v->ndim--;
    } else {
        v->size[dim] = len;
    }
    tensor_node *n = record_view(v, op, slice_back, t);
    if (n) { n->iarg[0] = dim; n->iarg[1] = start; n->iarg[2] = drop; n->iarg[3] = len; }
    return v;
}

tensor *tensor_narrow(tensor *t, int dim, int64_t start, int64_t length) { return slice("narrow", t, dim, start, length, 0); }

tensor *tensor_select(tensor *t, int dim, int64_t index) {
    if (t->ndim == 0) { tensor_set_error("select: cannot index a 0-d tensor (it holds one number: use {{x:item()|tensor_item(x, &v)}})"); return NULL; }
    int d;
    if (tensor_normalize_dim("select", t, dim, 0, &d)) return NULL;
    if (index < 0) index += t->size[d];
    return slice("select", t, d, index, 1, 1);
}

tensor *tensor_unsqueeze(tensor *t, int dim) {
    if (tensor_normalize_dim("unsqueeze", t, dim, 1, &dim)) return NULL;
    if (t->ndim >= TENSOR_MAX_DIMS) { tensor_set_error("unsqueeze: already %d dims (the maximum)", t->ndim); return NULL; }
    int64_t sz[TENSOR_MAX_DIMS];
    for (int i = 0, j = 0; i <= t->ndim; i++) sz[i] = i == dim ? 1 : t->size[j++];
    return view_as("unsqueeze", t, t->ndim + 1, sz, 1);
}

tensor *tensor_squeeze(tensor *t, int dim) {
    int64_t sz[TENSOR_MAX_DIMS];
    int nd = 0;
    if (dim != TENSOR_ALL_DIMS && tensor_normalize_dim("squeeze", t, dim, 0, &dim)) return NULL;
    for (int i = 0; i < t->ndim; i++)
        if (!(t->size[i] == 1 && (dim == TENSOR_ALL_DIMS || dim == i))) sz[nd++] = t->size[i];
    return view_as("squeeze", t, nd, sz, 1);
}

tensor *tensor_flatten(tensor *t, int start, int end) {
    if (t->ndim == 0) return view_as("flatten", t, 1, (int64_t[]){1}, 1);
    if (tensor_normalize_dim("flatten", t, start, 0, &start) || tensor_normalize_dim("flatten", t, end, 0, &end)) return NULL;
    if (start > end) { tensor_set_error("flatten: start dim {{dim:%d}} comes after end dim {{dim:%d}}", start, end); return NULL; }
    int64_t sz[TENSOR_MAX_DIMS];
    int nd = 0;
    for (int i = 0; i < start; i++) sz[nd++] = t->size[i];
    int64_t prod = 1;
    for (int i = start; i <= end; i++) prod *= t->size[i];
    sz[nd++] = prod;
    for (int i = end + 1; i < t->ndim; i++) sz[nd++] = t->size[i];
    return view_as("flatten", t, nd, sz, 1);
}

static tensor *expand_view(tensor *t, int ndim, const int64_t *sizes) {
    char s1[160], s2[160];
    if (ndim < t->ndim || ndim > TENSOR_MAX_DIMS) {
        tensor_set_error("expand: cannot expand %s to %d dims", tensor_shape_str(s1, sizeof s1, t), ndim);
        return NULL;
    }
    tensor *v = view_new(t);
    if (!v) return NULL;
    int lead = ndim - t->ndim;
    v->ndim = ndim;
    for (int i = ndim - 1; i >= 0; i--) {
        int j = i - lead;
        int64_t want = sizes[i];
        if (j >= 0) {
            if (want == -1) want = t->size[j];
            if (t->size[j] == want) { v->size[i] = want; v->stride[i] = t->stride[j]; continue; }
            if (t->size[j] != 1) {
                tensor_set_error("expand: dim {{dim:%d}} of %s has size %lld, which is not 1, so it cannot expand to %s", j,
                                 tensor_shape_str(s1, sizeof s1, t), (long long)t->size[j],
                                 tensor_sizes_str(s2, sizeof s2, ndim, sizes));
                tensor_release(v);
                return NULL;
            }
        } else if (want < 0) {
            tensor_set_error("expand: a new leading dim needs an explicit size, got %lld", (long long)want);
            tensor_release(v);
            return NULL;
        }
        v->size[i] = want;
        v->stride[i] = 0;
    }
    // a size below -1, or a product past int64 (tensor_numel would overflow), is refused
    int64_t n = 1;
    for (int i = 0; i < ndim; i++) {
        if (v->size[i] < 0 || (v->size[i] && n > INT64_MAX / 8 / v->size[i])) {
            tensor_set_error("expand: cannot expand %s to %s: %s", tensor_shape_str(s1, sizeof s1, t),
                             tensor_sizes_str(s2, sizeof s2, ndim, sizes),
                             v->size[i] < 0 ? "a size is negative" : "the sizes overflow a 64-bit element count");
            tensor_release(v);
            return NULL;
        }
        n *= v->size[i];
    }
    return v;
}

// for kernels: same shape -> t itself; otherwise a broadcast view, never traced or recorded
tensor *tensor_broadcast_view(tensor *t, int ndim, const int64_t *sizes) {
    if (t->ndim == ndim) {
        int same = 1;
        for (int i = 0; i < ndim && same; i++) same = t->size[i] == sizes[i];
        if (same) return tensor_retain(t);
    }
    return expand_view(t, ndim, sizes);
}

tensor *tensor_expand(tensor *t, int ndim, const int64_t *sizes) {
    tensor *v = expand_view(t, ndim, sizes);
    if (v) record_view(v, "expand", expand_back, t);
    return v;
}

tensor *tensor_contiguous(tensor *t) {
    if (tensor_is_contiguous(t)) return tensor_retain(t);
    return tensor_clone(t);
}

tensor *tensor_clone(tensor *t) {
    tensor *out = tensor_empty(t->ndim, t->size, t->storage->device);
    if (!out) return NULL;
    if (TENSOR_RUN(t, copy, out, t)) { tensor_release(out); return NULL; }
    tensor_node *n = tensor_record(out, "clone", identity_back, 1, &t);
    if (n) n->shape_only = 1;   // a copy, not a view: writes into it are its own
    return out;
}

// the values of src (broadcast) into dst, on one device
static int copy_data(tensor *dst, tensor *src) {
    char s1[160], s2[160];
    tensor *e = tensor_broadcast_view(src, dst->ndim, dst->size);
    if (!e) {
        tensor_set_error("copy: cannot copy a source of shape %s into %s (shapes must match or broadcast)",
                         tensor_shape_str(s1, sizeof s1, src), tensor_shape_str(s2, sizeof s2, dst));
        return -1;
    }
    int rc = 0;
    if (tensor_has_work(dst)) {
        // overlapping source and destination: copy through a temporary
        if (e->storage == dst->storage) {
            tensor *tmp = tensor_clone(e);
            rc = tmp ? TENSOR_RUN(dst, copy, dst, tmp) : -1;
            tensor_release(tmp);
        } else rc = TENSOR_RUN(dst, copy, dst, e);
    }
    tensor_release(e);
    return rc;
}

int tensor_copy_(tensor *dst, tensor *src) {
    if (tensor_check_writable("copy", dst) || tensor_inplace_check("copy", dst, src)) return -1;
    tensor *moved = NULL;
    if (dst->storage->device != src->storage->device) {   // a cross-device copy goes through tensor_to
        if (!(moved = tensor_to(src, dst->storage->device))) return -1;
    }
    int rc = copy_data(dst, moved ? moved : src);
    if (rc == 0) {
        tensor_bump_version(dst, "copy");
        rc = tensor_inplace_rewire("copy", dst, moved ? moved : src);
    }
    tensor_release(moved);
    return rc;
}

// ---- strided slices (PyTorch's x[start:stop:step], Torch7's x[{ {a,b,step} }]) ----
// the gradient lands in a zero tensor through the same strided view
static int step_slice_back(tensor_node *n, tensor *out, tensor *g, tensor **gin) {
    tensor *in = n->inputs[0];
    tensor *z = tensor_zeros(in->ndim, in->size, in->storage->device);
    if (!z) return -1;
    tensor *dst = tensor_slice(z, (int)n->iarg[0], n->iarg[1], n->iarg[2], n->iarg[3]);
    if (!dst || tensor_copy_(dst, g)) { tensor_release(dst); tensor_release(z); return -1; }
    tensor_release(dst);
    gin[0] = z;
    return 0;
}

tensor *tensor_slice(tensor *t, int dim, int64_t start, int64_t length, int64_t step) {
    char s[160];
    if (step < 1) {
        tensor_set_error("slice: step %lld must be 1 or more (a step of 0 would repeat one element; "
                         "negative steps are not supported)", (long long)step);
        return NULL;
    }
    if (step == 1) return slice("narrow", t, dim, start, length, 0);
    if (tensor_normalize_dim("slice", t, dim, 0, &dim)) return NULL;
    // the last element taken, start + (length-1)*step, must lie inside the dim (checked without overflow)
    int64_t size = t->size[dim];
    if (start < 0 || length < 0 || (length > 0 && (start >= size || (length - 1) > (size - 1 - start) / step))) {
        tensor_set_error("slice: %lld elements from {{index:%lld}}, %lld apart, run past dim {{dim:%d}} of size %lld in %s",
                         (long long)length, (long long)start, (long long)step, dim, (long long)size,
                         tensor_shape_str(s, sizeof s, t));
        return NULL;
    }
    tensor *v = view_new(t);
    if (!v) return NULL;
    if (length > 0) v->offset += start * t->stride[dim];
    v->size[dim] = length;
    v->stride[dim] = t->stride[dim] * step;
    tensor_node *n = record_view(v, "slice", step_slice_back, t);
    if (n) { n->iarg[0] = dim; n->iarg[1] = start; n->iarg[2] = length; n->iarg[3] = step; }
    return v;
}
