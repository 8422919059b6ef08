// dnnl.c - conv2d forward, backward-data and backward-weights through oneDNN (libdnnl,
// what PyTorch's CPU convolutions use), dlopen()ed on the first convolution so start-up
// never pays its load. Only dnnl's types come from its header; every function is looked
// up with dlsym. A kernel returns 1 ("not here") when the library is missing, the
// shape is one it cannot take, or NNLAB_CONV=im2col asks for the fallback: the op layer
// then runs im2col + GEMM, which stays the reference in the tests.
//
// Primitives are made with format "any" so oneDNN picks its blocked layouts (nChw16c
// and friends, its fast direct kernels); nnlab's (B,C,H,W) tensors are reordered into
// and out of them around each call, as PyTorch does for NCHW tensors. Primitive
// creation JIT-compiles code (~1 ms), so they are cached by shape.
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cpu.h"

#if __has_include(<oneapi/dnnl/dnnl_types.h>)
#include <oneapi/dnnl/dnnl_types.h>
#define HAVE_DNNL_TYPES 1
#endif

#ifndef HAVE_DNNL_TYPES
void cpu_dnnl_set_threads(int n) { (void)n; }
int cpu_conv2d(float *y, const float *x, const float *w, const float *bias, const cpu_conv_shape *s) { return 1; }
int cpu_conv2d_backward_data(float *gx, const float *gy, const float *w, const cpu_conv_shape *s) { return 1; }
int cpu_conv2d_backward_weights(float *gw, float *gb, const float *x, const float *gy, const cpu_conv_shape *s) {
    return 1;
}
#else

static struct {
    dnnl_status_t (*engine_create)(dnnl_engine_t *, dnnl_engine_kind_t, size_t);
    dnnl_status_t (*stream_create)(dnnl_stream_t *, dnnl_engine_t, unsigned);
    dnnl_status_t (*stream_wait)(dnnl_stream_t);
    dnnl_status_t (*md_init_by_tag)(dnnl_memory_desc_t *, int, const dnnl_dims_t, dnnl_data_type_t, dnnl_format_tag_t);
    int (*md_equal)(const dnnl_memory_desc_t *, const dnnl_memory_desc_t *);
    size_t (*md_size)(const dnnl_memory_desc_t *);
    dnnl_status_t (*conv_fwd_init)(dnnl_convolution_desc_t *, dnnl_prop_kind_t, dnnl_alg_kind_t,
                                   const dnnl_memory_desc_t *, const dnnl_memory_desc_t *, const dnnl_memory_desc_t *,
                                   const dnnl_memory_desc_t *, const dnnl_dims_t, const dnnl_dims_t, const dnnl_dims_t);
    dnnl_status_t (*conv_bwd_data_init)(dnnl_convolution_desc_t *, dnnl_alg_kind_t, const dnnl_memory_desc_t *,
                                        const dnnl_memory_desc_t *, const dnnl_memory_desc_t *, const dnnl_dims_t,
                                        const dnnl_dims_t, const dnnl_dims_t);
    dnnl_status_t (*conv_bwd_weights_init)(dnnl_convolution_desc_t *, dnnl_alg_kind_t, const dnnl_memory_desc_t *,
                                           const dnnl_memory_desc_t *, const dnnl_memory_desc_t *,
                                           const dnnl_memory_desc_t *, const dnnl_dims_t, const dnnl_dims_t,
                                           const dnnl_dims_t);
    dnnl_status_t (*pd_create)(dnnl_primitive_desc_t *, const_dnnl_op_desc_t, const_dnnl_primitive_attr_t,
                               dnnl_engine_t, const_dnnl_primitive_desc_t);
    dnnl_status_t (*pd_destroy)(dnnl_primitive_desc_t);
    const dnnl_memory_desc_t *(*pd_query_md)(const_dnnl_primitive_desc_t, dnnl_query_t, int);
    dnnl_status_t (*reorder_pd_create)(dnnl_primitive_desc_t *, const dnnl_memory_desc_t *, dnnl_engine_t,
                                       const dnnl_memory_desc_t *, dnnl_engine_t, const_dnnl_primitive_attr_t);
    dnnl_status_t (*prim_create)(dnnl_primitive_t *, const_dnnl_primitive_desc_t);
    dnnl_status_t (*prim_destroy)(dnnl_primitive_t);
    dnnl_status_t (*execute)(const_dnnl_primitive_t, dnnl_stream_t, int, const dnnl_exec_arg_t *);
    dnnl_status_t (*mem_create)(dnnl_memory_t *, const dnnl_memory_desc_t *, dnnl_engine_t, void *);
    dnnl_status_t (*mem_destroy)(dnnl_memory_t);
    void (*omp_set_num_threads)(int);
} D;

