// runlog.c - a run's folder on disk (format: docs/RUNS.md).
//
// metrics.jsonl is appended through a large stdio buffer (a line costs a few hundred
// ns, flushed at redraws and at the end); meta.json is rewritten whole through a temp
// file and rename, so a reader never sees half of it.
#include "dash.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct dash_runlog {
    char dir[4096];
    FILE *metrics, *output;
    char *metrics_buf;
    cJSON *extra;              // fields the Lua side set (script, args, optimizer, ...)
    char start[32];
    double t_start, meta_at;   // monotonic: when the run began, meta.json was last written
};

static void iso_now(char *buf, size_t n)
{
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static int mkdir_p(char *path)
{
    for (char *p = path + 1; *p; p++)
        if (*p == '/') {
            *p = 0;
            int rc = mkdir(path, 0777);
            *p = '/';
            if (rc != 0 && errno != EEXIST) return -1;
        }
    return mkdir(path, 0777) == 0 || errno == EEXIST ? 0 : -1;
}

dash_runlog *repl_dash_runlog_open(const char *name, char *why, size_t whyn)
{
    const char *base = getenv("NNLAB_RUNS");
    if (base && (!strcmp(base, "none") || !strcmp(base, "off") || !*base)) return NULL;
    if (!base) base = "runs";
    char root[2048], clean[64];
    snprintf(root, sizeof root, "%s", base);
    if (mkdir_p(root) != 0) {
        if (why) snprintf(why, whyn, "cannot make the runs folder %s: %s", root, strerror(errno));
        return NULL;
    }
    int k = 0;
    for (const char *c = name && *name ? name : "run"; *c && k < (int)sizeof clean - 1; c++)
        clean[k++] = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
                             *c == '.' || *c == '_' || *c == '-' ? *c : '_';
    clean[k] = 0;
    dash_runlog *r = calloc(1, sizeof *r);
    if (!r) return NULL;
    time_t t = time(NULL);
    struct tm tm;
    localtime_r(&t, &tm);
    char stamp[32];
    strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", &tm);
    for (int n = 1; n < 1000; n++) {
        if (n == 1) snprintf(r->dir, sizeof r->dir, "%s/%s-%s", root, stamp, clean);
        else snprintf(r->dir, sizeof r->dir, "%s/%s-%s-%d", root, stamp, clean, n);
        if (mkdir(r->dir, 0777) == 0) break;
        if (errno != EEXIST) {
            if (why) snprintf(why, whyn, "cannot make %s: %s", r->dir, strerror(errno));
            free(r);
            return NULL;
        }
    }
    char path[4200];
    snprintf(path, sizeof path, "%s/metrics.jsonl", r->dir);
    r->metrics = fopen(path, "w");
    snprintf(path, sizeof path, "%s/output.log", r->dir);
    r->output = fopen(path, "w");
    r->metrics_buf = malloc(1 << 16);
    if (r->metrics && r->metrics_buf) setvbuf(r->metrics, r->metrics_buf, _IOFBF, 1 << 16);
    r->extra = cJSON_CreateObject();
    iso_now(r->start, sizeof r->start);
    r->t_start = repl_dash_now();
    if (!r->metrics || !r->output || !r->extra) {
        if (why) snprintf(why, whyn, "cannot write in %s: %s", r->dir, strerror(errno));
        repl_dash_runlog_close(r, NULL, NULL);
        return NULL;
    }
    return r;
}

const char *repl_dash_runlog_dir(const dash_runlog *r) { return r ? r->dir : NULL; }

// A number as JSON, 8 significant digits (the values are float32: 7.2 digits), null
// for NaN/Inf (JSON has none). printf's %g costs ~1 us a number; this ~0.1 us, and a
// metrics line is written every step.
static char *put_g(char *p, double v)
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
    static double p10[2 * 330];
    static int have_p10;
    if (!have_p10) {
        for (int i = 0; i < 2 * 330; i++) p10[i] = pow(10, i - 330);
        have_p10 = 1;
    }
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
    return put_g(p, v);
}

