// lua_index.c - Torch7 indexing: x[{ {}, 2 }], x[{ {2,4}, {} }], x[{ {1,-1,2} }], x[mask],
// their assignments, x:masked_fill / masked_fill_ / masked_select and x:index_fill / index_fill_.
//
// An index table has one entry per leading dim (the rest are taken whole):
//   i          index i (1-based, negative from the end); drops the dim, like select
//   {}         the whole dim
//   {a}        a..a, keeping the dim;  {a, b} a..b inclusive;  {a, b, step} every step-th
// The result is a view (select, narrow, slice): writes through it reach x, and autograd
// flows back through it. A mask is a float tensor of 0/1 (nnlab has only float32;
// comparisons return 0/1): x[mask] copies the picked values out (backward scatters them
// back into place). Every Lua value is checked here, before the library runs, so the
// library's own checks only meet what this file already vetted.
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include "repl.h"

typedef enum { ENTRY_WHOLE, ENTRY_ONE, ENTRY_RANGE } entry_kind;
typedef struct {
    entry_kind kind;
    int64_t start, length, step;   // 0-based start; ONE uses start only
} index_entry;

static const char HOW[] = "each entry is a number i (index i, drops the dim), {} (the whole dim), {a, b} "
                          "(a..b inclusive) or {a, b, step}";

// ---- reading an index table -------------------------------------------------------------
// The length of the table at idx when its keys are exactly 1..len, else -1: only the list
// part counts, {a=1} or {1, nil, 3} would silently mean something else.
static lua_Integer list_len(lua_State *L, int idx) {
    lua_Integer len = (lua_Integer)lua_rawlen(L, idx), keys = 0;
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        keys++;
        lua_pop(L, 1);
    }
    return keys == len ? len : -1;
}

// the range table at idx (entry `entry`, for dim `dim` of size n) into e
static void read_range(lua_State *L, int idx, const char *op, int entry, int dim, int64_t n, index_entry *e) {
    lua_Integer len = list_len(L, idx);
    if (len < 0)
        luaL_error(L, "%s: entry %d is a table with keys other than 1..%I; a range is {a, b} or {a, b, step}", op,
                   entry, (lua_Integer)lua_rawlen(L, idx));
    if (len > 3)
        luaL_error(L, "%s: entry %d has %I numbers; a range is {a, b} (inclusive) or {a, b, step}", op, entry, len);
    if (len == 0) {
        e->kind = ENTRY_WHOLE;
        return;
    }
    int64_t v[3] = {0, 0, 1};
    for (int k = 0; k < (int)len; k++) {
        lua_rawgeti(L, idx, k + 1);
        if (k < 2) v[k] = repl_check_index_entry(L, lua_gettop(L), op, entry, dim, n, k == 0 && len > 1);
        else {
            int isint;
            lua_Integer s = lua_tointegerx(L, -1, &isint);
            if (!isint)
                luaL_error(L, "%s: entry %d: the step must be a whole number, got %s", op, entry,
                           repl_describe(L, -1));
            if (s == 0)
                luaL_error(L, "%s: entry %d: a step of 0 would take the same element forever; use 1 for every "
                           "element, 2 for every second", op, entry);
            if (s < 0)
                luaL_error(L, "%s: entry %d: a negative step (%I) is not supported (PyTorch refuses it too); "
                           "count up, or pick positions with x:index_select(dim, indices)", op, entry, s);
            v[2] = s;
        }
        lua_pop(L, 1);
    }
    if (len == 1) v[1] = v[0];
    if (len < 3) v[2] = 1;
    // {a, b} with b = a - 1 is the empty range; earlier than that runs backwards
    if (v[1] < v[0] - 1) {
        lua_rawgeti(L, idx, 1);
        lua_rawgeti(L, idx, 2);
        luaL_error(L, "%s: entry %d: the range {%s, %s} runs backwards (it is positions %I..%I of dim %d); "
                   "ranges count up: {a, b} with a <= b", op, entry, lua_tostring(L, -2), lua_tostring(L, -1),
                   (lua_Integer)v[0] + 1, (lua_Integer)v[1] + 1, dim + 1);
    }
    if (v[0] == n && v[1] != n - 1)   // n + 1 starts only the empty range {n+1, n}
        luaL_error(L, "%s: entry %d: start %I is past the end of dim %d of size %I; only the empty range "
                   "{%I, %I} may start there", op, entry, (lua_Integer)n + 1, dim + 1, (lua_Integer)n,
                   (lua_Integer)n + 1, (lua_Integer)n);
    e->kind = ENTRY_RANGE;
    e->start = v[0];
    e->step = v[2];
    e->length = v[1] < v[0] ? 0 : (v[1] - v[0]) / v[2] + 1;
}

