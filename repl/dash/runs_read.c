// runs_read.c - reads run folders (docs/RUNS.md) for `nnlab runs`: meta.json and every
// line of metrics.jsonl through cJSON. A bad line is skipped and named (file:line); a
// last line without its newline is still being written and is left for next time.
#include "dash.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <pthread.h>
#include <unistd.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        fclose(f);
        return NULL;
    }
    char *buf = malloc((size_t)st.st_size + 1);
    size_t n = buf ? fread(buf, 1, (size_t)st.st_size, f) : 0;
    fclose(f);
    if (!buf) return NULL;
    buf[n] = 0;
    *len = n;
    return buf;
}

static void copy_str(char *dst, size_t n, const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (cJSON_IsString(v) && v->valuestring) snprintf(dst, n, "%s", v->valuestring);
}

static double num_of(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

static void note(dash_run *r, const char *fmt, const char *path, long line, const char *what)
{
    if (r->err[0]) return;        // the first problem is the one to fix first
    snprintf(r->err, sizeof r->err, fmt, path, line, what);
}

static int push_point(dash_run *r, double step, double loss, double test, double acc)
{
    if (r->n == r->cap) {
        int cap = r->cap ? 2 * r->cap : 256;
        double *p = realloc(r->pts, (size_t)cap * 4 * sizeof *p);
        if (!p) return -1;
        r->pts = p;
        r->cap = cap;
    }
    double *p = r->pts + (size_t)r->n * 4;
    p[0] = step;
    p[1] = loss;
    p[2] = test;
    p[3] = acc;
    r->n++;
    return 0;
}

static void read_meta(dash_run *r)
{
    char path[1040];
    size_t len;
    snprintf(path, sizeof path, "%s/meta.json", r->dir);
    char *txt = slurp(path, &len);
    if (!txt) return;                   // a run killed before its first meta write: metrics only
    cJSON *m = cJSON_ParseWithLength(txt, len);
    free(txt);
    if (!m) {
        note(r, "%s:%ld: %s", path, 1, "not valid JSON (the other files are still read)");
        return;
    }
    copy_str(r->name, sizeof r->name, m, "name");
    copy_str(r->status, sizeof r->status, m, "status");
    copy_str(r->start, sizeof r->start, m, "start");
    copy_str(r->optimizer, sizeof r->optimizer, m, "optimizer");
    copy_str(r->script, sizeof r->script, m, "script");
    const cJSON *model = cJSON_GetObjectItemCaseSensitive(m, "model");
    copy_str(r->model, sizeof r->model, model, "name");
    r->params = num_of(model, "params");
    cJSON_Delete(m);
}

// The common line, read without building a cJSON tree: a flat object of numbers (and
// nulls), where objects nested one level (the per-parameter statistics) are skipped
// whole. Returns 0 whenever the line is anything else; cJSON then reads it (and names
// what is wrong). 1M lines: ~0.3 s this way, ~1.2 s through cJSON alone.
static int fast_line(const char *p, const char *end, double *v)
{
    static const char *const keys[] = {"step", "loss", "test_loss", "acc"};
    v[0] = v[1] = v[2] = v[3] = NAN;
    if (p >= end || *p != '{') return 0;
    p++;
    for (;;) {
        if (p >= end || *p != '"') return 0;
        const char *k = ++p;
        while (p < end && *p != '"' && *p != '\\') p++;
        if (p >= end || *p != '"') return 0;
        size_t kl = (size_t)(p - k);
        p++;
        if (p >= end || *p != ':') return 0;
        p++;
        int slot = -1;
        for (int i = 0; i < 4; i++)
            if (strlen(keys[i]) == kl && !memcmp(keys[i], k, kl)) slot = i;
        if (p < end && *p == '{') {               // {"name": number|null, ...}
            p++;
            while (p < end && *p != '}') {
                if (*p == '{' || *p == '[' || *p == '\\') return 0;
                if (*p == '"') {                  // a name: skip to its closing quote
                    p++;
                    while (p < end && *p != '"') { if (*p == '\\') return 0; p++; }
                }
                p++;
            }
            if (p >= end) return 0;
            p++;
        } else if (end - p >= 4 && !memcmp(p, "null", 4)) {
            p += 4;
        } else {
            char buf[40];
            size_t n = 0;
            while (p < end && n < sizeof buf - 1 && (strchr("0123456789+-.eE", *p))) buf[n++] = *p++;
            if (n == 0) return 0;
            buf[n] = 0;
            char *e;
            double x = strtod(buf, &e);
            if (*e) return 0;
            if (slot >= 0) v[slot] = x;
        }
        if (p < end && *p == ',') { p++; continue; }
        if (p < end && *p == '}' && p + 1 == end) return 1;
        return 0;
    }
}

static void read_metrics(dash_run *r)
{
    char path[1040];
    size_t len;
    snprintf(path, sizeof path, "%s/metrics.jsonl", r->dir);
    char *txt = slurp(path, &len);
    if (!txt) return;
    long line = 0;
    for (char *p = txt, *end = txt + len; p < end;) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl) break;                 // not yet written whole
        line++;
        if (nl > p) {
            double v[4];
            cJSON *o = NULL;
            int fast = fast_line(p, nl, v);
            if (!fast) {
                o = cJSON_ParseWithLength(p, (size_t)(nl - p));
                v[0] = o ? num_of(o, "step") : NAN;
                v[1] = num_of(o, "loss");
                v[2] = num_of(o, "test_loss");
                v[3] = num_of(o, "acc");
            }
            double step = v[0];
            if (!fast && !o) note(r, "%s:%ld: %s", path, line, "not valid JSON (skipped)");
            else if (isnan(step)) note(r, "%s:%ld: %s", path, line, "no \"step\" (skipped)");
            else {
                double loss = v[1], test = v[2], acc = v[3];
                if (push_point(r, step, loss, test, acc) != 0) note(r, "%s:%ld: %s", path, line, "out of memory");
                if (!isnan(loss)) {
                    r->final_loss = loss;
                    if (isnan(r->best_loss) || loss < r->best_loss) r->best_loss = loss;
                }
                if (!isnan(acc)) {
                    r->final_acc = acc;
                    if (isnan(r->best_acc) || acc > r->best_acc) r->best_acc = acc;
                }
                if (step > r->steps) r->steps = step;
            }
            cJSON_Delete(o);
        }
        p = nl + 1;
    }
    free(txt);
}

