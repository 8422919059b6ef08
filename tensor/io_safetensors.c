// io_safetensors.c - the safetensors format (https://github.com/huggingface/safetensors):
//   u64 little-endian N | N bytes of JSON header | data area
// header: {"name": {"dtype": "F32", "shape": [2,3], "data_offsets": [begin, end]}, ...,
//          "__metadata__": {"key": "value"}}; offsets are relative to the data area.
// We write F32 in the given order; we read F32/F16/BF16/F64/I8..I64/U8..U64/BOOL as float32.
#include "io_internal.h"

#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ST_MAX_HEADER (100 << 20)   // the reference implementation's limit, 100 MB

static const struct { const char *name; io_dtype t; } st_dtypes[] = {
    {"F32", IO_F32}, {"F16", IO_F16}, {"BF16", IO_BF16}, {"F64", IO_F64},
    {"I8", IO_I8}, {"I16", IO_I16}, {"I32", IO_I32}, {"I64", IO_I64},
    {"U8", IO_U8}, {"U16", IO_U16}, {"U32", IO_U32}, {"U64", IO_U64}, {"BOOL", IO_BOOL},
};

// ---- names: duplicates are found with a hash set (a 100,000-tensor header compared
// every name with every earlier one: 60,000 tensors took 25 s) ---------------------------
typedef struct { const char **slot; size_t mask; } name_set;

static int name_set_init(name_set *s, size_t n) {
    size_t cap = 16;
    while (cap < 2 * n) cap <<= 1;
    s->slot = calloc(cap, sizeof *s->slot);
    s->mask = cap - 1;
    return s->slot ? 0 : -1;
}

static size_t name_hash(const char *k) {   // FNV-1a
    uint64_t h = 1469598103934665603ull;
    for (; *k; k++) h = (h ^ (unsigned char)*k) * 1099511628211ull;
    return (size_t)h;
}

// 1 if name was already in the set, else adds it (the set keeps the pointer) and 0
static int name_set_add(name_set *s, const char *name) {
    size_t i = name_hash(name) & s->mask;
    for (; s->slot[i]; i = (i + 1) & s->mask)
        if (!strcmp(s->slot[i], name)) return 1;
    s->slot[i] = name;
    return 0;
}

// ---- save ---------------------------------------------------------------------------

// Offset of the first byte that is not well-formed UTF-8 (no overlongs, surrogates or
// code points past U+10FFFF), or -1: the header is JSON, and the reference library
// refuses a file whose names are not UTF-8.
static long utf8_bad_at(const char *s) {
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        unsigned c = *p;
        int n = c < 0x80 ? 0 : c >= 0xC2 && c <= 0xDF ? 1 : c >= 0xE0 && c <= 0xEF ? 2 : c >= 0xF0 && c <= 0xF4 ? 3 : -1;
        if (n < 0) return (long)(p - (const unsigned char *)s);
        for (int i = 1; i <= n; i++)
            if ((p[i] & 0xC0) != 0x80) return (long)(p - (const unsigned char *)s);
        if ((c == 0xE0 && p[1] < 0xA0) || (c == 0xED && p[1] > 0x9F) || (c == 0xF0 && p[1] < 0x90) ||
            (c == 0xF4 && p[1] > 0x8F))
            return (long)(p - (const unsigned char *)s);
        p += n + 1;
    }
    return -1;
}