static int state;              // 0 not tried, 1 ready, -1 unavailable
static dnnl_engine_t engine;
static dnnl_stream_t stream;

void cpu_dnnl_set_threads(int n) {
    if (state == 1 && D.omp_set_num_threads) D.omp_set_num_threads(n);
}

static int dnnl_load(void) {
    if (state) return state == 1;
    state = -1;
    const char *e = getenv("NNLAB_CONV");
    if (e && strcmp(e, "im2col") == 0) return 0;
    // libdnnl runs on OpenMP: spinning waiters would take the cores from nnlab's pool and
    // OpenBLAS between convolutions, so its threads sleep at once (unless told otherwise)
    setenv("OMP_WAIT_POLICY", "PASSIVE", 0);
    void *h = dlopen("libdnnl.so.2", RTLD_NOW | RTLD_LOCAL);
    if (!h) h = dlopen("libdnnl.so", RTLD_NOW | RTLD_LOCAL);
    if (!h) return 0;
#define SYM(field, name) if (!(*(void **)&D.field = dlsym(h, name))) return 0
    SYM(engine_create, "dnnl_engine_create");
    SYM(stream_create, "dnnl_stream_create");
    SYM(stream_wait, "dnnl_stream_wait");
    SYM(md_init_by_tag, "dnnl_memory_desc_init_by_tag");
    SYM(md_equal, "dnnl_memory_desc_equal");
    SYM(md_size, "dnnl_memory_desc_get_size");
    SYM(conv_fwd_init, "dnnl_convolution_forward_desc_init");
    SYM(conv_bwd_data_init, "dnnl_convolution_backward_data_desc_init");
    SYM(conv_bwd_weights_init, "dnnl_convolution_backward_weights_desc_init");
    SYM(pd_create, "dnnl_primitive_desc_create");
    SYM(pd_destroy, "dnnl_primitive_desc_destroy");
    SYM(pd_query_md, "dnnl_primitive_desc_query_md");
    SYM(reorder_pd_create, "dnnl_reorder_primitive_desc_create");
    SYM(prim_create, "dnnl_primitive_create");
    SYM(prim_destroy, "dnnl_primitive_destroy");
    SYM(execute, "dnnl_primitive_execute");
    SYM(mem_create, "dnnl_memory_create");
    SYM(mem_destroy, "dnnl_memory_destroy");
#undef SYM
    *(void **)&D.omp_set_num_threads = dlsym(h, "omp_set_num_threads");
    if (D.engine_create(&engine, dnnl_cpu, 0) != dnnl_success) return 0;
    if (D.stream_create(&stream, engine, dnnl_stream_default_flags) != dnnl_success) return 0;
    state = 1;
    if (D.omp_set_num_threads) D.omp_set_num_threads(tensor_get_num_threads());
    return 1;
}

// ---- cached primitives ----
enum { FWD, BWD_DATA, BWD_WEIGHTS };
#define MAX_ARGS 4
#define CACHE_SIZE 64

// one argument of a primitive: the user's plain layout, the one the primitive wants,
// and the reorder between them (NULL when they are the same)
typedef struct {
    int id;                      // DNNL_ARG_*
    int out;                     // written by the primitive
    dnnl_memory_desc_t user, inner;
    dnnl_primitive_t reorder;
    size_t bytes;                // of the inner layout
} conv_arg;

typedef struct {
    int kind, used;
    cpu_conv_shape s;
    int has_bias;
    unsigned long long stamp;    // last use, for eviction
    dnnl_primitive_t prim;
    int nargs;
    conv_arg arg[MAX_ARGS];
} conv_entry;

