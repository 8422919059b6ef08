// io_internal.h - private helpers shared by tensor/io_*.c (not part of the public API).
//
// Writing: an atomic writer (temp file in the same directory, fsync, rename, fsync dir).
// Reading: whole-length-checked reads and one element converter from every on-disk
// element type to float32, so safetensors, npy and IDX share one conversion path.
#ifndef NNLAB_IO_INTERNAL_H
#define NNLAB_IO_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include "tensor.h"

// ---- atomic writes ------------------------------------------------------------------
typedef struct io_writer {
    int fd;
    char *tmp;           // "<target's dir>/.nnlab.tmp.<pid>.XXXXXX", created exclusively
    char *target;        // path, or the regular file a symlink at path points to
    const char *path;
    const char *op;      // names the op in error messages
} io_writer;

// All return 0 or -1 with tensor_set_error("op: path: ..."). After any failure the
// temp file is already removed; io_writer_abort is only for the caller's own errors.
int io_writer_open(io_writer *w, const char *op, const char *path);
int io_writer_write(io_writer *w, const void *buf, size_t n);
int io_writer_commit(io_writer *w);
void io_writer_abort(io_writer *w);

// Writes tensor t's values as little-endian float32 (copies to the host when t is on
// a GPU or not contiguous; fails for meta tensors, which hold no values).
int io_writer_write_tensor(io_writer *w, const tensor *t, const char *name);

// ---- element types ------------------------------------------------------------------
typedef enum {
    IO_F16, IO_BF16, IO_F32, IO_F64,
    IO_I8, IO_I16, IO_I32, IO_I64,
    IO_U8, IO_U16, IO_U32, IO_U64, IO_BOOL
} io_dtype;

size_t io_dtype_size(io_dtype t);
const char *io_dtype_name(io_dtype t);

// Source of raw bytes: returns 0 when exactly n bytes were read into buf, else -1 with
// the error already set (truncation, I/O error, corrupt gzip stream).
typedef int (*io_read_fn)(void *ctx, void *buf, size_t n);

// Allocates a cpu tensor of the given shape and fills it with numel elements of type t
// (big_endian: byte order on disk) pulled from read in bounded chunks, so the only
// large allocation is the float32 result itself. Callers validate the byte count
// against the file before calling.
tensor *io_read_tensor(int ndim, const int64_t *sizes, io_dtype t, int big_endian,
                       io_read_fn read, void *ctx);

// Product of sizes into *numel; fails (setting "op: path: ...") on a negative size,
// more than TENSOR_MAX_DIMS dims, or a product whose bytes (times elem_size) pass 2^62.
int io_checked_numel(const char *op, const char *path, int ndim, const int64_t *sizes,
                     size_t elem_size, int64_t *numel);

// ---- plain files ----------------------------------------------------------------------
typedef struct io_file {
    int fd;
    int64_t size;        // bytes, from fstat
    int64_t pos;         // next offset io_file_read reads from
    const char *path;
    const char *op;
} io_file;

// Opens a regular file for reading and records its size.
int io_file_open(io_file *f, const char *op, const char *path);
void io_file_close(io_file *f);
// io_read_fn over an io_file: reads at f->pos and advances; "truncated" error naming
// what was being read when the file ends early.
int io_file_read(void *f, void *buf, size_t n);

#endif
