// nvml.c - NVML, the NVIDIA driver's management library, loaded with dlopen: it sees
// every GPU and what all processes hold on them, which the CUDA runtime does not.
// Used by tensor.cuda_devices() (lua_cuda.c) and the dashboard's system panel.
// Declared here (nvml.h is not part of the toolkit here; the ABI is stable).
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "repl.h"

typedef int nvml_ret;                       // nvmlReturn_t: 0 success
typedef struct nvml_device_st *nvml_device;
typedef struct { unsigned long long total, free, used; } nvml_memory;
typedef struct { unsigned int gpu, memory; } nvml_utilization;
#define NVML_ERROR_INSUFFICIENT_SIZE 7

static struct {
    int tried;
    char why[300];
    nvml_ret (*init)(void);
    nvml_ret (*count)(unsigned int *);
    nvml_ret (*handle)(unsigned int, nvml_device *);
    nvml_ret (*name)(nvml_device, char *, unsigned int);
    nvml_ret (*uuid)(nvml_device, char *, unsigned int);
    nvml_ret (*memory)(nvml_device, nvml_memory *);
    nvml_ret (*utilization)(nvml_device, nvml_utilization *);
    nvml_ret (*processes)(nvml_device, unsigned int *, void *);
    const char *(*error)(nvml_ret);
} nvml;

// Tried once: a missing library stays missing, and nvmlInit is slow.
int repl_nvml_load(const char **why)
{
    if (!nvml.tried) {
        nvml.tried = 1;
        void *h = dlopen("libnvidia-ml.so.1", RTLD_NOW | RTLD_LOCAL);
        if (!h) {
            snprintf(nvml.why, sizeof nvml.why, "NVML, which the NVIDIA driver ships, is not here (%s): no GPU "
                     "driver on this machine", dlerror());
            goto out;
        }
        *(void **)&nvml.count = dlsym(h, "nvmlDeviceGetCount_v2");
        *(void **)&nvml.handle = dlsym(h, "nvmlDeviceGetHandleByIndex_v2");
        *(void **)&nvml.name = dlsym(h, "nvmlDeviceGetName");
        *(void **)&nvml.uuid = dlsym(h, "nvmlDeviceGetUUID");
        *(void **)&nvml.memory = dlsym(h, "nvmlDeviceGetMemoryInfo");
        *(void **)&nvml.utilization = dlsym(h, "nvmlDeviceGetUtilizationRates");
        *(void **)&nvml.processes = dlsym(h, "nvmlDeviceGetComputeRunningProcesses_v3");
        *(void **)&nvml.error = dlsym(h, "nvmlErrorString");
        nvml_ret (*init)(void);
        *(void **)&init = dlsym(h, "nvmlInit_v2");
        if (!init || !nvml.count || !nvml.handle || !nvml.name || !nvml.memory || !nvml.error) {
            snprintf(nvml.why, sizeof nvml.why, "libnvidia-ml.so.1 lacks the functions nnlab uses (a driver too old?)");
            goto out;
        }
        nvml_ret r = init();
        if (r != 0) {
            snprintf(nvml.why, sizeof nvml.why, "NVML could not start (nvmlInit: %s)", nvml.error(r));
            goto out;
        }
        nvml.init = init;
    }
out:
    if (why) *why = nvml.why;
    return nvml.init != NULL;
}

int repl_nvml_count(char *err, size_t n)
{
    unsigned int count = 0;
    nvml_ret r = nvml.count(&count);
    if (r != 0) {
        snprintf(err, n, "nvmlDeviceGetCount: %s", nvml.error(r));
        return -1;
    }
    return (int)count;
}

// CUDA_VISIBLE_DEVICES entries are indices or UUID prefixes (GPU-...); CUDA stops at
// the first entry it cannot match, and so does this.
int repl_nvml_index(int cuda, int count)
{
    const char *vis = getenv("CUDA_VISIBLE_DEVICES");
    if (!vis) return cuda >= 0 && cuda < count ? cuda : -1;
    char buf[512];
    snprintf(buf, sizeof buf, "%s", vis);
    int k = 0;
    for (char *tok = strtok(buf, ","); tok; tok = strtok(NULL, ","), k++) {
        while (*tok == ' ') tok++;
        int phys = -1;
        char *end;
        long v = strtol(tok, &end, 10);
        if (end != tok && *end == 0) phys = v >= 0 && v < count ? (int)v : -1;
        else for (int i = 0; i < count && phys < 0 && nvml.uuid; i++) {
            nvml_device d;
            char uuid[REPL_NVML_BUF] = "";
            if (nvml.handle((unsigned int)i, &d) == 0 && nvml.uuid(d, uuid, sizeof uuid) == 0 &&
                !strncmp(uuid, tok, strlen(tok)))
                phys = i;
        }
        if (phys < 0) return -1;
        if (k == cuda) return phys;
    }
    return -1;
}

int repl_nvml_read(int phys, repl_nvml_gpu *g)
{
    memset(g, 0, sizeof *g);
    snprintf(g->name, sizeof g->name, "?");
    g->nvml_index = phys;
    nvml_device d;
    if (phys < 0 || nvml.handle((unsigned int)phys, &d) != 0) return -1;
    nvml.name(d, g->name, sizeof g->name);
    if (nvml.uuid) nvml.uuid(d, g->uuid, sizeof g->uuid);
    nvml_memory mem;
    if (nvml.memory(d, &mem) == 0) {
        g->has_mem = 1;
        g->mem_used = mem.used;
        g->mem_total = mem.total;
        g->mem_free = mem.free;
    }
    nvml_utilization util;
    if (nvml.utilization && nvml.utilization(d, &util) == 0) {
        g->has_util = 1;
        g->util = util.gpu;
    }
    // with no buffer it only counts them (and says the buffer is too small when any)
    nvml_ret pr = nvml.processes ? nvml.processes(d, &g->procs, NULL) : -1;
    g->has_procs = pr == 0 || pr == NVML_ERROR_INSUFFICIENT_SIZE;
    return 0;
}

// Only what changes, for the dashboard's once-a-second refresh: each call can take a
// millisecond on a busy driver, and a slow redraw lowers the dashboard's frame rate.
int repl_nvml_read_load(repl_nvml_gpu *g)
{
    nvml_device d;
    nvml_memory mem;
    nvml_utilization util;
    if (!nvml.init || g->nvml_index < 0 || nvml.handle((unsigned int)g->nvml_index, &d) != 0) return -1;
    if ((g->has_mem = nvml.memory(d, &mem) == 0)) {
        g->mem_used = mem.used;
        g->mem_total = mem.total;
        g->mem_free = mem.free;
    }
    if ((g->has_util = nvml.utilization && nvml.utilization(d, &util) == 0)) g->util = util.gpu;
    return 0;
}

int repl_nvml_read_cuda(int cuda, repl_nvml_gpu *g)
{
    char err[128];
    if (!repl_nvml_load(NULL)) return -1;
    int count = repl_nvml_count(err, sizeof err);
    return count < 0 ? -1 : repl_nvml_read(repl_nvml_index(cuda, count), g);
}
