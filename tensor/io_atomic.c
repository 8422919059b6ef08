// io_atomic.c - shared file plumbing for io_safetensors.c, io_npy.c and io_idx.c:
// atomic writes (temp file, fsync, rename, fsync dir), length-checked reads, and the
// one converter from every on-disk element type to float32.
#include "io_internal.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <limits.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define IO_CHUNK (1 << 20)   // bytes converted per step: bounds scratch memory

static int host_big_endian(void) {
    const uint16_t one = 1;
    return *(const unsigned char *)&one == 0;
}

// ---- atomic writes ------------------------------------------------------------------

#define TMP_PREFIX ".nnlab.tmp."

// "dir" of path (a new string), "." when it has no slash
static char *dir_of(const char *path) {
    const char *slash = strrchr(path, '/');
    if (!slash) return strdup(".");
    if (slash == path) return strdup("/");
    return strndup(path, (size_t)(slash - path));
}

// Temp files of saves whose process is gone (SIGKILL, a crash) are removed by the next
// save into the same directory.
static void remove_stale_temps(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d))) {
        long pid;
        if (strncmp(e->d_name, TMP_PREFIX, strlen(TMP_PREFIX)) ||
            sscanf(e->d_name + strlen(TMP_PREFIX), "%ld.", &pid) != 1 || pid <= 0 || pid == (long)getpid())
            continue;
        if (kill((pid_t)pid, 0) == 0 || errno != ESRCH) continue;   // alive, or not ours to judge
        struct stat st;
        if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode))
            unlinkat(dirfd(d), e->d_name, 0);
    }
    closedir(d);
}

// What a save may replace: a regular file (its mode is kept), a symlink to one (written
// through: the link stays), or nothing yet. Renaming over anything else would swap a
// device (run as root, /dev/null became a regular file), a FIFO or a directory for a file.
static int resolve_target(io_writer *w, mode_t *mode) {
    const char *op = w->op, *path = w->path;
    struct stat st;
    mode_t mask = umask(0);
    umask(mask);
    *mode = 0666 & ~mask;
    if (lstat(path, &st) < 0) {
        if (errno != ENOENT) { tensor_set_error("%s: %s: %s", op, path, strerror(errno)); return -1; }
        if (!(w->target = strdup(path))) tensor_set_error("%s: %s: out of memory", op, path);
        return w->target ? 0 : -1;
    }
    if (S_ISLNK(st.st_mode)) {
        w->target = realpath(path, NULL);
        if (!w->target || stat(w->target, &st) < 0) {
            tensor_set_error("%s: %s: a symlink to a missing file (%s); save to the file's own path", op, path,
                             strerror(errno));
            return -1;
        }
    } else if (!(w->target = strdup(path))) {
        tensor_set_error("%s: %s: out of memory", op, path);
        return -1;
    }
    if (!S_ISREG(st.st_mode)) {
        tensor_set_error("%s: %s is %s, not a regular file; save to a file path", op, path,
                         S_ISDIR(st.st_mode) ? "a directory" : S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode) ? "a device"
                         : S_ISFIFO(st.st_mode) ? "a FIFO" : "a special file");
        return -1;
    }
    *mode = st.st_mode & 07777;   // re-saving a 0600 checkpoint keeps it 0600
    return 0;
}

// While a save runs, a signal that would end the process (SIGTERM, SIGHUP, SIGINT,
// SIGQUIT left at their default action) first removes the temp file, then ends it as it
// would have; handlers someone else installed are left alone.
static char guard_path[PATH_MAX];
static volatile sig_atomic_t guard_on;
static const int guard_sigs[] = {SIGTERM, SIGHUP, SIGINT, SIGQUIT};
static struct sigaction guard_old[4];
static int guard_set[4];

void tensor_io_signal_cleanup(void) {
    if (guard_on) unlink(guard_path);   // async-signal-safe
}

static void guard_handler(int sig) {
    tensor_io_signal_cleanup();
    signal(sig, SIG_DFL);
    raise(sig);
}

static void guard_begin(const char *tmp) {
    if (strlen(tmp) >= sizeof guard_path) return;
    memcpy(guard_path, tmp, strlen(tmp) + 1);
    guard_on = 1;
    for (int i = 0; i < 4; i++) {
        struct sigaction cur, sa;
        if (sigaction(guard_sigs[i], NULL, &cur) < 0 || cur.sa_handler != SIG_DFL) continue;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = guard_handler;
        sigemptyset(&sa.sa_mask);
        guard_set[i] = sigaction(guard_sigs[i], &sa, &guard_old[i]) == 0;
    }
}

