// io_npy.c - NumPy .npy files (format versions 1, 2, 3):
//   "\x93NUMPY" major minor | header length (u16 LE in v1, u32 LE in v2/v3) |
//   header: a Python dict literal {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }
//   padded with spaces and '\n' | raw data.
// Reads float/int/uint/bool of any byte order into float32; writes '<f4' version 1.
#include "io_internal.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NPY_MAX_HEADER (1 << 20)   // real headers are < 200 bytes; refuse absurd lengths

typedef struct npy_header {
    io_dtype dtype;
    int big_endian;
    int fortran;
    int ndim;
    int64_t sizes[TENSOR_MAX_DIMS];
} npy_header;

// ---- the header dict ------------------------------------------------------------------

typedef struct npy_parser {
    const char *p, *end;
    const char *path;
} npy_parser;

static void npy_ws(npy_parser *ps) {
    while (ps->p < ps->end && isspace((unsigned char)*ps->p)) ps->p++;
}

static int npy_expect(npy_parser *ps, char c) {
    npy_ws(ps);
    if (ps->p < ps->end && *ps->p == c) {
        ps->p++;
        return 0;
    }
    return -1;
}

// A quoted Python string without escapes (all numpy ever writes) into out.
static int npy_string(npy_parser *ps, char *out, size_t n) {
    npy_ws(ps);
    if (ps->p >= ps->end || (*ps->p != '\'' && *ps->p != '"')) return -1;
    char q = *ps->p++;
    size_t k = 0;
    while (ps->p < ps->end && *ps->p != q) {
        if (*ps->p == '\\' || k + 1 >= n) return -1;
        out[k++] = *ps->p++;
    }
    if (ps->p >= ps->end) return -1;
    ps->p++;
    out[k] = 0;
    return 0;
}

static int npy_descr(const char *s, npy_header *h) {
    char order = '=';
    if (*s && strchr("<>|=", *s)) order = *s++;
    if (!*s) return -1;
    char kind = *s++;
    char *rest;
    long size = strtol(s, &rest, 10);
    if (rest == s || *rest) return -1;
    static const struct { char kind; long size; io_dtype t; } map[] = {
        {'f', 2, IO_F16}, {'f', 4, IO_F32}, {'f', 8, IO_F64},
        {'i', 1, IO_I8}, {'i', 2, IO_I16}, {'i', 4, IO_I32}, {'i', 8, IO_I64},
        {'u', 1, IO_U8}, {'u', 2, IO_U16}, {'u', 4, IO_U32}, {'u', 8, IO_U64}, {'b', 1, IO_BOOL},
    };
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (map[i].kind == kind && map[i].size == size) {
            h->dtype = map[i].t;
            const uint16_t one = 1;
            int host_be = *(const unsigned char *)&one == 0;
            h->big_endian = order == '>' || (order == '=' && host_be);
            return 0;
        }
    return -1;
}

static int npy_shape(npy_parser *ps, npy_header *h) {
    if (npy_expect(ps, '(') < 0) return -1;
    h->ndim = 0;
    for (;;) {
        npy_ws(ps);
        if (ps->p < ps->end && *ps->p == ')') break;
        if (ps->p >= ps->end || !isdigit((unsigned char)*ps->p)) return -1;
        uint64_t v = 0;
        while (ps->p < ps->end && isdigit((unsigned char)*ps->p)) {
            v = v * 10 + (uint64_t)(*ps->p++ - '0');
            if (v > ((uint64_t)1 << 62)) return -1;
        }
        if (ps->p < ps->end && *ps->p == 'L') ps->p++;   // Python 2 longs: (3L, 4L)
        if (h->ndim == TENSOR_MAX_DIMS) {
            tensor_set_error("tensor.load_npy: %s: more than %d dims; nnlab tensors have at most %d",
                             ps->path, TENSOR_MAX_DIMS, TENSOR_MAX_DIMS);
            return -2;
        }
        h->sizes[h->ndim++] = (int64_t)v;
        npy_ws(ps);
        if (ps->p < ps->end && *ps->p == ',') ps->p++;
        else if (ps->p < ps->end && *ps->p == ')') break;
        else return -1;
    }
    ps->p++;
    return 0;
}

