// tensor.h - the one public header of nnlab's tensor library.
//
// float32 strided tensors over refcounted storage on a device (cpu, cuda, meta),
// views that share storage, broadcasting ops, and a define-by-run autograd tape.
//
// Conventions
//  - Every op returns a NEW reference (caller releases it with tensor_release) or
//    NULL on error; the message is in tensor_last_error(). Functions without a
//    tensor result return 0 on success and -1 on error. Nothing calls exit/abort.
//  - Dims in this C API are 0-based; negative dims count from the end (-1 = last).
//    The Lua layer converts its 1-based dims before calling in.
//  - Index tensors (argmax results, class labels, gather indices) are float32
//    holding integer values, 0-based in C (the Lua layer shows them 1-based).
//  - Views (view, permute, narrow, select, expand, ...) share storage with their
//    source and never copy. tensor_contiguous copies only when needed.
#ifndef NNLAB_TENSOR_H
#define NNLAB_TENSOR_H

#include <stddef.h>
#include <stdint.h>

#define TENSOR_MAX_DIMS 8

typedef enum { TENSOR_CPU = 0, TENSOR_CUDA = 1, TENSOR_META = 2 } tensor_device;

typedef struct tensor_storage {
    float *data;           // NULL on the meta device
    int64_t numel;
    int refcount;
    tensor_device device;
    unsigned version;      // bumped by every in-place write (all views and detached aliases share it)
    const char *writer;    // the op of the last in-place write, for backward's message
} tensor_storage;

typedef struct tensor_node tensor_node;  // autograd record (tensor/internal.h, autograd.c)

typedef struct tensor {
    int ndim;
    int64_t size[TENSOR_MAX_DIMS];
    int64_t stride[TENSOR_MAX_DIMS];     // in elements
    int64_t offset;                      // in elements, into storage
    tensor_storage *storage;
    int refcount;
    int requires_grad;
    struct tensor *grad;                 // accumulated gradient of a leaf (or NULL)
    tensor_node *grad_fn;                // the op that made this tensor (NULL for leaves)
    struct tensor *grad_acc;             // scratch used while backward runs
    unsigned visit;                      // scratch used by the topological sort
} tensor;

// ---- errors -----------------------------------------------------------------
// A message names its op first ("matmul: ..."), then the shapes, the dim and the fix. It
// is raised with markup (error.c): {{dim:N}} a 0-based dim, {{LUA|C}} a fix worded for
// each front end; tensor_last_error() reads it in C terms, a binding renders the raw
// message in its own (the Lua binding: 1-based dims and Lua syntax).
typedef enum { TENSOR_WORDS_C, TENSOR_WORDS_LUA } tensor_words;
const char *tensor_last_error(void);
const char *tensor_last_error_raw(void);              // with the markup
const char *tensor_last_error_op(void);               // "matmul", or NULL when none is named
size_t tensor_error_render(char *out, size_t n, const char *msg, tensor_words words);
void tensor_set_error(const char *fmt, ...);          // printf-style; for nn/ and repl/
// a layer built on op names itself in op's own errors ("conv2d: ..." -> "nn.Conv2d(...): ..."),
// so the op validates its arguments once and the learner still sees the layer
void tensor_error_rename(const char *op, const char *layer);
// "[2,3,4]" into buf; returns buf.
char *tensor_shape_str(char *buf, size_t n, const tensor *t);
char *tensor_sizes_str(char *buf, size_t n, int ndim, const int64_t *sizes);

// ---- lifetime -----------------------------------------------------------------
tensor *tensor_retain(tensor *t);                     // returns t
void tensor_release(tensor *t);                       // NULL is fine
// Bytes held by live storages, per device (cpu/cuda real, meta would-be bytes).
int64_t tensor_live_bytes(tensor_device d);
int64_t tensor_peak_bytes(tensor_device d);
void tensor_reset_peak(tensor_device d);
// Refuse cpu allocations that would take live tensor bytes past this (0: the default,
// what is resident plus MemAvailable or the memory cgroup's room).
void tensor_set_memory_limit(int64_t bytes);

