// io_idx.c - IDX files (the MNIST family), plain or gzip'd:
//   0x00 0x00 type ndim | ndim big-endian u32 sizes | big-endian data
//   type: 0x08 ubyte, 0x09 byte, 0x0B short, 0x0C int, 0x0D float, 0x0E double
// Values come back as raw float32 (pixels stay 0..255; scaling is the caller's choice).
#include "io_internal.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

// Deflate cannot expand data by more than about 1032:1, so a gzip file of S bytes
// cannot hold more than this many bytes: a header claiming more is corrupt.
#define GZ_MAX_RATIO 1032

typedef struct idx_src {
    gzFile gz;
    const char *path;
} idx_src;

// io_read_fn over zlib, which reads gzip'd and plain files alike.
static int idx_read(void *ctx, void *buf, size_t n) {
    idx_src *s = ctx;
    int got = gzread(s->gz, buf, (unsigned)n);   // n <= 1 MiB, fits an int
    if (got == (int)n) return 0;
    int zerr;
    const char *msg = gzerror(s->gz, &zerr);
    if (got < 0 || (zerr != Z_OK && zerr != Z_BUF_ERROR))
        tensor_set_error("data.idx: %s: corrupt gzip data: %s", s->path, msg);
    else
        tensor_set_error("data.idx: %s: file ends early (truncated?)", s->path);
    return -1;
}

tensor *tensor_load_idx(const char *path) {
    io_file f;
    if (io_file_open(&f, "data.idx", path) < 0) return NULL;
    unsigned char magic[4] = {0}, trailer[4] = {0};
    int gz_file = f.size >= 18 && io_file_read(&f, magic, 2) == 0 && magic[0] == 0x1f && magic[1] == 0x8b;
    if (gz_file) {
        f.pos = f.size - 4;   // ISIZE: uncompressed length mod 2^32
        if (io_file_read(&f, trailer, 4) < 0) {
            io_file_close(&f);
            return NULL;
        }
    }
    idx_src src = {gzdopen(f.fd, "rb"), path};
    if (!src.gz) {
        tensor_set_error("data.idx: %s: cannot start reading (out of memory?)", path);
        io_file_close(&f);
        return NULL;
    }
    f.fd = -1;   // owned by gz now
    gzbuffer(src.gz, 1 << 17);
    tensor *t = NULL;
    if (idx_read(&src, magic, 4) < 0) goto done;
    if (magic[0] || magic[1]) {
        tensor_set_error("data.idx: %s: not an IDX file (the first two bytes must be 0)", path);
        goto done;
    }
    static const struct { unsigned char code; io_dtype t; } types[] = {
        {0x08, IO_U8}, {0x09, IO_I8}, {0x0B, IO_I16}, {0x0C, IO_I32}, {0x0D, IO_F32}, {0x0E, IO_F64},
    };
    size_t k = 0;
    while (k < sizeof types / sizeof types[0] && types[k].code != magic[2]) k++;
    if (k == sizeof types / sizeof types[0]) {
        tensor_set_error("data.idx: %s: unknown element type 0x%02X (IDX knows 08 09 0B 0C 0D 0E)",
                         path, magic[2]);
        goto done;
    }
    int ndim = magic[3];
    if (ndim < 1 || ndim > TENSOR_MAX_DIMS) {
        tensor_set_error("data.idx: %s: %d dims; expected 1 to %d", path, ndim, TENSOR_MAX_DIMS);
        goto done;
    }
    unsigned char dims[4 * TENSOR_MAX_DIMS];
    if (idx_read(&src, dims, 4 * (size_t)ndim) < 0) goto done;
    int64_t sizes[TENSOR_MAX_DIMS], numel;
    for (int i = 0; i < ndim; i++)
        sizes[i] = (int64_t)((uint32_t)dims[4 * i] << 24 | (uint32_t)dims[4 * i + 1] << 16 |
                             (uint32_t)dims[4 * i + 2] << 8 | dims[4 * i + 3]);
    size_t es = io_dtype_size(types[k].t);
    if (io_checked_numel("data.idx", path, ndim, sizes, es, &numel) < 0) goto done;
    // Check the claimed size against the file before allocating anything for it.
    uint64_t total = 4 + 4 * (uint64_t)ndim + (uint64_t)numel * es;
    char shp[256];
    tensor_sizes_str(shp, sizeof shp, ndim, sizes);
    if (!gz_file && total != (uint64_t)f.size) {
        tensor_set_error("data.idx: %s: header says %s %s (%llu bytes in all) but the file has "
                         "%lld bytes (%s)", path, shp, io_dtype_name(types[k].t),
                         (unsigned long long)total, (long long)f.size,
                         total > (uint64_t)f.size ? "truncated?" : "extra bytes at the end");
        goto done;
    }
    uint32_t isize = (uint32_t)trailer[0] | (uint32_t)trailer[1] << 8 | (uint32_t)trailer[2] << 16 |
                     (uint32_t)trailer[3] << 24;
    if (gz_file && (total > (uint64_t)f.size * GZ_MAX_RATIO || (uint32_t)total != isize)) {
        tensor_set_error("data.idx: %s: header says %s %s (%llu bytes uncompressed) but the gzip "
                         "trailer says %u bytes (truncated or corrupt file?)", path, shp,
                         io_dtype_name(types[k].t), (unsigned long long)total, isize);
        goto done;
    }
    t = io_read_tensor(ndim, sizes, types[k].t, 1, idx_read, &src);
    if (!t) goto done;
    // Reading past the end makes zlib check the gzip CRC, and catches extra data.
    unsigned char extra;
    int got = gzread(src.gz, &extra, 1);
    int zerr;
    const char *msg = gzerror(src.gz, &zerr);
    if (got != 0 || zerr != Z_OK) {
        if (got > 0)
            tensor_set_error("data.idx: %s: extra bytes after the %s data", path, shp);
        else if (zerr == Z_BUF_ERROR)
            tensor_set_error("data.idx: %s: the gzip stream ends early (truncated?)", path);
        else
            tensor_set_error("data.idx: %s: corrupt gzip data: %s", path, msg);
        tensor_release(t);
        t = NULL;
    }
done:
    gzclose(src.gz);
    io_file_close(&f);
    return t;
}