static conv_entry cache[CACHE_SIZE];
static unsigned long long clock_;
static pthread_mutex_t cache_mu = PTHREAD_MUTEX_INITIALIZER;

static void entry_free(conv_entry *e) {
    if (e->prim) D.prim_destroy(e->prim);
    for (int i = 0; i < e->nargs; i++)
        if (e->arg[i].reorder) D.prim_destroy(e->arg[i].reorder);
    memset(e, 0, sizeof *e);
}

static int same_shape(const cpu_conv_shape *a, const cpu_conv_shape *b) { return memcmp(a, b, sizeof *a) == 0; }

// the plain layouts of x (B,C,H,W), w (O,C/g,kh,kw) or (g,O/g,C/g,kh,kw), y (B,O,oh,ow), bias (O)
static int plain_mds(const cpu_conv_shape *s, dnnl_format_tag_t tag_any, dnnl_memory_desc_t *x, dnnl_memory_desc_t *w,
                     dnnl_memory_desc_t *y, dnnl_memory_desc_t *b) {
    dnnl_dims_t xd = {s->B, s->C, s->H, s->W}, yd = {s->B, s->O, s->oh, s->ow}, bd = {s->O};
    dnnl_dims_t wd = {s->O, s->C / s->groups, s->kh, s->kw}, gwd = {s->groups, s->O / s->groups, s->C / s->groups, s->kh, s->kw};
    int g = s->groups > 1;
    dnnl_format_tag_t t4 = tag_any ? tag_any : dnnl_nchw, tw = tag_any ? tag_any : g ? dnnl_goihw : dnnl_oihw;
    return D.md_init_by_tag(x, 4, xd, dnnl_f32, t4) || D.md_init_by_tag(y, 4, yd, dnnl_f32, t4) ||
           D.md_init_by_tag(w, g ? 5 : 4, g ? gwd : wd, dnnl_f32, tw) || (b && D.md_init_by_tag(b, 1, bd, dnnl_f32, dnnl_x));
}

static int add_arg(conv_entry *e, int id, int out, const dnnl_memory_desc_t *user, dnnl_primitive_desc_t pd,
                   dnnl_query_t q) {
    conv_arg *a = &e->arg[e->nargs++];
    a->id = id;
    a->out = out;
    a->user = *user;
    a->inner = *D.pd_query_md(pd, q, 0);
    if (D.md_equal(&a->user, &a->inner)) return 0;
    a->bytes = D.md_size(&a->inner);
    dnnl_primitive_desc_t rpd;
    const dnnl_memory_desc_t *from = out ? &a->inner : &a->user, *to = out ? &a->user : &a->inner;
    if (D.reorder_pd_create(&rpd, from, engine, to, engine, NULL) != dnnl_success) return -1;
    int rc = D.prim_create(&a->reorder, rpd) != dnnl_success;
    D.pd_destroy(rpd);
    return rc ? -1 : 0;
}

// the forward primitive desc (also the hint the backward ones need)
static dnnl_primitive_desc_t forward_pd(const cpu_conv_shape *s, int has_bias) {
    dnnl_memory_desc_t x, w, y, b;
    if (plain_mds(s, dnnl_format_tag_any, &x, &w, &y, &b)) return NULL;
    if (has_bias && D.md_init_by_tag(&b, 1, (dnnl_dims_t){s->O}, dnnl_f32, dnnl_x)) return NULL;
    dnnl_dims_t st = {s->sh, s->sw}, pl = {s->ph, s->pw}, pr = {s->pr_h, s->pr_w};
    dnnl_convolution_desc_t cd;
    if (D.conv_fwd_init(&cd, dnnl_forward_training, dnnl_convolution_direct, &x, &w, has_bias ? &b : NULL, &y, st, pl, pr))
        return NULL;
    dnnl_primitive_desc_t pd;
    return D.pd_create(&pd, &cd, NULL, engine, NULL) == dnnl_success ? pd : NULL;
}