// ---- creation -----------------------------------------------------------------
tensor *tensor_empty(int ndim, const int64_t *sizes, tensor_device d);
tensor *tensor_zeros(int ndim, const int64_t *sizes, tensor_device d);
tensor *tensor_ones(int ndim, const int64_t *sizes, tensor_device d);
tensor *tensor_full(int ndim, const int64_t *sizes, float value, tensor_device d);
tensor *tensor_scalar(float value, tensor_device d);            // 0-dim
tensor *tensor_from_data(int ndim, const int64_t *sizes, const float *data, tensor_device d);
tensor *tensor_arange(double start, double stop, double step, tensor_device d);
tensor *tensor_linspace(double start, double stop, int64_t n, tensor_device d);
tensor *tensor_eye(int64_t n, tensor_device d);
tensor *tensor_rand(int ndim, const int64_t *sizes, tensor_device d);     // U[0,1)
tensor *tensor_randn(int ndim, const int64_t *sizes, tensor_device d);    // N(0,1)
tensor *tensor_uniform(int ndim, const int64_t *sizes, float lo, float hi, tensor_device d);
tensor *tensor_zeros_like(const tensor *t);

// ---- RNG: Philox4x32-10, counter based; a seed gives the same numbers everywhere
void tensor_manual_seed(uint64_t seed);
// Reserve n counter values; returns the first. Backends derive numbers from
// (seed, offset + i), so CPU and GPU draw the same sequence.
uint64_t tensor_rng_advance(uint64_t n);

// ---- inspection -----------------------------------------------------------------
int64_t tensor_numel(const tensor *t);
int tensor_is_contiguous(const tensor *t);
const char *tensor_device_name(tensor_device d);
int tensor_parse_device(const char *name, tensor_device *d);    // 0 ok, -1 unknown
// "cuda:N": nnlab drives one GPU per process, the N-th visible one (CUDA_VISIBLE_DEVICES
// applies); chosen before the first GPU use, -1 + error for a bad N or another GPU in use.
int tensor_cuda_select_name(const char *name);
int tensor_cuda_index(void);                                  // the GPU cuda means (0 by default)
// Element at a multi-index (cpu only) / as a float (copies from gpu).
int tensor_item(const tensor *t, float *out);                   // needs numel == 1
// Contiguous float32 copy of all values on the host, caller frees; NULL on meta.
float *tensor_to_host(const tensor *t);
int tensor_normalize_dim(const char *op, const tensor *t, int dim, int ndim_plus, int *out);

// ---- views (share storage) ----------------------------------------------------
tensor *tensor_view(tensor *t, int ndim, const int64_t *sizes);  // one size may be -1
tensor *tensor_reshape(tensor *t, int ndim, const int64_t *sizes); // view when possible
tensor *tensor_permute(tensor *t, const int *dims);
tensor *tensor_transpose(tensor *t, int d0, int d1);
tensor *tensor_t(tensor *t);                                      // 2-D transpose
tensor *tensor_narrow(tensor *t, int dim, int64_t start, int64_t length);
tensor *tensor_select(tensor *t, int dim, int64_t index);          // drops dim
tensor *tensor_unsqueeze(tensor *t, int dim);
tensor *tensor_squeeze(tensor *t, int dim);                        // dim = TENSOR_ALL_DIMS squeezes all 1s
tensor *tensor_expand(tensor *t, int ndim, const int64_t *sizes);  // -1 keeps a size
tensor *tensor_flatten(tensor *t, int start_dim, int end_dim);
tensor *tensor_contiguous(tensor *t);                              // retains t if already contiguous
tensor *tensor_clone(tensor *t);
tensor *tensor_detach(tensor *t);                                  // same storage, no grad
#define TENSOR_ALL_DIMS (-1000)

