// run.c - protected calls for the REPL, scripts and -e, and how errors read.
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "session.h"

static repl_session *cur;   // the session whose call is running (for the handler)

double repl_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

// Where the first Lua frame is ("net.lua:12"), so an error raised inside a C
// function called from a script still says which line of the file it was.
static int script_where(lua_State *L, luaL_Buffer *b)
{
    lua_Debug ar;
    for (int level = 1; lua_getstack(L, level, &ar); level++) {
        lua_getinfo(L, "Sl", &ar);
        // nnlab's own Lua (nn, optim, data) is library code: name the learner's line instead
        if (ar.currentline > 0 && !repl_is_embedded_source(ar.source)) {
            if (ar.source[0] != '@') return 0;   // typed code: the line is obvious
            luaL_addstring(b, "\n  at ");
            luaL_addstring(b, ar.short_src);
            lua_pushfstring(L, ":%d", ar.currentline);
            luaL_addvalue(b);
            return 1;
        }
    }
    return 0;
}

static int has_position(const char *msg)
{
    const char *c = strstr(msg, ":");
    if (!c || !isdigit((unsigned char)c[1])) return 0;
    for (c++; isdigit((unsigned char)*c); c++) {}
    return c[0] == ':' && c[1] == ' ';
}

// "nn/lua/layers.lua:63: msg" -> "msg": a position inside nnlab's own Lua says nothing
// to the learner; script_where then names their line instead.
static const char *strip_internal(const char *msg)
{
    if (!repl_is_embedded_source(msg)) return msg;
    const char *c = strchr(msg, ':');
    if (!c || !isdigit((unsigned char)c[1])) return msg;
    for (c++; isdigit((unsigned char)*c); c++) {}
    return (c[0] == ':' && c[1] == ' ') ? c + 2 : msg;
}

// ---- syntax errors that are habits from other languages ---------------------------------
// The operand written just before (dir < 0) or after (dir > 0) position at in line: a name
// with dots, or a parenthesised/bracketed group, copied into out ("" when none).
static void operand(const char *line, size_t len, size_t at, int dir, char *out, size_t cap)
{
    size_t b, e;
    if (dir < 0) {
        e = at;
        while (e > 0 && line[e - 1] == ' ') e--;
        b = e;
        int depth = 0;
        while (b > 0) {
            char c = line[b - 1];
            if (c == ')' || c == ']') depth++;
            else if ((c == '(' || c == '[') && depth > 0) depth--;
            else if (depth == 0 && !(isalnum((unsigned char)c) || c == '_' || c == '.' || c == ':')) break;
            b--;
        }
    } else {
        b = at + 1;
        while (b < len && line[b] == ' ') b++;
        e = b;
        int depth = 0;
        while (e < len) {
            char c = line[e];
            if (c == '(' || c == '[') depth++;
            else if ((c == ')' || c == ']') && depth > 0) depth--;
            else if (depth == 0 && !(isalnum((unsigned char)c) || c == '_' || c == '.' || c == ':')) break;
            e++;
        }
    }
    size_t n = e > b ? e - b : 0;
    if (n >= cap) n = 0;
    memcpy(out, line + b, n);
    out[n] = 0;
}

// The code of line n (1-based) of text, as a pointer and length.
static const char *nth_line(const char *text, int n, size_t *len)
{
    for (int i = 1; text && i < n; i++) {
        text = strchr(text, '\n');
        if (text) text++;
    }
    if (!text) return NULL;
    *len = strcspn(text, "\n");
    return text;
}

