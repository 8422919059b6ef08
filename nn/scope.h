// scope.h - private to nn/: hold the intermediate tensors of a composed layer and
// release them all at the end, so each layer reads as a straight list of ops.
#ifndef NNLAB_NN_SCOPE_H
#define NNLAB_NN_SCOPE_H

#include "nn.h"

#define NN_SCOPE_MAX 48

typedef struct { tensor *held[NN_SCOPE_MAX]; int n; } nn_scope;

static inline tensor *nn_hold(nn_scope *s, tensor *t) {
    if (!t) return NULL;
    if (s->n == NN_SCOPE_MAX) {   // a programming error in nn/, not a user error
        tensor_release(t);
        tensor_set_error("nn: internal scope overflow (more than %d intermediates)", NN_SCOPE_MAX);
        return NULL;
    }
    s->held[s->n++] = t;
    return t;
}

static inline void nn_scope_end(nn_scope *s) {
    for (int i = 0; i < s->n; i++) tensor_release(s->held[i]);
    s->n = 0;
}

// Keeps result alive past the scope; releases everything else.
static inline tensor *nn_scope_return(nn_scope *s, tensor *result) {
    tensor_retain(result);
    nn_scope_end(s);
    return result;
}

// var = expr, held by the scope; jumps to fail: when the op failed.
#define NN_TRY(s, var, expr) do { if (!((var) = nn_hold((s), (expr)))) goto fail; } while (0)

static inline const char *nn_shape(char *buf, size_t n, const tensor *t) {
    return t ? tensor_shape_str(buf, n, t) : "(nil)";
}

static inline int nn_same_shape(const tensor *a, const tensor *b) {
    if (a->ndim != b->ndim) return 0;
    for (int i = 0; i < a->ndim; i++) if (a->size[i] != b->size[i]) return 0;
    return 1;
}

static inline tensor_device nn_device(const tensor *t) { return t->storage->device; }

#endif
