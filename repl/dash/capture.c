// capture.c - what the script prints while the dashboard is open.
//
// fds 1 and 2 point at one unlinked temp file while the dashboard draws on a dup of
// the terminal, so nothing a script (or C code, or an error) writes lands on the
// panels, and stdout and stderr keep their order. The log panel and output.log read
// the file as it grows; on close the terminal gets everything it has not yet seen.
// A file, not a pipe: a writer never blocks on a reader that is busy training.
#include "dash.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static struct {
    int on;
    int file;                  // the capture file
    int saved_out, saved_err;  // the terminal's fds 1 and 2
    FILE *tty;                 // a FILE on a dup of saved_out, for ncurses
    off_t read_at;             // consumed by poll (panel, output.log)
    off_t shown_at;            // written to the terminal
    int passthrough;           // plain mode: the terminal gets output at each poll
} C = {.file = -1, .saved_out = -1, .saved_err = -1};

int repl_dash_capture_active(void) { return C.on; }

void repl_dash_capture_set_passthrough(int on) { C.passthrough = on; }

FILE *repl_dash_capture_tty(void)
{
    if (!C.tty) {
        int fd = dup(C.on ? C.saved_out : STDOUT_FILENO);
        if (fd >= 0) C.tty = fdopen(fd, "w");
        if (!C.tty && fd >= 0) close(fd);
    }
    return C.tty ? C.tty : stdout;
}

int repl_dash_capture_start(void)
{
    if (C.on) return 0;
    fflush(stdout);
    fflush(stderr);
    if (C.file < 0) {
        const char *dir = getenv("TMPDIR");
        char path[4096];
        snprintf(path, sizeof path, "%s/nnlab-out-XXXXXX", dir && *dir ? dir : "/tmp");
        C.file = mkstemp(path);
        if (C.file < 0) return -1;
        unlink(path);
        C.read_at = C.shown_at = 0;
    }
    C.saved_out = dup(STDOUT_FILENO);
    C.saved_err = dup(STDERR_FILENO);
    if (C.saved_out < 0 || C.saved_err < 0 || dup2(C.file, STDOUT_FILENO) < 0 || dup2(C.file, STDERR_FILENO) < 0) {
        if (C.saved_out >= 0) { dup2(C.saved_out, STDOUT_FILENO); close(C.saved_out); }
        if (C.saved_err >= 0) { dup2(C.saved_err, STDERR_FILENO); close(C.saved_err); }
        C.saved_out = C.saved_err = -1;
        return -1;
    }
    C.on = 1;
    return 0;
}

// Copies [from, to) of the capture file to fd.
static off_t copy_range(int fd, off_t from, off_t to)
{
    char buf[65536];
    while (from < to) {
        size_t want = (size_t)(to - from) < sizeof buf ? (size_t)(to - from) : sizeof buf;
        ssize_t n = pread(C.file, buf, want, from);
        if (n <= 0) break;
        for (ssize_t k = 0; k < n;) {
            ssize_t w = write(fd, buf + k, (size_t)(n - k));
            if (w < 0 && errno == EINTR) continue;
            if (w <= 0) return to;     // the terminal is gone: drop it, don't spin
            k += w;
        }
        from += n;
    }
    return from;
}

size_t repl_dash_capture_poll(void (*fn)(const char *, size_t, void *), void *ud)
{
    if (C.file < 0) return 0;
    fflush(stdout);
    fflush(stderr);
    off_t end = lseek(C.file, 0, SEEK_END);
    size_t total = 0;
    char buf[65536];
    while (C.read_at < end) {
        size_t want = (size_t)(end - C.read_at) < sizeof buf ? (size_t)(end - C.read_at) : sizeof buf;
        ssize_t n = pread(C.file, buf, want, C.read_at);
        if (n <= 0) break;
        if (fn) fn(buf, (size_t)n, ud);
        C.read_at += n;
        total += (size_t)n;
    }
    if (C.passthrough && C.on && C.shown_at < C.read_at) C.shown_at = copy_range(C.saved_out, C.shown_at, C.read_at);
    return total;
}

void repl_dash_capture_stop(void)
{
    if (!C.on) return;
    fflush(stdout);
    fflush(stderr);
    dup2(C.saved_out, STDOUT_FILENO);
    dup2(C.saved_err, STDERR_FILENO);
    close(C.saved_out);
    close(C.saved_err);
    C.saved_out = C.saved_err = -1;
    C.on = 0;
    off_t end = lseek(C.file, 0, SEEK_END);
    C.shown_at = copy_range(STDOUT_FILENO, C.shown_at, end);
}

// After the terminal is closed: the FILE ncurses drew on goes too.
void repl_dash_capture_release_tty(void)
{
    if (C.tty) {
        fclose(C.tty);
        C.tty = NULL;
    }
}
