// commands.c - the REPL's colon commands (:help, :shapes, :time, :device,
// :trace, :save, :run, :runs, :quit) and the log of chunks that :save writes.
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "session.h"
#include "dash/dash.h"

static const char *command_help =
    "commands:\n"
    "  :help               this list (help() explains the Lua side)\n"
    "  :shapes on|off      print every op with its input and output shapes\n"
    "  :time on|off        print how long each command took\n"
    "  :device cpu|cuda|meta   where new tensors are created\n"
    "  :trace on|off       show error positions and Lua tracebacks\n"
    "  :save FILE.lua      write this session's working commands as a script\n"
    "  :run FILE.lua|NAME  run a script (or the lesson NAME) here, keeping its globals\n"
    "  :runs [RUN...]      compare training runs (no terminal: list them)\n"
    "  :quit               leave (Ctrl-D works too)\n"
    "  ?NAME               help for a function, e.g. ?matmul\n";

void repl_log_chunk(repl_session *s, const char *code)
{
    if (s->nlog == s->caplog) {
        int cap = s->caplog ? 2 * s->caplog : 64;
        char **p = realloc(s->log, (size_t)cap * sizeof *p);
        if (!p) return;
        s->log = p;
        s->caplog = cap;
    }
    char *copy = strdup(code);
    if (copy) s->log[s->nlog++] = copy;
}

void repl_session_free(repl_session *s)
{
    free(s->pending_error);
    s->pending_error = NULL;
    for (int i = 0; i < s->nlog; i++) free(s->log[i]);
    free(s->log);
    s->log = NULL;
    s->nlog = s->caplog = 0;
}

// ---- :device ----------------------------------------------------------------

int repl_use_device(const char *name, char *err, size_t errn)
{
    tensor_device d;
    if (tensor_parse_device(name, &d) != 0) {
        if (!strncmp(name, "cuda:", 5)) repl_last_error(err, errn);   // cuda:N's own reason
        else snprintf(err, errn, "unknown device '%s' (cpu, cuda or meta)", name);
        return -1;
    }
    if (d == TENSOR_CUDA) {
        char why[256] = "";
        if (!tensor_cuda_available(why, sizeof why)) {
            snprintf(err, errn, "cuda is not available: %s", why[0] ? why : "no CUDA device");
            return -1;
        }
    }
    repl_set_default_device(d);
    return 0;
}

// ---- :save / :run ---------------------------------------------------------------

static void save_session(repl_session *s, const char *path)
{
    FILE *f = fopen(path, "w");
    if (!f) { perror(path); return; }
    fprintf(f, "-- nnlab session: the commands that ran without error, in order\n");
    for (int i = 0; i < s->nlog; i++) fprintf(f, "%s\n", s->log[i]);
    if (fclose(f) != 0) { perror(path); return; }
    printf("saved %d command%s to %s\n", s->nlog, s->nlog == 1 ? "" : "s", path);
}

static void run_file(repl_session *s, const char *path)
{
    lua_State *L = s->L;
    // :run gd: not a file here, so a lesson by name (as `nnlab tutorial gd`)
    char lesson[8192], why[512];
    if (access(path, F_OK) != 0) {
        if (repl_tutorial_path(path, lesson, sizeof lesson, why, sizeof why) != 0) {
            fflush(stdout);
            fprintf(stderr, "error: :run %s: no such file, and %s\n", path,
                    strncmp(why, "no tutorial", 11) == 0 ? "no lesson by that name (tutorials() lists them)" : why);
            fflush(stderr);
            s->failed = 1;
            return;
        }
        path = lesson;
    }
    char dir[4096];   // exports NNLAB_TUTORIALS: a lesson file elsewhere finds lib/lesson.lua by it
    repl_tutorials_dir(dir, sizeof dir);
    if (luaL_loadfile(L, path) != LUA_OK) {
        repl_explain_syntax_error(L, NULL, path);
        repl_report_error(s);
        return;
    }
    // the file sees arg[0] = its path, as under `nnlab FILE` (lessons find lib/ by it)
    lua_getglobal(L, "arg");
    lua_insert(L, -2);
    lua_createtable(L, 0, 1);
    lua_pushstring(L, path);
    lua_rawseti(L, -2, 0);
    lua_setglobal(L, "arg");
    int rc = repl_call(s, 0, 0);
    lua_setglobal(L, "arg");           // the previous arg back
    if (rc != LUA_OK) return;
    lua_getglobal(L, "string");
    lua_getfield(L, -1, "format");
    lua_pushliteral(L, "dofile(%q)");
    lua_pushstring(L, path);
    lua_call(L, 2, 1);
    repl_log_chunk(s, lua_tostring(L, -1));
    lua_pop(L, 2);
}