// The index table at idx into e[]; returns the number of entries. Dims advance with each
// entry but a number, which drops its dim (so the next entry reads the same dim of x).
static int read_index(lua_State *L, int idx, const char *op, tensor *t, index_entry *e) {
    char s[160];
    lua_Integer n = list_len(L, idx);
    if (n < 0)
        luaL_error(L, "%s: the index table has keys other than 1..%I (or a nil inside); %s", op,
                   (lua_Integer)lua_rawlen(L, idx), HOW);
    if (t->ndim == 0)
        luaL_error(L, "%s: a 0-d tensor has no dims to index (use x:item() for its value)", op);
    if (n > t->ndim)
        luaL_error(L, "%s: %I entries for the %d-d tensor %s: at most one per dim (dims not given are taken whole)",
                   op, n, t->ndim, tensor_shape_str(s, sizeof s, t));
    for (int i = 0; i < (int)n; i++) {
        lua_rawgeti(L, idx, i + 1);
        int v = lua_gettop(L);
        int dim = i;           // the dim of x this entry indexes
        int64_t size = t->size[dim];
        if (lua_type(L, v) == LUA_TNUMBER) {
            e[i].kind = ENTRY_ONE;
            e[i].start = repl_check_index_entry(L, v, op, i + 1, dim, size, 0);
        } else if (lua_type(L, v) == LUA_TTABLE) {
            read_range(L, v, op, i + 1, dim, size, &e[i]);
        } else if (repl_test_tensor(L, v)) {
            luaL_error(L, "%s: entry %d is a tensor; a mask goes alone, x[mask], and positions go through "
                       "x:index_select(dim, indices)", op, i + 1);
        } else {
            luaL_error(L, "%s: entry %d is %s; %s", op, i + 1, repl_describe(L, v), HOW);
        }
        lua_pop(L, 1);
    }
    return (int)n;
}

// "[{ {2,3}, 1 }]" from the table at idx (only read after read_index vetted it)
static const char *index_text(lua_State *L, int idx) {
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    luaL_addstring(&b, "[{ ");
    lua_Integer n = (lua_Integer)lua_rawlen(L, idx);
    for (lua_Integer i = 1; i <= n; i++) {
        if (i > 1) luaL_addstring(&b, ", ");
        if (lua_rawgeti(L, idx, i) == LUA_TTABLE) {
            lua_Integer m = (lua_Integer)lua_rawlen(L, -1);
            lua_pop(L, 1);
            luaL_addchar(&b, '{');
            for (lua_Integer k = 1; k <= m; k++) {
                if (k > 1) luaL_addchar(&b, ',');
                lua_rawgeti(L, idx, i);
                lua_rawgeti(L, -1, k);
                lua_remove(L, -2);
                luaL_addvalue(&b);
            }
            luaL_addchar(&b, '}');
        } else {
            luaL_addvalue(&b);
        }
    }
    luaL_addstring(&b, n ? " }]" : "}]");
    luaL_pushresult(&b);
    return lua_tostring(L, -1);
}

// the view of t the entries describe (NULL + library error); no Lua calls
static tensor *apply_index(tensor *t, int n, const index_entry *e) {
    tensor *cur = tensor_retain(t);
    int dim = 0, changed = 0;
    for (int i = 0; i < n && cur; i++) {
        tensor *next;
        if (e[i].kind == ENTRY_WHOLE) { dim++; continue; }
        if (e[i].kind == ENTRY_ONE) next = tensor_select(cur, dim, e[i].start);
        else next = tensor_slice(cur, dim++, e[i].start, e[i].length, e[i].step);
        tensor_release(cur);
        cur = next;
        changed = 1;
    }
    // x[{}] is a new view of all of x, as PyTorch's x[:], not x itself
    if (cur && !changed) cur = repl_release_and(cur, tensor_narrow(cur, 0, 0, cur->size[0]));
    return cur;
}

