// test_io.c - safetensors / npy / IDX: round trips, python-made fixtures
// (tests/fixtures/make_io_fixtures.py), the real Fashion-MNIST files, and corrupt
// files (every truncation, flipped header bytes, absurd lengths and dims), which
// must all fail with a message and never crash or allocate what the header claims.
#include <dirent.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "../../tensor/tensor.h"
#include "tap.h"

// tap_ok with a printf-style name; a failure also shows the last tensor error.
static int ok(int cond, const char *fmt, ...) {
    char name[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(name, sizeof name, fmt, ap);
    va_end(ap);
    if (!cond) printf("#   last tensor error: %s\n", tensor_last_error());
    return tap_ok(cond, name);
}
static void skip(const char *why) { printf("ok %d # SKIP %s\n", ++tap_n, why); }

// ---- helpers ---------------------------------------------------------------------------
static char dir[64];
static const char *FIX = "tests/fixtures/io/";

static const char *tmp(const char *name) {
    static char buf[4][256];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", dir, name);
    return buf[k];
}
static const char *fix(const char *name) {
    static char buf[256];
    snprintf(buf, sizeof buf, "%s%s", FIX, name);
    return buf;
}
static unsigned char *slurp(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc((size_t)len + 1);
    *n = fread(b, 1, (size_t)len, f);
    fclose(f);
    return b;
}
static void spit(const char *path, const void *buf, size_t n) {
    FILE *f = fopen(path, "wb");
    fwrite(buf, 1, n, f);
    fclose(f);
}
static float *host(tensor *t) { return t->storage->data + t->offset; }
static int shape_is(const tensor *t, int ndim, const int64_t *sizes) {
    if (t->ndim != ndim) return 0;
    for (int i = 0; i < ndim; i++)
        if (t->size[i] != sizes[i]) return 0;
    return 1;
}
// values follow the fixture formulas: float v = i*0.5-1, signed v = i-2, unsigned v = i
static int values_are(tensor *t, double scale, double shift) {
    tensor *c = tensor_contiguous(t);
    int good = 1;
    for (int64_t i = 0; i < tensor_numel(c); i++)
        if (host(c)[i] != (float)(i * scale + shift)) good = 0;
    tensor_release(c);
    return good;
}
static int no_temp_files(void) {
    DIR *d = opendir(dir);
    struct dirent *e;
    int clean = 1;
    while ((e = readdir(d)))
        if (strstr(e->d_name, ".tmp.")) clean = 0;
    closedir(d);
    return clean;
}
static int have_python(void) {
    static int known = -1;   // numpy takes a second to import: ask once
    if (known < 0) known = system("/usr/bin/python3 -c 'import numpy' >/dev/null 2>&1") == 0;
    return known;
}
static tensor *seq(int ndim, const int64_t *sizes) {
    tensor *t = tensor_empty(ndim, sizes, TENSOR_CPU);
    for (int64_t i = 0; i < tensor_numel(t); i++) host(t)[i] = (float)i * 0.25f - 3;
    return t;
}

// ---- round trips -------------------------------------------------------------------------
static void test_safetensors_roundtrip(void) {
    tensor *a = seq(2, (int64_t[]){3, 4});
    tensor *at = tensor_t(a);                       // non-contiguous view [4,3]
    tensor *s = tensor_scalar(7.5f, TENSOR_CPU);
    tensor *e = tensor_zeros(2, (int64_t[]){0, 3}, TENSOR_CPU);
    tensor_named items[] = {{"layer.weight", a}, {"wt \"quoted\"", at}, {"s", s}, {"empty", e}};
    ok(tensor_save_safetensors(tmp("m.safetensors"), 4, items) == 0, "save 4 tensors (view, 0-d, empty)");
    ok(no_temp_files(), "no temp file left after save");
    size_t n;
    unsigned char *raw = slurp(tmp("m.safetensors"), &n);
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--) hlen = hlen << 8 | raw[i];
    ok((8 + hlen) % 8 == 0 && n == 8 + hlen + (12 + 12 + 1) * 4, "header padded to 8, data %zu bytes", n);
    free(raw);

    tensor_named *got;
    int cnt;
    ok(tensor_load_safetensors(tmp("m.safetensors"), &got, &cnt) == 0 && cnt == 4, "load back 4");
    if (cnt == 4) {
        ok(!strcmp(got[0].name, "layer.weight") && shape_is(got[0].t, 2, (int64_t[]){3, 4}) &&
               values_are(got[0].t, 0.25, -3), "layer.weight [3,4] values");
        int good = !strcmp(got[1].name, "wt \"quoted\"") && shape_is(got[1].t, 2, (int64_t[]){4, 3});
        for (int i = 0; good && i < 4; i++)
            for (int j = 0; j < 3; j++) good &= host(got[1].t)[i * 3 + j] == host(a)[j * 4 + i];
        ok(good, "transposed view saved in logical order, quoted name survives");
        ok(got[2].t->ndim == 0 && host(got[2].t)[0] == 7.5f, "0-d tensor");
        ok(shape_is(got[3].t, 2, (int64_t[]){0, 3}), "empty [0,3] tensor");
    }
    tensor_named_free(got, cnt);

    if (have_python()) {
        char cmd[1024];
        snprintf(cmd, sizeof cmd,
                 "/usr/bin/python3 -c \"import json,struct,numpy as np;b=open('%s','rb').read();"
                 "n=struct.unpack('<Q',b[:8])[0];h=json.loads(b[8:8+n]);e=h['layer.weight'];"
                 "a=np.frombuffer(b[8+n+e['data_offsets'][0]:8+n+e['data_offsets'][1]],'<f4');"
                 "assert h['__metadata__']['format']=='pt' and e['dtype']=='F32' and e['shape']==[3,4];"
                 "assert (a==np.arange(12)*0.25-3).all()\"", tmp("m.safetensors"));
        ok(system(cmd) == 0, "python's json+numpy read our safetensors file");
    } else {
        skip("/usr/bin/python3 with numpy not found");
    }

    tensor_named dup[] = {{"x", a}, {"x", s}};
    int rc = tensor_save_safetensors(tmp("dup.safetensors"), 2, dup);
    ok(rc < 0 && strstr(tensor_last_error(), "used twice"), "duplicate names refused: %s", tensor_last_error());
    tensor *meta = tensor_zeros(1, (int64_t[]){4}, TENSOR_META);
    tensor_named m1[] = {{"m", meta}};
    ok(meta && tensor_save_safetensors(tmp("meta.safetensors"), 1, m1) < 0 &&
           strstr(tensor_last_error(), "meta") && access(tmp("meta.safetensors"), F_OK) != 0,
       "meta tensor refused, no file made: %s", tensor_last_error());
    ok(no_temp_files(), "failed saves leave no temp file");
    ok(tensor_save_safetensors("/nonexistent-dir/x.safetensors", 1, items) < 0 &&
           strstr(tensor_last_error(), "/nonexistent-dir/x.safetensors"),
       "unwritable dir: %s", tensor_last_error());
    mkdir(tmp("adir"), 0755);   // rename onto a directory fails after the data is written
    ok(tensor_save_safetensors(tmp("adir"), 1, items) < 0 && no_temp_files(),
       "rename failure removes the temp: %s", tensor_last_error());
    tensor_release(meta);
    tensor_release(a);
    tensor_release(at);
    tensor_release(s);
    tensor_release(e);
}