static void guard_end(void) {
    guard_on = 0;
    for (int i = 0; i < 4; i++)
        if (guard_set[i]) { sigaction(guard_sigs[i], &guard_old[i], NULL); guard_set[i] = 0; }
}

int io_writer_open(io_writer *w, const char *op, const char *path) {
    memset(w, 0, sizeof *w);
    w->fd = -1;
    w->op = op;
    w->path = path;
    if (!path || !*path) {
        tensor_set_error("%s: empty file name", op);
        return -1;
    }
    mode_t mode;
    if (resolve_target(w, &mode) < 0) {
        free(w->target);
        w->target = NULL;
        return -1;
    }
    // In the target's directory, so rename() is atomic; a short name, so a 240-character
    // file name still fits; mkostemp: exclusive and unpredictable (a symlink planted at a
    // guessable name would have been followed).
    char *dir = dir_of(w->target);
    size_t n = (dir ? strlen(dir) : 0) + strlen(TMP_PREFIX) + 40;
    w->tmp = dir ? malloc(n) : NULL;
    if (!w->tmp) {
        tensor_set_error("%s: %s: out of memory", op, path);
        free(dir);
        free(w->target);
        w->target = NULL;
        return -1;
    }
    remove_stale_temps(dir);
    snprintf(w->tmp, n, "%s/" TMP_PREFIX "%ld.XXXXXX", dir, (long)getpid());
    free(dir);
    w->fd = mkostemp(w->tmp, O_CLOEXEC);
    if (w->fd < 0 || fchmod(w->fd, mode) < 0) {
        tensor_set_error("%s: %s: cannot create a temporary file next to it (%s): %s", op, path, w->tmp,
                         strerror(errno));
        if (w->fd >= 0) { close(w->fd); unlink(w->tmp); w->fd = -1; }
        free(w->tmp);
        free(w->target);
        w->tmp = w->target = NULL;
        return -1;
    }
    guard_begin(w->tmp);
    return 0;
}

void io_writer_abort(io_writer *w) {
    if (w->fd >= 0) close(w->fd);
    w->fd = -1;
    if (w->tmp) {
        unlink(w->tmp);
        free(w->tmp);
        w->tmp = NULL;
        guard_end();
    }
    free(w->target);
    w->target = NULL;
}