static cJSON *st_header(const char *path, int n, const tensor_named *items, size_t *data_bytes) {
    name_set names;
    if (name_set_init(&names, (size_t)n) < 0) {
        tensor_set_error("tensor.save: %s: out of memory building the header", path);
        return NULL;
    }
    cJSON *root = cJSON_CreateObject();
    cJSON *meta = cJSON_AddObjectToObject(root, "__metadata__");
    cJSON_AddStringToObject(meta, "format", "pt");   // what transformers expects to find
    uint64_t off = 0;
    for (int i = 0; i < n; i++) {
        const char *name = items[i].name;
        const tensor *t = items[i].t;
        if (!name || !*name || !strcmp(name, "__metadata__")) {
            tensor_set_error("tensor.save: %s: tensor %d has the name '%s'; give each tensor a "
                             "non-empty name other than __metadata__", path, i + 1, name ? name : "");
            goto fail;
        }
        if (!t) {
            tensor_set_error("tensor.save: %s: tensor '%s' is NULL", path, name);
            goto fail;
        }
        long bad = utf8_bad_at(name);
        if (bad >= 0) {
            tensor_set_error("tensor.save: %s: tensor name %d is not UTF-8 (byte %ld is 0x%02X); safetensors "
                             "headers are JSON, so give each tensor a UTF-8 name", path, i + 1, bad + 1,
                             (unsigned)(unsigned char)name[bad]);
            goto fail;
        }
        if (name_set_add(&names, name)) {
            tensor_set_error("tensor.save: %s: the name '%s' is used twice", path, name);
            goto fail;
        }
        cJSON *e = cJSON_AddObjectToObject(root, name);
        cJSON_AddStringToObject(e, "dtype", "F32");
        cJSON *shape = cJSON_AddArrayToObject(e, "shape");
        for (int d = 0; d < t->ndim; d++) cJSON_AddItemToArray(shape, cJSON_CreateNumber((double)t->size[d]));
        uint64_t bytes = (uint64_t)tensor_numel(t) * sizeof(float);
        cJSON *offs = cJSON_AddArrayToObject(e, "data_offsets");
        cJSON_AddItemToArray(offs, cJSON_CreateNumber((double)off));
        cJSON_AddItemToArray(offs, cJSON_CreateNumber((double)(off + bytes)));
        off += bytes;
    }
    *data_bytes = off;
    free(names.slot);
    return root;
fail:
    free(names.slot);
    cJSON_Delete(root);
    return NULL;
}

int tensor_save_safetensors(const char *path, int n, const tensor_named *items) {
    if (n < 0 || (n > 0 && !items)) {
        tensor_set_error("tensor.save: %s: bad tensor list (n=%d)", path, n);
        return -1;
    }
    size_t data_bytes = 0;
    cJSON *root = st_header(path, n, items, &data_bytes);
    if (!root) return -1;
    char *json = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    if (!json) {
        tensor_set_error("tensor.save: %s: out of memory building the header", path);
        return -1;
    }
    // Pad the header with spaces (the spec allows trailing whitespace) so the data area
    // starts 8-byte aligned and can be mapped and used in place.
    size_t len = strlen(json), padded = (len + 7) & ~(size_t)7;
    char *hdr = malloc(8 + padded);
    if (!hdr) {
        free(json);
        tensor_set_error("tensor.save: %s: out of memory building the header", path);
        return -1;
    }
    for (int i = 0; i < 8; i++) hdr[i] = (char)((uint64_t)padded >> (8 * i));
    memcpy(hdr + 8, json, len);
    memset(hdr + 8 + len, ' ', padded - len);
    free(json);

    io_writer w;
    int rc = io_writer_open(&w, "tensor.save", path);
    if (rc == 0) rc = io_writer_write(&w, hdr, 8 + padded);
    for (int i = 0; rc == 0 && i < n; i++) rc = io_writer_write_tensor(&w, items[i].t, items[i].name);
    if (rc == 0) rc = io_writer_commit(&w);
    free(hdr);
    return rc;
}

void tensor_named_free(tensor_named *items, int n) {
    if (!items) return;
    for (int i = 0; i < n; i++) {
        free(items[i].name);
        tensor_release(items[i].t);
    }
    free(items);
}

// ---- load ---------------------------------------------------------------------------

typedef struct st_entry {
    const char *name;           // points into the cJSON tree
    io_dtype dtype;
    int ndim;
    int64_t sizes[TENSOR_MAX_DIMS];
    uint64_t begin, end;
} st_entry;

// A JSON number that is a whole number in [0, 2^53] (exact in a double).
static int st_uint(const cJSON *v, uint64_t *out) {
    if (!cJSON_IsNumber(v)) return -1;
    double d = v->valuedouble;
    if (!(d >= 0 && d <= 9007199254740992.0) || d != (double)(uint64_t)d) return -1;
    *out = (uint64_t)d;
    return 0;
}

