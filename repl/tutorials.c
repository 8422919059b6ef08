// tutorials.c - finding the lessons: tutorials/ next to the executable (found
// through /proc/self/exe, so nnlab works from any directory), each a Lua file
// whose first line is "-- NAME: one-line description"; the curriculum order they
// are listed in; and which ones this user has finished (the progress file that
// tutorials/lib/lesson.lua writes when a lesson ends).
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "session.h"

// The curriculum, in the order a newcomer takes it: the onboarding series (its
// topics 1-10 as LESSONS.md numbers them, with fashion, the first real data set,
// before the frameworks lesson), then the architecture lessons, from the basics of
// shapes to the attention variants. This table is the only copy of the order;
// lessons not in it are listed after it, by name.
static const struct { const char *name, *part; } curriculum[] = {
    {"gd", "onboarding"}, {"matrix_gd", "onboarding"}, {"sgd", "onboarding"},
    {"approximator", "onboarding"}, {"optimization", "onboarding"},
    {"regularization", "onboarding"}, {"nonlinearity_loss", "onboarding"},
    {"fashion", "onboarding"}, {"frameworks", "onboarding"}, {"papers", "onboarding"},
    {"shapes", "architecture"}, {"flatten", "architecture"}, {"bottleneck", "architecture"},
    {"vit_conv", "architecture"}, {"xca", "architecture"}, {"perceiver", "architecture"},
};
enum { ncurriculum = sizeof curriculum / sizeof *curriculum };

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
    // found: exported, so that a lesson file outside the directory (nnlab tutorial
    // ./mine.lua) finds lib/lesson.lua through os.getenv("NNLAB_TUTORIALS")
    char exe[4096];
    ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (len <= 0) return -1;
    exe[len] = 0;
    char *slash = strrchr(exe, '/');
    if (slash) *slash = 0;
    static const char *places[] = {"tutorials", "../tutorials", "../share/nnlab/tutorials"};
    for (size_t i = 0; i < sizeof places / sizeof *places; i++) {
        snprintf(buf, n, "%s/%s", exe, places[i]);
        if (is_dir(buf)) {
            setenv("NNLAB_TUTORIALS", buf, 0);
            return 0;
        }
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

// The progress file: $XDG_DATA_HOME/nnlab/progress, or ~/.local/share/nnlab/progress
// (the XDG rule: a relative XDG_DATA_HOME is ignored). lesson.lua applies the same rule
// when it writes. 0 ok, -1 when there is no home to put it in.
static int progress_path(char *buf, size_t n)
{
    const char *xdg = getenv("XDG_DATA_HOME"), *home = getenv("HOME");
    if (xdg && xdg[0] == '/') snprintf(buf, n, "%s/nnlab/progress", xdg);
    else if (home && *home) snprintf(buf, n, "%s/.local/share/nnlab/progress", home);
    else return -1;
    return 0;
}

// The finished lessons, one name a line, as one string with a '\n' before each name
// ("\ngd\nsgd\n"), so that a lookup is one strstr; NULL when nothing is recorded.
static char *read_progress(void)
{
    char path[4096];
    if (progress_path(path, sizeof path) != 0) return NULL;
    FILE *f = fopen(path, "r");
    if (!f) return NULL;
    size_t cap = 256, len = 1;
    char *all = malloc(cap), line[256];
    if (all) all[0] = '\n';
    while (all && fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = 0;
        size_t l = strlen(line);
        if (l == 0) continue;
        if (len + l + 2 > cap) {
            char *more = realloc(all, cap = 2 * (len + l + 2));
            if (!more) { free(all); all = NULL; break; }
            all = more;
        }
        memcpy(all + len, line, l);
        len += l;
        all[len++] = '\n';
    }
    if (all) all[len] = 0;
    fclose(f);
    return all;
}

static int finished(const char *progress, const char *name, size_t len)
{
    if (!progress) return 0;
    char key[300];
    snprintf(key, sizeof key, "\n%.*s\n", (int)len, name);
    return strstr(progress, key) != NULL;
}

// The curriculum position of a lesson file's name, or ncurriculum when it is not in it.
static int rank(const char *file)
{
    size_t len = strlen(file) - 4;
    for (int i = 0; i < ncurriculum; i++)
        if (strlen(curriculum[i].name) == len && strncmp(curriculum[i].name, file, len) == 0) return i;
    return ncurriculum;
}

static int by_curriculum(const void *a, const void *b)
{
    const char *x = (*(struct dirent *const *)a)->d_name, *y = (*(struct dirent *const *)b)->d_name;
    int rx = rank(x), ry = rank(y);
    return rx != ry ? rx - ry : strcmp(x, y);
}

void repl_tutorials_list(FILE *f)
{
    char dir[4096];
    struct dirent **list;
    int n = lessons(dir, sizeof dir, &list);
    if (n < 0) { fprintf(f, "no tutorials directory found next to nnlab\n"); return; }
    if (n == 0) { fprintf(f, "no tutorials yet in %s\n", dir); free_list(list, n); return; }
    qsort(list, (size_t)n, sizeof *list, by_curriculum);
    char *progress = read_progress();
    fprintf(f, "tutorials, in order (run one with: nnlab tutorial NAME, or :run NAME here)\n");
    const char *part = NULL;
    int done = 0;
    for (int i = 0; i < n; i++) {
        const char *file = list[i]->d_name;
        int r = rank(file);
        const char *p = r < ncurriculum ? curriculum[r].part : "more";
        if (!part || strcmp(p, part) != 0) {
            fprintf(f, "%s%s lessons\n", part ? "\n" : "", p);
            part = p;
        }
        char path[8192], desc[512];
        snprintf(path, sizeof path, "%s/%s", dir, file);
        describe(path, desc, sizeof desc);
        int len = (int)strlen(file) - 4;
        int fin = finished(progress, file, (size_t)len);
        done += fin;
        fprintf(f, "  [%c] %-18.*s %s\n", fin ? 'x' : ' ', len, file, desc);
    }
    char where[4096];
    if (progress_path(where, sizeof where) == 0)
        fprintf(f, "\n[x] finished: %d of %d (recorded in %s)\n", done, n, where);
    fflush(f);
    free(progress);
    free_list(list, n);
}

// A leading number, as in "03_flatten" (-1 when there is none).
static long lesson_number(const char *s)
{
    if (*s < '0' || *s > '9') return -1;
    return strtol(s, NULL, 10);
}

// A lesson given as a file (it has a '/' or ends in .lua): 1 found, 0 not a path or
// "flatten.lua" with no such file here (then the name is looked up), -1 a missing or
// unreadable file (message in err).
static int lesson_file(const char *name, char *buf, size_t n, char *err, size_t errn)
{
    size_t l = strlen(name);
    int slash = strchr(name, '/') != NULL, lua = l > 4 && strcmp(name + l - 4, ".lua") == 0;
    if (!slash && !lua) return 0;
    struct stat st;
    const char *why = NULL;
    if (stat(name, &st) != 0) why = strerror(errno);
    else if (!S_ISREG(st.st_mode)) why = "not a file";
    else if (access(name, R_OK) != 0) why = strerror(errno);
    if (!why) {
        snprintf(buf, n, "%s", name);
        char dir[4096];
        repl_tutorials_dir(dir, sizeof dir);   // exports NNLAB_TUTORIALS for its lib/lesson.lua
        return 1;
    }
    if (!slash && stat(name, &st) != 0) return 0;   // "flatten.lua": a lesson's name
    snprintf(err, errn, "cannot run the lesson file %s: %s", name, why);
    return -1;
}

int repl_tutorial_path(const char *name, char *buf, size_t n, char *err, size_t errn)
{
    int file = lesson_file(name, buf, n, err, errn);
    if (file != 0) return file > 0 ? 0 : -1;
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
    } else if (matches == 0 && strcmp(want, name) != 0) {
        snprintf(err, errn, "no lesson file %s here, and no tutorial '%s' (nnlab tutorial lists them)",
                 name, want);
    } else if (matches == 0) {
        snprintf(err, errn, "no tutorial '%s' (nnlab tutorial lists them)", name);
    } else {
        snprintf(err, errn, "'%s' matches %d tutorials; give more of the name", name, matches);
    }
    free_list(list, count);
    return rc;
}
