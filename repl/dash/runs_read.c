// runs_read.c - reads run folders (docs/RUNS.md) into memory for `nnlab runs`.
//
// metrics.jsonl can hold millions of lines, so each line goes through a small strict
// scanner for the flat objects the trainer writes; a line it does not understand
// (or with a syntax error) is handed to cJSON, the reference, which decides and gives
// the message. Runs load on one worker thread per core.
#include "dash.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int repl_runs_use_cjson;

const char *repl_runs_root(void)
{
    const char *r = getenv("NNLAB_RUNS");
    return r && *r ? r : "runs";
}

// ---- small helpers ------------------------------------------------------------------

// Appends a formatted line to *buf (newline separated); out of memory drops it.
static void add_msg(char **buf, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add_msg(char **buf, const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    size_t old = *buf ? strlen(*buf) : 0, n = strlen(line);
    char *p = realloc(*buf, old + n + 2);
    if (!p) return;
    memcpy(p + old, line, n);
    p[old + n] = '\n';
    p[old + n + 1] = 0;
    *buf = p;
}

// The whole file, NUL-terminated, malloc'd; NULL with errno set.
static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    struct stat st;
    size_t cap = fstat(fileno(f), &st) == 0 && st.st_size > 0 ? (size_t)st.st_size + 1 : 4096, n = 0;
    char *buf = malloc(cap + 1);
    while (buf) {
        n += fread(buf + n, 1, cap - n, f);
        if (n < cap) break;              // end of file (or an error: keep what came)
        char *p = realloc(buf, 2 * cap + 1);
        if (!p) { free(buf); buf = NULL; break; }
        buf = p;
        cap *= 2;
    }
    fclose(f);
    if (!buf) { errno = ENOMEM; return NULL; }
    buf[n] = 0;
    *len = n;
    return buf;
}

// ---- meta.json ------------------------------------------------------------------------

static char *json_str(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) && v->valuestring ? strdup(v->valuestring) : NULL;
}