static void test_npy_roundtrip(void) {
    tensor *a = seq(3, (int64_t[]){2, 3, 4});
    tensor *p = tensor_permute(a, (int[]){2, 0, 1});   // [4,2,3] non-contiguous
    ok(tensor_save_npy(tmp("p.npy"), p) == 0, "save_npy a permuted view");
    tensor *b = tensor_load_npy(tmp("p.npy"));
    int good = b && shape_is(b, 3, (int64_t[]){4, 2, 3});
    for (int k = 0; good && k < 4; k++)
        for (int i = 0; i < 2; i++)
            for (int j = 0; j < 3; j++) good &= host(b)[(k * 2 + i) * 3 + j] == host(a)[(i * 3 + j) * 4 + k];
    ok(good, "npy round trip [4,2,3] values");
    size_t n;
    unsigned char *raw = slurp(tmp("p.npy"), &n);
    ok(raw && n == 128 + 24 * 4 && raw[6] == 1 && raw[127] == '\n', "v1 header, 64-aligned data");
    free(raw);
    tensor *s = tensor_scalar(-2.5f, TENSOR_CPU), *v = seq(1, (int64_t[]){5});
    ok(tensor_save_npy(tmp("s.npy"), s) == 0 && tensor_save_npy(tmp("v.npy"), v) == 0, "save 0-d and 1-d");
    tensor *s2 = tensor_load_npy(tmp("s.npy")), *v2 = tensor_load_npy(tmp("v.npy"));
    ok(s2 && s2->ndim == 0 && host(s2)[0] == -2.5f, "0-d round trip");
    ok(v2 && shape_is(v2, 1, (int64_t[]){5}) && values_are(v2, 0.25, -3), "1-d round trip");
    if (have_python()) {
        char cmd[1024];
        snprintf(cmd, sizeof cmd,
                 "/usr/bin/python3 -c \"import numpy as np;a=np.load('%s');s=np.load('%s');v=np.load('%s');"
                 "r=(np.arange(24)*0.25-3).reshape(2,3,4).transpose(2,0,1);"
                 "assert a.dtype=='<f4' and (a==r).all() and s.shape==() and s==-2.5 and v.shape==(5,)\"",
                 tmp("p.npy"), tmp("s.npy"), tmp("v.npy"));
        ok(system(cmd) == 0, "numpy loads our .npy files with the right values");
    } else {
        skip("/usr/bin/python3 with numpy not found");
    }
    tensor_release(a); tensor_release(p); tensor_release(b); tensor_release(s);
    tensor_release(v); tensor_release(s2); tensor_release(v2);
}

