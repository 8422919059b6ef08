// jsonl.c - metrics.jsonl's lines (format: docs/RUNS.md): numbers to 8 significant
// digits without printf, a step's point, a sampled step's per-parameter statistics.
// Called from the metrics writer's thread (writer.c) and the training thread alike:
// nothing here keeps state between calls.
#include "dash.h"

#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static double p10[2 * 330];
static pthread_once_t p10_once = PTHREAD_ONCE_INIT;    // the writer thread formats too
static void p10_init(void)
{
    for (int i = 0; i < 2 * 330; i++) p10[i] = pow(10, i - 330);
}

// A number as JSON, 8 significant digits (the values are float32: 7.2 digits), null
// for NaN/Inf (JSON has none). printf's %g costs ~1 us a number; this ~0.1 us, and a
// metrics line is written every step.
char *repl_dash_put_g(char *p, double v)
{
    if (!isfinite(v)) {
        memcpy(p, "null", 4);
        return p + 4;
    }
    if (v < 0) {
        *p++ = '-';
        v = -v;
    }
    if (v == floor(v) && v < 1e15) {           // steps, counts, epochs
        char d[20];
        int n = 0;
        uint64_t m = (uint64_t)v;
        do { d[n++] = (char)('0' + m % 10); m /= 10; } while (m);
        while (n) *p++ = d[--n];
        return p;
    }
    // the decimal exponent from a table (log10 and pow are most of the cost otherwise)
    pthread_once(&p10_once, p10_init);
    // the largest power <= v from the binary exponent (floor(log2 v) * log10 2 is low by at
    // most one): no search, whose ten unpredictable branches cost more than the rest
    uint64_t bits;
    memcpy(&bits, &v, sizeof bits);
    int e2 = (int)((bits >> 52) & 0x7ff) - 1023, e;
    if (e2 > -1023) {                          // normal (v > 0, finite, not an integer)
        e = (int)floor(e2 * 0.30102999566398120);
        if (e + 1 + 330 < 2 * 330 && p10[e + 1 + 330] <= v) e++;
    } else {                                   // a denormal double (below the table): printf
        return p + sprintf(p, "%.8g", v);
    }
    int k = 7 - e + 330;
    uint64_t m = (uint64_t)(v * (k >= 0 && k < 2 * 330 ? p10[k] : pow(10, 7 - e)) + 0.5);
    if (m >= 100000000u) { m = (m + 5) / 10; e++; }
    char d[8];
    for (int i = 7; i >= 0; i--) { d[i] = (char)('0' + m % 10); m /= 10; }
    int nd = 8;
    while (nd > 1 && d[nd - 1] == '0') nd--;
    if (e < -5 || e >= 8) {                    // 1.2345e-07
        *p++ = d[0];
        if (nd > 1) { *p++ = '.'; for (int i = 1; i < nd; i++) *p++ = d[i]; }
        *p++ = 'e';
        if (e < 0) { *p++ = '-'; e = -e; }
        if (e >= 100) *p++ = (char)('0' + e / 100);
        if (e >= 10) *p++ = (char)('0' + e / 10 % 10);
        *p++ = (char)('0' + e % 10);
    } else if (e < 0) {                        // 0.00123
        *p++ = '0';
        *p++ = '.';
        for (int i = 0; i < -e - 1; i++) *p++ = '0';
        for (int i = 0; i < nd; i++) *p++ = d[i];
    } else {                                   // 123.45
        for (int i = 0; i <= e; i++) *p++ = i < nd ? d[i] : '0';
        if (nd > e + 1) { *p++ = '.'; for (int i = e + 1; i < nd; i++) *p++ = d[i]; }
    }
    return p;
}

static char *put_key(char *p, const char *key, double v)
{
    *p++ = ',';
    *p++ = '"';
    size_t k = strlen(key);
    memcpy(p, key, k);
    p += k;
    *p++ = '"';
    *p++ = ':';
    return repl_dash_put_g(p, v);
}

// seconds with microseconds, by integer arithmetic (written every step)
static char *put_time(char *p, double t)
{
    if (!(t >= 0 && t < 1e12)) return repl_dash_put_g(p, t);
    uint64_t us = (uint64_t)(t * 1e6 + 0.5), s = us / 1000000, f = us % 1000000;
    p = repl_dash_put_g(p, (double)s);
    *p++ = '.';
    for (int i = 5; i >= 0; i--) { p[i] = (char)('0' + f % 10); f /= 10; }
    return p + 6;
}

// {"step":..,"time":.. and the logged fields, without the closing brace; returns the end
char *repl_dash_put_point(char *p, const dash_point *pt, double t)
{
    memcpy(p, "{\"step\":", 8);
    p = repl_dash_put_g(p + 8, pt->step);
    memcpy(p, ",\"time\":", 8);
    p = put_time(p + 8, t);
    if (!isnan(pt->epoch)) p = put_key(p, "epoch", pt->epoch);
    if (!isnan(pt->loss)) p = put_key(p, "loss", pt->loss);
    if (!isnan(pt->lr)) p = put_key(p, "lr", pt->lr);
    if (!isnan(pt->test_loss)) p = put_key(p, "test_loss", pt->test_loss);
    if (!isnan(pt->acc)) p = put_key(p, "acc", pt->acc);
    return p;
}

// A JSON string of s (quotes and backslashes escaped, control characters dropped)
static char *put_name(char *p, const char *s)
{
    *p++ = '"';
    for (; *s; s++) {
        if (*s == '"' || *s == '\\') *p++ = '\\';
        if ((unsigned char)*s >= 32) *p++ = *s;
    }
    *p++ = '"';
    return p;
}

char *repl_dash_grads_line(const dash_point *pt, double t, const dash_grad *g, int n)
{
    size_t cap = 512;
    for (int i = 0; i < n; i++) cap += 3 * (2 * strlen(g[i].name) + 40);
    char *line = malloc(cap), *p = line;
    if (!line) return NULL;
    p = repl_dash_put_point(p, pt, t);
    static const char *keys[] = {"grad_norm", "update_ratio", "weight_norm"};
    for (int k = 0; k < 3; k++) {
        p += sprintf(p, ",\"%s\":{", keys[k]);
        for (int i = 0; i < n; i++) {
            double v = k == 0 ? g[i].grad_norm : k == 1 ? g[i].update_ratio : g[i].weight_norm;
            if (i) *p++ = ',';
            p = put_name(p, g[i].name);
            *p++ = ':';
            p = repl_dash_put_g(p, isfinite(v) && v < 0 ? NAN : v);
        }
        *p++ = '}';
    }
    memcpy(p, "}\n", 3);
    return line;
}
