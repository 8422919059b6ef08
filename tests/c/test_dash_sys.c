// test_dash_sys.c - the dashboard's system panel: the GPU it trains on (NVML's name,
// memory of the whole card, load) fitted to the panel's widths, and nothing of it on
// the CPU or without NVML. Sampling reads the NVML the loader finds: none under `make
// check`; tests/e2e/gpu_devices.sh runs this again against its stand-in library with
// WANT_GPU set to the line it must show.
#include <stdlib.h>
#include <string.h>

#include "../../repl/dash/dash.h"
#include "tap.h"

// the panel drawn w x h, as text (rows end in \n)
static char *panel(dash_state *s, int w, int h)
{
    dash_grid g = {0};
    if (repl_dash_grid_resize(&g, w, h) != 0) return NULL;
    repl_dash_grid_clear(&g);
    repl_dash_draw_system(s, &g, 0, 0, w, h);
    size_t len;
    char *txt = repl_dash_grid_utf8(&g, &len);
    repl_dash_grid_free(&g);
    return txt;
}

// row r of the panel's inside (border and trailing blanks cut)
static const char *row(const char *txt, int r, char *out, size_t n)
{
    const char *p = txt;
    for (int i = 0; i < r + 1 && p; i++) p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL;
    out[0] = 0;
    if (!p) return out;
    p += strlen("│");
    const char *e = strstr(p, "│");
    size_t k = e ? (size_t)(e - p) : 0;
    if (k >= n) k = n - 1;
    memcpy(out, p, k);
    out[k] = 0;
    while (k > 0 && out[k - 1] == ' ') out[--k] = 0;
    return out;
}

static int row_is(const char *txt, int r, const char *want, const char *name)
{
    char got[256];
    row(txt, r, got, sizeof got);
    int ok = !strcmp(got, want);
    if (!ok) printf("# row %d: got '%s'\n# want '%s'\n", r, got, want);
    return tap_ok(ok, name);
}

static void show(const char *txt)
{
    for (const char *p = txt; *p;) {
        const char *e = strchr(p, '\n');
        int n = e ? (int)(e - p) : (int)strlen(p);
        printf("# %.*s\n", n, p);
        p += n + (e != NULL);
    }
}

static void state(dash_state *s, const char *device)
{
    repl_dash_state_init(s);
    snprintf(s->device, sizeof s->device, "%s", device);
    s->cpu_pct = 98;
    s->rss_mb = 210.25;
}

static void h200(dash_state *s, const char *name)
{
    s->gpu_shown = 1;
    s->gpu_cuda = 0;
    snprintf(s->gpu.name, sizeof s->gpu.name, "%s", name);
    s->gpu.has_mem = s->gpu.has_util = 1;
    s->gpu.mem_used = 13207024435ull;    // 12.3 GiB
    s->gpu.mem_total = 150110011392ull;  // 139.8 GiB
    s->gpu.util = 45;
    s->gpu_mb = 512;
}

int main(void)
{
    dash_state s;
    char *t;

    // ---- drawing a reading: the wide layout (30 columns) and the narrow one (26) ----
    state(&s, "cuda");
    h200(&s, "NVIDIA H200");
    t = panel(&s, 30, 9);
    show(t);
    row_is(t, 3, "GPU mem  512.0 MB in tensors", "cuda: the tensors' GPU memory as before");
    row_is(t, 4, "card     12.3/139.8 GB  45%", "the whole card's memory used/total and its load");
    row_is(t, 5, "device   cuda:0 NVIDIA H200", "the device row names the GPU");
    free(t);
    t = panel(&s, 26, 9);
    row_is(t, 4, "card     12/140 GB 45%", "narrow: the card's figures without decimals");
    row_is(t, 5, "device   cuda:0 H200", "narrow: the name loses its vendor");
    free(t);
    t = panel(&s, 40, 9);
    row_is(t, 4, "card     12.3/139.8 GB  util 45%", "wide: says util");
    free(t);
    h200(&s, "NVIDIA GeForce RTX 4090 Laptop GPU");
    s.gpu_cuda = 1;
    t = panel(&s, 30, 9);
    row_is(t, 5, "device   cuda:1 GeForce RTX…", "a long name is cut with …");
    free(t);
    s.gpu.has_util = 0;
    t = panel(&s, 30, 9);
    row_is(t, 4, "card     12.3/139.8 GB", "no load from the driver: memory only");
    free(t);

    // ---- the CPU: no card, the panel as it always was ----
    state(&s, "cpu");
    repl_dash_sys_sample(&s);
    tap_ok(!s.gpu_shown && s.gpu_at == 0, "cpu: NVML is not read");
    s.cpu_pct = 98;
    s.rss_mb = 210.25;
    t = panel(&s, 30, 8);
    row_is(t, 1, "CPU      98%", "cpu: CPU row");
    row_is(t, 2, "RSS      210.2 MB", "cpu: RSS row");
    row_is(t, 3, "device   cpu", "cpu: device row right after, no GPU rows");
    row_is(t, 4, "", "cpu: nothing more");
    free(t);

    // ---- on cuda, sampled: the card the loader's NVML reports, or none ----
    state(&s, "cuda");
    repl_dash_sys_sample(&s);
    double at = s.gpu_at;
    const char *why = "";
    int have = repl_nvml_load(&why);
    const char *want = getenv("WANT_GPU");
    tap_ok(at > 0 && s.gpu_shown == have, "cuda: NVML read at the first redraw, shown only if it loads");
    repl_dash_sys_sample(&s);
    tap_ok(s.gpu_at == at, "and not read again within the second");
    t = panel(&s, 30, 9);
    show(t);
    if (!have) {
        printf("# no NVML: %s\n", why);
        row_is(t, 4, "device   cuda", "no NVML: no card row, the device row as before");
    }
    if (want) {
        char got[256];
        tap_ok(strstr(t, want) != NULL, "WANT_GPU is on the panel");
        row(t, 5, got, sizeof got);
        printf("# device row: %s\n", got);
    }
    free(t);
    if (have) {
        // a second later: memory and load read again, the name kept from the first read
        unsigned long long used = s.gpu.mem_used;
        s.gpu.mem_used = 0;
        snprintf(s.gpu.name, sizeof s.gpu.name, "kept");
        s.gpu_at -= 1.5;
        repl_dash_sys_sample(&s);
        tap_ok(s.gpu_shown && s.gpu.mem_used == used && !strcmp(s.gpu.name, "kept"),
               "a second later: the memory again, not the name");
    }
    return tap_done();
}
