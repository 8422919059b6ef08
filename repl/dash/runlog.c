// runlog.c - a run's folder on disk (format: docs/RUNS.md).
//
// metrics.jsonl is appended by a writer thread (writer.c: a step hands over its point,
// the lines are made and written there, flushed every 50 ms and at the end); meta.json
// is rewritten whole through a temp file and rename, so a reader never sees half of it.
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
    dash_writer *writer;       // metrics.jsonl's lines, written from its own thread
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
    if (r->metrics) r->writer = repl_dash_writer_open(r->metrics);
    r->extra = cJSON_CreateObject();
    iso_now(r->start, sizeof r->start);
    r->t_start = repl_dash_now();
    if (!r->metrics || !r->writer || !r->output || !r->extra) {
        if (why) snprintf(why, whyn, "cannot write in %s: %s", r->dir, strerror(errno));
        repl_dash_runlog_close(r, NULL, NULL);
        return NULL;
    }
    return r;
}

const char *repl_dash_runlog_dir(const dash_runlog *r) { return r ? r->dir : NULL; }

void repl_dash_runlog_point(dash_runlog *r, const dash_point *pt, double t)
{
    if (r && r->writer && !isnan(pt->step)) repl_dash_writer_point(r->writer, pt, t);
}

// A sampled step's line is made here (its cost is the sample's, inside its budget) and
// queued in order with the steps.
void repl_dash_runlog_grads(dash_runlog *r, const dash_point *pt, double t, const dash_grad *g, int n)
{
    if (!r || !r->writer || isnan(pt->step)) return;
    char *line = repl_dash_grads_line(pt, t, g, n);
    if (line) repl_dash_writer_text(r->writer, line);
    else repl_dash_writer_point(r->writer, pt, t);       // out of memory: the step at least
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
    if (r->output) fflush(r->output);      // metrics.jsonl: its writer flushes every 50 ms
}

void repl_dash_runlog_close(dash_runlog *r, const dash_state *s, const char *status)
{
    if (!r) return;
    if (s && status) repl_dash_runlog_write_meta(r, s, status);
    repl_dash_writer_close(r->writer);
    if (r->metrics) fclose(r->metrics);
    if (r->output) fclose(r->output);
    free(r->metrics_buf);
    cJSON_Delete(r->extra);
    free(r);
}