// ---- python-made fixtures ------------------------------------------------------------------
static void check_npy(const char *name, int ndim, const int64_t *sizes, double scale, double shift) {
    tensor *t = tensor_load_npy(fix(name));
    ok(t && shape_is(t, ndim, sizes) && values_are(t, scale, shift), "fixture %s", name);
    tensor_release(t);
}
static void check_idx(const char *name, int ndim, const int64_t *sizes, double scale, double shift) {
    tensor *t = tensor_load_idx(fix(name));
    ok(t && shape_is(t, ndim, sizes) && values_are(t, scale, shift), "fixture %s", name);
    tensor_release(t);
}

static void test_fixtures(void) {
    if (access(fix("mixed.safetensors"), R_OK) != 0) {
        skip("tests/fixtures/io missing: run /usr/bin/python3 tests/fixtures/make_io_fixtures.py");
        return;
    }
    check_npy("f32_2x3.npy", 2, (int64_t[]){2, 3}, 0.5, -1);
    check_npy("f64_2x3x4.npy", 3, (int64_t[]){2, 3, 4}, 0.5, -1);
    check_npy("f16_5.npy", 1, (int64_t[]){5}, 0.5, -1);
    check_npy("f32_be_2x2.npy", 2, (int64_t[]){2, 2}, 0.5, -1);
    check_npy("i64_2x3.npy", 2, (int64_t[]){2, 3}, 1, -2);
    check_npy("i32_4.npy", 1, (int64_t[]){4}, 1, -2);
    check_npy("u8_3x2.npy", 2, (int64_t[]){3, 2}, 1, 0);
    check_npy("fortran_2x3.npy", 2, (int64_t[]){2, 3}, 0.5, -1);
    check_npy("v2_3x2.npy", 2, (int64_t[]){3, 2}, 0.5, -1);
    check_npy("v3_2.npy", 1, (int64_t[]){2}, 0.5, -1);
    check_npy("empty_0x3.npy", 2, (int64_t[]){0, 3}, 0, 0);
    tensor *t = tensor_load_npy(fix("scalar.npy"));
    ok(t && t->ndim == 0 && host(t)[0] == 3.25f, "fixture scalar.npy is 0-d 3.25");
    tensor_release(t);
    t = tensor_load_npy(fix("bool_4.npy"));
    ok(t && host(t)[0] == 1 && host(t)[1] == 0 && host(t)[2] == 0 && host(t)[3] == 1, "fixture bool_4.npy");
    tensor_release(t);

    tensor_named *it;
    int n;
    ok(tensor_load_safetensors(fix("mixed.safetensors"), &it, &n) == 0 && n == 9, "mixed.safetensors: 9 tensors");
    static const struct { const char *name; int ndim; int64_t sizes[2]; double scale, shift; } want[] = {
        {"w", 2, {2, 3}, 0.5, -1}, {"half", 1, {5}, 0.5, -1}, {"bf", 2, {2, 2}, 0.5, -1},
        {"d", 1, {3}, 0.5, -1}, {"idx", 2, {2, 2}, 1, -2}, {"i32", 1, {3}, 1, -2},
        {"px", 1, {4}, 1, 0}, {"flag", 1, {2}, 1, 0}, {"s", 0, {0}, 0, 3.25},
    };
    for (int i = 0; i < n && i < 9; i++)
        ok(!strcmp(it[i].name, want[i].name) && shape_is(it[i].t, want[i].ndim, want[i].sizes) &&
               values_are(it[i].t, want[i].scale, want[i].shift),
           "mixed.safetensors '%s' (file order, values)", want[i].name);
    tensor_named_free(it, n);

    check_idx("u8_3x2x2.idx", 3, (int64_t[]){3, 2, 2}, 1, 0);
    check_idx("u8_3x2x2.idx.gz", 3, (int64_t[]){3, 2, 2}, 1, 0);
    check_idx("i8_4.idx", 1, (int64_t[]){4}, 1, -2);
    check_idx("i16_2x2.idx", 2, (int64_t[]){2, 2}, 1, -2);
    check_idx("i32_3.idx.gz", 1, (int64_t[]){3}, 1, -2);
    check_idx("f32_2x3.idx", 2, (int64_t[]){2, 3}, 0.5, -1);
    check_idx("f64_2x2.idx.gz", 2, (int64_t[]){2, 2}, 0.5, -1);
}