// FNV-1a of the folder name: the same run gets the same colour every time
static int colour_of(const char *s)
{
    uint32_t h = 2166136261u;
    for (; *s; s++) h = (h ^ (uint8_t)*s) * 16777619u;
    return (int)(h % 8);
}

int repl_runs_load_one(const char *dir, dash_run *r)
{
    memset(r, 0, sizeof *r);
    snprintf(r->dir, sizeof r->dir, "%s", dir);
    r->final_loss = r->best_loss = r->final_acc = r->best_acc = r->params = NAN;
    const char *base = strrchr(dir, '/');
    base = base ? base + 1 : dir;
    snprintf(r->folder, sizeof r->folder, "%s", base);
    r->color = colour_of(base);
    read_meta(r);
    read_metrics(r);
    if (!r->name[0]) snprintf(r->name, sizeof r->name, "%s", base);
    if (!r->status[0]) snprintf(r->status, sizeof r->status, "?");
    r->selected = 1;
    return 0;
}

void repl_runs_free(dash_run *runs, int n)
{
    for (int i = 0; i < n; i++) free(runs[i].pts);
    free(runs);
}

static int by_folder(const void *a, const void *b)
{
    return strcmp(((const dash_run *)a)->folder, ((const dash_run *)b)->folder);
}

static int is_run_dir(const char *path)
{
    char p[1100];
    struct stat st;
    snprintf(p, sizeof p, "%s/metrics.jsonl", path);
    if (stat(p, &st) == 0) return 1;
    snprintf(p, sizeof p, "%s/meta.json", path);
    return stat(p, &st) == 0;
}

