// print.c - tostring of a tensor, PyTorch-like with an nnlab footer:
//
//   1e-03 *                      <- shared scale, only for very large/small values
//   tensor([[ 0.1234, -1.2000],
//           [ 3.0000,  4.0000]])
//   [tensor 2x2 float32 cpu]
//
// Integral values print without decimals; above 1000 elements every dim longer than
// 6 shows its first and last 3 entries around a "…". Meta tensors have no values and
// print only the footer.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "repl.h"

#define EDGE 3              // entries kept at each end of a summarized dim
#define SUMMARIZE_ABOVE 1000
#define LINE_WIDTH 80
#define PREFIX "tensor("

typedef struct {
    const float *base;
    int ndim;
    const int64_t *size;
    const int64_t *stride;
    int summarize;
    int int_mode;
    int sci_mode;           // values too far apart for one scale: 1.2340e-05 each
    double scale;           // printed value = v / scale
    int width;              // columns of the widest value
    // statistics gathered by the first pass
    int integral;
    double max_abs;
    double min_abs;         // smallest non-zero magnitude (0: none yet)
} fmt_state;

typedef void (*visit_fn)(fmt_state *f, float v);

static int shown(const fmt_state *f, int depth, int64_t i) {
    int64_t n = f->size[depth];
    return !f->summarize || n <= 2 * EDGE || i < EDGE || i >= n - EDGE;
}

// Calls fn on every value that will be printed.
static void visit(fmt_state *f, int depth, const float *p, visit_fn fn) {
    if (depth == f->ndim) {
        fn(f, *p);
        return;
    }
    for (int64_t i = 0; i < f->size[depth]; i++) {
        if (!shown(f, depth, i)) {
            i = f->size[depth] - EDGE - 1;     // jump to the trailing entries
            continue;
        }
        visit(f, depth + 1, p + i * f->stride[depth], fn);
    }
}

static void note_stats(fmt_state *f, float v) {
    if (!isfinite(v)) return;
    if (v != floorf(v)) f->integral = 0;
    if (fabs(v) > f->max_abs) f->max_abs = fabs(v);
    if (v != 0 && (f->min_abs == 0 || fabs(v) < f->min_abs)) f->min_abs = fabs(v);
}

static int format_value(const fmt_state *f, float v, char *buf, size_t n) {
    if (isnan(v)) return snprintf(buf, n, "nan");
    if (isinf(v)) return snprintf(buf, n, v > 0 ? "inf" : "-inf");
    if (f->int_mode) return snprintf(buf, n, "%.0f", v == 0 ? 0.0 : (double)v);
    if (f->sci_mode) return snprintf(buf, n, "%.4e", (double)v);
    return snprintf(buf, n, "%.4f", (double)v / f->scale);
}

static void note_width(fmt_state *f, float v) {
    char buf[64];
    int w = format_value(f, v, buf, sizeof buf);
    if (w > f->width) f->width = w;
}

static void add_spaces(luaL_Buffer *b, int n) {
    for (int i = 0; i < n; i++) luaL_addchar(b, ' ');
}

static void add_value(luaL_Buffer *b, const fmt_state *f, float v) {
    char buf[64];
    int w = format_value(f, v, buf, sizeof buf);
    add_spaces(b, f->width - w);
    luaL_addlstring(b, buf, (size_t)w);
}

// One dim, its "[" at column `indent`.
static void emit(luaL_Buffer *b, const fmt_state *f, int depth, const float *p, int indent) {
    int64_t n = f->size[depth];
    int last = depth == f->ndim - 1;
    int col = indent + 1;
    luaL_addchar(b, '[');
    for (int64_t i = 0; i < n; i++) {
        int ellipsis = !shown(f, depth, i);
        if (i > 0) {
            luaL_addchar(b, ',');
            if (!last) {
                for (int k = depth; k < f->ndim - 1; k++) luaL_addchar(b, '\n');   // blank line between blocks
                add_spaces(b, indent + 1);
            } else if (col + 2 + f->width > LINE_WIDTH) {
                luaL_addchar(b, '\n');
                add_spaces(b, indent + 1);
                col = indent + 1;
            } else {
                luaL_addchar(b, ' ');
                col += 2;
            }
        }
        if (ellipsis) {
            luaL_addstring(b, "…");
            col += 1;
            i = n - EDGE - 1;
        } else if (last) {
            add_value(b, f, p[i * f->stride[depth]]);
            col += f->width;
        } else {
            emit(b, f, depth + 1, p + i * f->stride[depth], indent + 1);
        }
    }
    luaL_addchar(b, ']');
}

