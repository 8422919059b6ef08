// fuzz_common.h - shared by the fuzz harnesses in tests/fuzz/.
//
// Each harness defines LLVMFuzzerTestOneInput. The readers under test take a path, so
// the input is written to an in-memory file (memfd) and read back as /proc/self/fd/N;
// no disk is touched per input.
//
// Built with -fsanitize=fuzzer it runs under libFuzzer (make fuzz). Built with
// -DFUZZ_REPLAY it gets the small main() below instead, which runs every file named on
// the command line (directories are walked one level) once: make fuzz-replay, which
// needs no libFuzzer, runs the committed corpora under ASan+UBSan this way.
#ifndef NNLAB_FUZZ_COMMON_H
#define NNLAB_FUZZ_COMMON_H

#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../tensor/tensor.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

// The input as a file: returns its path (valid until the next call).
static inline const char *fuzz_as_file(const uint8_t *data, size_t size) {
    static int fd = -1;
    static char path[64];
    if (fd < 0) {
        fd = memfd_create("nnlab-fuzz", 0);
        if (fd < 0) {   // no memfd: an unlinked temp file
            char tmpl[] = "/tmp/nnlab-fuzz-XXXXXX";
            fd = mkstemp(tmpl);
            if (fd < 0) { perror("fuzz: mkstemp"); abort(); }
            unlink(tmpl);
        }
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    }
    if (ftruncate(fd, 0) != 0) { perror("fuzz: ftruncate"); abort(); }
    size_t off = 0;
    while (off < size) {
        ssize_t k = pwrite(fd, data + off, size - off, (off_t)off);
        if (k <= 0) { perror("fuzz: pwrite"); abort(); }
        off += (size_t)k;
    }
    return path;
}

// A failed read must leave a non-empty message, normally naming the reader ("tensor.load: ...").
// FUZZ_STRICT_ERRORS=1 also demands the reader's prefix (known gap: a shape that passes
// io_checked_numel but not tensor_empty's tighter bound reports "tensor.empty: ...").
static inline void fuzz_check_error(const char *prefix) {
    const char *e = tensor_last_error();
    static int strict = -1;
    if (strict < 0) strict = getenv("FUZZ_STRICT_ERRORS") && atoi(getenv("FUZZ_STRICT_ERRORS")) > 0;
    if (!e || !*e || (strict && strncmp(e, prefix, strlen(prefix)) != 0)) {
        fprintf(stderr, "fuzz: a failed read left the error '%s' (expected it to start with '%s')\n",
                e ? e : "(null)", prefix);
        abort();
    }
}

#ifdef FUZZ_REPLAY
static int replay_file(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) { perror(path); return 1; }
    uint8_t *buf = NULL;
    size_t n = 0, cap = 0;
    for (;;) {
        if (n == cap) {
            cap = cap ? cap * 2 : 65536;
            uint8_t *nb = realloc(buf, cap);
            if (!nb) { fclose(f); free(buf); return 1; }
            buf = nb;
        }
        size_t k = fread(buf + n, 1, cap - n, f);
        if (k == 0) break;
        n += k;
    }
    fclose(f);
    LLVMFuzzerTestOneInput(buf, n);
    free(buf);
    return 0;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

int main(int argc, char **argv) {
    int files = 0, bad = 0;
    for (int i = 1; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) != 0) { perror(argv[i]); bad++; continue; }
        if (!S_ISDIR(st.st_mode)) { bad += replay_file(argv[i]); files++; continue; }
        DIR *d = opendir(argv[i]);
        if (!d) { perror(argv[i]); bad++; continue; }
        char **names = NULL;
        size_t nn = 0;
        for (struct dirent *e; (e = readdir(d));) {
            if (e->d_name[0] == '.') continue;
            names = realloc(names, (nn + 1) * sizeof *names);
            size_t len = strlen(argv[i]) + strlen(e->d_name) + 2;
            names[nn] = malloc(len);
            snprintf(names[nn++], len, "%s/%s", argv[i], e->d_name);
        }
        closedir(d);
        qsort(names, nn, sizeof *names, cmp_str);   // same order every run
        for (size_t k = 0; k < nn; k++) {
            bad += replay_file(names[k]);
            files++;
            free(names[k]);
        }
        free(names);
    }
    printf("%s: replayed %d inputs\n", argv[0], files);
    return bad ? 1 : 0;
}
#endif
#endif
