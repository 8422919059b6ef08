// gpu_conv.cu - convolution: through cuDNN when libcudnn.so.9 loads (dlopen'ed here, so
// libnnlab_cuda.so still loads without it), else the unfold/fold (im2col/col2im) pair
// that turns a convolution into a matmul, which also stays the reference.
#include <dlfcn.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "gpu_internal.h"
#include "gpu_window.h"

// ---- im2col / col2im: the fallback (and reference) path ----------------------------------------
// x is (B,C,H,W) -> cols (B, C*kh*kw, oh*ow) or (C*kh*kw, B, oh*ow); a thread per element
__global__ void gpu_unfold2d_kernel(float *cols, const float *x, gpu_window g, int64_t n, float pad_value) {
    GPU_FOR_EACH(i, n) {
        int64_t t = i;
        int64_t ox = t % g.ow; t /= g.ow;
        int64_t oy = t % g.oh; t /= g.oh;
        int64_t kj = t % g.kw; t /= g.kw;
        int64_t ki = t % g.kh; t /= g.kh;            // t is now b*C + c
        int64_t iy = oy * g.sh - g.ph + ki, ix = ox * g.sw - g.pw + kj;
        bool inside = iy >= 0 && iy < g.H && ix >= 0 && ix < g.W;
        int64_t b = t / g.C, r = ((t % g.C) * g.kh + ki) * g.kw + kj;
        cols[gpu_cols_at(&g, b, r, oy * g.ow + ox)] = inside ? x[(t * g.H + iy) * g.W + ix] : pad_value;
    }
}

// cols (B, C*kh*kw, oh*ow) -> x (B,C,H,W) += the sum of the windows covering each pixel.
// A thread per pixel gathers (instead of scattering with atomics): deterministic.
__global__ void gpu_fold2d_kernel(float *x, const float *cols, gpu_window g, int64_t n) {
    GPU_FOR_EACH(i, n) {
        int64_t ix = i % g.W, iy = (i / g.W) % g.H, bc = i / (g.W * g.H);
        float s = 0.0f;
        int64_t oy, ox;
        for (int ki = 0; ki < g.kh; ki++) {
            if (!gpu_window_tap_output(iy, ki, g.sh, g.ph, g.oh, &oy)) continue;
            for (int kj = 0; kj < g.kw; kj++) {
                if (!gpu_window_tap_output(ix, kj, g.sw, g.pw, g.ow, &ox)) continue;
                int64_t r = ((bc % g.C) * g.kh + ki) * g.kw + kj;
                s += cols[gpu_cols_at(&g, bc / g.C, r, oy * g.ow + ox)];
            }
        }
        x[i] += s;
    }
}

int gpu_unfold2d(float *cols, const float *x, int64_t B, int64_t C, int64_t H, int64_t W,
                 int kh, int kw, int sh, int sw, int ph, int pw, int64_t oh, int64_t ow, float pad_value,
                 int batch_inner) {
    gpu_window g = {B, C, H, W, oh, ow, kh, kw, sh, sw, ph, pw, batch_inner};
    int64_t n = B * C * kh * kw * oh * ow;
    if (n == 0) return 0;
    gpu_unfold2d_kernel<<<gpu_blocks(n, GPU_THREADS), GPU_THREADS>>>(cols, x, g, n, pad_value);
    GPU_CHECK_LAUNCH(gpu_unfold2d_kernel);
    return 0;
}

int gpu_fold2d(float *x, const float *cols, int64_t B, int64_t C, int64_t H, int64_t W,
               int kh, int kw, int sh, int sw, int ph, int pw, int64_t oh, int64_t ow, int batch_inner) {
    gpu_window g = {B, C, H, W, oh, ow, kh, kw, sh, sw, ph, pw, batch_inner};
    int64_t n = B * C * H * W;
    if (n == 0) return 0;
    gpu_fold2d_kernel<<<gpu_blocks(n, GPU_THREADS), GPU_THREADS>>>(x, cols, g, n);
    GPU_CHECK_LAUNCH(gpu_fold2d_kernel);
    return 0;
}

// ---- cuDNN ------------------------------------------------------------------------------------------
// Its legacy convolution API (still in cuDNN 9), resolved with dlsym: the header gives
// the types, no symbol is linked. A library that is missing, or a call that declines,
// sends the op to im2col; a call that fails on the device is an error.
#include <cudnn.h>