// Python's spellings that Lua writes differently: x += 1, !=, **, import, def.
static int python_habit(const char *line, size_t len, char *out, size_t cap, int keep, const char *msg)
{
    char text[512];
    snprintf(text, sizeof text, "%.*s", (int)(len < sizeof text - 1 ? len : sizeof text - 1), line);
    const char *t = text;
    while (*t == ' ' || *t == '\t') t++;
    static const char *ops[] = {"+=", "-=", "*=", "/=", NULL};
    for (int i = 0; ops[i]; i++) {
        const char *at = strstr(t, ops[i]);
        char near[16];
        snprintf(near, sizeof near, "near '%c'", ops[i][0]);
        if (!at || !strstr(msg, near)) continue;
        char name[128];
        operand(text, strlen(text), (size_t)(at - text), -1, name, sizeof name);
        if (!*name) snprintf(name, sizeof name, "x");
        snprintf(out, cap, "%.*ssyntax error: Lua has no %s: write %s = %s %c ...", keep, msg, ops[i], name, name,
                 ops[i][0]);
        return 1;
    }
    if (strstr(t, "!=") && strstr(msg, "near '!'")) {
        snprintf(out, cap, "%.*ssyntax error: Lua writes 'not equal' as ~=, not !=", keep, msg);
        return 1;
    }
    if (strstr(t, "**") && strstr(msg, "near '*'")) {
        snprintf(out, cap, "%.*ssyntax error: Lua's power operator is ^ (x^2), not **", keep, msg);
        return 1;
    }
    if (strncmp(t, "import ", 7) == 0 || strncmp(t, "from ", 5) == 0) {
        snprintf(out, cap, "%.*ssyntax error: nothing to import: tensor, nn, optim and data are already there "
                 "(require(\"name\") loads a Lua module)", keep, msg);
        return 1;
    }
    if (strncmp(t, "def ", 4) == 0) {
        snprintf(out, cap, "%.*ssyntax error: Lua defines functions with function NAME(args) ... end, not def",
                 keep, msg);
        return 1;
    }
    return 0;
}

// Rewrites the syntax error on top of the stack when it comes from another language's
// habit: `a @ b` (PyTorch's matmul) or `x:sum` without parentheses. code: the chunk, or
// NULL for the file path (its text is read).
void repl_explain_syntax_error(lua_State *L, const char *code, const char *path)
{
    const char *msg = lua_tostring(L, -1);
    if (!msg) return;
    int lineno = 1;
    const char *p = strstr(msg, ":");
    if (p && isdigit((unsigned char)p[1])) lineno = atoi(p + 1);
    char *file = NULL;
    if (!code && path) {
        FILE *f = fopen(path, "rb");
        if (f) {
            fseek(f, 0, SEEK_END);
            long n = ftell(f);
            fseek(f, 0, SEEK_SET);
            file = n >= 0 && n < (8 << 20) ? malloc((size_t)n + 1) : NULL;
            if (file) file[fread(file, 1, (size_t)n, f)] = 0;
            fclose(f);
        }
        code = file;
    }
    size_t len = 0;
    const char *line = code ? nth_line(code, lineno, &len) : NULL;
    // at <eof> after empty lines: the last line with something on it
    while (line && lineno > 1 && strspn(line, " \t\r") >= len) line = nth_line(code, --lineno, &len);
    const char *pos_end = strstr(msg, ": ");
    int keep = pos_end && has_position(msg) ? (int)(pos_end - msg) + 2 : 0;
    char out[1024];
    if (strstr(msg, "near '@'")) {
        char a[128] = "", b[128] = "";
        const char *at = line ? memchr(line, '@', len) : NULL;
        if (at) {
            operand(line, len, (size_t)(at - line), -1, a, sizeof a);
            operand(line, len, (size_t)(at - line), 1, b, sizeof b);
        }
        if (*a && *b)
            snprintf(out, sizeof out, "%.*ssyntax error: Lua has no @ operator: write %s:matmul(%s) for %s @ %s "
                     "(or tensor.matmul(%s, %s))", keep, msg, a, b, a, b, a, b);
        else
            snprintf(out, sizeof out, "%.*ssyntax error: Lua has no @ operator: write a:matmul(b) for a @ b "
                     "(or tensor.matmul(a, b))", keep, msg);
        lua_pushstring(L, out);
        lua_replace(L, -2);
    } else if (line && python_habit(line, len, out, sizeof out, keep, msg)) {
        lua_pushstring(L, out);
        lua_replace(L, -2);
    } else if (strstr(msg, "function arguments expected") && line) {
        // `x:sum` then Enter: a method named but not called
        size_t n = len;
        while (n > 0 && isspace((unsigned char)line[n - 1])) n--;
        size_t b = n;
        while (b > 0 && (isalnum((unsigned char)line[b - 1]) || line[b - 1] == '_' || line[b - 1] == '.' ||
                         line[b - 1] == ':'))
            b--;
        const char *colon = memchr(line + b, ':', n - b);
        if (colon && colon + 1 < line + n)
            snprintf(out, sizeof out, "%.*s%.*s is a method: call it with parentheses, %.*s()", keep, msg,
                     (int)(n - b), line + b, (int)(n - b), line + b);
        else
            snprintf(out, sizeof out, "%s (a method is called with parentheses: x:name(...))", msg);
        lua_pushstring(L, out);
        lua_replace(L, -2);
    }
    free(file);
}

