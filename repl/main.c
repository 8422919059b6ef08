// main.c - the nnlab program: arguments, the Lua state, then a script, -e code,
// a tutorial, or the prompt. Start-up stays cheap (no file scans, lazy help):
// the prompt should appear within a few milliseconds.
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <lualib.h>
#include <readline/readline.h>
#include "session.h"
#include "dash/dash.h"

static const char *usage =
    "usage: nnlab [options] [script.lua [args...]]\n"
    "       nnlab tutorial [NAME] [--check] [--lang ko]\n"
    "       nnlab runs [RUN... | --all]   (nnlab runs --help)\n"
    "\n"
    "  (no arguments)    the interactive prompt; piped stdin runs without prompts\n"
    "  script.lua args   run a script; its arguments are in the global table arg\n"
    "  tutorial [NAME]   run a lesson (without NAME: list them)\n"
    "  runs [RUN...]     list the training runs, or compare RUNs in the terminal\n"
    "  -e CODE           run CODE, printing an expression's values (repeatable)\n"
    "  -i                go to the prompt after -e or the script\n"
    "  --dash            show the dashboard while the script runs\n"
    "  --device DEV      where new tensors live: cpu, cuda or meta\n"
    "  --version         print the version\n"
    "  --help            this text\n";

typedef struct options {
    const char **code;     // -e chunks, in order
    int ncode;
    const char *script;    // file to run (a tutorial resolves to one)
    const char *tutorial;  // NAME after "tutorial"
    int list_tutorials;
    int script_arg;        // argv index of the script's first argument
    int interactive_after; // -i
    int dash;
    const char *device;
    int runs;              // argv index of "runs" (0: not that subcommand)
} options;

// Returns -1 on a usage error (message printed), 1 when done (--help), 0 to go on.
static int parse_args(int argc, char **argv, options *o)
{
    int i = 1;
    for (; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            fputs(usage, stdout);
            return 1;
        } else if (strcmp(a, "--version") == 0 || strcmp(a, "-v") == 0) {
            printf("nnlab %s (%s)\n", NNLAB_VERSION, LUA_RELEASE);
            return 1;
        } else if (strcmp(a, "-e") == 0 || strcmp(a, "--device") == 0) {
            if (i + 1 >= argc) {
                fprintf(stderr, "nnlab: %s needs an argument\n%s", a, usage);
                return -1;
            }
            if (a[1] == 'e') o->code[o->ncode++] = argv[++i];
            else o->device = argv[++i];
        } else if (strcmp(a, "-i") == 0) {
            o->interactive_after = 1;
        } else if (strcmp(a, "--dash") == 0) {
            o->dash = 1;
        } else if (strcmp(a, "--") == 0) {
            i++;
            break;
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "nnlab: unknown option %s\n%s", a, usage);
            return -1;
        } else {
            break;
        }
    }
    if (i < argc && strcmp(argv[i], "runs") == 0) {
        o->runs = i;
        return 0;
    }
    if (i < argc && (strcmp(argv[i], "tutorial") == 0 || strcmp(argv[i], "tutorials") == 0)) {
        i++;
        if (i < argc && argv[i][0] != '-') o->tutorial = argv[i++];
        else o->list_tutorials = 1;
        o->script_arg = i;
        return 0;
    }
    if (i < argc) o->script = argv[i++];
    o->script_arg = i;
    if (o->dash && !o->script) {
        fprintf(stderr, "nnlab: --dash needs a script to run\n");
        return -1;
    }
    return 0;
}

static int open_libs(lua_State *L)
{
    static const lua_CFunction libs[] = {repl_open_tensor, repl_open_nn, repl_open_io,
                                         repl_open_dash, repl_open_help, repl_open_sys};
    luaL_openlibs(L);
    repl_install_embedded(L);
    for (size_t i = 0; i < sizeof libs / sizeof *libs; i++) {
        lua_pushcfunction(L, libs[i]);
        lua_call(L, 0, 0);
    }
    return 0;
}

