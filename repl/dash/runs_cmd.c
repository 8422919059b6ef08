// runs_cmd.c - `nnlab runs [options] [RUN...]` and `:runs`: the listing without a
// terminal, the workspace with one, and --snapshot WxH for tests.
#include "dash.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *runs_usage =
    "usage: nnlab runs                 list the runs in $NNLAB_RUNS (default ./runs)\n"
    "       nnlab runs RUN... | --all  open the workspace (RUN: folder, path, name or prefix)\n"
    "  --list            the listing, even on a terminal\n"
    "  --snapshot WxH    print the workspace as text at W x H and exit (tests)\n"
    "  --keys KEYS       feed keys first (<tab> <up> <down> <enter> <esc> <bs>)\n"
    "  --attrs           with --snapshot: also each cell's colour attribute (0-9a-z, . = none)\n"
    "  --time            print how long loading took on stderr\n"
    "  --cjson           parse every metrics line with cJSON (the reference parser)\n";

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void print_listing(const dash_runs *rs, FILE *f)
{
    int nw = 3;
    for (int i = 0; i < rs->n; i++) {
        int l = (int)strlen(rs->v[i].folder);
        if (l > nw) nw = l;
    }
    if (rs->n == 0) {
        fprintf(f, "no runs in %s (a training run with the dashboard writes one)\n", rs->root);
        return;
    }
    fprintf(f, "%-*s  %-16s  %8s  %10s  %10s  %8s  %s\n", nw, "run", "date", "steps", "final loss", "best loss",
            "best acc", "status");
    for (int i = 0; i < rs->n; i++) {
        const dash_run *r = &rs->v[i];
        dash_run_stats st;
        repl_runs_stats(r, &st);
        char date[32] = "-", a[32], b[32], c[32], d[32];
        const char *s = r->start, *fo = r->folder;
        if (s && strlen(s) >= 16) snprintf(date, sizeof date, "%.10s %.5s", s, s + 11);
        else if (strlen(fo) >= 15 && fo[8] == '-')
            snprintf(date, sizeof date, "%.4s-%.2s-%.2s %.2s:%.2s", fo, fo + 4, fo + 6, fo + 9, fo + 11);
        fprintf(f, "%-*s  %-16s  %8s  %10s  %10s  %8s  %s\n", nw, fo, date,
                isnan(st.steps) ? "-" : repl_dash_fmt_num(a, sizeof a, st.steps, 8),
                isnan(st.final_loss) ? "-" : repl_dash_fmt_num(b, sizeof b, st.final_loss, 10),
                isnan(st.best_loss) ? "-" : repl_dash_fmt_num(c, sizeof c, st.best_loss, 10),
                isnan(st.best_acc) ? "-" : repl_dash_fmt_num(d, sizeof d, st.best_acc, 8),
                r->status ? r->status : "-");
    }
}

static void print_errors(const dash_runs *rs, FILE *f)
{
    for (int i = 0; i < rs->n; i++)
        if (rs->v[i].error) fputs(rs->v[i].error, f);
}

// "<tab>" style names and plain characters -> keys; returns the next position.
static const char *next_key(const char *p, int *key)
{
    static const struct { const char *name; int key; } names[] = {
        {"<tab>", '\t'}, {"<up>", DASH_KEY_UP}, {"<down>", DASH_KEY_DOWN}, {"<enter>", '\n'},
        {"<esc>", DASH_KEY_ESC}, {"<bs>", DASH_KEY_BACKSPACE}, {"<space>", ' '}, {"<pgup>", DASH_KEY_PGUP},
        {"<pgdn>", DASH_KEY_PGDN}, {"<home>", DASH_KEY_HOME}, {"<end>", DASH_KEY_END}};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        size_t n = strlen(names[i].name);
        if (strncmp(p, names[i].name, n) == 0) {
            *key = names[i].key;
            return p + n;
        }
    }
    *key = (unsigned char)*p;
    return p + 1;
}

static int snapshot(dash_runs_view *v, int w, int h, int attrs)
{
    dash_grid g = {0};
    if (repl_dash_grid_resize(&g, w, h) != 0) {
        fprintf(stderr, "nnlab runs: out of memory\n");
        return 1;
    }
    repl_runs_view_render(v, &g);
    size_t len;
    char *text = repl_dash_grid_utf8(&g, &len);
    if (text) {
        fwrite(text, 1, len, stdout);
        if (len == 0 || text[len - 1] != '\n') putchar('\n');
    }
    free(text);
    if (attrs) {
        static const char digits[] = "0123456789abcdefghijklmnopqrstuvwxyz";
        printf("-- attrs\n");
        for (int y = 0; y < g.h; y++) {
            for (int x = 0; x < g.w; x++) {
                int a = g.attr[y * g.w + x];
                putchar(a == 0 ? '.' : a < 36 ? digits[a] : '?');
            }
            putchar('\n');
        }
    }
    repl_dash_grid_free(&g);
    return 0;
}

