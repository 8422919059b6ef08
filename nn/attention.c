// attention.c - scaled dot-product attention, cross-covariance attention (XCiT),
// and the fixed positional encodings (2-D sin-cos, Perceiver Fourier features).
#include <math.h>
#include <stdlib.h>
#include "scope.h"

#define LL(x) ((long long)(x))

// q (...,T,d), k (...,S,d), v (...,S,dv) -> (...,T,dv)
tensor *nn_scaled_dot_attention(tensor *q, tensor *k, tensor *v, int causal) {
    char sq[128], sk[128], sv[128];
    if (!q || !k || !v || q->ndim < 2 || k->ndim < 2 || v->ndim < 2 ||
        q->size[q->ndim - 1] != k->size[k->ndim - 1] || k->size[k->ndim - 2] != v->size[v->ndim - 2]) {
        tensor_set_error("nn.scaled_dot_attention: q %s, k %s, v %s: need q (...,T,d), k (...,S,d), v (...,S,dv) "
                         "(q and k share d; k and v share S)", nn_shape(sq, sizeof sq, q), nn_shape(sk, sizeof sk, k),
                         nn_shape(sv, sizeof sv, v));
        return NULL;
    }
    int64_t d = q->size[q->ndim - 1], T = q->size[q->ndim - 2], S = k->size[k->ndim - 2];
    nn_scope s = {0};
    tensor *kt, *scores, *attn, *out, *rows, *cols, *mask;
    NN_TRY(&s, kt, tensor_transpose(k, -2, -1));
    NN_TRY(&s, scores, tensor_matmul(q, kt));                          // (...,T,S)
    NN_TRY(&s, scores, tensor_mul_scalar(scores, (float)(1.0 / sqrt((double)d))));
    if (causal) {
        int64_t rs[2] = {T, 1}, cs[2] = {1, S};
        NN_TRY(&s, rows, tensor_arange(0, (double)T, 1, nn_device(q)));
        NN_TRY(&s, rows, tensor_view(rows, 2, rs));
        NN_TRY(&s, cols, tensor_arange(0, (double)S, 1, nn_device(q)));
        NN_TRY(&s, cols, tensor_view(cols, 2, cs));
        NN_TRY(&s, mask, tensor_compare(cols, rows, TENSOR_GT));      // 1 where key is in the future
        NN_TRY(&s, mask, tensor_mul_scalar(mask, -1e30f));            // -inf would give 0*inf = nan
        NN_TRY(&s, scores, tensor_add(scores, mask));
    }
    NN_TRY(&s, attn, tensor_softmax(scores, -1));
    NN_TRY(&s, out, tensor_matmul(attn, v));
    return nn_scope_return(&s, out);
fail:
    nn_scope_end(&s);
    return NULL;
}

// t / ||t|| along dim 2 (the tokens); sqrt(sum + 1e-24) matches F.normalize's
// clamp at 1e-12 for any non-degenerate input and keeps the gradient finite at 0.
static tensor *l2_normalize_tokens(nn_scope *s, tensor *t) {
    tensor *sq, *n;
    NN_TRY(s, sq, tensor_mul(t, t));
    NN_TRY(s, n, tensor_sum(sq, 2, 1));
    NN_TRY(s, n, tensor_add_scalar(n, 1e-24f));
    NN_TRY(s, n, tensor_sqrt(n));
    return nn_hold(s, tensor_div(t, n));
fail:
    return NULL;
}