// arg[0] = the script, arg[1..] its arguments, arg[-k] what came before (as lua.c).
static void set_arg_table(lua_State *L, int argc, char **argv, int script_index, const char *script)
{
    lua_createtable(L, argc, 1);
    for (int i = 0; i < argc; i++) {
        lua_pushstring(L, argv[i]);
        lua_rawseti(L, -2, i - script_index);
    }
    if (script) {
        lua_pushstring(L, script);
        lua_rawseti(L, -2, 0);
    }
    lua_setglobal(L, "arg");
}

static int run_script(repl_session *s, const char *path, int argc, char **argv, int first, int dash)
{
    lua_State *L = s->L;
    repl_dash_script(path, argc - first, argv + first);   // names the runs it trains
    if (dash) {
        lua_getglobal(L, "dash");
        if (lua_type(L, -1) != LUA_TTABLE || lua_getfield(L, -1, "open") != LUA_TFUNCTION) {
            fprintf(stderr, "nnlab: --dash: this build has no dashboard (dash.open)\n");
            return 1;
        }
        lua_remove(L, -2);
        if (repl_call(s, 0, 0) != LUA_OK) return 1;
    }
    int status;
    s->keep_dash = dash;    // an error shows in the dashboard's log before it closes
    if (luaL_loadfile(L, path) != LUA_OK) {
        repl_explain_syntax_error(L, NULL, path);
        repl_report_error(s);
        status = LUA_ERRFILE;
    } else {
        for (int i = first; i < argc; i++) lua_pushstring(L, argv[i]);
        status = repl_call(s, argc - first, 0);
    }
    s->keep_dash = 0;
    int ok = status == LUA_OK || s->stopped;
    // the script is over: its run stays on screen (a terminal) until q, then closes
    if (dash) repl_dash_finish(ok ? (s->stopped ? "stopped" : "finished") : "failed");
    repl_flush_error(s);
    return ok ? 0 : 1;
}

static int start_prompt(repl_session *s)
{
    s->interactive = isatty(STDIN_FILENO);
    if (s->interactive) {
        rl_readline_name = "nnlab";
        repl_history_open();
        repl_complete_init(s->L);
        repl_banner(stdout);
    }
    int status = repl_loop(s);
    if (s->interactive) repl_history_close();
    return status;
}

int main(int argc, char **argv)
{
    // Keep freed activation buffers (up to glibc's 32 MB mmap limit) in the heap
    // instead of returning them to the kernel: a training step reallocates the same
    // sizes, and fresh pages cost a page fault each.
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
    mallopt(M_TRIM_THRESHOLD, 256 << 20);
    const char *codes[argc > 0 ? argc : 1];
    options o = {.code = codes};
    int rc = parse_args(argc, argv, &o);
    if (rc != 0) return rc < 0 ? 2 : 0;

    if (o.runs) return repl_runs_main(argc - o.runs, argv + o.runs);
    char path[8192], err[600];
    if (o.list_tutorials) {
        repl_tutorials_list(stdout);
        return 0;
    }
    if (o.tutorial) {
        if (repl_tutorial_path(o.tutorial, path, sizeof path, err, sizeof err) != 0) {
            fprintf(stderr, "nnlab: %s\n", err);
            return 1;
        }
        o.script = path;
    }
    if (o.device && repl_use_device(o.device, err, sizeof err) != 0) {
        fprintf(stderr, "nnlab: --device %s: %s\n", o.device, err);
        return 1;
    }

    lua_State *L = luaL_newstate();
    if (!L) {
        fprintf(stderr, "nnlab: cannot create the Lua state (out of memory)\n");
        return 1;
    }
    repl_session s = {.L = L};
    repl_interrupt_init();
    lua_pushcfunction(L, open_libs);
    if (repl_call(&s, 0, 0) != LUA_OK) {
        lua_close(L);
        return 1;
    }
    set_arg_table(L, argc, argv, o.script ? o.script_arg - 1 : 0, o.script);

    int status = 0;
    for (int i = 0; i < o.ncode && status == 0; i++)
        status = repl_eval(&s, o.code[i], "=(command line)");
    if (status == 0 && o.script)
        status = run_script(&s, o.script, argc, argv, o.script_arg, o.dash);
    if (status == 0 && (o.interactive_after || (!o.script && o.ncode == 0)))
        status = start_prompt(&s);

    repl_close_dash(L);   // never leave the terminal in curses mode
    lua_close(L);
    repl_session_free(&s);
    return status;
}