// the sizes of the view the entries describe; returns its ndim
static int index_sizes(const tensor *t, int n, const index_entry *e, int64_t *sz) {
    int nd = 0;
    for (int d = 0; d < t->ndim; d++) {
        if (d < n && e[d].kind == ENTRY_ONE) continue;
        sz[nd++] = d < n && e[d].kind == ENTRY_RANGE ? e[d].length : t->size[d];
    }
    return nd;
}

// Raises the library's error under the learner's name for the op: "copy: ..." becomes
// "x[{...}] = v: ...".
static int index_error(lua_State *L, const char *op) {
    char words[1024];
    const char *msg = repl_last_error(words, sizeof words), *p = msg;
    while (*p == '_' || islower((unsigned char)*p)) p++;
    if (p > msg && p[0] == ':' && p[1] == ' ') msg = p + 2;
    return luaL_error(L, "%s: %s", op, msg);
}

static const char *value_text(lua_State *L, int idx) {
    tensor *v = repl_test_tensor(L, idx);
    char s[160];
    if (v) return lua_pushfstring(L, "= %s", tensor_shape_str(s, sizeof s, v));
    return lua_pushfstring(L, "= %s", lua_tostring(L, idx));
}

// ---- x[mask] ------------------------------------------------------------------------------
static int mask_get(lua_State *L, tensor *t, tensor *mask) {
    repl_shapes_pause(1);
    tensor *r = tensor_mask_index(t, mask);
    repl_shapes_pause(-1);
    if (!r) return index_error(L, "x[mask]");
    if (repl_shapes_active()) {
        char s[160];
        repl_shapes_line("index", t, lua_pushfstring(L, "[mask %s]", tensor_shape_str(s, sizeof s, mask)), r);
        lua_pop(L, 1);
    }
    return repl_push_tensor(L, r);
}

// x[mask] = v: computed out of place, then copied into x (the in-place rules of x:copy apply)
static int mask_set(lua_State *L, tensor *t, tensor *mask) {
    const char *op = "x[mask] = v";
    tensor *v = repl_test_tensor(L, 3);
    if (!v && lua_type(L, 3) != LUA_TNUMBER)
        luaL_error(L, "%s: v must be a number or a tensor, got %s", op, repl_describe(L, 3));
    if (tensor_grad_enabled() && t->requires_grad && t->grad_fn)
        luaL_error(L, "%s: x is the result of ops that autograd recorded; a mask write into it in place is not "
                   "tracked. Write y = x:masked_fill(mask, v) (out of place) instead, or do it inside "
                   "tensor.no_grad if no gradient should flow", op);
    const char *what = repl_shapes_active() ? value_text(L, 3) : "";
    repl_shapes_pause(1);
    tensor *vt = v ? tensor_retain(v) : tensor_scalar((float)lua_tonumber(L, 3), t->storage->device);
    tensor *r = vt ? tensor_mask_put(t, mask, vt) : NULL;
    int rc = r ? tensor_copy_(t, r) : -1;
    tensor_release(vt);
    tensor_release(r);
    repl_shapes_pause(-1);
    if (rc) return index_error(L, op);
    if (repl_shapes_active()) {
        char s[160];
        repl_shapes_line("index_put", t, lua_pushfstring(L, "[mask %s] %s", tensor_shape_str(s, sizeof s, mask), what), t);
    }
    return 0;
}