// ---- the real data set -----------------------------------------------------------------------
static void test_fashion_mnist(void) {
    const char *d = "/usr/share/datasets/fashion-mnist/";
    char p[256];
    snprintf(p, sizeof p, "%strain-images-idx3-ubyte.gz", d);
    if (access(p, R_OK) != 0) {
        skip("Fashion-MNIST not installed (sudo apt-get install dataset-fashion-mnist)");
        return;
    }
    tensor *x = tensor_load_idx(p);
    ok(x && shape_is(x, 3, (int64_t[]){60000, 28, 28}), "train images [60000,28,28]");
    if (x) {
        // reference sums from /usr/bin/python3 + gzip + numpy
        double all = 0, first = 0;
        for (int64_t i = 0; i < tensor_numel(x); i++) all += host(x)[i];
        for (int i = 0; i < 784; i++) first += host(x)[i];
        tap_close(all, 3431114169.0, 0, "sum of all train pixels matches numpy");
        tap_close(first, 76247.0, 0, "sum of image 0 matches numpy");
        ok(host(x)[14 * 28 + 12] == 237 && host(x)[14 * 28 + 25] == 255, "image 0 row 14 pixels raw 0..255");
    }
    tensor_release(x);
    snprintf(p, sizeof p, "%strain-labels-idx1-ubyte.gz", d);
    tensor *y = tensor_load_idx(p);
    static const float first10[] = {9, 0, 0, 3, 0, 2, 7, 2, 5, 5};
    ok(y && shape_is(y, 1, (int64_t[]){60000}) && !memcmp(host(y), first10, sizeof first10),
       "train labels [60000], first ten 9 0 0 3 0 2 7 2 5 5 as python reads them");
    tensor_release(y);
    snprintf(p, sizeof p, "%st10k-labels-idx1-ubyte.gz", d);
    y = tensor_load_idx(p);
    ok(y && shape_is(y, 1, (int64_t[]){10000}) && host(y)[0] == 9 && host(y)[1] == 2, "t10k labels [10000]");
    tensor_release(y);
}