int io_writer_write(io_writer *w, const void *buf, size_t n) {
    const char *p = buf;
    while (n > 0) {
        ssize_t k = write(w->fd, p, n);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) {
            tensor_set_error("%s: %s: writing %s failed: %s", w->op, w->path, w->tmp,
                             k < 0 ? strerror(errno) : "no progress");
            io_writer_abort(w);
            return -1;
        }
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

// The rename is only durable once the directory entry itself is on disk.
static int fsync_parent_dir(const char *path) {
    char *dir = dir_of(path);
    if (!dir) return -1;
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    free(dir);
    if (fd < 0) return -1;
    int rc = fsync(fd);
    // Some file systems cannot fsync a directory (EINVAL); nothing more can be done there.
    if (rc < 0 && errno == EINVAL) rc = 0;
    int e = errno;
    close(fd);
    errno = e;
    return rc;
}

int io_writer_commit(io_writer *w) {
    if (fsync(w->fd) < 0) {
        tensor_set_error("%s: %s: fsync of %s failed: %s", w->op, w->path, w->tmp, strerror(errno));
        io_writer_abort(w);
        return -1;
    }
    int rc = close(w->fd);
    w->fd = -1;
    if (rc < 0) {
        tensor_set_error("%s: %s: closing %s failed: %s", w->op, w->path, w->tmp, strerror(errno));
        io_writer_abort(w);
        return -1;
    }
    if (rename(w->tmp, w->target) < 0) {
        tensor_set_error("%s: %s: cannot replace it with %s: %s", w->op, w->path, w->tmp, strerror(errno));
        io_writer_abort(w);
        return -1;
    }
    free(w->tmp);
    w->tmp = NULL;
    guard_end();
    int synced = fsync_parent_dir(w->target);
    free(w->target);
    w->target = NULL;
    if (synced < 0) {
        tensor_set_error("%s: %s: written, but fsync of its directory failed: %s", w->op, w->path,
                         strerror(errno));
        return -1;
    }
    return 0;
}

int io_writer_write_tensor(io_writer *w, const tensor *t, const char *name) {
    int64_t n = tensor_numel(t);
    if (t->storage && t->storage->device == TENSOR_META) {
        tensor_set_error("%s: %s: tensor '%s' is on the meta device and holds no values; "
                         "save a cpu or cuda tensor", w->op, w->path, name);
        io_writer_abort(w);
        return -1;
    }
    if (n == 0) return 0;
    float *host = NULL;
    const float *src;
    if (t->storage->device == TENSOR_CPU && tensor_is_contiguous(t)) {
        src = t->storage->data + t->offset;
    } else {
        host = tensor_to_host(t);
        if (!host) {
            char why[512];   // copy: the message buffer is about to be rewritten
            snprintf(why, sizeof why, "%s", tensor_last_error_raw());
            tensor_set_error("%s: %s: cannot copy tensor '%s' to the host: %s", w->op, w->path,
                             name, why);
            io_writer_abort(w);
            return -1;
        }
        src = host;
    }
    int rc = 0;
    if (!host_big_endian()) {
        rc = io_writer_write(w, src, (size_t)n * sizeof(float));
    } else {
        // Files are little-endian; swap through a bounded scratch buffer.
        static const size_t per = IO_CHUNK / sizeof(uint32_t);
        uint32_t *tmp = malloc(IO_CHUNK);
        if (!tmp) {
            tensor_set_error("%s: %s: out of memory", w->op, w->path);
            io_writer_abort(w);
            rc = -1;
        }
        for (int64_t i = 0; rc == 0 && i < n; i += (int64_t)per) {
            size_t k = (size_t)(n - i < (int64_t)per ? n - i : (int64_t)per);
            memcpy(tmp, src + i, k * 4);
            for (size_t j = 0; j < k; j++) tmp[j] = __builtin_bswap32(tmp[j]);
            rc = io_writer_write(w, tmp, k * 4);
        }
        free(tmp);
    }
    free(host);
    return rc;
}

// ---- element types ------------------------------------------------------------------

size_t io_dtype_size(io_dtype t) {
    switch (t) {
    case IO_I8: case IO_U8: case IO_BOOL: return 1;
    case IO_F16: case IO_BF16: case IO_I16: case IO_U16: return 2;
    case IO_F32: case IO_I32: case IO_U32: return 4;
    case IO_F64: case IO_I64: case IO_U64: return 8;
    }
    return 0;
}

const char *io_dtype_name(io_dtype t) {
    static const char *names[] = {"float16", "bfloat16", "float32", "float64", "int8", "int16",
                                  "int32", "int64", "uint8", "uint16", "uint32", "uint64", "bool"};
    return (unsigned)t < sizeof names / sizeof names[0] ? names[t] : "?";
}

static uint64_t load_uint(const unsigned char *p, size_t size, int big_endian) {
    uint64_t v = 0;
    if (big_endian)
        for (size_t i = 0; i < size; i++) v = (v << 8) | p[i];
    else
        for (size_t i = size; i-- > 0;) v = (v << 8) | p[i];
    return v;
}

static float bits_to_float(uint32_t b) {
    float f;
    memcpy(&f, &b, sizeof f);
    return f;
}

// IEEE half -> float, exact for every half value (subnormals, inf, nan included).
static float half_to_float(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t exp = (h >> 10) & 0x1fu, man = h & 0x3ffu;
    if (exp == 0) {
        float f = (float)man * 5.9604644775390625e-8f;   // man * 2^-24
        return sign ? -f : f;
    }
    if (exp == 31) return bits_to_float(sign | 0x7f800000u | (man << 13));
    return bits_to_float(sign | ((exp + 112u) << 23) | (man << 13));
}

static void convert_f32(float *out, const unsigned char *src, size_t n, io_dtype t, int be) {
    size_t es = io_dtype_size(t);
    for (size_t i = 0; i < n; i++, src += es) {
        uint64_t u = load_uint(src, es, be);
        float v;
        switch (t) {
        case IO_F16: v = half_to_float((uint16_t)u); break;
        case IO_BF16: v = bits_to_float((uint32_t)u << 16); break;
        case IO_F32: v = bits_to_float((uint32_t)u); break;
        case IO_F64: { double d; memcpy(&d, &u, sizeof d); v = (float)d; break; }
        case IO_I8: v = (float)(int8_t)u; break;
        case IO_I16: v = (float)(int16_t)u; break;
        case IO_I32: v = (float)(int32_t)u; break;
        case IO_I64: v = (float)(int64_t)u; break;
        case IO_BOOL: v = u != 0; break;
        default: v = (float)u; break;   // unsigned
        }
        out[i] = v;
    }
}

tensor *io_read_tensor(int ndim, const int64_t *sizes, io_dtype t, int big_endian,
                       io_read_fn read, void *ctx) {
    tensor *out = tensor_empty(ndim, sizes, TENSOR_CPU);
    if (!out) return NULL;
    int64_t n = tensor_numel(out);
    if (n == 0) return out;
    float *dst = out->storage->data + out->offset;
    size_t es = io_dtype_size(t);
    size_t per = IO_CHUNK / es;
    // float32 in host order needs no conversion: read straight into the result.
    int direct = t == IO_F32 && big_endian == host_big_endian();
    unsigned char *buf = direct ? NULL : malloc(IO_CHUNK);
    if (!direct && !buf) {
        tensor_set_error("reading tensor data: out of memory for a %d-byte buffer", IO_CHUNK);
        tensor_release(out);
        return NULL;
    }
    for (int64_t i = 0; i < n; i += (int64_t)per) {
        size_t k = (size_t)(n - i < (int64_t)per ? n - i : (int64_t)per);
        if (read(ctx, direct ? (void *)(dst + i) : (void *)buf, k * es) < 0) {
            free(buf);
            tensor_release(out);
            return NULL;
        }
        if (!direct) convert_f32(dst + i, buf, k, t, big_endian);
    }
    free(buf);
    return out;
}

int io_checked_numel(const char *op, const char *path, int ndim, const int64_t *sizes,
                     size_t elem_size, int64_t *numel) {
    char shape[256];
    if (ndim < 0 || ndim > TENSOR_MAX_DIMS) {
        tensor_set_error("%s: %s: %d dims, but nnlab tensors have at most %d", op, path, ndim,
                         TENSOR_MAX_DIMS);
        return -1;
    }
    // Bound the product of the non-zero sizes too, so a [0, 2^40, 2^40] shape cannot
    // overflow strides even though it holds no elements.
    // no looser than tensor_empty's own bound, so a file is refused here, by name
    int64_t limit = ((int64_t)1 << 62) / (int64_t)elem_size;
    if (limit > INT64_MAX / 8) limit = INT64_MAX / 8;
    int64_t n = 1, bound = 1;
    for (int i = 0; i < ndim; i++) {
        if (sizes[i] < 0) {
            tensor_set_error("%s: %s: negative size %lld in dim {{dim:%d}}", op, path,
                             (long long)sizes[i], i);
            return -1;
        }
        int64_t s = sizes[i] ? sizes[i] : 1;
        if (bound > limit / s) {
            tensor_sizes_str(shape, sizeof shape, ndim, sizes);
            tensor_set_error("%s: %s: shape %s is impossibly large (corrupt header?)", op, path, shape);
            return -1;
        }
        bound *= s;
        n *= sizes[i];
    }
    *numel = n;
    return 0;
}

// ---- plain files ----------------------------------------------------------------------

int io_file_open(io_file *f, const char *op, const char *path) {
    memset(f, 0, sizeof *f);
    f->op = op;
    f->path = path;
    // O_NONBLOCK: opening a FIFO for reading would otherwise wait forever for a writer
    f->fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (f->fd < 0) {
        tensor_set_error("%s: %s: %s", op, path, strerror(errno));
        return -1;
    }
    struct stat st = {0};
    if (fstat(f->fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        tensor_set_error("%s: %s: not a regular file (%s); give the path of a file", op, path,
                         S_ISFIFO(st.st_mode) ? "a FIFO" : S_ISDIR(st.st_mode) ? "a directory"
                         : S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode) ? "a device" : "a special file");
        close(f->fd);
        f->fd = -1;
        return -1;
    }
    fcntl(f->fd, F_SETFL, fcntl(f->fd, F_GETFL) & ~O_NONBLOCK);
    f->size = (int64_t)st.st_size;
    return 0;
}

void io_file_close(io_file *f) {
    if (f->fd >= 0) close(f->fd);
    f->fd = -1;
}

int io_file_read(void *ctx, void *buf, size_t n) {
    io_file *f = ctx;
    if (f->pos < 0 || (uint64_t)f->pos + n > (uint64_t)f->size) {
        tensor_set_error("%s: %s: file truncated: needs bytes up to %lld but has %lld",
                         f->op, f->path, (long long)(f->pos + (int64_t)n), (long long)f->size);
        return -1;
    }
    char *p = buf;
    while (n > 0) {
        ssize_t k = pread(f->fd, p, n, (off_t)f->pos);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) {
            tensor_set_error("%s: %s: read failed at offset %lld: %s", f->op, f->path,
                             (long long)f->pos, k < 0 ? strerror(errno) : "file shrank while reading");
            return -1;
        }
        p += k;
        n -= (size_t)k;
        f->pos += k;
    }
    return 0;
}