// ---- :runs ---------------------------------------------------------------------

// The words of arg as `nnlab runs` arguments; no words on a terminal: every run.
static void runs_command(char *arg)
{
    char *argv[130];
    int argc = 0;
    argv[argc++] = "runs";
    for (char *w = strtok(arg, " \t"); w && argc < 129; w = strtok(NULL, " \t")) argv[argc++] = w;
    if (argc == 1 && repl_dash_term_usable()) argv[argc++] = "--all";
    argv[argc] = NULL;
    fflush(stdout);
    repl_runs_main(argc, argv);
}

// ---- dispatch -------------------------------------------------------------------

// "on"/"off" -> 1/0, nothing -> toggle, anything else -> -1
static int on_off(const char *arg, int now)
{
    if (!*arg) return !now;
    if (strcmp(arg, "on") == 0) return 1;
    if (strcmp(arg, "off") == 0) return 0;
    return -1;
}

static int set_flag(int *flag, const char *name, const char *arg)
{
    int v = on_off(arg, *flag);
    if (v < 0) {
        fprintf(stderr, "error: :%s takes on or off\n", name);
        return -1;
    }
    *flag = v;
    printf("%s %s\n", name, v ? "on" : "off");
    return 0;
}

int repl_command(repl_session *s, const char *line)
{
    char name[32] = "", arg[1024] = "";
    while (*line == ' ' || *line == '\t') line++;
    if (*line == ':') line++;
    sscanf(line, "%31s %1023[^\n]", name, arg);
    for (size_t n = strlen(arg); n > 0 && (arg[n - 1] == ' ' || arg[n - 1] == '\t'); n--)
        arg[n - 1] = 0;

    if (strcmp(name, "help") == 0 || strcmp(name, "h") == 0) {
        fputs(command_help, stdout);
    } else if (strcmp(name, "shapes") == 0) {
        if (set_flag(&s->shapes, "shapes", arg) == 0) repl_shapes(s->L, s->shapes);
    } else if (strcmp(name, "time") == 0) {
        set_flag(&s->time, "time", arg);
    } else if (strcmp(name, "trace") == 0) {
        set_flag(&s->trace, "trace", arg);
    } else if (strcmp(name, "device") == 0) {
        char err[300];
        if (!*arg) printf("device %s\n", tensor_device_name(repl_default_device()));
        else if (repl_use_device(arg, err, sizeof err) != 0) fprintf(stderr, "error: %s\n", err);
        else {
            char line[96];   // :save replays it as the Lua call that does the same
            snprintf(line, sizeof line, "tensor.set_default_device(\"%s\")", arg);
            repl_log_chunk(s, line);
            printf("device %s\n", arg);
        }
    } else if (strcmp(name, "save") == 0 || strcmp(name, "run") == 0) {
        if (!*arg) fprintf(stderr, "error: :%s needs a file name\n", name);
        else if (name[0] == 's') save_session(s, arg);
        else run_file(s, arg);
    } else if (strcmp(name, "runs") == 0) {
        runs_command(arg);
    } else if (strcmp(name, "quit") == 0 || strcmp(name, "q") == 0 || strcmp(name, "exit") == 0) {
        s->quit = 1;
    } else {
        fprintf(stderr, "error: unknown command :%s (:help lists them)\n", name);
        return -1;
    }
    fflush(stdout);
    return 0;
}
