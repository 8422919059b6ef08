// fuzz_safetensors.c - tensor_load_safetensors on arbitrary bytes must either fail with
// a "tensor.load: ..." message or return tensors whose shapes match their data; a
// successful load must survive a save/load round trip bit for bit.
#include "fuzz_common.h"

static const char *roundtrip_path(void) {
    static char path[256];
    if (!path[0]) {
        const char *dir = getenv("TMPDIR");
        char tmpl[200];
        snprintf(tmpl, sizeof tmpl, "%s/nnlab-fuzz-st-XXXXXX", dir && *dir ? dir : "/tmp");
        if (!mkdtemp(tmpl)) { perror("fuzz: mkdtemp"); abort(); }
        snprintf(path, sizeof path, "%s/rt.safetensors", tmpl);
    }
    return path;
}

static void check_same(const tensor_named *a, int na, const tensor_named *b, int nb) {
    if (na != nb) { fprintf(stderr, "round trip: %d tensors became %d\n", na, nb); abort(); }
    for (int i = 0; i < na; i++) {
        // both lists are in file order, and a save writes them in the order given
        if (strcmp(a[i].name, b[i].name) != 0 || a[i].t->ndim != b[i].t->ndim ||
            memcmp(a[i].t->size, b[i].t->size, sizeof(int64_t) * (size_t)a[i].t->ndim) != 0) {
            fprintf(stderr, "round trip: tensor %d ('%s') changed name or shape\n", i, a[i].name);
            abort();
        }
        int64_t n = tensor_numel(a[i].t);
        if (n && memcmp(a[i].t->storage->data + a[i].t->offset, b[i].t->storage->data + b[i].t->offset,
                        (size_t)n * sizeof(float)) != 0) {
            fprintf(stderr, "round trip: tensor '%s' changed values\n", a[i].name);
            abort();
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *path = fuzz_as_file(data, size);
    tensor_named *items = NULL;
    int n = -1;
    if (tensor_load_safetensors(path, &items, &n) != 0) {
        fuzz_check_error("tensor.load: ");
        if (items || n != 0) { fprintf(stderr, "failed load left items=%p n=%d\n", (void *)items, n); abort(); }
        return 0;
    }
    for (int i = 0; i < n; i++) {
        tensor *t = items[i].t;
        if (!items[i].name || !t || t->ndim < 0 || t->ndim > TENSOR_MAX_DIMS ||
            (tensor_numel(t) > 0 && (!t->storage || !t->storage->data))) {
            fprintf(stderr, "loaded tensor %d is malformed\n", i);
            abort();
        }
        // touch every value so ASan sees a short buffer
        volatile float sum = 0;
        const float *p = t->storage->data ? t->storage->data + t->offset : NULL;
        for (int64_t k = 0; k < tensor_numel(t); k++) sum += p[k];
        (void)sum;
    }
    // Names the writer refuses ("" and __metadata__ cannot be loaded, so none here).
    const char *rt = roundtrip_path();
    if (tensor_save_safetensors(rt, n, items) == 0) {
        tensor_named *back = NULL;
        int nb = 0;
        if (tensor_load_safetensors(rt, &back, &nb) != 0) {
            fprintf(stderr, "round trip: reloading failed: %s\n", tensor_last_error());
            abort();
        }
        // the reader returns tensors sorted by offset = the order they were written
        check_same(items, n, back, nb);
        tensor_named_free(back, nb);
        unlink(rt);
    } else {
        fuzz_check_error("tensor.save: ");
    }
    tensor_named_free(items, n);
    return 0;
}