// ---- corrupt files ------------------------------------------------------------------------------
typedef enum { SAFET, NPY, IDX } kind;

// Loads path as kind; returns 1 on success (and frees), 0 on an error with a message.
static int try_load(kind k, const char *path) {
    if (k == SAFET) {
        tensor_named *it;
        int n;
        if (tensor_load_safetensors(path, &it, &n) < 0) return 0;
        tensor_named_free(it, n);
        return 1;
    }
    tensor *t = k == NPY ? tensor_load_npy(path) : tensor_load_idx(path);
    tensor_release(t);
    return t != NULL;
}

// Every proper prefix of a good file must be refused with a message.
static void truncations(kind k, const char *good, const char *what) {
    size_t n;
    unsigned char *b = slurp(good, &n);
    int refused = 0, messages = 1;
    for (size_t cut = 0; cut < n; cut++) {
        spit(tmp("cut"), b, cut);
        if (!try_load(k, tmp("cut"))) refused++;
        if (!*tensor_last_error()) messages = 0;
    }
    ok(refused == (int)n && messages, "%s: all %zu truncations refused", what, n);
    free(b);
}

// Flipping any single header byte must not crash; most flips must be caught.
static void flips(kind k, const char *good, size_t from, size_t to, const char *what) {
    size_t n;
    unsigned char *b = slurp(good, &n);
    int refused = 0, tried = 0;
    if (to > n) to = n;
    for (size_t i = from; i < to; i++)
        for (int m = 0; m < 3; m++) {
            static const unsigned char masks[] = {0xff, 0x01, 0x80};
            b[i] ^= masks[m];
            spit(tmp("flip"), b, n);
            refused += !try_load(k, tmp("flip"));
            tried++;
            b[i] ^= masks[m];
        }
    ok(refused > 0, "%s: %d header byte flips, no crash, %d refused", what, tried, refused);
    free(b);
}

static void st_file(const char *name, const char *json, size_t data_bytes) {
    size_t h = strlen(json);
    unsigned char *b = calloc(1, 8 + h + data_bytes);
    for (int i = 0; i < 8; i++) b[i] = (unsigned char)((uint64_t)h >> (8 * i));
    memcpy(b + 8, json, h);
    spit(tmp(name), b, 8 + h + data_bytes);
    free(b);
}
static void st_bad(const char *json, size_t data_bytes, const char *expect, const char *what) {
    st_file("bad.safetensors", json, data_bytes);
    int refused = !try_load(SAFET, tmp("bad.safetensors"));
    ok(refused && strstr(tensor_last_error(), expect), "%s: %s", what, tensor_last_error());
}

