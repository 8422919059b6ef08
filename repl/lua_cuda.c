// lua_cuda.c - the CUDA half of the `tensor` table: syncing with the GPU (and hearing
// the errors its kernels found), matmul precision, the machine's GPUs. Registered by
// repl_open_tensor through repl_open_cuda; everything works, or explains itself, in a
// build without CUDA and on a machine without a GPU.
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <lauxlib.h>
#include "repl.h"

// ---- NVML: the driver's management library, loaded with dlopen ------------------------
// It sees every GPU and what other processes hold on them, which the CUDA runtime does
// not. Declared here (nvml.h is not part of the toolkit here; the ABI is stable).
typedef int nvml_ret;                       // nvmlReturn_t: 0 success
typedef struct nvml_device_st *nvml_device;
typedef struct { unsigned long long total, free, used; } nvml_memory;
typedef struct { unsigned int gpu, memory; } nvml_utilization;
#define NVML_ERROR_INSUFFICIENT_SIZE 7
#define NVML_BUF 96                         // NVML_DEVICE_NAME_V2/UUID_V2 buffer sizes

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

static int nvml_load(void) {
    if (nvml.tried) return nvml.init != NULL;
    nvml.tried = 1;
    void *h = dlopen("libnvidia-ml.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        snprintf(nvml.why, sizeof nvml.why, "NVML, which the NVIDIA driver ships, is not here (%s): no GPU driver "
                 "on this machine", dlerror());
        return 0;
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
        return 0;
    }
    nvml_ret r = init();
    if (r != 0) {
        snprintf(nvml.why, sizeof nvml.why, "NVML could not start (nvmlInit: %s)", nvml.error(r));
        return 0;
    }
    nvml.init = init;
    return 1;
}

// CUDA_VISIBLE_DEVICES -> the NVML index of the CUDA device `cuda` (0-based), or -1 when
// the list has no such entry. Entries are indices or UUID prefixes (GPU-...); CUDA
// stops at the first entry it cannot match, and so does this.
static int visible_to_nvml(const char *vis, int cuda, unsigned int count) {
    char buf[512];
    snprintf(buf, sizeof buf, "%s", vis);
    int k = 0;
    for (char *tok = strtok(buf, ","); tok; tok = strtok(NULL, ","), k++) {
        while (*tok == ' ') tok++;
        int phys = -1;
        char *end;
        long v = strtol(tok, &end, 10);
        if (end != tok && *end == 0) phys = v >= 0 && v < (long)count ? (int)v : -1;
        else for (unsigned int i = 0; i < count && phys < 0 && nvml.uuid; i++) {
            nvml_device d;
            char uuid[NVML_BUF] = "";
            if (nvml.handle(i, &d) == 0 && nvml.uuid(d, uuid, sizeof uuid) == 0 && !strncmp(uuid, tok, strlen(tok)))
                phys = (int)i;
        }
        if (phys < 0) return -1;
        if (k == cuda) return phys;
    }
    return -1;
}

static void set_int(lua_State *L, const char *k, long long v) { lua_pushinteger(L, v); lua_setfield(L, -2, k); }

// tensor.cuda_devices() -> list of {index (cuda:N), name, memory_used, memory_total (bytes),
// utilization (%), processes, uuid, current}; or {} and the reason when NVML is missing.
static int l_cuda_devices(lua_State *L) {
    lua_newtable(L);
    if (!nvml_load()) { lua_pushstring(L, nvml.why); return 2; }
    unsigned int count = 0;
    nvml_ret r = nvml.count(&count);
    if (r != 0) { lua_pushfstring(L, "nvmlDeviceGetCount: %s", nvml.error(r)); return 2; }
    const char *vis = getenv("CUDA_VISIBLE_DEVICES");
    int chosen = tensor_cuda_index();
    for (int cuda = 0; cuda < (int)count; cuda++) {
        int phys = vis ? visible_to_nvml(vis, cuda, count) : cuda;
        if (phys < 0) break;
        nvml_device d;
        if (nvml.handle((unsigned int)phys, &d) != 0) continue;
        char name[NVML_BUF] = "?", uuid[NVML_BUF] = "";
        nvml_memory mem = {0, 0, 0};
        nvml_utilization util = {0, 0};
        nvml.name(d, name, sizeof name);
        if (nvml.uuid) nvml.uuid(d, uuid, sizeof uuid);
        int has_mem = nvml.memory(d, &mem) == 0;
        int has_util = nvml.utilization && nvml.utilization(d, &util) == 0;
        unsigned int procs = 0;
        nvml_ret pr = nvml.processes ? nvml.processes(d, &procs, NULL) : -1;
        lua_createtable(L, 0, 10);
        set_int(L, "index", cuda);
        lua_pushfstring(L, "cuda:%d", cuda);
        lua_setfield(L, -2, "device");
        lua_pushstring(L, name);
        lua_setfield(L, -2, "name");
        lua_pushstring(L, uuid);
        lua_setfield(L, -2, "uuid");
        if (has_mem) {
            set_int(L, "memory_used", (long long)mem.used);
            set_int(L, "memory_total", (long long)mem.total);
            set_int(L, "memory_free", (long long)mem.free);
        }
        if (has_util) set_int(L, "utilization", util.gpu);
        if (pr == 0 || pr == NVML_ERROR_INSUFFICIENT_SIZE) set_int(L, "processes", procs);
        set_int(L, "nvml_index", phys);
        lua_pushboolean(L, cuda == chosen);
        lua_setfield(L, -2, "current");
        lua_rawseti(L, -2, cuda + 1);
    }
    return 1;
}

// tensor.cuda_synchronize(): waits for the GPU's queued work and raises the first error
// a kernel found in the data since the last sync (an index or label out of range),
// naming the op. item(), printing and :cpu() sync, and report such errors, too.
static int l_cuda_synchronize(lua_State *L) {
    if (tensor_synchronize(TENSOR_CUDA) != 0) return repl_tensor_error(L);
    return 0;
}

// tensor.set_matmul_precision("highest" | "high"): PyTorch's set_float32_matmul_precision
static int l_set_matmul_precision(lua_State *L) {
    if (tensor_set_matmul_precision(luaL_checkstring(L, 1)) != 0) {
        return luaL_error(L, "tensor.%s", repl_last_error((char[1024]){0}, 1024));
    }
    return 0;
}

static int l_get_matmul_precision(lua_State *L) {
    lua_pushstring(L, tensor_get_matmul_precision());
    return 1;
}

// ---- a full collection before the GPU declares out-of-memory ---------------------------------
// Lua paces its collector by the bytes it sees; a GPU tensor's userdata is a few bytes,
// so garbage tensors can hold a card full. The allocator calls this once before failing.
static lua_State *gc_state;

static void collect_lua_garbage(void) {
    if (gc_state) lua_gc(gc_state, LUA_GCCOLLECT);   // a no-op when called from a finalizer
}

void repl_open_cuda(lua_State *L) {
    gc_state = L;
    tensor_set_gc_hook(collect_lua_garbage);
    static const luaL_Reg fns[] = {
        {"cuda_synchronize", l_cuda_synchronize}, {"cuda_devices", l_cuda_devices},
        {"set_matmul_precision", l_set_matmul_precision}, {"get_matmul_precision", l_get_matmul_precision},
        {NULL, NULL}};
    if (lua_getglobal(L, "tensor") == LUA_TTABLE) luaL_setfuncs(L, fns, 0);
    lua_pop(L, 1);
}
