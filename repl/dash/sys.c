// sys.c - the system panel's figures: CPU % of this process, its resident memory,
// and, when it trains on CUDA, the GPU memory its tensors hold and the card itself
// (NVML). Read at redraws only (a getrusage and one small /proc read, ~10 us; NVML
// at most once a second, as its calls can take milliseconds).
#include "dash.h"

#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

static double cpu_seconds(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0) return 0;
    return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec * 1e-6 + ru.ru_stime.tv_sec + ru.ru_stime.tv_usec * 1e-6;
}

// The card is read only once this process uses CUDA (the dashboard's device, or live
// CUDA tensors): a CPU run neither loads NVML nor shows a GPU.
static void gpu_sample(dash_state *s, double now)
{
    if (strcmp(s->device, "cuda") != 0 && tensor_live_bytes(TENSOR_CUDA) == 0) {
        s->gpu_shown = 0;
        return;
    }
    if (s->gpu_at > 0 && now - s->gpu_at < 1) return;
    s->gpu_at = now;
    // the name and the index mapping once per card, then only memory and load
    if (s->gpu_shown && s->gpu_cuda == tensor_cuda_index()) {
        s->gpu_shown = repl_nvml_read_load(&s->gpu) == 0;
        return;
    }
    s->gpu_cuda = tensor_cuda_index();
    s->gpu_shown = repl_nvml_read_cuda(s->gpu_cuda, &s->gpu) == 0;
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
    gpu_sample(s, now);
}
