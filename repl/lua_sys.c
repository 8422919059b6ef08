// lua_sys.c - the `sys` table: a wall clock and memory figures for benchmarks,
// lessons and the dashboard's status line.
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "session.h"

// seconds on a monotonic clock (os.clock is CPU time, wrong once BLAS threads run)
static int sys_clock(lua_State *L) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    lua_pushnumber(L, (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9);
    return 1;
}

// a field of /proc/self/status in kB (VmRSS, VmHWM), or nil
static int status_kb(lua_State *L, const char *field) {
    FILE *f = fopen("/proc/self/status", "r");
    if (!f) { lua_pushnil(L); return 1; }
    char line[256];
    size_t n = strlen(field);
    long kb = -1;
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, field, n) && line[n] == ':') { sscanf(line + n + 1, "%ld", &kb); break; }
    fclose(f);
    if (kb < 0) lua_pushnil(L);
    else lua_pushinteger(L, kb);
    return 1;
}

static int sys_rss_kb(lua_State *L) { return status_kb(L, "VmRSS"); }
static int sys_peak_rss_kb(lua_State *L) { return status_kb(L, "VmHWM"); }

static int sys_sleep(lua_State *L) {
    double s = luaL_checknumber(L, 1);
    if (!(s > 0)) return 0;
    if (s > 86400) s = 86400;   // a day at most: larger values would overflow time_t's conversion
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    nanosleep(&ts, NULL);
    return 0;
}

static int sys_isatty(lua_State *L) {
    lua_pushboolean(L, isatty((int)luaL_optinteger(L, 1, 1)));
    return 1;
}

// sys.shapes(true|false): the REPL's :shapes on|off, for scripts and lessons
static int sys_shapes(lua_State *L) {
    repl_shapes(L, lua_toboolean(L, 1));
    return 0;
}

int repl_open_sys(lua_State *L) {
    static const luaL_Reg fns[] = {
        {"clock", sys_clock}, {"rss_kb", sys_rss_kb}, {"peak_rss_kb", sys_peak_rss_kb},
        {"sleep", sys_sleep}, {"isatty", sys_isatty}, {"shapes", sys_shapes}, {NULL, NULL},
    };
    luaL_newlib(L, fns);
    lua_setglobal(L, "sys");
    return 0;
}