static void test_corrupt_safetensors(void) {
    tensor *a = seq(2, (int64_t[]){2, 3}), *b = seq(1, (int64_t[]){4});
    tensor_named items[] = {{"a", a}, {"b", b}};
    tensor_save_safetensors(tmp("good.safetensors"), 2, items);
    truncations(SAFET, tmp("good.safetensors"), "safetensors");
    flips(SAFET, tmp("good.safetensors"), 0, 8 + 120, "safetensors");

    unsigned char len[8];
    const uint64_t bad_lens[] = {UINT64_MAX, (uint64_t)1 << 40, 1000, 0};
    for (int i = 0; i < 4; i++) {
        for (int j = 0; j < 8; j++) len[j] = (unsigned char)(bad_lens[i] >> (8 * j));
        spit(tmp("len.safetensors"), len, 8);
        ok(!try_load(SAFET, tmp("len.safetensors")), "header length %llu refused: %s",
           (unsigned long long)bad_lens[i], tensor_last_error());
    }
    st_bad("{\"w\":{\"dtype\":\"F32\",\"shape\":[1000000000000,1000000000000],\"data_offsets\":[0,16]}}",
           16, "impossibly large", "huge dims");
    st_bad("{\"w\":{\"dtype\":\"F32\",\"shape\":[1000000000000],\"data_offsets\":[0,4000000000000]}}",
           16, "exceed the data area", "offsets past the data area");
    st_bad("{\"w\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,12]}}", 12, "hold 12 bytes",
           "offsets disagree with shape");
    st_bad("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
           "\"v\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 12, "overlap", "overlap");
    st_bad("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8, "unused bytes", "gap");
    st_bad("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 8, "extra bytes", "trailing bytes");
    st_bad("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
           "\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8, "twice", "duplicate name");
    st_bad("{\"w\":{\"dtype\":\"C64\",\"shape\":[1],\"data_offsets\":[0,8]}}", 8, "C64", "unknown dtype");
    st_bad("{\"w\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", 4, "shape entry 1", "negative dim");
    st_bad("{\"w\":{\"dtype\":\"F32\",\"shape\":[1.5],\"data_offsets\":[0,4]}}", 4, "shape entry 1", "fractional dim");
    st_bad("{\"w\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1,1,1,1,1],\"data_offsets\":[0,4]}}", 4, "9 dims", "9 dims");
    st_bad("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,0]}}", 4, "begin <= end", "reversed offsets");
    st_bad("{\"w\":{\"dtype\":\"F32\",\"shape\":[1]}}", 4, "data_offsets", "missing data_offsets");
    st_bad("[1,2,3]", 0, "not a JSON object", "array header");
    st_bad("{\"w\": ", 0, "not a JSON object", "unterminated JSON");
    ok(!try_load(SAFET, fix("does-not-exist.safetensors")) && strstr(tensor_last_error(), "No such file"),
       "missing file: %s", tensor_last_error());
    tensor_release(a);
    tensor_release(b);
}

static void test_corrupt_npy(void) {
    tensor *a = seq(2, (int64_t[]){3, 5});
    tensor_save_npy(tmp("good.npy"), a);
    truncations(NPY, tmp("good.npy"), "npy");
    flips(NPY, tmp("good.npy"), 0, 80, "npy");
    static const char *bad[] = {
        "{'descr': '<f4', 'fortran_order': False, 'shape': (1000000000000, 1000000), }",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (1000000000, 1000000000, 1000000000), }",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999999, ), }",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (1,1,1,1,1,1,1,1,1), }",
        "{'descr': '<c8', 'fortran_order': False, 'shape': (1,), }",
        "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,), }",
        "{'descr': '<f4', 'fortran_order': Maybe, 'shape': (1,), }",
        "{'descr': '<f4', 'shape': (1,), }",
        "{'descr': '', 'fortran_order': False, 'shape': (1,), }",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (-1,), }",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (1,",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        unsigned char b[256] = "\x93NUMPY\x01\x00";
        size_t h = strlen(bad[i]);
        b[8] = (unsigned char)h;
        b[9] = 0;
        memcpy(b + 10, bad[i], h);
        spit(tmp("bad.npy"), b, 10 + h + 16);
        ok(!try_load(NPY, tmp("bad.npy")), "bad npy header %zu refused: %s", i + 1, tensor_last_error());
    }
    unsigned char v9[16] = "\x93NUMPY\x09\x00\x04\x00{}\n\n";
    spit(tmp("bad.npy"), v9, 14);
    ok(!try_load(NPY, tmp("bad.npy")) && strstr(tensor_last_error(), "version 9"), "unknown version: %s",
       tensor_last_error());
    unsigned char v2[16] = "\x93NUMPY\x02\x00\xff\xff\xff\x7f{";
    spit(tmp("bad.npy"), v2, 13);
    ok(!try_load(NPY, tmp("bad.npy")) && strstr(tensor_last_error(), "header length"),
       "v2 header length 2^31 refused: %s", tensor_last_error());
    tensor_release(a);
}

static void idx_gz(const char *path, const unsigned char *b, size_t n) {
    gzFile g = gzopen(path, "wb");
    gzwrite(g, b, (unsigned)n);
    gzclose(g);
}

static void test_corrupt_idx(void) {
    if (access(fix("u8_3x2x2.idx.gz"), R_OK) == 0) {
        truncations(IDX, fix("u8_3x2x2.idx"), "idx");
        truncations(IDX, fix("u8_3x2x2.idx.gz"), "idx.gz");
        flips(IDX, fix("u8_3x2x2.idx.gz"), 0, 55, "idx.gz");
        flips(IDX, fix("f32_2x3.idx"), 0, 36, "idx");
    }
    // huge dims in a small file: must fail before allocating
    unsigned char h[16] = {0, 0, 0x08, 3, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    spit(tmp("huge.idx"), h, 16);
    ok(!try_load(IDX, tmp("huge.idx")), "idx dims 2^32-1 cubed refused: %s", tensor_last_error());
    idx_gz(tmp("huge.idx.gz"), h, 16);
    ok(!try_load(IDX, tmp("huge.idx.gz")), "gzip'd idx with huge dims refused: %s", tensor_last_error());
    unsigned char m[12] = {0, 0, 0x0D, 1, 0x10, 0, 0, 0};   // 268M floats claimed, none present
    idx_gz(tmp("big.idx.gz"), m, 8);
    ok(!try_load(IDX, tmp("big.idx.gz")) && strstr(tensor_last_error(), "gzip trailer"),
       "gzip'd idx claiming 1 GB refused before reading: %s", tensor_last_error());
    unsigned char t[8] = {0, 0, 0x07, 1, 0, 0, 0, 1};
    spit(tmp("type.idx"), t, 8);
    ok(!try_load(IDX, tmp("type.idx")) && strstr(tensor_last_error(), "0x07"), "unknown type: %s",
       tensor_last_error());
    unsigned char z[8] = {0, 0, 0x08, 0, 0, 0, 0, 1};
    spit(tmp("z.idx"), z, 8);
    ok(!try_load(IDX, tmp("z.idx")), "0 dims refused: %s", tensor_last_error());
    unsigned char x[10] = {0, 0, 0x08, 1, 0, 0, 0, 1, 7, 8};
    spit(tmp("x.idx"), x, 10);
    ok(!try_load(IDX, tmp("x.idx")) && strstr(tensor_last_error(), "extra bytes"), "extra bytes: %s",
       tensor_last_error());
    idx_gz(tmp("x.idx.gz"), x, 10);
    ok(!try_load(IDX, tmp("x.idx.gz")), "gzip'd extra bytes: %s", tensor_last_error());
    ok(!try_load(IDX, fix("nope.idx")) && strstr(tensor_last_error(), "nope.idx"), "missing file: %s",
       tensor_last_error());
}

int main(void) {
    snprintf(dir, sizeof dir, "/tmp/nnlab_test_io_XXXXXX");
    if (!mkdtemp(dir)) {
        printf("Bail out! mkdtemp failed\n");
        return 1;
    }
    test_safetensors_roundtrip();
    test_npy_roundtrip();
    test_fixtures();
    test_fashion_mnist();
    test_corrupt_safetensors();
    test_corrupt_npy();
    test_corrupt_idx();
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) printf("# could not remove %s\n", dir);
    return tap_done();
}
