// error.c - the last error message, and shape formatting for messages.
#include <stdarg.h>
#include <stdio.h>
#include "tensor.h"

static _Thread_local char last_error[1024];

const char *tensor_last_error(void) { return last_error[0] ? last_error : "unknown error"; }

void tensor_set_error(const char *fmt, ...) {
    char tmp[1024];           // format first: fmt's arguments may point into last_error
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    snprintf(last_error, sizeof last_error, "%s", tmp);
}

char *tensor_sizes_str(char *buf, size_t n, int ndim, const int64_t *sizes) {
    size_t k = 0;
    k += (size_t)snprintf(buf + k, n - k, "[");
    for (int i = 0; i < ndim && k < n; i++)
        k += (size_t)snprintf(buf + k, n - k, i ? ",%lld" : "%lld", (long long)sizes[i]);
    if (k < n) snprintf(buf + k, n - k, "]");
    return buf;
}

char *tensor_shape_str(char *buf, size_t n, const tensor *t) {
    return tensor_sizes_str(buf, n, t->ndim, t->size);
}
