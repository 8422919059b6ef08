// lua_run.c - a run's life: its start (a clean state and a folder under runs/), its end
// (the status in meta.json), the script's name and arguments, and the dash._run/_end/
// _hint/run_dir bindings that train{}, the hooks and the --dash runner call.
#include "dash.h"
#include "../repl.h"

#include <cjson/cJSON.h>

#include <math.h>
#include <stdio.h>
#include <string.h>

// the one live dashboard and its state (lua_dash.c)
#define LV (repl_dash_live())
#define ST (repl_dash_cur())

void repl_dash_run_stop(const char *status)
{
    if (!LV->run_active) return;
    repl_dash_flush_first();
    LV->run_active = 0;
    repl_dash_run_end(ST, status);
    repl_dash_poll_output();
    repl_dash_runlog_close(LV->run, ST, ST->status);
    LV->run = NULL;
}

// A new run: a clean state and (unless runs are off) a folder for it.
void repl_dash_run_start(const char *name)
{
    repl_dash_run_stop("finished");
    char base[64], why[200] = "";
    snprintf(base, sizeof base, "%s", name && *name ? name : LV->name_hint[0] ? LV->name_hint : "repl");
    LV->nruns++;
    if (LV->nruns > 1 && !(name && *name)) {
        size_t k = strlen(base);
        if (k > 50) k = 50;
        snprintf(base + k, sizeof base - k, "-%d", LV->nruns);
    }
    repl_dash_run_begin(ST, base);
    repl_dash_watch_reset();
    LV->run = repl_dash_runlog_open(base, why, sizeof why);
    if (!LV->run && why[0] && !LV->run_note[0]) {
        snprintf(LV->run_note, sizeof LV->run_note, "%s", why);
        fprintf(stderr, "dash: %s (the run is not kept)\n", why);
    }
    LV->run_active = 1;
    LV->quit_calls = 0;
    LV->printed_step = NAN;
    if (LV->run && LV->script) repl_dash_runlog_set(LV->run, "script", cJSON_Duplicate(LV->script, 1));
    if (LV->run && LV->args) repl_dash_runlog_set(LV->run, "args", cJSON_Duplicate(LV->args, 1));
}

void repl_dash_script(const char *path, int argc, char **argv)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    size_t n = strcspn(base, ".");
    snprintf(LV->name_hint, sizeof LV->name_hint, "%.*s", (int)(n < 60 ? n : 60), base);
    cJSON_Delete(LV->script);
    cJSON_Delete(LV->args);
    LV->script = cJSON_CreateString(path);
    LV->args = cJSON_CreateArray();
    for (int i = 0; LV->args && i < argc; i++) cJSON_AddItemToArray(LV->args, cJSON_CreateString(argv[i]));
}

// A Lua value as JSON: nil, booleans, numbers, strings; a table with a sequence part is
// an array, any other an object of its string keys. NULL for what JSON cannot hold.
static cJSON *to_json(lua_State *L, int idx, int depth)
{
    idx = lua_absindex(L, idx);
    switch (lua_type(L, idx)) {
    case LUA_TNIL: return cJSON_CreateNull();
    case LUA_TBOOLEAN: return cJSON_CreateBool(lua_toboolean(L, idx));
    case LUA_TNUMBER: return isfinite(lua_tonumber(L, idx)) ? cJSON_CreateNumber(lua_tonumber(L, idx)) : cJSON_CreateNull();
    case LUA_TSTRING: return cJSON_CreateString(lua_tostring(L, idx));
    case LUA_TTABLE: break;
    default: return NULL;
    }
    if (depth > 8) return NULL;
    lua_Integer n = (lua_Integer)lua_rawlen(L, idx);
    cJSON *out = n > 0 ? cJSON_CreateArray() : cJSON_CreateObject();
    if (!out) return NULL;
    if (n > 0) {
        for (lua_Integer i = 1; i <= n; i++) {
            lua_rawgeti(L, idx, i);
            cJSON *v = to_json(L, -1, depth + 1);
            lua_pop(L, 1);
            if (v) cJSON_AddItemToArray(out, v);
        }
        return out;
    }
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        cJSON *v = lua_type(L, -2) == LUA_TSTRING ? to_json(L, -1, depth + 1) : NULL;
        if (v) cJSON_AddItemToObject(out, lua_tostring(L, -2), v);
        lua_pop(L, 1);
    }
    return out;
}

// dash._run(name | nil, {key = value, ...}): a new run begins (train{} and the hooks);
// the values go into its meta.json.
int repl_dash_l_run_begin(lua_State *L)
{
    repl_dash_init();
    const char *name = luaL_optstring(L, 1, NULL);
    // the hooks' run for a loop that train{} (or the script) has just begun: the same run
    if (name || !LV->run_active || ST->nlogs > 0) repl_dash_run_start(name);
    if (lua_istable(L, 2)) {
        lua_pushnil(L);
        while (lua_next(L, 2)) {
            cJSON *v = LV->run && lua_type(L, -2) == LUA_TSTRING ? to_json(L, -1, 0) : NULL;
            if (v) repl_dash_runlog_set(LV->run, lua_tostring(L, -2), v);
            lua_pop(L, 1);
        }
    }
    return 0;
}

// dash._end(status [, wait]): the run is over (finished | stopped | failed); with wait,
// on a terminal the dashboard stays up until q
int repl_dash_l_run_end(lua_State *L)
{
    repl_dash_init();
    const char *st = luaL_optstring(L, 1, "finished");
    if (!strcmp(st, "finished") && ST->quit) st = "stopped";
    repl_dash_run_stop(st);
    if (lua_toboolean(L, 2)) repl_dash_wait_for_q();
    return 0;
}

// dash._hint(name): the name new runs get (the script's, or the lesson's)
int repl_dash_l_hint(lua_State *L)
{
    snprintf(LV->name_hint, sizeof LV->name_hint, "%s", luaL_checkstring(L, 1));
    return 0;
}

int repl_dash_l_run_dir(lua_State *L)
{
    const char *d = repl_dash_runlog_dir(LV->run);
    if (d) lua_pushstring(L, d);
    else lua_pushnil(L);
    return 1;
}