// ---- __index / __newindex with a table or a tensor ------------------------------------------
int repl_index_get(lua_State *L) {
    tensor *t = repl_check_tensor(L, 1);
    tensor *mask = repl_test_tensor(L, 2);
    if (mask) return mask_get(L, t, mask);
    const char *op = "x[{...}]";
    index_entry e[TENSOR_MAX_DIMS];
    int n = read_index(L, 2, op, t, e);
    repl_shapes_pause(1);
    tensor *r = apply_index(t, n, e);
    repl_shapes_pause(-1);
    if (!r) return index_error(L, op);
    if (repl_shapes_active()) {
        repl_shapes_line("index", t, index_text(L, 2), r);
        lua_pop(L, 1);
    }
    return repl_push_tensor(L, r);
}

int repl_index_set(lua_State *L) {
    tensor *t = repl_check_tensor(L, 1);
    tensor *mask = repl_test_tensor(L, 2);
    if (mask) return mask_set(L, t, mask);
    const char *op = "x[{...}] = v";
    index_entry e[TENSOR_MAX_DIMS];
    int n = read_index(L, 2, op, t, e);
    tensor *src = repl_test_tensor(L, 3);
    if (!src && lua_type(L, 3) != LUA_TNUMBER)
        luaL_error(L, "%s: v must be a number (fills) or a tensor (copied, broadcasting), got %s", op,
                   repl_describe(L, 3));
    if (src) {   // src must broadcast to the view: say so with both shapes and x's
        int64_t sz[TENSOR_MAX_DIMS];
        int nd = index_sizes(t, n, e, sz), ok = src->ndim <= nd;
        for (int i = 1; ok && i <= src->ndim; i++) ok = src->size[src->ndim - i] == 1 || src->size[src->ndim - i] == sz[nd - i];
        if (!ok) {
            char s1[160], s2[160], s3[160];
            luaL_error(L, "%s: v has shape %s but x%s is %s (x is %s); v must have that shape or broadcast to it", op,
                       tensor_shape_str(s1, sizeof s1, src), index_text(L, 2), tensor_sizes_str(s2, sizeof s2, nd, sz),
                       tensor_shape_str(s3, sizeof s3, t));
        }
    }
    const char *what = repl_shapes_active() ? lua_pushfstring(L, "%s %s", index_text(L, 2), value_text(L, 3)) : "";
    repl_shapes_pause(1);
    tensor *view = apply_index(t, n, e);
    int rc = !view ? -1 : src ? tensor_copy_(view, src) : tensor_fill_(view, (float)lua_tonumber(L, 3));
    tensor_release(view);
    repl_shapes_pause(-1);
    if (rc) return index_error(L, op);
    repl_shapes_line("index_put", t, what, t);
    return 0;
}

// ---- methods -------------------------------------------------------------------------------
static int m_masked_fill(lua_State *L) {
    int in_place = (int)lua_tointeger(L, lua_upvalueindex(1));
    const char *op = in_place ? "x:masked_fill_" : "x:masked_fill";
    tensor *t = repl_check_tensor(L, 1);
    tensor *mask = repl_test_tensor(L, 2);
    if (!mask) luaL_error(L, "%s(mask, v): mask must be a tensor of 0/1 (e.g. x:lt(0)), got %s", op, repl_describe(L, 2));
    float v = repl_check_float(L, 3, op, "v (the fill value)");
    repl_shapes_pause(1);
    tensor *r = tensor_masked_fill(t, mask, v);
    int rc = r ? 0 : -1;
    if (r && in_place) {
        rc = tensor_copy_(t, r);
        tensor_release(r);
        r = NULL;
    }
    repl_shapes_pause(-1);
    if (rc) return index_error(L, op);
    repl_shapes_line(in_place ? "masked_fill_" : "masked_fill", t,
                     lua_pushfstring(L, "x %s", tensor_shape_str((char[160]){0}, 160, mask)), in_place ? t : r);
    if (in_place) {
        lua_settop(L, 1);
        return 1;
    }
    return repl_push_tensor(L, r);
}

static int m_masked_select(lua_State *L) {
    tensor *t = repl_check_tensor(L, 1);
    tensor *mask = repl_test_tensor(L, 2);
    if (!mask) luaL_error(L, "x:masked_select(mask): mask must be a tensor of 0/1 (e.g. x:gt(0)), got %s", repl_describe(L, 2));
    repl_shapes_pause(1);
    tensor *r = tensor_masked_select(t, mask);
    repl_shapes_pause(-1);
    if (!r) return index_error(L, "x:masked_select");
    repl_shapes_line("masked_select", t, lua_pushfstring(L, "x %s", tensor_shape_str((char[160]){0}, 160, mask)), r);
    return repl_push_tensor(L, r);
}

