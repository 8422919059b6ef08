// error.c - the last error, and shape formatting for messages.
//
// A message is raised in C terms with light markup, so that each front end can word the
// fix in its own language without the library guessing:
//   {{dim:N}}          a 0-based dim (or {{index:N}} an index): C shows N, Lua N + 1
//   {{range:N}}        the valid indices of a dim of size N: C "0..N-1", Lua "1..N"
//   {{LUA|C}}          the same fix in each language: {{x:clone()|tensor_clone(x)}}
// The op is the text before the first ": " (the convention every message follows:
// "matmul: ...", "nn.Linear(784->10): ..."), kept as its own field.
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "tensor.h"

static _Thread_local char raw[1024];        // as raised, with markup
static _Thread_local char words_c[1024];    // rendered for C callers
static _Thread_local char op[96];

void tensor_set_error(const char *fmt, ...) {
    char tmp[1024];           // format first: fmt's arguments may point into raw
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    snprintf(raw, sizeof raw, "%s", tmp);
    tensor_error_render(words_c, sizeof words_c, raw, TENSOR_WORDS_C);
    // the op: a prefix without spaces ending in ": " (inside parentheses spaces are fine:
    // "nn.Conv2d(3->8, k=3): ...")
    op[0] = 0;
    int depth = 0;
    for (const char *p = raw; *p && p - raw < (long)sizeof op - 1; p++) {
        if (*p == '(') depth++;
        else if (*p == ')') depth--;
        else if (p[0] == ':' && p[1] == ' ' && depth == 0) {
            if (p > raw) snprintf(op, sizeof op, "%.*s", (int)(p - raw), raw);
            break;
        } else if (*p == ' ' && depth == 0) break;
    }
}

void tensor_error_rename(const char *from, const char *to) {
    size_t n = strlen(from);
    if (strcmp(op, from) != 0 || strncmp(raw, from, n) != 0) return;   // another op's error: keep its name
    char tmp[1024];
    snprintf(tmp, sizeof tmp, "%s%s", to, raw + n);
    tensor_set_error("%s", tmp);
}

const char *tensor_last_error(void) { return words_c[0] ? words_c : "unknown error"; }
const char *tensor_last_error_raw(void) { return raw[0] ? raw : "unknown error"; }
const char *tensor_last_error_op(void) { return op[0] ? op : NULL; }

size_t tensor_error_render(char *out, size_t n, const char *msg, tensor_words words) {
    size_t k = 0;
    if (!n) return 0;
    for (const char *p = msg; *p && k + 1 < n;) {
        const char *end = strncmp(p, "{{", 2) == 0 ? strstr(p + 2, "}}") : NULL;
        if (!end) {
            out[k++] = *p++;
            continue;
        }
        const char *body = p + 2;
        size_t len = (size_t)(end - body);
        const char *colon = memchr(body, ':', len);
        size_t tag = colon ? (size_t)(colon - body) : 0;
        if ((tag == 3 && strncmp(body, "dim", 3) == 0) || (tag == 5 && strncmp(body, "index", 5) == 0)) {
            long long d = strtoll(colon + 1, NULL, 10);
            k += (size_t)snprintf(out + k, n - k, "%lld", words == TENSOR_WORDS_LUA ? d + 1 : d);
        } else if (tag == 5 && strncmp(body, "range", 5) == 0) {
            long long d = strtoll(colon + 1, NULL, 10);
            k += (size_t)snprintf(out + k, n - k, "%lld..%lld", words == TENSOR_WORDS_LUA ? 1LL : 0LL,
                                  words == TENSOR_WORDS_LUA ? d : d - 1);
        } else {
            const char *bar = memchr(body, '|', len);
            const char *s = body;
            size_t sl = len;
            if (bar) {
                if (words == TENSOR_WORDS_LUA) sl = (size_t)(bar - body);
                else { s = bar + 1; sl = (size_t)(end - s); }
            }
            k += (size_t)snprintf(out + k, n - k, "%.*s", (int)sl, s);
        }
        if (k >= n) k = n - 1;
        p = end + 2;
    }
    out[k] = 0;
    return k;
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
