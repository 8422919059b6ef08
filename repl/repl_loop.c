// repl_loop.c - the prompt: read a chunk (continuing while it is incomplete),
// evaluate it, print its values. On a terminal it uses readline's callback
// interface so Ctrl-C can drop the line; piped input is the same stream of
// chunks without prompts or banner.
#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <unistd.h>
#include <readline/readline.h>
#include "session.h"

#define PROMPT "nnlab> "
#define PROMPT_MORE "   ..> "

// Weak: the banner must not be what forces OpenBLAS to load at start-up.
extern int openblas_get_num_threads(void) __attribute__((weak));

static int blas_threads(void)
{
    if (openblas_get_num_threads) return openblas_get_num_threads();
    const char *env = getenv("OPENBLAS_NUM_THREADS");
    return env && atoi(env) > 0 ? atoi(env) : (int)sysconf(_SC_NPROCESSORS_ONLN);
}

void repl_banner(FILE *f)
{
    char gpu[256] = "";
    if (repl_default_device() == TENSOR_CUDA) {   // probing CUDA otherwise costs start-up
        char why[200] = "";
        if (tensor_cuda_available(why, sizeof why))
            snprintf(gpu, sizeof gpu, ", GPU %s", why[0] ? why : "(cuda)");
    }
    fprintf(f, "nnlab %s \xe2\x80\x94 Lua %s.%s, OpenBLAS (%d threads), CPU%s\n",
            NNLAB_VERSION, LUA_VERSION_MAJOR, LUA_VERSION_MINOR,
            blas_threads(), gpu);
    fprintf(f, "help() to start, tutorials() to list lessons, :help for commands\n");
}

static int ends_with_semicolon(const char *code)
{
    size_t n = strlen(code);
    while (n > 0 && isspace((unsigned char)code[n - 1])) n--;
    return n > 0 && code[n - 1] == ';';
}

// Loads CODE as "return CODE" (an expression) or as statements; leaves the
// function or the error message on the stack. *expr says which form worked.
static int load_chunk(lua_State *L, const char *code, const char *chunkname, int *expr)
{
    if (code[0] == '=') code++;   // Lua 5.3's "=expr"
    const char *ret = lua_pushfstring(L, "return %s", code);
    int status = luaL_loadbuffer(L, ret, strlen(ret), chunkname);
    lua_remove(L, -2);
    *expr = status == LUA_OK;
    if (*expr) return status;
    lua_pop(L, 1);
    return luaL_loadbuffer(L, code, strlen(code), chunkname);
}

static int is_incomplete(lua_State *L, const char *code)
{
    int incomplete = 0;
    if (code[0] == '=') code++;
    for (int form = 0; form < 2 && !incomplete; form++) {
        const char *src = form ? code : lua_pushfstring(L, "return %s", code);
        int status = luaL_loadbuffer(L, src, strlen(src), "=stdin");
        if (status == LUA_OK) {
            lua_pop(L, form ? 1 : 2);
            return 0;
        }
        size_t n;
        const char *msg = lua_tolstring(L, -1, &n);
        incomplete = status == LUA_ERRSYNTAX && n >= 5 && strcmp(msg + n - 5, "<eof>") == 0;
        lua_pop(L, form ? 1 : 2);
    }
    return incomplete;
}

// A chunk that is only a call of help or tutorials (what :save leaves out).
static int is_help_call(const char *code)
{
    while (isspace((unsigned char)*code)) code++;
    size_t n = strncmp(code, "help", 4) == 0 ? 4 : strncmp(code, "tutorials", 9) == 0 ? 9 : 0;
    if (!n) return 0;
    const char *p = code + n;
    while (*p == ' ') p++;
    if (*p != '(' && *p != '"' && *p != '\'' && *p != '{') return 0;
    return !strchr(p, '\n') && !strchr(p, ';') && !strstr(p, "=");
}

// What :save writes for a chunk: statements as typed, a bare expression as print(...).
static void log_chunk(repl_session *s, const char *code, int expr, int quiet)
{
    lua_State *L = s->L;
    if (code[0] == '=') { code++; expr = 1; }
    else if (expr) {
        expr = luaL_loadbuffer(L, code, strlen(code), "=stdin") != LUA_OK;
        lua_pop(L, 1);
    }
    if (is_help_call(code)) return;   // help("matmul"), tutorials(): nothing to replay
    if (!expr) { repl_log_chunk(s, code); return; }
    if (quiet) return;
    // one line as typed, unless a -- comment would swallow the closing parenthesis
    repl_log_chunk(s, lua_pushfstring(L, strstr(code, "--") ? "print(%s\n)" : "print(%s)", code));
    lua_pop(L, 1);
}

