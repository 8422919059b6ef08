// nn.h - the one public header of nnlab's nn library: functional layers, losses,
// attention, positional encodings, init, optimizer steps and summary helpers.
//
// Everything here is composed of tensor ops (tensor/tensor.h), so autograd records
// each layer's backward for free and the meta device runs the same code as shapes
// only. Conventions follow tensor.h: results are new references (NULL on error,
// message in tensor_last_error() naming the layer, the shapes and a fix), dims are
// 0-based, index tensors (labels, token ids) are floats holding 0-based integers.
// This library never includes Lua and never exits.
#ifndef NNLAB_NN_H
#define NNLAB_NN_H

#include "../tensor/tensor.h"

typedef enum { NN_REDUCTION_MEAN = 0, NN_REDUCTION_SUM, NN_REDUCTION_NONE } nn_reduction;
// "mean" | "sum" | "none" (NULL means "mean"); -1 with an error otherwise.
int nn_parse_reduction(const char *name, nn_reduction *out);

// ---- layers ---------------------------------------------------------------------
// x [..., in] · w[out, in]ᵀ + b[out] -> [..., out] (w laid out like PyTorch). b may be NULL.
tensor *nn_linear(tensor *x, tensor *w, tensor *b);
// x (B,C,H,W) * w (O, C/groups, kh, kw) [+ b (O)] -> (B,O,OH,OW). b may be NULL.
tensor *nn_conv2d(tensor *x, tensor *w, tensor *b, int stride, int padding, int groups);
tensor *nn_max_pool2d(tensor *x, int k, int stride, int padding);
tensor *nn_avg_pool2d(tensor *x, int k, int stride, int padding);
// x (N,C) or (N,C,...) normalised per channel C. training: batch statistics, and
// running_mean/var (C) are updated in place (unbiased var, like PyTorch);
// otherwise the running statistics are used. weight/bias (C) may be NULL.
tensor *nn_batch_norm(tensor *x, tensor *running_mean, tensor *running_var, tensor *weight,
                      tensor *bias, int training, float momentum, float eps);
// Normalises over the last normalized_dims dims of x; weight/bias have exactly
// those trailing sizes (or are NULL).
tensor *nn_layer_norm(tensor *x, int normalized_dims, tensor *weight, tensor *bias, float eps);
// weight (n, d), idx of any shape holding 0-based ids -> idx.shape + (d)
tensor *nn_embedding_base(tensor *weight, tensor *idx, int id_base);   // ids counted from id_base
tensor *nn_dropout(tensor *x, float p, int training);

// ---- losses ---------------------------------------------------------------------
tensor *nn_mse_loss(tensor *pred, tensor *target, nn_reduction r);
// logits (N,C) (or (...,C) with labels (...)), labels 0-based class floats.
tensor *nn_cross_entropy(tensor *logits, tensor *labels, nn_reduction r);
// The same with labels counted from label_base (1 from Lua): checked, then shifted.
tensor *nn_cross_entropy_base(tensor *logits, tensor *labels, nn_reduction r, int label_base);
// With PyTorch's options: weight (C) per class (NULL: 1), label_smoothing in [0, 1]:
// loss_i = (1-e) * w[y_i] * -logp[i, y_i] + e/C * sum_c w[c] * -logp[i, c]; "mean" divides
// by sum_i w[y_i] (the batch size without weights).
tensor *nn_cross_entropy_opts(tensor *logits, tensor *labels, tensor *weight, float label_smoothing,
                              nn_reduction r, int label_base);
// -logp[i, y_i] (times weight[y_i]) of log-probabilities logp (..., C), e.g. from
// log_softmax; reduced like nn_cross_entropy_opts without smoothing.
tensor *nn_nll_loss(tensor *logp, tensor *labels, tensor *weight, nn_reduction r, int label_base);
tensor *nn_bce_with_logits(tensor *logits, tensor *target, nn_reduction r);
// Checks labels hold integers in [base, base+n_classes) for op; base = 0 in C and
// 1 from Lua, so the message speaks the caller's convention. Skipped on meta.
int nn_check_labels(const char *op, const char *what, const tensor *labels, int64_t n_classes, int base);

// ---- attention --------------------------------------------------------------------
// softmax(q kᵀ / sqrt(d)) v: q (...,T,d), k (...,S,d), v (...,S,dv) -> (...,T,dv).
// causal masks key positions s > t.
tensor *nn_scaled_dot_attention(tensor *q, tensor *k, tensor *v, int causal);
// Cross-covariance attention (XCiT): q,k,v (B,h,N,d), temperature (h,1,1).
// q and k are L2-normalised along the tokens N; the map is d x d per head, so the
// cost is linear in N. Returns (B,h,N,d).
tensor *nn_xca(tensor *q, tensor *k, tensor *v, tensor *temperature);

// ---- positional encodings -----------------------------------------------------------
// Fixed 2-D sin-cos table (h*w, d), d divisible by 4: the first d/2 channels encode
// the row, the last d/2 the column, each as [sin(p·ω), cos(p·ω)] with
// ω_i = 1/10000^(i/(d/4)), i < d/4 (as in MAE / MoCo v3).
tensor *nn_pos_sincos_2d(int64_t h, int64_t w, int64_t d, tensor_device dev);
// Perceiver Fourier features of coords x (..., D) in [-1,1] -> (..., D*(2*bands+1)):
// [sin(f_k π x_d), cos(f_k π x_d), x_d] with f = linspace(1, max_freq/2, bands);
// the sin block is ordered d-major (x_0 f_0..f_{b-1}, x_1 ...), then cos, then x.
tensor *nn_fourier_features(tensor *x, int bands, float max_freq);

// ---- init (in place, drawn from the seeded RNG) ------------------------------------
int nn_uniform_(tensor *t, float lo, float hi);
int nn_normal_(tensor *t, float mean, float std);
// PyTorch's default for Linear/Conv weights and biases: U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
int nn_kaiming_uniform_(tensor *w, int64_t fan_in);
int nn_xavier_uniform_(tensor *w, int64_t fan_in, int64_t fan_out);

// ---- optimizer steps (fused; p->grad is the gradient; params without grad are skipped)
int nn_sgd_step(tensor *p, tensor *momentum_buf, float lr, float momentum, float dampening,
                float weight_decay, int nesterov, int first_step);
int nn_adam_step(tensor *p, tensor *m, tensor *v, int64_t step, float lr, float beta1,
                 float beta2, float eps, float weight_decay, int decoupled);

// ---- summary helpers -----------------------------------------------------------------
// Multiply-adds of one layer call given its output and weight (shapes only):
// "linear": numel(out)·in; "conv2d": numel(out)·(C/groups·kh·kw); "norm": numel(out);
// "embedding" and unknown kinds: 0. Attention counts its own matmuls (nn_attention_macs).
int64_t nn_mult_adds(const char *kind, const tensor *out, const tensor *weight);
// q·kᵀ and attn·v of scaled dot attention: batch·T·S·(d + dv).
int64_t nn_attention_macs(int64_t batch, int64_t t, int64_t s, int64_t d, int64_t dv);

#endif
