// tutorials.c - finding the lessons: tutorials/ next to the executable (found
// through /proc/self/exe, so nnlab works from any directory), each a Lua file
// whose first line is "-- NAME: one-line description".
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "session.h"

static int is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

int repl_tutorials_dir(char *buf, size_t n)
{
    const char *env = getenv("NNLAB_TUTORIALS");
    if (env && *env) {
        snprintf(buf, n, "%s", env);
        return is_dir(buf) ? 0 : -1;
    }
    char exe[4096];
    ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (len <= 0) return -1;
    exe[len] = 0;
    char *slash = strrchr(exe, '/');
    if (slash) *slash = 0;
    static const char *places[] = {"tutorials", "../tutorials", "../share/nnlab/tutorials"};
    for (size_t i = 0; i < sizeof places / sizeof *places; i++) {
        snprintf(buf, n, "%s/%s", exe, places[i]);
        if (is_dir(buf)) return 0;
    }
    return -1;
}

static int is_lua(const struct dirent *e)
{
    size_t n = strlen(e->d_name);
    return e->d_name[0] != '.' && n > 4 && strcmp(e->d_name + n - 4, ".lua") == 0;
}

// The sorted *.lua names in the lessons directory; caller frees with free_list.
static int lessons(char *dir, size_t dirn, struct dirent ***list)
{
    if (repl_tutorials_dir(dir, dirn) != 0) return -1;
    return scandir(dir, list, is_lua, alphasort);
}

static void free_list(struct dirent **list, int n)
{
    for (int i = 0; i < n; i++) free(list[i]);
    free(list);
}

// "-- flatten: why ..." -> the text after the name's colon (or the whole comment)
static void describe(const char *path, char *out, size_t n)
{
    out[0] = 0;
    FILE *f = fopen(path, "r");
    if (!f) return;
    char line[512];
    if (fgets(line, sizeof line, f) && strncmp(line, "--", 2) == 0) {
        char *p = line + 2;
        char *colon = strchr(p, ':');
        if (colon) p = colon + 1;
        while (*p == ' ' || *p == '-') p++;
        p[strcspn(p, "\r\n")] = 0;
        snprintf(out, n, "%s", p);
    }
    fclose(f);
}

void repl_tutorials_list(FILE *f)
{
    char dir[4096];
    struct dirent **list;
    int n = lessons(dir, sizeof dir, &list);
    if (n < 0) { fprintf(f, "no tutorials directory found next to nnlab\n"); return; }
    if (n == 0) fprintf(f, "no tutorials yet in %s\n", dir);
    else fprintf(f, "tutorials (run one with: nnlab tutorial NAME, or :run it here)\n");
    for (int i = 0; i < n; i++) {
        char path[8192], desc[512];
        snprintf(path, sizeof path, "%s/%s", dir, list[i]->d_name);
        describe(path, desc, sizeof desc);
        int len = (int)strlen(list[i]->d_name) - 4;
        fprintf(f, "  %-24.*s %s\n", len, list[i]->d_name, desc);
    }
    fflush(f);
    if (n >= 0) free_list(list, n);
}

// A leading number, as in "03_flatten" (-1 when there is none).
static long lesson_number(const char *s)
{
    if (*s < '0' || *s > '9') return -1;
    return strtol(s, NULL, 10);
}

int repl_tutorial_path(const char *name, char *buf, size_t n, char *err, size_t errn)
{
    char dir[4096], want[512];
    struct dirent **list;
    int count = lessons(dir, sizeof dir, &list);
    if (count < 0) {
        snprintf(err, errn, "no tutorials directory found next to nnlab");
        return -1;
    }
    snprintf(want, sizeof want, "%s", name);
    size_t wl = strlen(want);
    if (wl > 4 && strcmp(want + wl - 4, ".lua") == 0) want[wl -= 4] = 0;
    int all_digits = wl > 0 && strspn(want, "0123456789") == wl;
    int found = -1, matches = 0, exact = -1;
    for (int i = 0; i < count; i++) {
        const char *f = list[i]->d_name;
        size_t fl = strlen(f) - 4;
        if (fl == wl && strncmp(f, want, wl) == 0) exact = i;
        int hit = all_digits ? lesson_number(f) == strtol(want, NULL, 10)
                             : memmem(f, fl, want, wl) != NULL;
        if (hit) { found = i; matches++; }
    }
    if (exact >= 0) { found = exact; matches = 1; }
    int rc = -1;
    if (matches == 1) {
        snprintf(buf, n, "%s/%s", dir, list[found]->d_name);
        rc = 0;
    } else if (matches == 0) {
        snprintf(err, errn, "no tutorial '%s' (nnlab tutorial lists them)", name);
    } else {
        snprintf(err, errn, "'%s' matches %d tutorials; give more of the name", name, matches);
    }
    free_list(list, count);
    return rc;
}
