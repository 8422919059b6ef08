// sys.c - the system panel's figures: CPU % of this process, its resident memory,
// and the GPU memory its tensors hold when it trains on CUDA. Read at redraws only
// (a getrusage and one small /proc read, ~10 us).
#include "dash.h"

#include <stdio.h>
#include <sys/resource.h>
#include <unistd.h>

static double cpu_seconds(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0) return 0;
    return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec * 1e-6 + ru.ru_stime.tv_sec + ru.ru_stime.tv_usec * 1e-6;
}

void repl_dash_sys_sample(dash_state *s)
{
    double now = repl_dash_now(), cpu = cpu_seconds();
    // over at least half a second, so one busy redraw doesn't read as 100%
    if (s->cpu_wall == 0) {
        s->cpu_wall = now;
        s->cpu_t = cpu;
    } else if (now - s->cpu_wall >= 0.5) {
        s->cpu_pct = 100 * (cpu - s->cpu_t) / (now - s->cpu_wall);
        s->cpu_wall = now;
        s->cpu_t = cpu;
    }
    FILE *f = fopen("/proc/self/statm", "r");
    long pages = 0, rss = 0;
    if (f) {
        if (fscanf(f, "%ld %ld", &pages, &rss) != 2) rss = 0;
        fclose(f);
    }
    s->rss_mb = rss * (double)sysconf(_SC_PAGESIZE) / (1 << 20);
    s->gpu_mb = tensor_live_bytes(TENSOR_CUDA) / (double)(1 << 20);
}