// ---- elementwise ------------------------------------------------------------------
// neg ... hardtanh: the rows of op_table.h (formulas in elementwise.h)
tensor *tensor_neg(tensor *a);
tensor *tensor_exp(tensor *a);
tensor *tensor_log(tensor *a);
tensor *tensor_sqrt(tensor *a);
tensor *tensor_abs(tensor *a);
tensor *tensor_relu(tensor *a);
tensor *tensor_sigmoid(tensor *a);
tensor *tensor_tanh(tensor *a);
tensor *tensor_gelu(tensor *a);          // exact (erf) GELU, PyTorch's default
tensor *tensor_sin(tensor *a);
tensor *tensor_cos(tensor *a);
tensor *tensor_leaky_relu(tensor *a, float negative_slope);   // x > 0 ? x : slope * x
tensor *tensor_elu(tensor *a, float alpha);                   // x > 0 ? x : alpha * (e^x - 1)
tensor *tensor_silu(tensor *a);                               // x * sigmoid(x) (swish)
tensor *tensor_softplus(tensor *a, float beta, float threshold);   // log(1 + e^(beta x)) / beta
tensor *tensor_hardtanh(tensor *a, float min_val, float max_val);  // clamp, no gradient outside
tensor *tensor_pow_scalar(tensor *a, float p);
tensor *tensor_add_scalar(tensor *a, float s);
tensor *tensor_mul_scalar(tensor *a, float s);
tensor *tensor_rsub_scalar(float s, tensor *a);   // s - a
tensor *tensor_rdiv_scalar(float s, tensor *a);   // s / a
tensor *tensor_div_scalar(tensor *a, float s);    // a / s, divided (not multiplied by 1/s)
tensor *tensor_clamp(tensor *a, float lo, float hi);   // min(max(a, lo), hi); -/+INFINITY: no bound
// Broadcasting binary ops (shapes aligned from the right, as in NumPy/PyTorch).
tensor *tensor_add(tensor *a, tensor *b);
tensor *tensor_sub(tensor *a, tensor *b);
tensor *tensor_mul(tensor *a, tensor *b);
tensor *tensor_div(tensor *a, tensor *b);
tensor *tensor_pow(tensor *a, tensor *b);
tensor *tensor_maximum(tensor *a, tensor *b);
tensor *tensor_minimum(tensor *a, tensor *b);
// Comparisons give 1.0 / 0.0 and carry no gradient.
typedef enum { TENSOR_EQ, TENSOR_NE, TENSOR_LT, TENSOR_LE, TENSOR_GT, TENSOR_GE } tensor_cmp;
tensor *tensor_compare(tensor *a, tensor *b, tensor_cmp op);
tensor *tensor_compare_scalar(tensor *a, float s, tensor_cmp op);
int tensor_broadcast_shape(const char *op, const tensor *a, const tensor *b, int *ndim, int64_t *sizes);

// ---- reductions (dim = TENSOR_ALL_DIMS reduces everything to a 0-dim tensor) ---------
tensor *tensor_sum(tensor *a, int dim, int keepdim);
tensor *tensor_mean(tensor *a, int dim, int keepdim);
tensor *tensor_max(tensor *a, int dim, int keepdim);
tensor *tensor_min(tensor *a, int dim, int keepdim);
tensor *tensor_argmax(tensor *a, int dim, int keepdim);   // 0-based float indices
tensor *tensor_argmin(tensor *a, int dim, int keepdim);
tensor *tensor_var(tensor *a, int dim, int keepdim, int unbiased);
tensor *tensor_std(tensor *a, int dim, int keepdim, int unbiased);
tensor *tensor_norm(tensor *a);                            // L2 norm of all elements

// ---- linear algebra ----------------------------------------------------------------
// 1-D·1-D dot, 2-D x 2-D, and batched (>2-D) with broadcast batch dims, like torch.matmul.
tensor *tensor_matmul(tensor *a, tensor *b);

// ---- softmax family ---------------------------------------------------------------
tensor *tensor_softmax(tensor *a, int dim);
tensor *tensor_log_softmax(tensor *a, int dim);

// ---- joining, indexing ------------------------------------------------------------
tensor *tensor_cat(int n, tensor **ts, int dim);
tensor *tensor_stack(int n, tensor **ts, int dim);
// out[i][j] = a[index[i][j]][j] (dim 0), as torch.gather; index holds 0-based floats.
tensor *tensor_gather(tensor *a, int dim, tensor *index);
// a[index] along dim, index 1-D of 0-based floats (Embedding is this with dim 0).
tensor *tensor_index_select(tensor *a, int dim, tensor *index);
// A strided narrow, a view: length elements of dim from start, step (>= 1) apart
// (PyTorch's x[start:stop:step]; step 1 is narrow).
tensor *tensor_slice(tensor *t, int dim, int64_t start, int64_t length, int64_t step);
// Boolean masks are float tensors holding only 0 and 1 (what comparisons return); any
// other value is an error. They read the mask on the host (a sync), and copy.
// PyTorch's a[mask]: mask's shape is a's first mask->ndim sizes -> (count of ones, the
// rest of a's sizes): whole elements (1-D result) or whole rows.
tensor *tensor_mask_index(tensor *a, tensor *mask);
// torch.masked_select: the values where mask (broadcast to a's shape) is 1 -> 1-D
tensor *tensor_masked_select(tensor *a, tensor *mask);
// a with v where mask (broadcast to a's shape) is 1; no gradient reaches those places
tensor *tensor_masked_fill(tensor *a, tensor *mask, float v);
// a[mask] = values, out of place: the masked slots (mask as in tensor_mask_index) in
// order from values, which broadcasts to (count, the rest of a's sizes)
tensor *tensor_mask_put(tensor *a, tensor *mask, tensor *values);
// In place: t[...] = src, broadcasting src. Bumps the storage's version (a backward
// that reads the old values then fails). With grad mode on, PyTorch's rules: refused on
// a leaf that requires grad (or a view of one); a non-leaf dst (or one given a src that
// requires grad) gets a new history: its value now comes from src (copy) or nothing (fill).
int tensor_copy_(tensor *dst, tensor *src);
int tensor_fill_(tensor *dst, float v);
int tensor_zero_(tensor *t);