int repl_is_dash_stop(lua_State *L, int idx)
{
    if (lua_type(L, idx) != LUA_TTABLE) return 0;
    int is = lua_getfield(L, idx, "dash_stop") == LUA_TBOOLEAN && lua_toboolean(L, -1);
    lua_pop(L, 1);
    return is;
}

const char *repl_current_chunk;   // the chunk repl_eval runs: hints read the learner's line

// hints.explain(msg, chunk) (repl/lua/hints.lua): a raw Lua error ("attempt to call a nil
// value (field 'randm')", a.sum(2)) rewritten as what to type instead; msg when it has none.
// Runs while the stack is as the error left it, and never raises itself.
static const char *explain(lua_State *L, const char *msg)
{
    int top = lua_gettop(L);
    if (!lua_checkstack(L, 8)) return msg;
    luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
    if (lua_getfield(L, -1, "hints") != LUA_TTABLE || lua_getfield(L, -1, "explain") != LUA_TFUNCTION) {
        lua_settop(L, top);
        return msg;
    }
    lua_pushstring(L, msg);
    if (repl_current_chunk) lua_pushstring(L, repl_current_chunk);
    else lua_pushnil(L);
    if (lua_pcall(L, 2, 1, 0) == LUA_OK && lua_type(L, -1) == LUA_TSTRING) {
        lua_replace(L, top + 1);           // stays on the stack: the handler's result is built from it
        lua_settop(L, top + 1);
        return lua_tostring(L, -1);
    }
    lua_settop(L, top);
    return msg;
}

static int message_handler(lua_State *L)
{
    if (repl_is_dash_stop(L, 1)) return 1;      // stays itself: the caller tells it apart
    const char *msg = lua_tostring(L, 1);
    if (!msg) {
        if (luaL_callmeta(L, 1, "__tostring") && lua_type(L, -1) == LUA_TSTRING)
            msg = lua_tostring(L, -1);
        else
            msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
    }
    if (cur && cur->trace) {
        luaL_traceback(L, L, msg, 1);
        return 1;
    }
    msg = explain(L, msg);
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    msg = strip_internal(msg);
    luaL_addstring(&b, msg);
    if (!has_position(msg)) script_where(L, &b);
    luaL_pushresult(&b);
    return 1;
}

// Typed chunks are named "=stdin" / "=(command line)"; their "stdin:1: "
// prefix says nothing to the learner, so it goes unless :trace is on.
static const char *strip_position(const char *msg)
{
    static const char *names[] = {"stdin:", "(command line):", NULL};
    for (int i = 0; names[i]; i++) {
        size_t n = strlen(names[i]);
        if (strncmp(msg, names[i], n) != 0) continue;
        const char *p = msg + n;
        if (!isdigit((unsigned char)*p)) continue;
        while (isdigit((unsigned char)*p)) p++;
        if (p[0] == ':' && p[1] == ' ') return p + 2;
    }
    return msg;
}