static int workspace(dash_runs_view *v)
{
    int ascii = 0, was_open = repl_dash_term_is_open();
    if (repl_dash_term_open(&ascii) != 0) return -1;
    repl_dash_term_raw(1);               // Ctrl-C arrives as a key and quits, wherever we run
    dash_grid g = {0};
    g.ascii = ascii;
    int rc = 0;
    double reloaded = now_s();
    while (!v->quit) {
        if (now_s() - reloaded >= 2) {   // runs still training grow on screen
            for (int i = 0; i < v->runs->n; i++)
                if (v->runs->v[i].status && strcmp(v->runs->v[i].status, "running") == 0)
                    repl_runs_reload_one(&v->runs->v[i]);
            reloaded = now_s();
        }
        int w, h;
        repl_dash_term_size(&w, &h);
        if (repl_dash_grid_resize(&g, w, h) != 0) { rc = 1; break; }
        repl_runs_view_render(v, &g);
        repl_dash_term_draw(&g);
        int k = repl_dash_term_key_portable(1000);
        if (k == 3) break;               // Ctrl-C while raw
        if (k >= 0 && k != DASH_KEY_RESIZE) repl_runs_view_key(v, k);
    }
    repl_dash_grid_free(&g);
    repl_dash_term_raw(0);
    if (was_open) repl_dash_term_suspend();   // the dashboard's terminal: hand it back as found
    else repl_dash_term_close();
    return rc;
}

int repl_runs_main(int argc, char **argv)
{
    const char **names = calloc((size_t)(argc > 0 ? argc : 1), sizeof *names);
    if (!names) return 1;
    int nnames = 0, all = 0, list = 0, attrs = 0, timing = 0, sw = 0, sh = 0, rc = 0;
    const char *keys = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--all") == 0) all = 1;
        else if (strcmp(a, "--list") == 0) list = 1;
        else if (strcmp(a, "--attrs") == 0) attrs = 1;
        else if (strcmp(a, "--time") == 0) timing = 1;
        else if (strcmp(a, "--cjson") == 0) repl_runs_use_cjson = 1;
        else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            fputs(runs_usage, stdout);
            free(names);
            return 0;
        } else if (strcmp(a, "--snapshot") == 0 || strcmp(a, "--keys") == 0) {
            if (i + 1 >= argc) {
                fprintf(stderr, "nnlab runs: %s needs an argument\n%s", a, runs_usage);
                free(names);
                return 2;
            }
            if (a[2] == 'k') keys = argv[++i];
            else if (sscanf(argv[++i], "%dx%d", &sw, &sh) != 2 || sw < 1 || sh < 1 || sw > 1000 || sh > 1000) {
                fprintf(stderr, "nnlab runs: --snapshot wants WxH, e.g. 120x40 (not '%s')\n", argv[i]);
                free(names);
                return 2;
            }
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "nnlab runs: unknown option %s\n%s", a, runs_usage);
            free(names);
            return 2;
        } else names[nnames++] = a;
    }
    dash_runs rs;
    char *err = NULL;
    double t0 = now_s();
    if (repl_runs_load(&rs, repl_runs_root(), nnames ? names : NULL, nnames, &err) != 0) {
        fprintf(stderr, "nnlab runs: out of memory reading %s\n", repl_runs_root());
        repl_runs_free(&rs);
        free(err);
        free(names);
        return 1;
    }
    if (timing) {
        long pts = 0;
        for (int i = 0; i < rs.n; i++) pts += rs.v[i].n;
        fprintf(stderr, "loaded %d runs, %ld points in %.3f s\n", rs.n, pts, now_s() - t0);
    }
    if (err) {
        fprintf(stderr, "nnlab runs: %s", err);
        rc = 1;
    }
    print_errors(&rs, stderr);
    int open = (nnames || all || sw) && !list;
    if (open && sw == 0 && !repl_dash_term_usable()) {
        open = 0;                        // no terminal: the listing is what can be shown
        fprintf(stderr, "nnlab runs: no terminal for the workspace; the listing instead (--snapshot WxH draws it)\n");
    }
    if (!open) {
        print_listing(&rs, stdout);
    } else if (rs.n == 0) {
        print_listing(&rs, stdout);
        rc = 1;
    } else {
        dash_runs_view v;
        if (repl_runs_view_init(&v, &rs) != 0) {
            fprintf(stderr, "nnlab runs: out of memory\n");
            rc = 1;
        } else {
            for (const char *p = keys; p && *p;) {
                int k;
                p = next_key(p, &k);
                repl_runs_view_key(&v, k);
            }
            if (sw) rc |= snapshot(&v, sw, sh, attrs);
            else if (workspace(&v) != 0) {
                fprintf(stderr, "nnlab runs: the terminal cannot be opened; the listing instead\n");
                print_listing(&rs, stdout);
            } else print_errors(&rs, stderr);   // again after the screen is gone, so they stay visible
            repl_runs_view_free(&v);
        }
    }
    fflush(stdout);
    repl_runs_free(&rs);
    free(err);
    free(names);
    return rc;
}
