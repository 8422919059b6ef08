// runs_scan.c - one metrics.jsonl line -> its numbers, fast. The trainer writes flat
// objects of known keys, millions of lines per run; this strict scanner reads exactly
// those and returns -1 for anything else, which runs_read.c then hands to cJSON (the
// reference, which decides and gives the message).
#include "dash.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

const char *const repl_runs_keys[DASH_K_N] = {"step", "loss", "test_loss", "acc", "lr", "epoch"};

static int key_index(const char *k, size_t n)
{
    static const size_t len[DASH_K_N] = {4, 4, 9, 3, 2, 5};
    for (int i = 0; i < DASH_K_N; i++)
        if (len[i] == n && memcmp(repl_runs_keys[i], k, n) == 0) return i;
    return -1;
}

// The scanner: strict JSON for what it accepts; returns 0 and fills vals (NAN where
// absent or null), or -1 for "let cJSON decide" (any doubt, including a syntax error).
typedef struct scan { const char *p, *e; } scan;

static void skip_ws(scan *s)
{
    while (s->p < s->e && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r')) s->p++;
}

// A string; *plain = it has no escapes (so its bytes are its value).
static int scan_string(scan *s, const char **start, size_t *n, int *plain)
{
    if (s->p >= s->e || *s->p != '"') return -1;
    const char *b = ++s->p;
    *plain = 1;
    while (s->p < s->e) {
        unsigned char c = (unsigned char)*s->p;
        if (c == '"') {
            *start = b;
            *n = (size_t)(s->p - b);
            s->p++;
            return 0;
        }
        if (c < 0x20) return -1;
        if (c == '\\') {
            *plain = 0;
            if (++s->p >= s->e) return -1;
            if (*s->p == 'u') {
                for (int i = 1; i <= 4; i++)
                    if (s->p + i >= s->e || !strchr("0123456789abcdefABCDEF", s->p[i]) || !s->p[i]) return -1;
                s->p += 4;
            } else if (!*s->p || !strchr("\"\\/bfnrt", *s->p)) return -1;
        }
        s->p++;
    }
    return -1;
}

static int is_digit(char c) { return c >= '0' && c <= '9'; }

// A JSON number by its grammar. Its value: for up to 19 significant digits and a
// power of ten within 1e+-22 (all the trainer writes), the digits times an exact
// power of ten, correctly rounded below 2^53 (Clinger's fast path) and within one
// ulp above; anything else goes to strtod. strtod alone costs half the load time.
static int scan_number(scan *s, double *out)
{
    static const double pow10[23] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
                                     1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
    const char *b = s->p, *p = s->p, *e = s->e;
    uint64_t m = 0;
    int nd = 0, exp10 = 0, inexact = 0, neg = 0;
    if (p < e && *p == '-') { neg = 1; p++; }
    if (p >= e || !is_digit(*p)) return -1;
    if (*p == '0') p++;
    else
        for (; p < e && is_digit(*p); p++) {
            if (nd < 19) { m = m * 10 + (uint64_t)(*p - '0'); nd++; }
            else { exp10++; inexact = 1; }
        }
    if (p < e && *p == '.') {
        if (++p >= e || !is_digit(*p)) return -1;
        for (; p < e && is_digit(*p); p++) {
            if (m == 0 && *p == '0') exp10--;          // leading zeros of 0.000123
            else if (nd < 19) { m = m * 10 + (uint64_t)(*p - '0'); nd++; exp10--; }
            else inexact = 1;
        }
    }
    if (p < e && (*p == 'e' || *p == 'E')) {
        p++;
        int eneg = 0, ev = 0;
        if (p < e && (*p == '+' || *p == '-')) eneg = *p++ == '-';
        if (p >= e || !is_digit(*p)) return -1;
        for (; p < e && is_digit(*p); p++)
            if (ev < 100000) ev = ev * 10 + (*p - '0');
        exp10 += eneg ? -ev : ev;
    }
    if (!inexact && exp10 >= -22 && exp10 <= 22) {
        double v = (double)m;
        v = exp10 < 0 ? v / pow10[-exp10] : v * pow10[exp10];
        *out = neg ? -v : v;
    } else {
        char *end;
        *out = strtod(b, &end);
        if (end != p) return -1;
    }
    s->p = p;
    return 0;
}

static int scan_word(scan *s, const char *w)
{
    size_t n = strlen(w);
    if ((size_t)(s->e - s->p) < n || memcmp(s->p, w, n) != 0) return -1;
    s->p += n;
    return 0;
}

// Any value; *num gets a number's value (NAN for anything else).
static int scan_value(scan *s, double *num, int depth)
{
    *num = NAN;
    if (s->p >= s->e || depth > 32) return -1;
    char c = *s->p;
    const char *k;
    size_t kn;
    int plain;
    double d;
    if (c == '"') return scan_string(s, &k, &kn, &plain);
    if (c == 'n') return scan_word(s, "null");
    if (c == 't') return scan_word(s, "true");
    if (c == 'f') return scan_word(s, "false");
    if (c == '-' || is_digit(c)) return scan_number(s, num);
    if (c == '{' || c == '[') {
        char close = c == '{' ? '}' : ']';
        s->p++;
        skip_ws(s);
        if (s->p < s->e && *s->p == close) { s->p++; return 0; }
        for (;;) {
            if (c == '{') {
                if (scan_string(s, &k, &kn, &plain) != 0) return -1;
                skip_ws(s);
                if (s->p >= s->e || *s->p++ != ':') return -1;
                skip_ws(s);
            }
            if (scan_value(s, &d, depth + 1) != 0) return -1;
            skip_ws(s);
            if (s->p >= s->e) return -1;
            if (*s->p == ',') { s->p++; skip_ws(s); continue; }
            if (*s->p == close) { s->p++; return 0; }
            return -1;
        }
    }
    return -1;
}

int repl_runs_scan_line(const char *line, size_t len, double vals[DASH_K_N])
{
    scan s = {line, line + len};
    int seen[DASH_K_N] = {0};
    for (int i = 0; i < DASH_K_N; i++) vals[i] = NAN;
    skip_ws(&s);
    if (s.p >= s.e || *s.p++ != '{') return -1;
    skip_ws(&s);
    if (s.p < s.e && *s.p == '}') s.p++;
    else for (;;) {
        const char *k;
        size_t kn;
        int plain;
        double d;
        if (scan_string(&s, &k, &kn, &plain) != 0 || !plain) return -1;
        skip_ws(&s);
        if (s.p >= s.e || *s.p++ != ':') return -1;
        skip_ws(&s);
        if (scan_value(&s, &d, 1) != 0) return -1;
        int ki = key_index(k, kn);
        if (ki >= 0 && !seen[ki]) {      // the first of duplicate keys, as cJSON
            seen[ki] = 1;
            vals[ki] = d;
        }
        skip_ws(&s);
        if (s.p >= s.e) return -1;
        if (*s.p == ',') { s.p++; skip_ws(&s); continue; }
        if (*s.p++ == '}') break;
        return -1;
    }
    skip_ws(&s);
    return s.p == s.e ? 0 : -1;
}