static void add_footer(luaL_Buffer *b, const tensor *t) {
    char buf[TENSOR_MAX_DIMS * 22 + 16];
    size_t len = 0;
    if (t->ndim == 0) len = (size_t)snprintf(buf, sizeof buf, "scalar");
    for (int i = 0; i < t->ndim; i++)
        len += (size_t)snprintf(buf + len, sizeof buf - len, i ? "x%lld" : "%lld", (long long)t->size[i]);
    luaL_addstring(b, "[tensor ");
    luaL_addlstring(b, buf, len);
    luaL_addstring(b, " float32 ");
    luaL_addstring(b, tensor_device_name(t->storage->device));
    const char *fn = tensor_grad_fn_name(t);
    if (fn) { luaL_addstring(b, " grad_fn="); luaL_addstring(b, fn); }
    else if (t->requires_grad) luaL_addstring(b, " requires_grad");
    luaL_addchar(b, ']');
}

void repl_push_tensor_string(lua_State *L, tensor *t) {
    luaL_Buffer b;
    tensor_device dev = t->storage->device;
    if (dev == TENSOR_META) {
        luaL_buffinit(L, &b);
        add_footer(&b, t);
        luaL_pushresult(&b);
        return;
    }
    int64_t contiguous[TENSOR_MAX_DIMS];
    fmt_state f = {.ndim = t->ndim, .size = t->size, .stride = t->stride, .scale = 1.0,
                   .integral = 1};
    float *host = NULL;
    int64_t numel = tensor_numel(t);
    if (dev == TENSOR_CPU) {
        f.base = numel > 0 ? t->storage->data + t->offset : NULL;
    } else if (numel > 0) {       // other devices: read a host copy
        host = tensor_to_host(t);
        if (!host) {
            luaL_buffinit(L, &b);
            add_footer(&b, t);
            luaL_addstring(&b, " (values unavailable: ");
            char msg[1024];
            tensor_error_render(msg, sizeof msg, tensor_last_error_raw(), TENSOR_WORDS_LUA);
            luaL_addstring(&b, msg);
            luaL_addchar(&b, ')');
            luaL_pushresult(&b);
            return;
        }
        int64_t s = 1;
        for (int i = t->ndim - 1; i >= 0; i--) {
            contiguous[i] = s;
            s *= t->size[i];
        }
        f.base = host;
        f.stride = contiguous;
    }
    f.summarize = numel > SUMMARIZE_ABOVE;

    luaL_buffinit(L, &b);
    if (numel == 0) {
        luaL_addstring(&b, PREFIX "[])\n");
        add_footer(&b, t);
        luaL_pushresult(&b);
        return;
    }
    visit(&f, 0, f.base, note_stats);
    f.int_mode = f.integral && f.max_abs < 1e8;
    // as PyTorch: magnitudes more than 1000x apart would print as 0.0000 under one scale
    f.sci_mode = !f.int_mode && f.min_abs > 0 && f.max_abs / f.min_abs > 1e3;
    if (!f.int_mode && !f.sci_mode && (f.max_abs >= 1e4 || (f.max_abs > 0 && f.max_abs < 1e-2))) {
        int e = (int)floor(log10(f.max_abs));
        char line[32];
        f.scale = pow(10.0, e);
        snprintf(line, sizeof line, "1e%+03d *\n", e);
        luaL_addstring(&b, line);
    }
    visit(&f, 0, f.base, note_width);

    luaL_addstring(&b, PREFIX);
    if (t->ndim == 0) add_value(&b, &f, *f.base);
    else emit(&b, &f, 0, f.base, (int)strlen(PREFIX));
    luaL_addstring(&b, ")\n");
    add_footer(&b, t);
    free(host);
    luaL_pushresult(&b);
}