// x:index_fill(dim, indices, v): masked_fill with a mask that is 1 at the indices of dim
// (1-based, negative from the end; a tensor as for index_select, or a Lua list)
static int m_index_fill(lua_State *L) {
    int in_place = (int)lua_tointeger(L, lua_upvalueindex(1));
    const char *op = in_place ? "x:index_fill_" : "x:index_fill";
    tensor *t = repl_check_tensor(L, 1);
    if (t->ndim == 0) luaL_error(L, "%s: a 0-d tensor has no dims (use x:fill(v))", op);
    int dim = repl_check_dim(L, 2, op, t->ndim, 0);
    float v = repl_check_float(L, 4, op, "v (the fill value)");
    int64_t n = t->size[dim];
    tensor *it = repl_test_tensor(L, 3);
    lua_Integer count = 0;
    if (it) {
        if (it->ndim > 1) luaL_error(L, "%s: the indices must be 1-d (or a Lua list), got a tensor of %d dims", op, it->ndim);
        float *host = tensor_to_host(it);
        if (!host) return index_error(L, op);
        count = (lua_Integer)tensor_numel(it);
        lua_createtable(L, (int)count, 0);     // into Lua first: the checks below may raise
        for (lua_Integer k = 0; k < count; k++) {
            lua_pushnumber(L, host[k]);
            lua_rawseti(L, -2, k + 1);
        }
        free(host);
        lua_replace(L, 3);
    } else if (lua_istable(L, 3)) {
        count = (lua_Integer)lua_rawlen(L, 3);
    } else {
        luaL_error(L, "%s(dim, indices, v): indices must be a tensor or a list of 1-based indices, got %s", op,
                   repl_describe(L, 3));
    }
    float *m = lua_newuserdatauv(L, sizeof(float) * (size_t)(n ? n : 1), 0);
    memset(m, 0, sizeof(float) * (size_t)n);
    for (lua_Integer k = 1; k <= count; k++) {
        lua_rawgeti(L, 3, k);
        m[repl_check_index_entry(L, lua_gettop(L), op, (int)k, dim, n, 0)] = 1.0f;
        lua_pop(L, 1);
    }
    int64_t sz[TENSOR_MAX_DIMS];
    for (int d = 0; d < t->ndim; d++) sz[d] = d == dim ? n : 1;
    repl_shapes_pause(1);
    tensor *mask = tensor_from_data(t->ndim, sz, m, t->storage->device);
    tensor *r = mask ? tensor_masked_fill(t, mask, v) : NULL;
    int rc = r ? 0 : -1;
    if (r && in_place) {
        rc = tensor_copy_(t, r);
        tensor_release(r);
        r = NULL;
    }
    tensor_release(mask);
    repl_shapes_pause(-1);
    if (rc) return index_error(L, op);
    repl_shapes_line(in_place ? "index_fill_" : "index_fill", t, lua_pushfstring(L, "dim %d, %I indices", dim + 1, count),
                     in_place ? t : r);
    if (in_place) {
        lua_settop(L, 1);
        return 1;
    }
    return repl_push_tensor(L, r);
}

void repl_index_methods(lua_State *L) {
    lua_pushinteger(L, 0);
    lua_pushcclosure(L, m_index_fill, 1);
    lua_setfield(L, -2, "index_fill");
    lua_pushinteger(L, 1);
    lua_pushcclosure(L, m_index_fill, 1);
    lua_setfield(L, -2, "index_fill_");
    lua_pushinteger(L, 0);
    lua_pushcclosure(L, m_masked_fill, 1);
    lua_setfield(L, -2, "masked_fill");
    lua_pushinteger(L, 1);
    lua_pushcclosure(L, m_masked_fill, 1);
    lua_setfield(L, -2, "masked_fill_");
    lua_pushcfunction(L, m_masked_select);
    lua_setfield(L, -2, "masked_select");
}
