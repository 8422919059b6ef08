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

// ---- metrics.jsonl: one line -> one point (the fast scanner: runs_scan.c) ---------------

// cJSON, the reference: 0 ok, else the message.
static const char *cjson_line(const char *line, size_t len, double vals[DASH_K_N])
{
    for (int i = 0; i < DASH_K_N; i++) vals[i] = NAN;
    cJSON *o = cJSON_ParseWithLength(line, len);
    if (!o) return "not valid JSON";
    if (!cJSON_IsObject(o)) {
        cJSON_Delete(o);
        return "not a JSON object";
    }
    for (int i = 0; i < DASH_K_N; i++) vals[i] = json_num(o, repl_runs_keys[i]);
    cJSON_Delete(o);
    return NULL;
}

static int grow(dash_run *r)
{
    int cap = r->cap ? 2 * r->cap : 1024;
    double **cols[] = {&r->step, &r->loss, &r->test_loss, &r->acc, &r->lr, &r->epoch};
    for (int i = 0; i < DASH_K_N; i++) {
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
        double v[DASH_K_N];
        const char *why = NULL;
        if (repl_runs_use_cjson || repl_runs_scan_line(line, n, v) != 0) why = cjson_line(line, n, v);
        if (!why && isnan(v[DASH_K_STEP])) why = "no step";
        if (why) {                       // the file is damaged from here: keep what came before
            add_msg(&r->error, "%s:%d: %s", path, lineno, why);
            break;
        }
        if (r->n == r->cap && grow(r) != 0) { rc = -1; break; }
        r->step[r->n] = v[DASH_K_STEP];
        r->loss[r->n] = v[DASH_K_LOSS];
        r->test_loss[r->n] = v[DASH_K_TEST_LOSS];
        r->acc[r->n] = v[DASH_K_ACC];
        r->lr[r->n] = v[DASH_K_LR];
        r->epoch[r->n] = v[DASH_K_EPOCH];
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
    for (int i = 0; i < DASH_K_N; i++) free(cols[i]);
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