// seconds with microseconds, by integer arithmetic (written every step)
static char *put_time(char *p, double t)
{
    if (!(t >= 0 && t < 1e12)) return put_g(p, t);
    uint64_t us = (uint64_t)(t * 1e6 + 0.5), s = us / 1000000, f = us % 1000000;
    p = put_g(p, (double)s);
    *p++ = '.';
    for (int i = 5; i >= 0; i--) { p[i] = (char)('0' + f % 10); f /= 10; }
    return p + 6;
}

// {"step":..,"time":.. and the logged fields, without the closing brace; returns the end
static char *put_point(char *p, const dash_point *pt, double t)
{
    // the learning rate rarely changes: its text is kept
    static double lr_last = NAN;
    static char lr_txt[32];
    static int lr_len;
    memcpy(p, "{\"step\":", 8);
    p = put_g(p + 8, pt->step);
    memcpy(p, ",\"time\":", 8);
    p = put_time(p + 8, t);
    if (!isnan(pt->epoch)) p = put_key(p, "epoch", pt->epoch);
    if (!isnan(pt->loss)) p = put_key(p, "loss", pt->loss);
    if (!isnan(pt->lr)) {
        if (pt->lr != lr_last) {
            lr_len = (int)(put_key(lr_txt, "lr", pt->lr) - lr_txt);
            lr_last = pt->lr;
        }
        memcpy(p, lr_txt, (size_t)lr_len);
        p += lr_len;
    }
    if (!isnan(pt->test_loss)) p = put_key(p, "test_loss", pt->test_loss);
    if (!isnan(pt->acc)) p = put_key(p, "acc", pt->acc);
    return p;
}

void repl_dash_runlog_point(dash_runlog *r, const dash_point *pt, double t)
{
    if (!r || !r->metrics || isnan(pt->step)) return;
    char line[256], *p = put_point(line, pt, t);
    *p++ = '}';
    *p++ = '\n';
    fwrite_unlocked(line, 1, (size_t)(p - line), r->metrics);   // one thread writes: no lock per line
}

static void put_name(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"' || *s == '\\') fputc('\\', f);
        if ((unsigned char)*s >= 32) fputc(*s, f);
    }
    fputc('"', f);
}

void repl_dash_runlog_grads(dash_runlog *r, const dash_point *pt, double t, const dash_grad *g, int n)
{
    if (!r || !r->metrics || isnan(pt->step)) return;
    char line[256], num[32], *p = put_point(line, pt, t);
    fwrite(line, 1, (size_t)(p - line), r->metrics);
    static const char *keys[] = {"grad_norm", "update_ratio", "weight_norm"};
    for (int k = 0; k < 3; k++) {
        fprintf(r->metrics, ",\"%s\":{", keys[k]);
        for (int i = 0; i < n; i++) {
            double v = k == 0 ? g[i].grad_norm : k == 1 ? g[i].update_ratio : g[i].weight_norm;
            if (i) fputc(',', r->metrics);
            put_name(r->metrics, g[i].name);
            fputc(':', r->metrics);
            char *e = put_g(num, isfinite(v) && v < 0 ? NAN : v);
            fwrite(num, 1, (size_t)(e - num), r->metrics);
        }
        fputc('}', r->metrics);
    }
    fputs("}\n", r->metrics);
}

void repl_dash_runlog_output(dash_runlog *r, const char *bytes, size_t n)
{
    if (r && r->output) fwrite(bytes, 1, n, r->output);
}

void repl_dash_runlog_set(dash_runlog *r, const char *key, cJSON *v)
{
    if (!v) return;
    if (!r || !r->extra) {
        cJSON_Delete(v);
        return;
    }
    if (cJSON_GetObjectItemCaseSensitive(r->extra, key)) cJSON_ReplaceItemInObjectCaseSensitive(r->extra, key, v);
    else cJSON_AddItemToObject(r->extra, key, v);
}

static void add_num(cJSON *o, const char *key, double v)
{
    if (isfinite(v)) cJSON_AddNumberToObject(o, key, v);
}