#define GPU_DNN_FNS(X) X(cudnnCreate) X(cudnnGetErrorString) X(cudnnCreateTensorDescriptor) \
    X(cudnnSetTensor4dDescriptor) X(cudnnDestroyTensorDescriptor) X(cudnnCreateFilterDescriptor) \
    X(cudnnSetFilter4dDescriptor) X(cudnnDestroyFilterDescriptor) X(cudnnCreateConvolutionDescriptor) \
    X(cudnnSetConvolution2dDescriptor) X(cudnnSetConvolutionGroupCount) X(cudnnSetConvolutionMathType) \
    X(cudnnDestroyConvolutionDescriptor) X(cudnnGetConvolutionForwardAlgorithm_v7) \
    X(cudnnGetConvolutionForwardWorkspaceSize) X(cudnnConvolutionForward) \
    X(cudnnGetConvolutionBackwardDataAlgorithm_v7) X(cudnnGetConvolutionBackwardDataWorkspaceSize) \
    X(cudnnConvolutionBackwardData) X(cudnnGetConvolutionBackwardFilterAlgorithm_v7) \
    X(cudnnGetConvolutionBackwardFilterWorkspaceSize) X(cudnnConvolutionBackwardFilter) X(cudnnAddTensor) \
    X(cudnnConvolutionBackwardBias)
#define GPU_DNN_PTR(f) static decltype(&f) p_##f;
GPU_DNN_FNS(GPU_DNN_PTR)

static cudnnHandle_t gpu_dnn;
static int gpu_dnn_state;            // 0 not tried, 1 ready, -1 unavailable
static char gpu_dnn_why[300];
int gpu_conv_tf32;                   // set with the matmul precision ("high": TF32 allowed)