static int npy_parse_header(const char *path, const char *text, size_t n, npy_header *h) {
    npy_parser ps = {text, text + n, path};
    int have = 0;   // bit 1 descr, 2 fortran_order, 4 shape
    char key[32], val[32];
    if (npy_expect(&ps, '{') < 0) goto bad;
    for (;;) {
        npy_ws(&ps);
        if (ps.p < ps.end && *ps.p == '}') break;
        if (npy_string(&ps, key, sizeof key) < 0 || npy_expect(&ps, ':') < 0) goto bad;
        npy_ws(&ps);
        if (!strcmp(key, "descr")) {
            if (ps.p < ps.end && *ps.p == '[') {
                tensor_set_error("tensor.load_npy: %s: structured arrays (record dtypes) are not "
                                 "supported; save a plain numeric array", path);
                return -1;
            }
            if (npy_string(&ps, val, sizeof val) < 0) goto bad;
            if (npy_descr(val, h) < 0) {
                tensor_set_error("tensor.load_npy: %s: dtype '%s' is not supported; nnlab reads "
                                 "float16/32/64, int8-64, uint8-64 and bool", path, val);
                return -1;
            }
            have |= 1;
        } else if (!strcmp(key, "fortran_order")) {
            if ((size_t)(ps.end - ps.p) >= 4 && !strncmp(ps.p, "True", 4)) h->fortran = 1, ps.p += 4;
            else if ((size_t)(ps.end - ps.p) >= 5 && !strncmp(ps.p, "False", 5)) h->fortran = 0, ps.p += 5;
            else goto bad;
            have |= 2;
        } else if (!strcmp(key, "shape")) {
            int rc = npy_shape(&ps, h);
            if (rc == -2) return -1;
            if (rc < 0) goto bad;
            have |= 4;
        } else {
            goto bad;
        }
        npy_ws(&ps);
        if (ps.p < ps.end && *ps.p == ',') ps.p++;
        else if (!(ps.p < ps.end && *ps.p == '}')) goto bad;
    }
    if (have != 7) goto bad;
    return 0;
bad:
    tensor_set_error("tensor.load_npy: %s: malformed header near byte %ld: '%.*s' (expected "
                     "{'descr': ..., 'fortran_order': ..., 'shape': (...)})", path,
                     (long)(ps.p - text), (int)(n > 120 ? 120 : n), text);
    return -1;
}

// ---- load -----------------------------------------------------------------------------

