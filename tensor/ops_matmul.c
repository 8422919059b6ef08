// ops_matmul.c - matmul like torch.matmul: 1-D, 2-D, batched with broadcast
// batch dims, all through one backend GEMM (OpenBLAS / cuBLAS).
#include "internal.h"

// Whether x's last two dims can be read by GEMM as-is (row-major or transposed).
static int gemm_layout(const tensor *x, int *trans, int64_t *ld) {
    int nd = x->ndim;
    int64_t r = x->size[nd - 2], c = x->size[nd - 1], sr = x->stride[nd - 2], sc = x->stride[nd - 1];
    if ((sc == 1 || c == 1) && (r == 1 || sr >= c)) { *trans = 0; *ld = r == 1 ? (c ? c : 1) : sr; return *ld >= 1; }
    if ((sr == 1 || r == 1) && (c == 1 || sc >= r)) { *trans = 1; *ld = c == 1 ? (r ? r : 1) : sc; return *ld >= 1; }
    return 0;
}

// out (bs..., m, n) = a (bs..., m, k) @ b (bs..., k, n); a and b already broadcast to bs.
static int gemm_batched(tensor *out, tensor *a, tensor *b) {
    tensor *ops[2] = {a, b};
    int trans[2];
    int64_t ld[2];
    for (int i = 0; i < 2; i++) {
        tensor_retain(ops[i]);
        if (!gemm_layout(ops[i], &trans[i], &ld[i])) {
            tensor *c = tensor_contiguous(ops[i]);
            tensor_release(ops[i]);
            if (!c) { if (i) tensor_release(ops[0]); return -1; }
            ops[i] = c;
            gemm_layout(c, &trans[i], &ld[i]);
        }
    }
    int nd = out->ndim, nb = nd - 2;
    int64_t m = out->size[nd - 2], n = out->size[nd - 1], k = a->size[nd - 1];
    const tensor *all[3] = {ops[0], ops[1], out};
    // the longest run of trailing batch dims with one stride per operand becomes GEMM's batch
    int first = nb;
    while (first > 0) {
        int d = first - 1, ok = 1;
        if (d < nb - 1)
            for (int q = 0; q < 3; q++)
                if (all[q]->stride[d] != all[q]->stride[d + 1] * all[q]->size[d + 1]) ok = 0;
        if (!ok) break;
        first = d;
    }
    int64_t batch = 1;
    for (int d = first; d < nb; d++) batch *= out->size[d];
    int64_t bst[3] = {0, 0, 0};
    for (int q = 0; q < 3 && first < nb; q++) bst[q] = all[q]->stride[nb - 1];
    int64_t idx[TENSOR_MAX_DIMS] = {0};
    int rc = 0;
    for (;;) {
        int64_t off[3] = {0, 0, 0};
        for (int d = 0; d < first; d++)
            for (int q = 0; q < 3; q++) off[q] += idx[d] * all[q]->stride[d];
        if (batch && m && n)
            rc = TENSOR_RUN(out, gemm, (int)batch, trans[0], trans[1], m, n, k, 1.0f, tensor_data(ops[0]) + off[0], ld[0],
                            bst[0], tensor_data(ops[1]) + off[1], ld[1], bst[1], 0.0f, tensor_data(out) + off[2], n, bst[2]);
        if (rc) break;
        int d = first - 1;
        for (; d >= 0; d--) { if (++idx[d] < out->size[d]) break; idx[d] = 0; }
        if (d < 0) break;
    }
    tensor_release(ops[0]);
    tensor_release(ops[1]);
    return rc;
}

static tensor *matmul_nd(tensor *a, tensor *b);

// gb = sum over batch of a^T g, for a 2-d b. When b is stored transposed (b = w:t(),
// as in every Linear) it is computed as (g^T a)^T, so the gradient that reaches w is
// contiguous and never needs a strided copy.
static tensor *grad_of_2d_right(tensor *a, tensor *b, tensor *g) {
    int64_t k = a->size[a->ndim - 1], n = g->size[g->ndim - 1];
    tensor *a2 = tensor_reshape(a, 2, (int64_t[]){-1, k});
    tensor *g2 = a2 ? tensor_reshape(g, 2, (int64_t[]){-1, n}) : NULL;
    tensor *out = NULL;
    if (g2 && b->stride[0] == 1 && b->stride[1] != 1) {
        tensor *gt = tensor_t(g2);
        tensor *c = gt ? matmul_nd(gt, a2) : NULL;      // (n, k), contiguous
        out = c ? tensor_t(c) : NULL;
        tensor_release(gt);
        tensor_release(c);
    } else if (g2) {
        tensor *at = tensor_t(a2);
        out = at ? matmul_nd(at, g2) : NULL;
        tensor_release(at);
    }
    tensor_release(a2);
    tensor_release(g2);
    return out;
}