// Loads cuDNN once; 1 when it is usable. NNLAB_CONV=im2col forces the fallback on every
// device (NNLAB_NO_CUDNN=1, its older name, still does).
static int gpu_dnn_ready(void) {
    if (gpu_dnn_state) return gpu_dnn_state > 0;
    gpu_dnn_state = -1;
    const char *conv = getenv("NNLAB_CONV"), *off = getenv("NNLAB_NO_CUDNN");
    if ((conv && strcmp(conv, "im2col") == 0) || (off && *off && strcmp(off, "0"))) {
        snprintf(gpu_dnn_why, sizeof gpu_dnn_why, "%s is set", conv ? "NNLAB_CONV=im2col" : "NNLAB_NO_CUDNN");
        return 0;
    }
    void *h = dlopen("libcudnn.so.9", RTLD_NOW | RTLD_LOCAL);
    if (!h) { snprintf(gpu_dnn_why, sizeof gpu_dnn_why, "%s", dlerror()); return 0; }
#define GPU_DNN_LOAD(f) \
    if (!(*(void **)&p_##f = dlsym(h, #f))) { snprintf(gpu_dnn_why, sizeof gpu_dnn_why, "libcudnn lacks " #f); return 0; }
    GPU_DNN_FNS(GPU_DNN_LOAD)
    if (p_cudnnCreate(&gpu_dnn) != CUDNN_STATUS_SUCCESS) {
        snprintf(gpu_dnn_why, sizeof gpu_dnn_why, "cudnnCreate failed");
        return 0;
    }
    gpu_dnn_state = 1;   // the default stream, like every other kernel here
    return 1;
}

const char *gpu_conv_engine(void) { return gpu_dnn_ready() ? "cudnn" : gpu_dnn_why; }

#define GPU_CHECK_DNN(call) do { \
    cudnnStatus_t gpu_d_ = (call); \
    if (gpu_d_ != CUDNN_STATUS_SUCCESS) { \
        rc = gpu_report_failed(#call, __FILE__, __LINE__, p_cudnnGetErrorString(gpu_d_)); goto done; } \
} while (0)

// The descriptors of one convolution: x (B,C,H,W), w (O,C/g,kh,kw), y (B,O,oh,ow), and
// the bias (1,O,1,1) when there is one.
typedef struct {
    cudnnTensorDescriptor_t x, y, b;
    cudnnFilterDescriptor_t w;
    cudnnConvolutionDescriptor_t conv;
} gpu_dnn_descs;

static void gpu_dnn_free(gpu_dnn_descs *d) {
    if (d->x) p_cudnnDestroyTensorDescriptor(d->x);
    if (d->y) p_cudnnDestroyTensorDescriptor(d->y);
    if (d->b) p_cudnnDestroyTensorDescriptor(d->b);
    if (d->w) p_cudnnDestroyFilterDescriptor(d->w);
    if (d->conv) p_cudnnDestroyConvolutionDescriptor(d->conv);
}

// cuDNN's sizes are C ints
static int gpu_dnn_fits(const tensor_conv_shape *s) {
    const int64_t lim = INT_MAX;
    return s->B <= lim && s->C <= lim && s->H <= lim && s->W <= lim && s->O <= lim && s->B * s->C * s->H * s->W <= lim &&
           s->B * s->O * s->oh * s->ow <= lim && s->sh <= lim && s->sw <= lim && s->ph <= lim && s->pw <= lim;
}

// cuDNN pads both sides alike; with PyTorch's floor the bottom/right padding the op
// layer computes (pr_h, pr_w) is never read, so (ph, pw) is the whole geometry
static int gpu_dnn_make(gpu_dnn_descs *d, const tensor_conv_shape *s, int with_bias) {
    int rc = 0;
    GPU_CHECK_DNN(p_cudnnCreateTensorDescriptor(&d->x));
    GPU_CHECK_DNN(p_cudnnCreateTensorDescriptor(&d->y));
    GPU_CHECK_DNN(p_cudnnCreateFilterDescriptor(&d->w));
    GPU_CHECK_DNN(p_cudnnCreateConvolutionDescriptor(&d->conv));
    GPU_CHECK_DNN(p_cudnnSetTensor4dDescriptor(d->x, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, (int)s->B, (int)s->C,
                                               (int)s->H, (int)s->W));
    GPU_CHECK_DNN(p_cudnnSetTensor4dDescriptor(d->y, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, (int)s->B, (int)s->O,
                                               (int)s->oh, (int)s->ow));
    GPU_CHECK_DNN(p_cudnnSetFilter4dDescriptor(d->w, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NCHW, (int)s->O,
                                               (int)(s->C / s->groups), (int)s->kh, (int)s->kw));
    GPU_CHECK_DNN(p_cudnnSetConvolution2dDescriptor(d->conv, (int)s->ph, (int)s->pw, (int)s->sh, (int)s->sw, 1, 1,
                                                    CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT));
    GPU_CHECK_DNN(p_cudnnSetConvolutionGroupCount(d->conv, (int)s->groups));
    // FMA math keeps FP32 exact as cuBLAS's default (no TF32) unless "high" was asked for
    GPU_CHECK_DNN(p_cudnnSetConvolutionMathType(d->conv, gpu_conv_tf32 ? CUDNN_DEFAULT_MATH : CUDNN_FMA_MATH));
    if (with_bias) {
        GPU_CHECK_DNN(p_cudnnCreateTensorDescriptor(&d->b));
        GPU_CHECK_DNN(p_cudnnSetTensor4dDescriptor(d->b, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, 1, (int)s->O, 1, 1));
    }
done:
    return rc;
}

// One cuDNN convolution call: ask the heuristics for algorithms (find), take the first
// that ran within the workspace limit, size its workspace (size), run it (run). The
// three directions differ only in those three calls. 1 when none fits: im2col runs.
#define GPU_DNN_ALGOS 8
static const size_t gpu_dnn_workspace_limit = (size_t)1 << 30;
template <typename perf_t, typename find_t, typename size_t_fn, typename run_t>
static int gpu_dnn_run(find_t find, size_t_fn size, run_t run) {
    perf_t perf[GPU_DNN_ALGOS];
    int found = 0, rc = 0, pick = -1;
    size_t bytes = 0;
    void *ws = NULL;
    GPU_CHECK_DNN(find(perf, &found));
    for (int i = 0; i < found && pick < 0; i++)
        if (perf[i].status == CUDNN_STATUS_SUCCESS && perf[i].memory <= gpu_dnn_workspace_limit) pick = i;
    if (pick < 0) return 1;
    GPU_CHECK_DNN(size(perf[pick].algo, &bytes));
    if (bytes && !(ws = gpu_alloc(bytes))) return -1;
    GPU_CHECK_DNN(run(perf[pick].algo, ws, bytes));
done:
    gpu_free(ws);   // stream-ordered: the next user of the block queues after this call
    return rc;
}

// Descriptors ready, or 1 (declined) / -1 (error) with nothing to free.
static int gpu_dnn_begin(gpu_dnn_descs *d, const tensor_conv_shape *s, int with_bias) {
    *d = gpu_dnn_descs{NULL, NULL, NULL, NULL, NULL};
    if (!gpu_dnn_ready() || !gpu_dnn_fits(s)) return 1;
    int rc = gpu_dnn_make(d, s, with_bias);
    if (rc) gpu_dnn_free(d);
    return rc;
}

static const float gpu_one = 1.0f, gpu_zero = 0.0f;

// x (B,C,H,W) * w (O,C/g,kh,kw) + bias (O) -> y (B,O,oh,ow); bias may be NULL
int gpu_conv2d(float *y, const float *x, const float *w, const float *bias, const tensor_conv_shape *s) {
    gpu_dnn_descs d;
    int rc = gpu_dnn_begin(&d, s, bias != NULL);
    if (rc) return rc;
    rc = gpu_dnn_run<cudnnConvolutionFwdAlgoPerf_t>(
        [&](cudnnConvolutionFwdAlgoPerf_t *perf, int *found) {
            return p_cudnnGetConvolutionForwardAlgorithm_v7(gpu_dnn, d.x, d.w, d.conv, d.y, GPU_DNN_ALGOS, found, perf);
        },
        [&](cudnnConvolutionFwdAlgo_t algo, size_t *bytes) {
            return p_cudnnGetConvolutionForwardWorkspaceSize(gpu_dnn, d.x, d.w, d.conv, d.y, algo, bytes);
        },
        [&](cudnnConvolutionFwdAlgo_t algo, void *ws, size_t bytes) {
            return p_cudnnConvolutionForward(gpu_dnn, &gpu_one, d.x, x, d.w, w, d.conv, algo, ws, bytes, &gpu_zero, d.y, y);
        });
    if (!rc && bias) GPU_CHECK_DNN(p_cudnnAddTensor(gpu_dnn, &gpu_one, d.b, bias, &gpu_one, d.y, y));   // per channel
done:
    gpu_dnn_free(&d);
    return rc;
}

// gy (B,O,oh,ow), w -> gx (B,C,H,W)
int gpu_conv2d_backward_data(float *gx, const float *gy, const float *w, const tensor_conv_shape *s) {
    gpu_dnn_descs d;
    int rc = gpu_dnn_begin(&d, s, 0);
    if (rc) return rc;
    rc = gpu_dnn_run<cudnnConvolutionBwdDataAlgoPerf_t>(
        [&](cudnnConvolutionBwdDataAlgoPerf_t *perf, int *found) {
            return p_cudnnGetConvolutionBackwardDataAlgorithm_v7(gpu_dnn, d.w, d.y, d.conv, d.x, GPU_DNN_ALGOS, found,
                                                                 perf);
        },
        [&](cudnnConvolutionBwdDataAlgo_t algo, size_t *bytes) {
            return p_cudnnGetConvolutionBackwardDataWorkspaceSize(gpu_dnn, d.w, d.y, d.conv, d.x, algo, bytes);
        },
        [&](cudnnConvolutionBwdDataAlgo_t algo, void *ws, size_t bytes) {
            return p_cudnnConvolutionBackwardData(gpu_dnn, &gpu_one, d.w, w, d.y, gy, d.conv, algo, ws, bytes, &gpu_zero,
                                                  d.x, gx);
        });
    gpu_dnn_free(&d);
    return rc;
}

// x, gy (B,O,oh,ow) -> gw (O,C/g,kh,kw) and, when gb is not NULL, gb (O): gy summed per channel
int gpu_conv2d_backward_weights(float *gw, float *gb, const float *x, const float *gy, const tensor_conv_shape *s) {
    gpu_dnn_descs d;
    int rc = gpu_dnn_begin(&d, s, gb != NULL);
    if (rc) return rc;
    rc = gpu_dnn_run<cudnnConvolutionBwdFilterAlgoPerf_t>(
        [&](cudnnConvolutionBwdFilterAlgoPerf_t *perf, int *found) {
            return p_cudnnGetConvolutionBackwardFilterAlgorithm_v7(gpu_dnn, d.x, d.y, d.conv, d.w, GPU_DNN_ALGOS, found,
                                                                   perf);
        },
        [&](cudnnConvolutionBwdFilterAlgo_t algo, size_t *bytes) {
            return p_cudnnGetConvolutionBackwardFilterWorkspaceSize(gpu_dnn, d.x, d.y, d.conv, d.w, algo, bytes);
        },
        [&](cudnnConvolutionBwdFilterAlgo_t algo, void *ws, size_t bytes) {
            return p_cudnnConvolutionBackwardFilter(gpu_dnn, &gpu_one, d.x, x, d.y, gy, d.conv, algo, ws, bytes,
                                                    &gpu_zero, d.w, gw);
        });
    if (!rc && gb) GPU_CHECK_DNN(p_cudnnConvolutionBackwardBias(gpu_dnn, &gpu_one, d.y, gy, &gpu_zero, d.b, gb));
done:
    gpu_dnn_free(&d);
    return rc;
}