// q,k,v (B,h,N,d), temperature (h,1,1) -> (B,h,N,d)
tensor *nn_xca(tensor *q, tensor *k, tensor *v, tensor *temperature) {
    char sq[128], sk[128], sv[128], st[128];
    int ok = q && k && v && temperature && q->ndim == 4 && nn_same_shape(q, k) && nn_same_shape(q, v) &&
             tensor_numel(temperature) == q->size[1];
    if (!ok) {
        tensor_set_error("nn.xca: q %s, k %s, v %s, temperature %s: need q, k, v all (B,heads,N,d) and "
                         "temperature (heads,1,1)", nn_shape(sq, sizeof sq, q), nn_shape(sk, sizeof sk, k),
                         nn_shape(sv, sizeof sv, v), nn_shape(st, sizeof st, temperature));
        return NULL;
    }
    nn_scope s = {0};
    tensor *qn, *kn, *qt, *attn, *temp, *vt, *out;
    int64_t ts[3] = {q->size[1], 1, 1};
    if (!(qn = l2_normalize_tokens(&s, q)) || !(kn = l2_normalize_tokens(&s, k))) goto fail;
    NN_TRY(&s, qt, tensor_transpose(qn, 2, 3));                 // (B,h,d,N)
    NN_TRY(&s, attn, tensor_matmul(qt, kn));                    // (B,h,d,d): channels x channels
    NN_TRY(&s, temp, tensor_reshape(temperature, 3, ts));
    NN_TRY(&s, attn, tensor_mul(attn, temp));
    NN_TRY(&s, attn, tensor_softmax(attn, -1));
    NN_TRY(&s, vt, tensor_transpose(v, 2, 3));                  // (B,h,d,N)
    NN_TRY(&s, out, tensor_matmul(attn, vt));                   // (B,h,d,N)
    NN_TRY(&s, out, tensor_transpose(out, 2, 3));
    return nn_scope_return(&s, out);
fail:
    nn_scope_end(&s);
    return NULL;
}

tensor *nn_pos_sincos_2d(int64_t h, int64_t w, int64_t d, tensor_device dev) {
    if (h < 1 || w < 1 || d < 4 || d % 4) {
        tensor_set_error("nn.pos_sincos_2d(%lld, %lld, %lld): need h, w >= 1 and d divisible by 4 "
                         "(sin and cos for rows and for columns)", LL(h), LL(w), LL(d));
        return NULL;
    }
    int64_t sizes[2] = {h * w, d};
    if (dev == TENSOR_META) return tensor_empty(2, sizes, dev);
    float *buf = malloc(sizeof(float) * (size_t)(h * w * d));
    if (!buf) { tensor_set_error("nn.pos_sincos_2d: out of memory for %lld values", LL(h * w * d)); return NULL; }
    int64_t q = d / 4;
    for (int64_t i = 0; i < h; i++)
        for (int64_t j = 0; j < w; j++) {
            float *row = buf + (i * w + j) * d;
            for (int64_t c = 0; c < q; c++) {
                double omega = 1.0 / pow(10000.0, (double)c / (double)q);
                row[c] = (float)sin((double)i * omega);
                row[q + c] = (float)cos((double)i * omega);
                row[2 * q + c] = (float)sin((double)j * omega);
                row[3 * q + c] = (float)cos((double)j * omega);
            }
        }
    tensor *t = tensor_from_data(2, sizes, buf, dev);
    free(buf);
    return t;
}

// x (..., D) -> (..., D*(2*bands+1)) = [sin(π f x), cos(π f x), x]
tensor *nn_fourier_features(tensor *x, int bands, float max_freq) {
    char sx[128];
    if (!x || x->ndim < 1 || x->ndim >= TENSOR_MAX_DIMS || bands < 1 || !(max_freq >= 2.0f)) {
        tensor_set_error("nn.fourier_features(x %s, bands %d, max_freq %g): need coords (..., D), bands >= 1 "
                         "and max_freq >= 2 (frequencies run from 1 to max_freq/2)", nn_shape(sx, sizeof sx, x),
                         bands, max_freq);
        return NULL;
    }
    int last = x->ndim - 1;
    nn_scope s = {0};
    tensor *f, *xu, *xf, *sn, *cs, *out;
    NN_TRY(&s, f, tensor_linspace(1.0, max_freq / 2.0, bands, nn_device(x)));
    NN_TRY(&s, f, tensor_mul_scalar(f, (float)M_PI));
    NN_TRY(&s, xu, tensor_unsqueeze(x, x->ndim));               // (..., D, 1)
    NN_TRY(&s, xf, tensor_mul(xu, f));                          // (..., D, bands)
    NN_TRY(&s, xf, tensor_flatten(xf, last, last + 1));         // (..., D*bands)
    NN_TRY(&s, sn, tensor_sin(xf));
    NN_TRY(&s, cs, tensor_cos(xf));
    tensor *parts[3] = {sn, cs, x};
    NN_TRY(&s, out, tensor_cat(3, parts, last));
    return nn_scope_return(&s, out);
fail:
    nn_scope_end(&s);
    return NULL;
}