// `nn.Relu` typed alone shows nil; say which name was meant (hints.nil_note)
static void nil_note(lua_State *L, const char *code)
{
    int top = lua_gettop(L);
    luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
    if (lua_getfield(L, -1, "hints") == LUA_TTABLE && lua_getfield(L, -1, "nil_note") == LUA_TFUNCTION) {
        lua_pushstring(L, code[0] == '=' ? code + 1 : code);
        if (lua_pcall(L, 1, 1, 0) == LUA_OK && lua_type(L, -1) == LUA_TSTRING) {
            fflush(stdout);
            fprintf(stderr, "note: %s\n", lua_tostring(L, -1));
            fflush(stderr);
        }
    }
    lua_settop(L, top);
}

int repl_eval(repl_session *s, const char *code, const char *chunkname)
{
    lua_State *L = s->L;
    int top = lua_gettop(L), expr;
    int quiet = ends_with_semicolon(code);
    if (load_chunk(L, code, chunkname, &expr) != LUA_OK) {
        repl_explain_syntax_error(L, code[0] == '=' ? code + 1 : code, NULL);
        repl_report_error(s);
        s->failed = 1;
        return 1;
    }
    double t0 = repl_now_ms();
    const char *prev_chunk = repl_current_chunk;
    repl_current_chunk = code[0] == '=' ? code + 1 : code;
    int status = repl_call(s, 0, LUA_MULTRET);
    repl_current_chunk = prev_chunk;
    double ms = repl_now_ms() - t0;
    if (status == LUA_OK) {
        int one_nil = expr && lua_gettop(L) == top + 1 && lua_isnil(L, -1);
        if (!quiet) repl_show_values(L, top + 1, lua_gettop(L) - top);
        if (!quiet && one_nil) nil_note(L, code);
        lua_settop(L, top);
        log_chunk(s, code, expr, quiet);
    }
    if (s->time) {
        fprintf(stdout, "(%.1f ms)\n", ms);
        fflush(stdout);
    }
    return status != LUA_OK;
}

// ---- reading lines ----------------------------------------------------------

static char *tty_line;
static int tty_done;
static volatile sig_atomic_t resized;

static void on_line(char *line)
{
    tty_line = line;
    tty_done = 1;
    rl_callback_handler_remove();
}

static void on_winch(int sig) { resized = 1; }

// readline through its callback interface: select() returns EINTR on Ctrl-C,
// and the line is dropped cleanly (*cancelled = 1) instead of waiting for a key.
static char *read_tty(const char *prompt, int *cancelled)
{
    struct sigaction sa, old;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_winch;
    sigaction(SIGWINCH, &sa, &old);   // only here: the dashboard wants its own
    tty_done = 0;
    tty_line = NULL;
    rl_callback_handler_install(prompt, on_line);
    int fd = fileno(rl_instream ? rl_instream : stdin);
    // Ctrl-C is looked at before every wait, with SIGINT blocked from the look until
    // pselect waits: one that comes while readline handles a key is not left pending
    // until the next key (typed text used to run on: "half typed=x * 10")
    sigset_t block, orig;
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGWINCH);
    sigprocmask(SIG_BLOCK, &block, &orig);
    while (!tty_done) {
        if (resized) { resized = 0; rl_resize_terminal(); }
        if (repl_interrupt_take()) {
            // the line as typed stays on screen with ^C after it, and is dropped
            // (readline's cleanup leaves the cursor at column 0, where ^C overwrote
            // the prompt: "^Clab> half typed")
            char *typed = strdup(rl_line_buffer ? rl_line_buffer : "");
            rl_free_line_state();
            rl_callback_sigcleanup();
            rl_replace_line("", 0);
            rl_callback_handler_remove();
            printf("\r\033[K%s%s^C\n", prompt, typed ? typed : "");
            free(typed);
            fflush(stdout);
            *cancelled = 1;
            break;
        }
        fd_set fds;
        FD_ZERO(&fds);
        FD_SET(fd, &fds);
        if (pselect(fd + 1, &fds, NULL, NULL, NULL, &orig) >= 0) {
            sigprocmask(SIG_SETMASK, &orig, NULL);
            rl_callback_read_char();
            sigprocmask(SIG_BLOCK, &block, NULL);
            continue;
        }
        if (errno != EINTR) { rl_callback_handler_remove(); break; }
    }
    sigprocmask(SIG_SETMASK, &orig, NULL);
    sigaction(SIGWINCH, &old, NULL);
    return tty_line;
}

