// history.c - persistent prompt history in ~/.nnlab_history ($NNLAB_HISTORY
// overrides it, for tests). Each entry is appended as it is typed, so a crash
// or a kill keeps the session's lines; the file is cut to 1000 at exit.
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <readline/history.h>
#include "session.h"

#define HISTORY_MAX 1000

static char path[4096];

void repl_history_open(void)
{
    const char *env = getenv("NNLAB_HISTORY");
    const char *home = getenv("HOME");
    if (env && *env) snprintf(path, sizeof path, "%s", env);
    else if (home && *home) snprintf(path, sizeof path, "%s/.nnlab_history", home);
    else return;
    using_history();
    read_history(path);
    // append_history() does not create the file
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0600);
    if (fd >= 0) close(fd);
}

void repl_history_add(const char *line)
{
    if (!line || !*line) return;
    HIST_ENTRY *last = history_get(history_base + history_length - 1);
    if (last && strcmp(last->line, line) == 0) return;
    add_history(line);
    if (path[0]) append_history(1, path);
}

void repl_history_close(void)
{
    if (path[0]) history_truncate_file(path, HISTORY_MAX);
}