static double json_num(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

static int line_of(const char *text, const char *at)
{
    int line = 1;
    for (const char *p = text; p < at && *p; p++) line += *p == '\n';
    return line;
}

static void read_meta(dash_run *r, const char *path)
{
    size_t len;
    char *text = read_file(path, &len);
    if (!text) {
        if (errno != ENOENT) add_msg(&r->error, "%s: %s", path, strerror(errno));
        return;
    }
    cJSON *m = cJSON_ParseWithLength(text, len);
    if (!m || !cJSON_IsObject(m)) {
        const char *at = cJSON_GetErrorPtr();
        int line = m ? 1 : at && at >= text && at <= text + len ? line_of(text, at) : 1;
        add_msg(&r->error, "%s:%d: %s", path, line, m ? "not a JSON object" : "not valid JSON");
        cJSON_Delete(m);
        free(text);
        return;
    }
    r->name = json_str(m, "name");
    r->status = json_str(m, "status");
    r->start = json_str(m, "start");
    r->end = json_str(m, "end");
    r->script = json_str(m, "script");
    r->device = json_str(m, "device");
    r->optimizer = json_str(m, "optimizer");
    r->seed = json_num(m, "seed");
    r->meta_steps = json_num(m, "steps");
    const cJSON *args = cJSON_GetObjectItemCaseSensitive(m, "args"), *a;
    if (cJSON_IsArray(args)) {
        char *buf = NULL;
        size_t n = 0;
        FILE *f = open_memstream(&buf, &n);
        if (f) {
            int first = 1;
            cJSON_ArrayForEach(a, args)
                if (cJSON_IsString(a)) {
                    fprintf(f, "%s%s", first ? "" : " ", a->valuestring);
                    first = 0;
                }
            fclose(f);
            r->args = buf;
        }
    }
    const cJSON *model = cJSON_GetObjectItemCaseSensitive(m, "model");
    if (cJSON_IsObject(model)) {
        r->model_name = json_str(model, "name");
        r->model_params = json_num(model, "params");
    }
    const cJSON *fin = cJSON_GetObjectItemCaseSensitive(m, "final");
    if (cJSON_IsObject(fin)) r->meta_final_loss = json_num(fin, "loss");
    const cJSON *best = cJSON_GetObjectItemCaseSensitive(m, "best");
    if (cJSON_IsObject(best)) {
        r->meta_best_loss = json_num(best, "loss");
        r->meta_best_acc = json_num(best, "acc");
    }
    cJSON_Delete(m);
    free(text);
}

// ---- metrics.jsonl: one line -> one point ---------------------------------------------

enum { K_STEP, K_LOSS, K_TEST_LOSS, K_ACC, K_LR, K_EPOCH, K_N };
static const char *const key_names[K_N] = {"step", "loss", "test_loss", "acc", "lr", "epoch"};

static int key_index(const char *k, size_t n)
{
    static const size_t len[K_N] = {4, 4, 9, 3, 2, 5};
    for (int i = 0; i < K_N; i++)
        if (len[i] == n && memcmp(key_names[i], k, n) == 0) return i;
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

static int scan_line(const char *line, size_t len, double vals[K_N])
{
    scan s = {line, line + len};
    int seen[K_N] = {0};
    for (int i = 0; i < K_N; i++) vals[i] = NAN;
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

// cJSON, the reference: 0 ok, else the message.
static const char *cjson_line(const char *line, size_t len, double vals[K_N])
{
    for (int i = 0; i < K_N; i++) vals[i] = NAN;
    cJSON *o = cJSON_ParseWithLength(line, len);
    if (!o) return "not valid JSON";
    if (!cJSON_IsObject(o)) {
        cJSON_Delete(o);
        return "not a JSON object";
    }
    for (int i = 0; i < K_N; i++) vals[i] = json_num(o, key_names[i]);
    cJSON_Delete(o);
    return NULL;
}

static int grow(dash_run *r)
{
    int cap = r->cap ? 2 * r->cap : 1024;
    double **cols[] = {&r->step, &r->loss, &r->test_loss, &r->acc, &r->lr, &r->epoch};
    for (int i = 0; i < K_N; i++) {
        double *p = realloc(*cols[i], (size_t)cap * sizeof *p);
        if (!p) return -1;
        *cols[i] = p;
    }
    r->cap = cap;
    return 0;
}

static int read_metrics(dash_run *r, const char *path)
{
    size_t len;
    char *text = read_file(path, &len);
    if (!text) {
        if (errno == ENOMEM) return -1;
        if (errno != ENOENT) add_msg(&r->error, "%s: %s", path, strerror(errno));
        return 0;
    }
    const char *p = text, *end = text + len;
    int lineno = 0, rc = 0;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl) break;                  // no newline yet: the line is still being written
        lineno++;
        size_t n = (size_t)(nl - p);
        const char *line = p;
        p = nl + 1;
        size_t k = 0;
        while (k < n && (line[k] == ' ' || line[k] == '\t' || line[k] == '\r')) k++;
        if (k == n) continue;            // blank line
        double v[K_N];
        const char *why = NULL;
        if (repl_runs_use_cjson || scan_line(line, n, v) != 0) why = cjson_line(line, n, v);
        if (!why && isnan(v[K_STEP])) why = "no step";
        if (why) {                       // the file is damaged from here: keep what came before
            add_msg(&r->error, "%s:%d: %s", path, lineno, why);
            break;
        }
        if (r->n == r->cap && grow(r) != 0) { rc = -1; break; }
        r->step[r->n] = v[K_STEP];
        r->loss[r->n] = v[K_LOSS];
        r->test_loss[r->n] = v[K_TEST_LOSS];
        r->acc[r->n] = v[K_ACC];
        r->lr[r->n] = v[K_LR];
        r->epoch[r->n] = v[K_EPOCH];
        r->n++;
    }
    free(text);
    return rc;
}

// ---- one run, many runs ----------------------------------------------------------------

void repl_runs_free_one(dash_run *r)
{
    char **strs[] = {&r->dir, &r->folder, &r->name, &r->status, &r->start, &r->end, &r->script, &r->args,
                     &r->device, &r->optimizer, &r->model_name, &r->error};
    for (size_t i = 0; i < sizeof strs / sizeof *strs; i++) free(*strs[i]);
    double *cols[] = {r->step, r->loss, r->test_loss, r->acc, r->lr, r->epoch};
    for (int i = 0; i < K_N; i++) free(cols[i]);
    memset(r, 0, sizeof *r);
}

int repl_runs_read_one(dash_run *r, const char *dir)
{
    memset(r, 0, sizeof *r);
    r->model_params = r->seed = r->meta_steps = NAN;
    r->meta_final_loss = r->meta_best_loss = r->meta_best_acc = NAN;
    size_t dl = strlen(dir);
    while (dl > 1 && dir[dl - 1] == '/') dl--;
    r->dir = strndup(dir, dl);
    if (!r->dir) return -1;
    const char *slash = strrchr(r->dir, '/');
    r->folder = strdup(slash ? slash + 1 : r->dir);
    size_t pl = dl + 16;
    char *path = malloc(pl);
    if (!r->folder || !path) {
        free(path);
        return -1;
    }
    snprintf(path, pl, "%s/meta.json", r->dir);
    read_meta(r, path);
    snprintf(path, pl, "%s/metrics.jsonl", r->dir);
    int rc = read_metrics(r, path);
    free(path);
    if (!r->name) r->name = strdup(r->folder);
    return rc == 0 && r->name ? 0 : -1;
}

int repl_runs_reload_one(dash_run *r)
{
    dash_run fresh;
    if (repl_runs_read_one(&fresh, r->dir) != 0) {
        repl_runs_free_one(&fresh);
        return -1;                       // keep what was shown
    }
    repl_runs_free_one(r);
    *r = fresh;
    return 0;
}

// A folder is a run when it holds either file.
static int is_run_dir(const char *dir)
{
    char path[4096];
    struct stat st;
    snprintf(path, sizeof path, "%s/meta.json", dir);
    if (stat(path, &st) == 0) return 1;
    snprintf(path, sizeof path, "%s/metrics.jsonl", dir);
    return stat(path, &st) == 0;
}

// "YYYYMMDD-HHMMSS-..." -> "YYYY-MM-DDTHH:MM:SSZ", so a run without meta sorts too.
static void start_key(const dash_run *r, char *out, size_t n)
{
    const char *f = r->folder;
    if (r->start) snprintf(out, n, "%s", r->start);
    else if (strlen(f) >= 15 && f[8] == '-')
        snprintf(out, n, "%.4s-%.2s-%.2sT%.2s:%.2s:%.2sZ", f, f + 4, f + 6, f + 9, f + 11, f + 13);
    else snprintf(out, n, "~%s", f);
}

static int by_start(const void *a, const void *b)
{
    char ka[64], kb[64];
    start_key(a, ka, sizeof ka);
    start_key(b, kb, sizeof kb);
    int c = strcmp(ka, kb);
    return c ? c : strcmp(((const dash_run *)a)->folder, ((const dash_run *)b)->folder);
}

typedef struct load_job {
    dash_run *runs;
    char **dirs;
    int n, next, failed;
    pthread_mutex_t mu;
} load_job;

static void *load_worker(void *arg)
{
    load_job *j = arg;
    for (;;) {
        pthread_mutex_lock(&j->mu);
        int i = j->next++;
        pthread_mutex_unlock(&j->mu);
        if (i >= j->n) return NULL;
        if (repl_runs_read_one(&j->runs[i], j->dirs[i]) != 0) {
            pthread_mutex_lock(&j->mu);
            j->failed = 1;
            pthread_mutex_unlock(&j->mu);
        }
    }
}

static int load_dirs(dash_runs *out, char **dirs, int n)
{
    out->v = calloc(n ? (size_t)n : 1, sizeof *out->v);
    if (!out->v) return -1;
    out->n = n;
    load_job j = {.runs = out->v, .dirs = dirs, .n = n};
    pthread_mutex_init(&j.mu, NULL);
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    int nt = cores < 1 ? 1 : cores > 8 ? 8 : (int)cores;
    if (nt > n) nt = n;
    pthread_t th[8];
    int started = 0;
    for (int t = 1; t < nt; t++)
        if (pthread_create(&th[started], NULL, load_worker, &j) == 0) started++;
    load_worker(&j);
    for (int t = 0; t < started; t++) pthread_join(th[t], NULL);
    pthread_mutex_destroy(&j.mu);
    if (j.failed) return -1;
    qsort(out->v, (size_t)n, sizeof *out->v, by_start);
    return 0;
}

static int add_dir(char ***dirs, int *n, int *cap, const char *d)
{
    for (int i = 0; i < *n; i++)
        if (strcmp((*dirs)[i], d) == 0) return 0;      // named twice: once
    if (*n == *cap) {
        int c = *cap ? 2 * *cap : 64;
        char **p = realloc(*dirs, (size_t)c * sizeof *p);
        if (!p) return -1;
        *dirs = p;
        *cap = c;
    }
    if (!((*dirs)[*n] = strdup(d))) return -1;
    (*n)++;
    return 0;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

// The run folders directly under root, sorted by name.
static int list_root(const char *root, char ***names, int *n)
{
    *names = NULL;
    *n = 0;
    DIR *d = opendir(root);
    if (!d) return -1;
    int cap = 0, rc = 0;
    struct dirent *e;
    char path[4096];
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        snprintf(path, sizeof path, "%s/%s", root, e->d_name);
        if (!is_run_dir(path)) continue;
        if (add_dir(names, n, &cap, e->d_name) != 0) { rc = -1; break; }
    }
    closedir(d);
    if (*n) qsort(*names, (size_t)*n, sizeof **names, cmp_str);
    return rc;
}

// A run's name as meta.json has it, without parsing the rest.
static int meta_name_is(const char *dir, const char *want)
{
    char path[4096];
    if (snprintf(path, sizeof path, "%s/meta.json", dir) >= (int)sizeof path) return 0;
    size_t len;
    char *text = read_file(path, &len);
    if (!text) return 0;
    cJSON *m = cJSON_ParseWithLength(text, len);
    const cJSON *nm = cJSON_GetObjectItemCaseSensitive(m, "name");
    int yes = cJSON_IsString(nm) && nm->valuestring && strcmp(nm->valuestring, want) == 0;
    cJSON_Delete(m);
    free(text);
    return yes;
}

int repl_runs_load(dash_runs *out, const char *root, const char *const *names, int nnames, char **err)
{
    memset(out, 0, sizeof *out);
    *err = NULL;
    out->root = strdup(root);
    if (!out->root) return -1;
    char **all = NULL, **dirs = NULL;
    int nall = 0, n = 0, cap = 0, rc = 0;
    char path[4096];
    int have_root = list_root(root, &all, &nall) == 0;
    if (!names) {
        if (!have_root && errno != ENOENT) add_msg(err, "%s: %s", root, strerror(errno));
        for (int i = 0; i < nall && rc == 0; i++) {
            snprintf(path, sizeof path, "%s/%s", root, all[i]);
            rc = add_dir(&dirs, &n, &cap, path);
        }
    }
    for (int k = 0; names && k < nnames && rc == 0; k++) {
        const char *nm = names[k];
        int found = 0;
        struct stat st;
        if (strchr(nm, '/') && stat(nm, &st) == 0 && S_ISDIR(st.st_mode) && is_run_dir(nm)) {
            rc = add_dir(&dirs, &n, &cap, nm);
            continue;
        }
        // a folder name; else every run of that name; else every folder starting with it
        for (int pass = 0; pass < 3 && !found && rc == 0; pass++)
            for (int i = 0; i < nall && rc == 0; i++) {
                snprintf(path, sizeof path, "%s/%s", root, all[i]);
                int hit = pass == 0   ? strcmp(all[i], nm) == 0
                          : pass == 1 ? meta_name_is(path, nm)
                                      : strncmp(all[i], nm, strlen(nm)) == 0;
                if (hit) {
                    found = 1;
                    rc = add_dir(&dirs, &n, &cap, path);
                }
            }
        if (!found && rc == 0) add_msg(err, "no run '%s' in %s", nm, root);
    }
    if (rc == 0) rc = load_dirs(out, dirs, n);
    for (int i = 0; i < nall; i++) free(all[i]);
    free(all);
    for (int i = 0; i < n; i++) free(dirs[i]);
    free(dirs);
    return rc;
}

void repl_runs_free(dash_runs *r)
{
    for (int i = 0; i < r->n; i++) repl_runs_free_one(&r->v[i]);
    free(r->v);
    free(r->root);
    memset(r, 0, sizeof *r);
}

// ---- figures ------------------------------------------------------------------------------

static double last_of(const double *v, int n)
{
    for (int i = n - 1; i >= 0; i--)
        if (!isnan(v[i])) return v[i];
    return NAN;
}

void repl_runs_stats(const dash_run *r, dash_run_stats *st)
{
    st->steps = r->n ? r->step[r->n - 1] : NAN;
    if (!isnan(r->meta_steps) && (isnan(st->steps) || r->meta_steps > st->steps)) st->steps = r->meta_steps;
    st->final_loss = last_of(r->loss, r->n);
    st->final_test_loss = last_of(r->test_loss, r->n);
    st->final_acc = last_of(r->acc, r->n);
    st->final_lr = last_of(r->lr, r->n);
    st->best_loss = st->best_loss_step = st->best_acc = st->best_acc_step = NAN;
    for (int i = 0; i < r->n; i++) {
        double l = r->loss[i], a = r->acc[i];
        if (isfinite(l) && (isnan(st->best_loss) || l < st->best_loss)) {
            st->best_loss = l;
            st->best_loss_step = r->step[i];
        }
        if (isfinite(a) && (isnan(st->best_acc) || a > st->best_acc)) {
            st->best_acc = a;
            st->best_acc_step = r->step[i];
        }
    }
    if (r->n == 0) {
        st->final_loss = r->meta_final_loss;
        st->best_loss = r->meta_best_loss;
        st->best_acc = r->meta_best_acc;
    }
}

int repl_runs_colour_hash(const char *folder)
{
    uint32_t h = 2166136261u;          // FNV-1a
    for (const unsigned char *p = (const unsigned char *)folder; *p; p++) h = (h ^ *p) * 16777619u;
    return (int)(h % DASH_RUN_COLOURS);
}