typedef struct load_job {
    char **dirs;
    dash_run *runs;
    int n, next;
    pthread_mutex_t lock;
} load_job;

static void *load_worker(void *arg)
{
    load_job *j = arg;
    for (;;) {
        pthread_mutex_lock(&j->lock);
        int i = j->next++;
        pthread_mutex_unlock(&j->lock);
        if (i >= j->n) return NULL;
        repl_runs_load_one(j->dirs[i], &j->runs[i]);
    }
}

// The runs under root whose folder contains one of the patterns (all when none),
// and any pattern that is itself a run folder; sorted by folder (= start time).
int repl_runs_load(const char *root, char **pats, int npats, dash_run **out, int *nout, char *why, size_t whyn)
{
    *out = NULL;
    *nout = 0;
    int cap = 0, n = 0;
    dash_run *runs = NULL;
    char **dirs = NULL;
    int ndirs = 0, capd = 0;
    for (int i = 0; i < npats; i++)             // explicit folders first
        if (strchr(pats[i], '/') && is_run_dir(pats[i])) {
            if (ndirs == capd) {
                capd = capd ? 2 * capd : 16;
                char **d = realloc(dirs, (size_t)capd * sizeof *d);
                if (!d) break;
                dirs = d;
            }
            dirs[ndirs++] = strdup(pats[i]);
        }
    DIR *d = opendir(root);
    if (!d && ndirs == 0) {
        snprintf(why, whyn, "no runs folder %s (runs are kept there while a dashboard is open; NNLAB_RUNS moves it)", root);
        free(dirs);
        return -1;
    }
    struct dirent *e;
    while (d && (e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        int match = npats == 0;
        for (int i = 0; i < npats && !match; i++) match = !strchr(pats[i], '/') && strstr(e->d_name, pats[i]) != NULL;
        if (!match) continue;
        char path[1100];
        snprintf(path, sizeof path, "%s/%s", root, e->d_name);
        if (!is_run_dir(path)) continue;
        if (ndirs == capd) {
            capd = capd ? 2 * capd : 16;
            char **dd = realloc(dirs, (size_t)capd * sizeof *dd);
            if (!dd) break;
            dirs = dd;
        }
        dirs[ndirs++] = strdup(path);
    }
    if (d) closedir(d);
    (void)cap;
    runs = calloc((size_t)(ndirs ? ndirs : 1), sizeof *runs);
    if (!runs) {
        for (int i = 0; i < ndirs; i++) free(dirs[i]);
        free(dirs);
        snprintf(why, whyn, "out of memory for %d runs", ndirs);
        return -1;
    }
    for (int i = 0; i < ndirs; i++)
        if (dirs[i]) dirs[n++] = dirs[i];
    // runs are independent: one reader per core (parsing is most of the time)
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    int nt = cores > 1 ? (int)(cores < 8 ? cores : 8) : 1;
    if (nt > n) nt = n ? n : 1;
    load_job job = {dirs, runs, n, 0, PTHREAD_MUTEX_INITIALIZER};
    pthread_t th[8];
    int started = 0;
    for (int t = 1; t < nt; t++)
        if (pthread_create(&th[started], NULL, load_worker, &job) == 0) started++;
    load_worker(&job);
    for (int t = 0; t < started; t++) pthread_join(th[t], NULL);
    for (int i = 0; i < n; i++) free(dirs[i]);
    free(dirs);
    if (n > 1) qsort(runs, (size_t)n, sizeof *runs, by_folder);
    // each run keeps its own colour; two that would share one move to the next free one
    // (in start order), so a handful of runs always show in different colours
    int used[8] = {0};
    for (int i = 0; i < n; i++) {
        int c = runs[i].color;
        for (int k = 0; k < 8 && used[c]; k++) c = (c + 1) % 8;
        runs[i].color = c;
        used[c] = 1;
        if (i % 8 == 7) memset(used, 0, sizeof used);
    }
    *out = runs;
    *nout = n;
    return 0;
}
