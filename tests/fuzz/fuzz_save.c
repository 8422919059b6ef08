// fuzz_save.c - the writers on arbitrary names, paths and shapes: tensor_save_safetensors
// (and tensor_save_npy for the first tensor) must either fail with a message or write a
// file that loads back with the same names and bit-identical values; a failed save must
// leave the file that was there before untouched, and no save leaves a temp file behind.
//
// Input: byte 0 = the file name's length L, then L bytes of file name (a '/' or NUL ends
// it: the file stays in this process's scratch directory), then up to 4 tensors, each
// [name length][name bytes][ndim 0-3][sizes, one byte each, 0-7][values as bytes / 16].
#include "fuzz_common.h"

#include <errno.h>

static char dir[64];

static void remove_dir(void) { rmdir(dir); }

static int count_temps(void) {
    DIR *d = opendir(dir);
    int n = 0;
    if (!d) abort();
    for (struct dirent *e; (e = readdir(d));)
        if (strstr(e->d_name, ".tmp.")) n++;
    closedir(d);
    return n;
}

static int same_values(const tensor *a, const tensor *b) {
    if (a->ndim != b->ndim) return 0;
    for (int i = 0; i < a->ndim; i++)
        if (a->size[i] != b->size[i]) return 0;
    float *x = tensor_to_host(a), *y = tensor_to_host(b);
    int64_t n = tensor_numel(a);
    int same = (x && y) || n == 0;
    for (int64_t k = 0; same && k < n; k++) same = memcmp(&x[k], &y[k], sizeof(float)) == 0;
    free(x);
    free(y);
    return same;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!dir[0]) {
        snprintf(dir, sizeof dir, "/tmp/nnlab-fuzz-save-%d", (int)getpid());
        if (mkdir(dir, 0700) != 0 && errno != EEXIST) abort();
        atexit(remove_dir);
    }
    size_t p = 0;
    char fname[256] = "ck";
    if (p < size) {
        size_t len = data[p++];
        size_t k = 0;
        while (k < len && p < size && data[p] != '/' && data[p] != 0 && k < sizeof fname - 1) fname[k++] = (char)data[p++];
        if (k) fname[k] = 0;
    }
    if (!strcmp(fname, ".") || !strcmp(fname, "..")) snprintf(fname, sizeof fname, "ck");
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, fname);

    tensor_named items[4];
    char names[4][64];
    int n = 0;
    while (n < 4 && p < size) {
        size_t len = data[p++] % 64, k = 0;
        while (k < len && p < size) names[n][k++] = (char)data[p++];
        names[n][k] = 0;
        if (p >= size) break;
        int ndim = data[p++] % 4;
        int64_t sizes[3];
        for (int d = 0; d < ndim; d++) sizes[d] = p < size ? data[p++] % 8 : 1;
        tensor *t = tensor_zeros(ndim, sizes, TENSOR_CPU);
        if (!t) abort();
        float *v = t->storage->data;
        for (int64_t k2 = 0; k2 < tensor_numel(t); k2++) v[k2] = p < size ? ((int)data[p++] - 128) / 16.0f : 0;
        items[n].name = names[n];
        items[n].t = t;
        n++;
    }

    // a good checkpoint first: a failed save must leave it as it was
    tensor *keep = tensor_ones(1, (int64_t[]){3}, TENSOR_CPU);
    tensor_named good = {"keep", keep};
    int had = tensor_save_safetensors(path, 1, &good) == 0;
    if (tensor_save_safetensors(path, n, items) == 0) {
        tensor_named *back = NULL;
        int m = 0;
        if (tensor_load_safetensors(path, &back, &m) != 0 || m != n) abort();
        for (int i = 0; i < n; i++) {
            int found = 0;
            for (int j = 0; j < m && !found; j++)
                if (!strcmp(back[j].name, items[i].name)) found = same_values(back[j].t, items[i].t) ? 1 : -1;
            if (found != 1) abort();
        }
        tensor_named_free(back, m);
    } else {
        fuzz_check_error("tensor.save: ");
        if (had) {   // the earlier checkpoint is still whole
            tensor_named *back = NULL;
            int m = 0;
            if (tensor_load_safetensors(path, &back, &m) != 0 || m != 1 || !same_values(back[0].t, keep)) abort();
            tensor_named_free(back, m);
        }
    }
    if (n > 0 && tensor_save_npy(path, items[0].t) == 0) {
        tensor *back = tensor_load_npy(path);
        if (!back || !same_values(back, items[0].t)) abort();
        tensor_release(back);
    }
    if (count_temps() != 0) abort();
    unlink(path);
    tensor_release(keep);
    for (int i = 0; i < n; i++) tensor_release(items[i].t);
    return 0;
}