tensor *tensor_load_npy(const char *path) {
    io_file f;
    if (io_file_open(&f, "tensor.load_npy", path) < 0) return NULL;
    unsigned char pre[12];
    tensor *t = NULL;
    char *text = NULL;
    if (f.size < 10 || io_file_read(&f, pre, 10) < 0 || memcmp(pre, "\x93NUMPY", 6) != 0) {
        tensor_set_error("tensor.load_npy: %s: not a .npy file (no \\x93NUMPY magic)", path);
        goto done;
    }
    uint32_t hlen;
    int major = pre[6];
    if (major == 1) {
        hlen = (uint32_t)pre[8] | (uint32_t)pre[9] << 8;
    } else if (major == 2 || major == 3) {
        if (io_file_read(&f, pre + 10, 2) < 0) goto done;
        hlen = (uint32_t)pre[8] | (uint32_t)pre[9] << 8 | (uint32_t)pre[10] << 16 | (uint32_t)pre[11] << 24;
    } else {
        tensor_set_error("tensor.load_npy: %s: format version %d.%d is not known (1, 2 and 3 are)",
                         path, major, pre[7]);
        goto done;
    }
    if ((int64_t)hlen > f.size - f.pos || hlen > NPY_MAX_HEADER) {
        tensor_set_error("tensor.load_npy: %s: header length %u exceeds the %lld bytes after it "
                         "(file truncated?)", path, hlen, (long long)(f.size - f.pos));
        goto done;
    }
    text = malloc(hlen + 1);
    if (!text) {
        tensor_set_error("tensor.load_npy: %s: out of memory", path);
        goto done;
    }
    if (io_file_read(&f, text, hlen) < 0) goto done;
    text[hlen] = 0;
    npy_header h = {0};
    if (npy_parse_header(path, text, hlen, &h) < 0) goto done;
    int64_t numel;
    size_t es = io_dtype_size(h.dtype);
    if (io_checked_numel("tensor.load_npy", path, h.ndim, h.sizes, es, &numel) < 0) goto done;
    if ((uint64_t)numel * es > (uint64_t)(f.size - f.pos)) {
        char shp[256];
        tensor_sizes_str(shp, sizeof shp, h.ndim, h.sizes);
        tensor_set_error("tensor.load_npy: %s: shape %s of %s needs %llu data bytes but the file "
                         "has %lld after the header (file truncated?)", path, shp,
                         io_dtype_name(h.dtype), (unsigned long long)numel * es,
                         (long long)(f.size - f.pos));
        goto done;
    }
    // Trailing bytes are allowed: np.save can write several arrays into one file and
    // np.load reads the first, as we do.
    if (!h.fortran) {
        t = io_read_tensor(h.ndim, h.sizes, h.dtype, h.big_endian, io_file_read, &f);
    } else {
        // Column-major data is the C-order data of the reversed shape; transpose back.
        int64_t rev[TENSOR_MAX_DIMS];
        int perm[TENSOR_MAX_DIMS];
        for (int i = 0; i < h.ndim; i++) rev[i] = h.sizes[h.ndim - 1 - i], perm[i] = h.ndim - 1 - i;
        tensor *r = io_read_tensor(h.ndim, rev, h.dtype, h.big_endian, io_file_read, &f);
        tensor *p = r ? tensor_permute(r, perm) : NULL;
        t = p ? tensor_contiguous(p) : NULL;
        tensor_release(p);
        tensor_release(r);
    }
done:
    free(text);
    io_file_close(&f);
    return t;
}

// ---- save -----------------------------------------------------------------------------

int tensor_save_npy(const char *path, tensor *t) {
    if (!t) {
        tensor_set_error("tensor.save_npy: %s: tensor is NULL", path);
        return -1;
    }
    char shape[TENSOR_MAX_DIMS * 24 + 8];
    int k = snprintf(shape, sizeof shape, "(");
    for (int i = 0; i < t->ndim; i++)
        k += snprintf(shape + k, sizeof shape - (size_t)k, "%s%lld", i ? ", " : "", (long long)t->size[i]);
    snprintf(shape + k, sizeof shape - (size_t)k, t->ndim == 1 ? ",)" : ")");
    // Version 1: magic(6) + version(2) + u16 length(2) + dict padded with spaces and a
    // final '\n' so the data starts 64-byte aligned, as numpy itself writes it.
    char hdr[512];
    int n = snprintf(hdr + 10, sizeof hdr - 10, "{'descr': '<f4', 'fortran_order': False, 'shape': %s, }", shape);
    int total = (10 + n + 1 + 63) / 64 * 64;
    memcpy(hdr, "\x93NUMPY\x01\x00", 8);
    hdr[8] = (char)((total - 10) & 0xff);
    hdr[9] = (char)((total - 10) >> 8);
    memset(hdr + 10 + n, ' ', (size_t)(total - 10 - n - 1));
    hdr[total - 1] = '\n';
    io_writer w;
    int rc = io_writer_open(&w, "tensor.save_npy", path);
    if (rc == 0) rc = io_writer_write(&w, hdr, (size_t)total);
    if (rc == 0) rc = io_writer_write_tensor(&w, t, "tensor");
    if (rc == 0) rc = io_writer_commit(&w);
    return rc;
}
