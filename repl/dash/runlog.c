// runlog.c - a run's folder on disk (format: docs/RUNS.md).
//
// metrics.jsonl is appended through a large stdio buffer (a line costs a few hundred
// ns, flushed at redraws and at the end); meta.json is rewritten whole through a temp
// file and rename, so a reader never sees half of it.
#include "dash.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
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
    double meta_at;            // when meta.json was last written
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
    if (!r->metrics || !r->output || !r->extra) {
        if (why) snprintf(why, whyn, "cannot write in %s: %s", r->dir, strerror(errno));
        repl_dash_runlog_close(r, NULL, NULL);
        return NULL;
    }
    return r;
}

const char *repl_dash_runlog_dir(const dash_runlog *r) { return r ? r->dir : NULL; }

// %.9g, or null for NaN/Inf (JSON has no such numbers)
static void put_num(FILE *f, const char *key, double v, int first)
{
    if (!first) fputc(',', f);
    if (isfinite(v)) fprintf(f, "\"%s\":%.9g", key, v);
    else fprintf(f, "\"%s\":null", key);
}

static void put_point(FILE *f, const dash_point *p, double t)
{
    fprintf(f, "{\"step\":%.0f", p->step);
    put_num(f, "time", t, 0);
    if (!isnan(p->epoch)) put_num(f, "epoch", p->epoch, 0);
    if (!isnan(p->loss)) put_num(f, "loss", p->loss, 0);
    if (!isnan(p->lr)) put_num(f, "lr", p->lr, 0);
    if (!isnan(p->test_loss)) put_num(f, "test_loss", p->test_loss, 0);
    if (!isnan(p->acc)) put_num(f, "acc", p->acc, 0);
}

void repl_dash_runlog_point(dash_runlog *r, const dash_point *p, double t)
{
    if (!r || !r->metrics || isnan(p->step)) return;
    put_point(r->metrics, p, t);
    fputs("}\n", r->metrics);
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

void repl_dash_runlog_grads(dash_runlog *r, const dash_point *p, double t, const dash_grad *g, int n)
{
    if (!r || !r->metrics || isnan(p->step)) return;
    put_point(r->metrics, p, t);
    static const char *keys[] = {"grad_norm", "update_ratio", "weight_norm"};
    for (int k = 0; k < 3; k++) {
        fprintf(r->metrics, ",\"%s\":{", keys[k]);
        for (int i = 0; i < n; i++) {
            double v = k == 0 ? g[i].grad_norm : k == 1 ? g[i].update_ratio : g[i].weight_norm;
            if (i) fputc(',', r->metrics);
            put_name(r->metrics, g[i].name);
            if (isfinite(v) && v >= 0) fprintf(r->metrics, ":%.6g", v);
            else fputs(":null", r->metrics);
        }
        fputc('}', r->metrics);
    }
    fputs("}\n", r->metrics);
}

void repl_dash_runlog_output(dash_runlog *r, const char *bytes, size_t n)
{
    if (r && r->output) fwrite(bytes, 1, n, r->output);
}

void repl_dash_runlog_set(dash_runlog *r, const char *key, const char *json_value)
{
    if (!r || !r->extra) return;
    cJSON *v = cJSON_Parse(json_value);
    if (!v) v = cJSON_CreateString(json_value);
    if (!v) return;
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
    if (s->nrows && !cJSON_GetObjectItemCaseSensitive(m, "model")) {
        cJSON *model = cJSON_AddObjectToObject(m, "model"), *rows = model ? cJSON_AddArrayToObject(model, "summary") : NULL;
        if (model) cJSON_AddStringToObject(model, "name", s->model_name[0] ? s->model_name : "model");
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