static int entry_make(conv_entry *e, int kind, const cpu_conv_shape *s, int has_bias) {
    e->kind = kind;
    e->s = *s;
    e->has_bias = has_bias;
    dnnl_memory_desc_t ux, uw, uy, ub, ax, aw, ay;
    if (plain_mds(s, 0, &ux, &uw, &uy, &ub) || plain_mds(s, dnnl_format_tag_any, &ax, &aw, &ay, NULL)) return -1;
    dnnl_dims_t st = {s->sh, s->sw}, pl = {s->ph, s->pw}, pr = {s->pr_h, s->pr_w};
    dnnl_primitive_desc_t fwd = forward_pd(s, has_bias), pd = NULL;
    if (!fwd) return -1;
    int rc = 0;
    if (kind == FWD) {
        pd = fwd;
        fwd = NULL;
    } else {
        dnnl_convolution_desc_t cd;
        if (kind == BWD_DATA) rc = D.conv_bwd_data_init(&cd, dnnl_convolution_direct, &ax, &aw, &ay, st, pl, pr) != 0;
        else rc = D.conv_bwd_weights_init(&cd, dnnl_convolution_direct, &ax, &aw, has_bias ? &ub : NULL, &ay, st, pl,
                                          pr) != 0;
        if (!rc) rc = D.pd_create(&pd, &cd, NULL, engine, fwd) != dnnl_success;
        D.pd_destroy(fwd);
        if (rc) return -1;
    }
    if (kind == FWD)
        rc = add_arg(e, DNNL_ARG_SRC, 0, &ux, pd, dnnl_query_src_md) ||
             add_arg(e, DNNL_ARG_WEIGHTS, 0, &uw, pd, dnnl_query_weights_md) ||
             add_arg(e, DNNL_ARG_DST, 1, &uy, pd, dnnl_query_dst_md);
    else if (kind == BWD_DATA)
        rc = add_arg(e, DNNL_ARG_DIFF_DST, 0, &uy, pd, dnnl_query_diff_dst_md) ||
             add_arg(e, DNNL_ARG_WEIGHTS, 0, &uw, pd, dnnl_query_weights_md) ||
             add_arg(e, DNNL_ARG_DIFF_SRC, 1, &ux, pd, dnnl_query_diff_src_md);
    else
        rc = add_arg(e, DNNL_ARG_SRC, 0, &ux, pd, dnnl_query_src_md) ||
             add_arg(e, DNNL_ARG_DIFF_DST, 0, &uy, pd, dnnl_query_diff_dst_md) ||
             add_arg(e, DNNL_ARG_DIFF_WEIGHTS, 1, &uw, pd, dnnl_query_diff_weights_md);
    // the bias keeps its plain layout (asked for by tag), so it needs no reorder
    if (!rc && kind != BWD_DATA && has_bias) {
        conv_arg *a = &e->arg[e->nargs++];
        memset(a, 0, sizeof *a);
        a->id = kind == FWD ? DNNL_ARG_BIAS : DNNL_ARG_DIFF_BIAS;
        a->out = kind != FWD;
        a->user = a->inner = ub;
    }
    if (!rc) rc = D.prim_create(&e->prim, pd) != dnnl_success;
    D.pd_destroy(pd);
    return rc ? -1 : 0;
}

// the cached primitive for (kind, shape), made on first use; NULL when oneDNN refuses it
static conv_entry *entry_get(int kind, const cpu_conv_shape *s, int has_bias) {
    conv_entry *lru = &cache[0];
    for (int i = 0; i < CACHE_SIZE; i++) {
        conv_entry *e = &cache[i];
        if (e->used && e->kind == kind && e->has_bias == has_bias && same_shape(&e->s, s)) {
            e->stamp = ++clock_;
            return e;
        }
        if (!e->used || (lru->used && e->stamp < lru->stamp)) lru = e;
    }
    if (lru->used) entry_free(lru);
    if (entry_make(lru, kind, s, has_bias)) { entry_free(lru); return NULL; }
    lru->used = 1;
    lru->stamp = ++clock_;
    return lru;
}