// Calls dash.NAME() when the dashboard is open; errors are ignored.
static void dash_call_if_open(lua_State *L, const char *name, int without_is_open)
{
    int top = lua_gettop(L);
    if (lua_getglobal(L, "dash") == LUA_TTABLE) {
        int open = without_is_open;
        if (lua_getfield(L, top + 1, "is_open") == LUA_TFUNCTION)
            open = lua_pcall(L, 0, 1, 0) == LUA_OK && lua_toboolean(L, -1);
        if (open && lua_getfield(L, top + 1, name) == LUA_TFUNCTION)
            lua_pcall(L, 0, 0, 0);
    }
    lua_settop(L, top);
}

// without is_open, close() is called as is: better closed twice than left open
void repl_close_dash(lua_State *L)
{
    // the terminal must come back now: nobody is left to press q
    int top = lua_gettop(L);
    if (lua_getglobal(L, "dash") == LUA_TTABLE && lua_getfield(L, -1, "close") == LUA_TFUNCTION) {
        lua_createtable(L, 0, 1);
        lua_pushboolean(L, 0);
        lua_setfield(L, -2, "wait");
        lua_pcall(L, 1, 0, 0);
    }
    lua_settop(L, top);
}

void repl_suspend_dash(lua_State *L) { dash_call_if_open(L, "suspend", 0); }

void repl_report_error(repl_session *s)
{
    lua_State *L = s->L;
    if (repl_is_dash_stop(L, -1)) {
        fflush(stdout);
        fputs("nnlab: training stopped from the dashboard (q, y)\n", stderr);
        fflush(stderr);
        lua_pop(L, 1);
        return;
    }
    const char *msg = lua_tostring(L, -1);
    if (!msg) msg = "(error object is not a string)";
    if (!s->trace) msg = strip_position(msg);
    if (s->keep_dash && repl_dash_is_watching()) {
        // --dash: the error shows in the dashboard's log now and goes to stderr
        // after the dashboard closes (repl_flush_error), after what was printed
        repl_dash_note_error(msg);
        free(s->pending_error);
        s->pending_error = strdup(msg);
        lua_pop(L, 1);
        return;
    }
    fflush(stdout);
    if (s->interactive && strcmp(msg, "interrupted") == 0)
        fputc('\n', stderr);   // after the terminal's ^C
    fprintf(stderr, "error: %s\n", msg);
    fflush(stderr);
    lua_pop(L, 1);
}

void repl_flush_error(repl_session *s)
{
    if (!s->pending_error) return;
    fflush(stdout);
    fprintf(stderr, "error: %s\n", s->pending_error);
    fflush(stderr);
    free(s->pending_error);
    s->pending_error = NULL;
}

int repl_call(repl_session *s, int nargs, int nresults)
{
    lua_State *L = s->L;
    int base = lua_gettop(L) - nargs;        // the function's index
    lua_pushcfunction(L, message_handler);
    lua_insert(L, base);
    repl_session *prev = cur;
    cur = s;
    repl_interrupt_arm(L);
    int status = lua_pcall(L, nargs, nresults, base);
    int interrupted = repl_interrupt_disarm();
    cur = prev;
    lua_remove(L, base);
    s->stopped = 0;
    if (status != LUA_OK) {
        int stop = repl_is_dash_stop(L, -1);
        // the message must land on the normal screen; with --dash it goes to the log
        // first (the run stays up), except after Ctrl-C: the user wants out now
        if (!s->keep_dash || interrupted) repl_close_dash(L);
        repl_report_error(s);
        s->stopped = stop;
        if (!stop) s->failed = 1;
        if (interrupted && !s->interactive) s->quit = 1;   // Ctrl-C ends piped input
    }
    return status;
}