static int matmul_back(tensor_node *n, tensor *out, tensor *g, tensor **gin) {
    tensor *a = n->inputs[0], *b = n->inputs[1];
    if (a->requires_grad) {
        tensor *bt = tensor_transpose(b, -1, -2);
        tensor *ga = bt ? matmul_nd(g, bt) : NULL;
        gin[0] = ga ? tensor_sum_to(ga, a) : NULL;
        tensor_release(bt); tensor_release(ga);
        if (!gin[0]) return -1;
    }
    if (b->requires_grad) {
        if (b->ndim == 2) {
            gin[1] = grad_of_2d_right(a, b, g);
        } else {
            tensor *at = tensor_transpose(a, -1, -2);
            tensor *gb = at ? matmul_nd(at, g) : NULL;
            gin[1] = gb ? tensor_sum_to(gb, b) : NULL;
            tensor_release(at); tensor_release(gb);
        }
        if (!gin[1]) return -1;
    }
    return 0;
}

static tensor *matmul_nd(tensor *a, tensor *b) {
    char s1[160], s2[160];
    int na = a->ndim, nb = b->ndim;
    int64_t m = a->size[na - 2], k = a->size[na - 1], k2 = b->size[nb - 2], n = b->size[nb - 1];
    if (k != k2) {
        tensor_set_error("matmul: %s x %s: dim {{dim:%d}} of the left (%lld) must equal dim {{dim:%d}} of the right "
                         "(%lld)%s", tensor_shape_str(s1, sizeof s1, a), tensor_shape_str(s2, sizeof s2, b), na - 1,
                         (long long)k, nb - 2, (long long)k2,
                         (n == k) ? "; did you mean to transpose the right side ({{y:t()|tensor_t(y)}})?" : "");
        return NULL;
    }
    // broadcast the batch dims
    tensor ba = *a, bb = *b;
    ba.ndim = na - 2;
    bb.ndim = nb - 2;
    int nbd;
    int64_t sz[TENSOR_MAX_DIMS];
    if (tensor_broadcast_shape("matmul (batch dims)", &ba, &bb, &nbd, sz)) return NULL;
    int64_t sa[TENSOR_MAX_DIMS], sb[TENSOR_MAX_DIMS];
    for (int i = 0; i < nbd; i++) sa[i] = sb[i] = sz[i];
    sa[nbd] = m; sa[nbd + 1] = k;
    sb[nbd] = k; sb[nbd + 1] = n;
    sz[nbd] = m; sz[nbd + 1] = n;
    tensor *out = tensor_empty(nbd + 2, sz, a->storage->device);
    if (!out) return NULL;
    tensor *ea = tensor_broadcast_view(a, nbd + 2, sa), *eb = tensor_broadcast_view(b, nbd + 2, sb);
    int rc = !ea || !eb;
    // an empty result has nothing to compute: with an empty batch dim that is not merged
    // into GEMM's batch the loop below still ran once, on NULL data (the fuzzer's find)
    if (!rc && out->storage->device != TENSOR_META && tensor_numel(out)) {
        if (k == 0) rc = tensor_fill_(out, 0.0f);
        else rc = gemm_batched(out, ea, eb);
    }
    tensor_release(ea);
    tensor_release(eb);
    if (rc) { tensor_release(out); return NULL; }
    tensor *in[2] = {a, b};
    tensor_node *nd = tensor_record(out, "matmul", matmul_back, 2, in);
    if (nd) nd->reads = TENSOR_READS_IN(0) | TENSOR_READS_IN(1);
    return out;
}

tensor *tensor_matmul(tensor *a, tensor *b) {
    char s1[160], s2[160];
    if (tensor_check_same_device("matmul", 2, (tensor *[]){a, b})) return NULL;
    if (a->ndim == 0 || b->ndim == 0) {
        tensor_set_error("matmul: %s x %s: both sides need at least 1 dim; for a number use * instead",
                         tensor_shape_str(s1, sizeof s1, a), tensor_shape_str(s2, sizeof s2, b));
        return NULL;
    }
    int64_t ka = a->size[a->ndim - 1], kb = b->size[b->ndim == 1 ? 0 : b->ndim - 2];
    if (ka != kb) {   // reported with the shapes as given, before 1-D operands are reshaped
        tensor_set_error("matmul: %s x %s: dim {{dim:%d}} of the left (%lld) must equal dim {{dim:%d}} of the right "
                         "(%lld)%s", tensor_shape_str(s1, sizeof s1, a), tensor_shape_str(s2, sizeof s2, b), a->ndim - 1,
                         (long long)ka, b->ndim == 1 ? 0 : b->ndim - 2, (long long)kb,
                         b->ndim >= 2 && b->size[b->ndim - 1] == ka
                             ? "; did you mean to transpose the right side ({{y:t()|tensor_t(y)}})?" : "");
        return NULL;
    }
    // 1-D operands become a row / column, removed again from the result
    tensor *a2 = a->ndim == 1 ? tensor_unsqueeze(a, 0) : tensor_retain(a);
    tensor *b2 = b->ndim == 1 ? tensor_unsqueeze(b, 1) : tensor_retain(b);
    tensor *r = a2 && b2 ? matmul_nd(a2, b2) : NULL;
    if (r && b->ndim == 1) { tensor *q = tensor_squeeze(r, -1); tensor_release(r); r = q; }
    if (r && a->ndim == 1) { tensor *q = tensor_squeeze(r, r->ndim == 1 ? 0 : -2); tensor_release(r); r = q; }
    tensor_release(a2);
    tensor_release(b2);
    return r;
}