// runs e on the user's buffers (one per argument, in e's order): reorders in, the
// primitive, reorders out
static int entry_run(conv_entry *e, void *const *ptr) {
    dnnl_memory_t user[MAX_ARGS] = {0}, inner[MAX_ARGS] = {0};
    void *buf[MAX_ARGS] = {0};
    dnnl_exec_arg_t args[MAX_ARGS];
    int rc = 0;
    for (int i = 0; i < e->nargs && !rc; i++) {
        conv_arg *a = &e->arg[i];
        rc = D.mem_create(&user[i], &a->user, engine, ptr[i]) != dnnl_success;
        if (!rc && a->reorder) {
            buf[i] = cpu_cached_alloc(a->bytes);
            rc = !buf[i] || D.mem_create(&inner[i], &a->inner, engine, buf[i]) != dnnl_success;
            if (!rc && !a->out) {
                dnnl_exec_arg_t ra[2] = {{DNNL_ARG_FROM, user[i]}, {DNNL_ARG_TO, inner[i]}};
                rc = D.execute(a->reorder, stream, 2, ra) != dnnl_success;
            }
        }
        args[i].arg = a->id;
        args[i].memory = a->reorder ? inner[i] : user[i];
    }
    if (!rc) rc = D.execute(e->prim, stream, e->nargs, args) != dnnl_success;
    for (int i = 0; i < e->nargs && !rc; i++)
        if (e->arg[i].reorder && e->arg[i].out) {
            dnnl_exec_arg_t ra[2] = {{DNNL_ARG_FROM, inner[i]}, {DNNL_ARG_TO, user[i]}};
            rc = D.execute(e->arg[i].reorder, stream, 2, ra) != dnnl_success;
        }
    if (!rc) rc = D.stream_wait(stream) != dnnl_success;
    for (int i = 0; i < e->nargs; i++) {
        if (user[i]) D.mem_destroy(user[i]);
        if (inner[i]) D.mem_destroy(inner[i]);
        cpu_cached_free(buf[i]);
    }
    return rc;
}

// 1 when this shape goes to im2col instead: oneDNN's padding_r must make the output
// size come out exactly; PyTorch's floor can ask for a negative one
static int declined(const cpu_conv_shape *s) {
    return !dnnl_load() || s->B * s->C * s->H * s->W == 0 || s->O == 0 || s->oh * s->ow == 0 || s->pr_h < 0 ||
           s->pr_w < 0 || s->B > INT32_MAX || s->C > INT32_MAX;
}

static int run(int kind, const cpu_conv_shape *s, int has_bias, void *const *ptr, const char *op) {
    if (declined(s)) return 1;
    if (cpu_check_interrupt()) return -1;
    pthread_mutex_lock(&cache_mu);
    conv_entry *e = entry_get(kind, s, has_bias);
    int rc = e ? entry_run(e, ptr) : 1;   // a shape oneDNN has no kernel for: im2col
    pthread_mutex_unlock(&cache_mu);
    if (rc < 0 || (e && rc)) {
        tensor_set_error("%s: oneDNN failed on input [%lld,%lld,%lld,%lld], weight [%lld,%lld,%d,%d]; run with "
                         "NNLAB_CONV=im2col to use the im2col route", op, (long long)s->B, (long long)s->C,
                         (long long)s->H, (long long)s->W, (long long)s->O, (long long)(s->C / s->groups), s->kh, s->kw);
        return -1;
    }
    return rc;
}

// x (B,C,H,W), w (O,C/g,kh,kw), bias (O) or NULL -> y (B,O,oh,ow)
int cpu_conv2d(float *y, const float *x, const float *w, const float *bias, const cpu_conv_shape *s) {
    void *p[4] = {(void *)x, (void *)w, y, (void *)bias};
    return run(FWD, s, bias != NULL, p, "conv2d");
}

// gy (B,O,oh,ow), w -> gx (B,C,H,W), overwritten
int cpu_conv2d_backward_data(float *gx, const float *gy, const float *w, const cpu_conv_shape *s) {
    void *p[3] = {(void *)gy, (void *)w, gx};
    return run(BWD_DATA, s, 0, p, "backward of conv2d");
}

// x, gy -> gw (O,C/g,kh,kw) and gb (O) when not NULL, overwritten
int cpu_conv2d_backward_weights(float *gw, float *gb, const float *x, const float *gy, const cpu_conv_shape *s) {
    void *p[4] = {(void *)x, (void *)gy, gw, gb};
    return run(BWD_WEIGHTS, s, gb != NULL, p, "backward of conv2d");
}
#endif