// Validates one header entry against the data area; fills e.
static int st_parse_entry(const char *path, const cJSON *item, uint64_t data_size, st_entry *e) {
    const char *name = item->string;
    e->name = name;
    if (!cJSON_IsObject(item)) {
        tensor_set_error("tensor.load: %s: header entry '%s' is not an object", path, name);
        return -1;
    }
    const cJSON *dtype = cJSON_GetObjectItemCaseSensitive(item, "dtype");
    const cJSON *shape = cJSON_GetObjectItemCaseSensitive(item, "shape");
    const cJSON *offs = cJSON_GetObjectItemCaseSensitive(item, "data_offsets");
    if (!cJSON_IsString(dtype) || !cJSON_IsArray(shape) || !cJSON_IsArray(offs)) {
        tensor_set_error("tensor.load: %s: tensor '%s' needs \"dtype\" (string), \"shape\" and "
                         "\"data_offsets\" (arrays) in the header", path, name);
        return -1;
    }
    size_t k = 0;
    for (; k < sizeof st_dtypes / sizeof st_dtypes[0]; k++)
        if (!strcmp(dtype->valuestring, st_dtypes[k].name)) break;
    if (k == sizeof st_dtypes / sizeof st_dtypes[0]) {
        tensor_set_error("tensor.load: %s: tensor '%s' has dtype %s; nnlab reads F32, F16, BF16, "
                         "F64, I8-I64, U8-U64 and BOOL", path, name, dtype->valuestring);
        return -1;
    }
    e->dtype = st_dtypes[k].t;
    int nd = cJSON_GetArraySize(shape);
    if (nd > TENSOR_MAX_DIMS) {
        tensor_set_error("tensor.load: %s: tensor '%s' has %d dims; nnlab tensors have at most %d",
                         path, name, nd, TENSOR_MAX_DIMS);
        return -1;
    }
    e->ndim = nd;
    for (int d = 0; d < nd; d++) {
        uint64_t s;
        if (st_uint(cJSON_GetArrayItem(shape, d), &s) < 0) {
            tensor_set_error("tensor.load: %s: tensor '%s' shape entry %d is not a non-negative "
                             "integer", path, name, d + 1);
            return -1;
        }
        e->sizes[d] = (int64_t)s;
    }
    int64_t numel;
    if (io_checked_numel("tensor.load", path, nd, e->sizes, io_dtype_size(e->dtype), &numel) < 0)
        return -1;
    if (cJSON_GetArraySize(offs) != 2 || st_uint(cJSON_GetArrayItem(offs, 0), &e->begin) < 0 ||
        st_uint(cJSON_GetArrayItem(offs, 1), &e->end) < 0 || e->end < e->begin) {
        tensor_set_error("tensor.load: %s: tensor '%s' data_offsets must be [begin, end] with "
                         "0 <= begin <= end", path, name);
        return -1;
    }
    if (e->end > data_size) {
        tensor_set_error("tensor.load: %s: tensor '%s' data_offsets [%llu,%llu] exceed the data "
                         "area of %llu bytes (file truncated?)", path, name,
                         (unsigned long long)e->begin, (unsigned long long)e->end,
                         (unsigned long long)data_size);
        return -1;
    }
    uint64_t want = (uint64_t)numel * io_dtype_size(e->dtype);
    if (e->end - e->begin != want) {
        char shp[256];
        tensor_sizes_str(shp, sizeof shp, nd, e->sizes);
        tensor_set_error("tensor.load: %s: tensor '%s' is %s %s (%llu bytes) but data_offsets "
                         "[%llu,%llu] hold %llu bytes", path, name, dtype->valuestring, shp,
                         (unsigned long long)want, (unsigned long long)e->begin,
                         (unsigned long long)e->end, (unsigned long long)(e->end - e->begin));
        return -1;
    }
    return 0;
}

static int st_cmp_begin(const void *a, const void *b) {
    const st_entry *x = a, *y = b;
    return x->begin < y->begin ? -1 : x->begin > y->begin;
}

// Tensors must tile the data area exactly, as the reference implementation requires:
// no overlap (two names aliasing bytes), no gap, no trailing bytes.
static int st_check_layout(const char *path, st_entry *es, int n, uint64_t data_size) {
    qsort(es, (size_t)n, sizeof *es, st_cmp_begin);
    uint64_t at = 0;
    for (int i = 0; i < n; i++) {
        if (es[i].begin < at) {
            tensor_set_error("tensor.load: %s: tensors '%s' and '%s' overlap in the data area "
                             "(corrupt header)", path, es[i - 1].name, es[i].name);
            return -1;
        }
        if (es[i].begin > at) {
            tensor_set_error("tensor.load: %s: %llu unused bytes before tensor '%s' in the data "
                             "area (corrupt header)", path, (unsigned long long)(es[i].begin - at),
                             es[i].name);
            return -1;
        }
        at = es[i].end;
    }
    if (at != data_size) {
        tensor_set_error("tensor.load: %s: the tensors cover %llu bytes but the data area has "
                         "%llu (extra bytes at the end of the file?)", path,
                         (unsigned long long)at, (unsigned long long)data_size);
        return -1;
    }
    return 0;
}