void repl_dash_runlog_write_meta(dash_runlog *r, const dash_state *s, const char *status)
{
    if (!r || !s) return;
    cJSON *m = cJSON_Duplicate(r->extra, 1);
    if (!m) return;
    char end[32];
    cJSON_AddStringToObject(m, "name", s->run_name[0] ? s->run_name : "run");
    cJSON_AddStringToObject(m, "status", status ? status : "running");
    cJSON_AddStringToObject(m, "start", r->start);
    if (status && strcmp(status, "running") != 0) {
        iso_now(end, sizeof end);
        cJSON_AddStringToObject(m, "end", end);
    } else {
        cJSON_AddNullToObject(m, "end");
    }
    if (!cJSON_GetObjectItemCaseSensitive(m, "seed")) cJSON_AddNullToObject(m, "seed");
    cJSON_AddNumberToObject(m, "steps", isnan(s->last.step) ? 0 : s->last.step);
    cJSON_AddStringToObject(m, "device", s->device[0] ? s->device : "cpu");
    cJSON *fin = cJSON_AddObjectToObject(m, "final");
    if (fin) {
        add_num(fin, "loss", s->last.loss);
        add_num(fin, "test_loss", s->last.test_loss);
        add_num(fin, "acc", s->last.acc);
        add_num(fin, "lr", s->last.lr);
    }
    cJSON *best = cJSON_AddObjectToObject(m, "best");
    if (best) {
        add_num(best, "loss", s->min_loss);
        add_num(best, "loss_step", s->min_loss_step);
    }
    cJSON *model = cJSON_GetObjectItemCaseSensitive(m, "model");
    if (s->nrows && (!model || cJSON_IsObject(model)) && !cJSON_GetObjectItemCaseSensitive(model, "summary")) {
        if (!model) {
            model = cJSON_AddObjectToObject(m, "model");
            if (model) cJSON_AddStringToObject(model, "name", s->model_name[0] ? s->model_name : "model");
        }
        cJSON *rows = model ? cJSON_AddArrayToObject(model, "summary") : NULL;
        for (int i = 0; rows && i < s->nrows; i++) {
            cJSON *row = cJSON_CreateObject();
            if (!row) break;
            cJSON_AddStringToObject(row, "layer", s->rows[i].layer);
            cJSON_AddStringToObject(row, "shape", s->rows[i].shape);
            cJSON_AddStringToObject(row, "params", s->rows[i].params);
            cJSON_AddItemToArray(rows, row);
        }
    }
    char *txt = cJSON_Print(m);
    cJSON_Delete(m);
    if (!txt) return;
    char tmp[4300], path[4300];
    snprintf(tmp, sizeof tmp, "%s/.meta.json.tmp", r->dir);
    snprintf(path, sizeof path, "%s/meta.json", r->dir);
    FILE *f = fopen(tmp, "w");
    if (f) {
        int ok = fputs(txt, f) >= 0 && fputc('\n', f) != EOF;
        ok = fclose(f) == 0 && ok;
        if (ok) rename(tmp, path);
        else unlink(tmp);
    }
    free(txt);
    r->meta_at = repl_dash_now();
}

// meta.json while running: half a second in (a run that ends sooner writes it once,
// at its end: a 100-step run stays cheap), then every 5 s
void repl_dash_runlog_tick(dash_runlog *r, const dash_state *s)
{
    if (!r) return;
    double now = repl_dash_now();
    if (r->meta_at ? now - r->meta_at >= 5 : now - r->t_start >= 0.5) repl_dash_runlog_write_meta(r, s, "running");
}

void repl_dash_runlog_flush(dash_runlog *r)
{
    if (!r) return;
    if (r->metrics) fflush(r->metrics);
    if (r->output) fflush(r->output);
}

void repl_dash_runlog_close(dash_runlog *r, const dash_state *s, const char *status)
{
    if (!r) return;
    if (s && status) repl_dash_runlog_write_meta(r, s, status);
    if (r->metrics) fclose(r->metrics);
    if (r->output) fclose(r->output);
    free(r->metrics_buf);
    cJSON_Delete(r->extra);
    free(r);
}