static char *read_pipe(void)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t n = getline(&line, &cap, stdin);
    if (n < 0) { free(line); return NULL; }
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r')) line[--n] = 0;
    return line;
}

// ---- the loop ----------------------------------------------------------------

static char *append_line(char *buf, const char *line)
{
    size_t a = strlen(buf), b = strlen(line);
    char *p = realloc(buf, a + b + 2);
    if (!p) return buf;
    p[a] = '\n';
    memcpy(p + a + 1, line, b + 1);
    return p;
}

// A multi-line chunk goes into history as one line (Up brings back the whole
// loop, and the file keeps one entry per line) unless a newline matters:
// a comment or a long string.
static void history_add_chunk(char *chunk)
{
    if (!strchr(chunk, '\n') || strstr(chunk, "--") || strstr(chunk, "[[") || strstr(chunk, "[=")) {
        repl_history_add(chunk);
        return;
    }
    char *one = strdup(chunk);
    if (!one) return;
    for (char *p = one; *p; p++)
        if (*p == '\n') *p = ' ';
    repl_history_add(one);
    free(one);
}

// A line at the primary prompt that is not Lua: ":command", "?name", blank.
static int handle_special(repl_session *s, const char *line)
{
    while (isspace((unsigned char)*line)) line++;
    if (*line == 0) return 1;
    if (*line == ':') {
        if (s->interactive) repl_history_add(line);
        repl_command(s, line);
        return 1;
    }
    if (*line == '?') {
        if (s->interactive) repl_history_add(line);
        char name[256];
        const char *p = line + 1;
        while (isspace((unsigned char)*p)) p++;
        snprintf(name, sizeof name, "%s", p);
        for (size_t n = strlen(name); n > 0 && isspace((unsigned char)name[n - 1]); n--) name[n - 1] = 0;
        repl_help_name(s->L, name);
        return 1;
    }
    return 0;
}

static int is_blank(const char *line)
{
    while (isspace((unsigned char)*line)) line++;
    return *line == 0;
}

// Whether an incomplete chunk is open only because of a long string or comment, where
// empty lines are content.
static int in_long_bracket(lua_State *L, const char *code)
{
    int top = lua_gettop(L);
    int in = luaL_loadbuffer(L, code, strlen(code), "=stdin") == LUA_ERRSYNTAX &&
             (strstr(lua_tostring(L, -1), "unfinished long") != NULL);
    lua_settop(L, top);
    return in;
}

int repl_loop(repl_session *s)
{
    char *chunk = NULL;
    int blanks = 0;   // empty lines in a row inside an unfinished chunk
    while (!s->quit) {
        int cancelled = 0;
        if (s->interactive) repl_suspend_dash(s->L);   // a dashboard left open keeps its data
        char *line = s->interactive ? read_tty(chunk ? PROMPT_MORE : PROMPT, &cancelled)
                                    : read_pipe();
        if (cancelled) { free(chunk); chunk = NULL; blanks = 0; continue; }
        if (!line) break;
        if (!chunk) {
            if (handle_special(s, line)) { free(line); continue; }
            chunk = line;
            blanks = 0;
        } else {
            blanks = is_blank(line) ? blanks + 1 : 0;
            chunk = append_line(chunk, line);
            free(line);
        }
        // at a terminal a second empty line ends an unfinished chunk with its error
        // (`x:sum` then Enter, Enter), except inside a long string or comment
        if (is_incomplete(s->L, chunk) && !(s->interactive && blanks >= 2 && !in_long_bracket(s->L, chunk)))
            continue;
        if (s->interactive) history_add_chunk(chunk);
        repl_eval(s, chunk, "=stdin");
        free(chunk);
        chunk = NULL;
    }
    if (chunk) {   // input ended inside a chunk: say why it did not run
        repl_eval(s, chunk, "=stdin");
        free(chunk);
    }
    if (s->interactive && !s->quit) fputc('\n', stdout);
    return s->interactive ? 0 : s->failed;
}