// ---- convolution building blocks ------------------------------------------------
// x is (B,C,H,W) -> columns (B, C*kh*kw, OH*OW); pad_value fills the padding
// (0 for conv/avg pool, -inf for max pool).
tensor *tensor_unfold2d(tensor *x, int kh, int kw, int sh, int sw, int ph, int pw, float pad_value);
// (B,C,H,W) * (O,C/groups,kh,kw) [+ bias (O)] -> (B,O,OH,OW)
tensor *tensor_conv2d(tensor *x, tensor *w, tensor *bias, int stride, int padding, int groups);
tensor *tensor_max_pool2d(tensor *x, int k, int stride, int padding);
tensor *tensor_avg_pool2d(tensor *x, int k, int stride, int padding);

// ---- normalisation ---------------------------------------------------------------
// x (N, C, ...) normalised per channel C over N and the trailing dims. With training
// (or a running stat NULL) it uses the batch's mean and biased variance and updates
// running_mean/var in place (unbiased variance, PyTorch's momentum rule); else the
// running stats. weight, bias, running_mean, running_var are (C) or NULL.
tensor *tensor_batch_norm(tensor *x, tensor *weight, tensor *bias, tensor *running_mean, tensor *running_var,
                          int training, float momentum, float eps);

// ---- random ops ----------------------------------------------------------------
tensor *tensor_dropout(tensor *a, float p, int training);

// ---- devices ----------------------------------------------------------------------
tensor *tensor_to(tensor *t, tensor_device d);      // retains t if already there
int tensor_cuda_available(char *why, size_t n);     // 1 yes; 0 no (reason in why)
// the caching allocator of device d: bytes in live tensors and bytes held in total;
// 0, or -1 with the error when the device cannot be used
int tensor_device_memory(tensor_device d, int64_t *allocated, int64_t *cached);
void tensor_device_empty_cache(tensor_device d);     // frees cached, unused blocks
// collect() frees unreachable tensors (the REPL: a full Lua GC); the CUDA allocator
// calls it once before it reports out-of-memory. NULL unregisters.
void tensor_set_gc_hook(void (*collect)(void));
// Waits for the device's queued work: 0, or -1 with an error a kernel found in the data
// (an index or label out of range) since the last sync. CPU and meta: 0 at once.
int tensor_synchronize(tensor_device d);
// "highest" (default: full float32) or "high" (TF32 tensor cores for float32 matmuls on
// the GPU), as PyTorch's set_float32_matmul_precision; -1 + error naming the valid ones.
int tensor_set_matmul_precision(const char *name);
const char *tensor_get_matmul_precision(void);
// Labels checked by their device without a copy to the host (queued on the GPU, reported
// at the next sync): 1 done, 0 the device has no such check (check on the host), -1 error.
int tensor_check_labels_on_device(const char *op, const char *what, const tensor *labels, int64_t classes,
                                  int base);

// ---- autograd ------------------------------------------------------------------------
tensor *tensor_requires_grad_(tensor *t, int on);   // in place on a leaf; returns t
int tensor_backward(tensor *loss, tensor *grad);    // grad NULL: loss must be a scalar
const char *tensor_grad_fn_name(const tensor *t);   // op that made t ("matmul"), NULL for leaves
int tensor_grad_enabled(void);
int tensor_set_grad_enabled(int on);                 // returns the previous state
void tensor_zero_grad(tensor *t);                    // drops t->grad
void tensor_set_detect_anomaly(int on);
int tensor_detect_anomaly(void);
// The layer now running (e.g. "Linear(in=32, out=8)"); with anomaly detection on, ops
// remember it so a non-finite gradient names its layer and the backward pass (step).
void tensor_set_scope(const char *scope);   // NULL or "" clears