// Reads and checks the header; on success *root owns the JSON and *entries/*count
// describe every tensor sorted by offset.
static int st_read_header(io_file *f, cJSON **root, st_entry **entries, int *count, uint64_t *data_start) {
    const char *path = f->path;
    unsigned char lenbuf[8];
    if (f->size < 8) {
        tensor_set_error("tensor.load: %s: only %lld bytes; a safetensors file starts with an "
                         "8-byte header length", path, (long long)f->size);
        return -1;
    }
    if (io_file_read(f, lenbuf, 8) < 0) return -1;
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--) hlen = (hlen << 8) | lenbuf[i];
    if (hlen > (uint64_t)f->size - 8 || hlen > ST_MAX_HEADER) {
        tensor_set_error("tensor.load: %s: header length %llu exceeds the %lld bytes after it "
                         "(truncated, or not a safetensors file)", path, (unsigned long long)hlen,
                         (long long)f->size - 8);
        return -1;
    }
    char *json = malloc(hlen + 1);
    if (!json) {
        tensor_set_error("tensor.load: %s: out of memory for a %llu-byte header", path,
                         (unsigned long long)hlen);
        return -1;
    }
    if (io_file_read(f, json, hlen) < 0) {
        free(json);
        return -1;
    }
    json[hlen] = 0;
    *root = hlen > 0 && json[0] == '{' ? cJSON_ParseWithLength(json, hlen) : NULL;
    free(json);
    if (!*root || !cJSON_IsObject(*root)) {
        tensor_set_error("tensor.load: %s: the %llu-byte header is not a JSON object (corrupt or "
                         "not a safetensors file)", path, (unsigned long long)hlen);
        cJSON_Delete(*root);
        *root = NULL;
        return -1;
    }
    *data_start = 8 + hlen;
    uint64_t data_size = (uint64_t)f->size - *data_start;
    int n = 0;
    for (cJSON *it = (*root)->child; it; it = it->next) n += strcmp(it->string, "__metadata__") != 0;
    st_entry *es = calloc((size_t)(n ? n : 1), sizeof *es);
    name_set names = {0};
    if (!es || name_set_init(&names, (size_t)n) < 0) {
        tensor_set_error("tensor.load: %s: out of memory", path);
        goto fail;
    }
    int i = 0;
    for (cJSON *it = (*root)->child; it; it = it->next) {
        if (!strcmp(it->string, "__metadata__")) continue;
        if (name_set_add(&names, it->string)) {
            tensor_set_error("tensor.load: %s: the name '%s' appears twice in the header",
                             path, it->string);
            goto fail;
        }
        if (st_parse_entry(path, it, data_size, &es[i++]) < 0) goto fail;
    }
    if (st_check_layout(path, es, n, data_size) < 0) goto fail;
    free(names.slot);
    *entries = es;
    *count = n;
    return 0;
fail:
    free(names.slot);
    free(es);
    cJSON_Delete(*root);
    *root = NULL;
    return -1;
}

int tensor_load_safetensors(const char *path, tensor_named **items, int *n) {
    *items = NULL;
    *n = 0;
    io_file f;
    if (io_file_open(&f, "tensor.load", path) < 0) return -1;
    cJSON *root = NULL;
    st_entry *es = NULL;
    int count = 0;
    uint64_t data_start = 0;
    if (st_read_header(&f, &root, &es, &count, &data_start) < 0) {
        io_file_close(&f);
        return -1;
    }
    tensor_named *out = calloc((size_t)(count ? count : 1), sizeof *out);
    int rc = out ? 0 : -1;
    if (!out) tensor_set_error("tensor.load: %s: out of memory", path);
    for (int i = 0; rc == 0 && i < count; i++) {
        f.pos = (int64_t)(data_start + es[i].begin);
        out[i].name = strdup(es[i].name);
        out[i].t = io_read_tensor(es[i].ndim, es[i].sizes, es[i].dtype, 0, io_file_read, &f);
        if (!out[i].name || !out[i].t) {
            if (out[i].name && !out[i].t) {
                char why[512];   // copy: the message buffer is about to be rewritten
                snprintf(why, sizeof why, "%s", tensor_last_error_raw());
                tensor_set_error("tensor.load: %s: reading tensor '%s': %s", path, es[i].name, why);
            } else
                tensor_set_error("tensor.load: %s: out of memory", path);
            rc = -1;
        }
    }
    free(es);
    cJSON_Delete(root);
    io_file_close(&f);
    if (rc < 0) {
        tensor_named_free(out, count);
        return -1;
    }
    *items = out;
    *n = count;
    return 0;
}