// ---- shape tracing (the REPL's :shapes on) ---------------------------------------
// Called after each op with its name, inputs and the output.
typedef void (*tensor_trace_fn)(const char *op, int n, tensor *const *inputs, const tensor *out, void *ud);
void tensor_set_trace(tensor_trace_fn fn, void *ud);

// ---- optimizer updates (fused, in place, no autograd) ----------------------------
// PyTorch's exact rules. step is 1-based. decoupled = 1 gives AdamW.
int tensor_adam_step(tensor *p, tensor *g, tensor *m, tensor *v, int64_t step,
                     float lr, float beta1, float beta2, float eps, float weight_decay, int decoupled);
int tensor_sgd_step(tensor *p, tensor *g, tensor *buf, float lr, float momentum,
                    float dampening, float weight_decay, int nesterov, int first_step);
// Many parameters in one step: the GPU updates them all in one launch (per 24 tensors);
// other devices take them one by one. Arguments as tensor_adam_step / tensor_sgd_step,
// one list entry per parameter (buf may be NULL without momentum).
int tensor_adam_step_multi(int count, tensor **p, tensor **g, tensor **m, tensor **v, const int64_t *step, float lr,
                           float beta1, float beta2, float eps, float weight_decay, int decoupled);
int tensor_sgd_step_multi(int count, tensor **p, tensor **g, tensor **buf, const int *first_step, float lr,
                          float momentum, float dampening, float weight_decay, int nesterov);

// Fused kernels a device may have (the GPU does; the CPU composes the ops, the reference):
// softmax + cross-entropy over rows, layer norm over rows, multi-tensor optimizer steps.
typedef enum { TENSOR_FUSED_CROSS_ENTROPY, TENSOR_FUSED_LAYER_NORM, TENSOR_FUSED_OPTIM } tensor_fused_op;
int tensor_has_fused(const tensor *t, tensor_fused_op op);
// logits (rows, C), labels (rows) of 0-based classes, already checked -> loss (rows)
tensor *tensor_fused_cross_entropy(tensor *logits, tensor *labels);
// x (rows, D), weight/bias (D) or NULL -> layer norm of each row (biased variance)
tensor *tensor_fused_layer_norm(tensor *x, tensor *weight, tensor *bias, float eps);

// ---- threads and interruption (tensor/cpu/pool.c) -----------------------------------
// One setting for nnlab's kernels, OpenBLAS and oneDNN. The default is the number of
// cores the process may use (sched_getaffinity), or NNLAB_NUM_THREADS / OMP_NUM_THREADS.
// Elementwise results are bit-identical on any count; reductions are deterministic.
int tensor_set_num_threads(int n);                   // 0, or -1 (n outside 1..1024)
int tensor_get_num_threads(void);
// The OpenBLAS kernels matmul runs ("SkylakeX", "Haswell", ...; loads OpenBLAS); NULL when
// it cannot be loaded (tensor_last_error says why).
const char *tensor_blas_core(void);
// Ctrl-C inside one long op: async-signal-safe; long CPU ops poll it between chunks
// (elementwise, reductions, row blocks of a big GEMM, convolution) and fail with the
// error "interrupted" until it is cleared (the REPL clears it when the prompt returns).
void tensor_request_interrupt(void);
void tensor_clear_interrupt(void);
int tensor_interrupt_pending(void);

// ---- files (io_*.c) -------------------------------------------------------------------
// Writes are atomic (temp file, fsync, rename). Reads check every length and offset.
typedef struct tensor_named { char *name; tensor *t; } tensor_named;
// For a signal handler that is about to end the process: removes the temp file of a save
// in progress (async-signal-safe; nothing when no save runs).
void tensor_io_signal_cleanup(void);
int tensor_save_safetensors(const char *path, int n, const tensor_named *items);
// On success *items is a malloc'd array of *n entries (names and tensors owned by caller;
// free with tensor_named_free).
int tensor_load_safetensors(const char *path, tensor_named **items, int *n);
void tensor_named_free(tensor_named *items, int n);
int tensor_save_npy(const char *path, tensor *t);
tensor *tensor_load_npy(const char *path);
tensor *tensor_load_idx(const char *path);           // IDX, gzip'd or not, as float32

#endif
