// lua_tensor_ops.c - the tensor methods (x:exp(), x:sum(2), x:view(...)) and the
// operators, from tables of {name, C function} with one dispatcher per kind.
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "repl.h"
#include "../tensor/op_table.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

// ---- elementwise: tables of {name, C function} and one dispatcher each ----------------
// The rows of tensor/op_table.h: x:NAME([s0[, s1]]), missing parameters take the row's
// (PyTorch's) defaults.
typedef tensor *(*row_fn)(tensor *, float, float);
typedef struct { const char *name; row_fn fn; int nparams; float d0, d1; const char *domain; } row_op;
#define ROW_CALL_0(name) static tensor *call_##name(tensor *a, float s0, float s1) { return tensor_##name(a); }
#define ROW_CALL_1(name) static tensor *call_##name(tensor *a, float s0, float s1) { return tensor_##name(a, s0); }
#define ROW_CALL_2(name) static tensor *call_##name(tensor *a, float s0, float s1) { return tensor_##name(a, s0, s1); }
#define ROW_CALL(name, OP, np, ...) ROW_CALL_##np(name)
TENSOR_UNARY_OPS(ROW_CALL)
#define ROW_ENTRY(name, OP, np, d0, d1, saved, domain) {#name, call_##name, np, d0, d1, #domain},
static const row_op row_ops[] = {TENSOR_UNARY_OPS(ROW_ENTRY)};

static int l_row(lua_State *L) {
    const row_op *op = lua_touserdata(L, lua_upvalueindex(1));
    tensor *a = repl_check_tensor(L, 1);
    float s[2] = {op->d0, op->d1};
    for (int i = 0; i < op->nparams; i++)
        if (!lua_isnoneornil(L, 2 + i)) s[i] = repl_check_float(L, 2 + i, op->name, i ? "the second parameter" : "the parameter");
    if (lua_gettop(L) > 1 + op->nparams && !lua_isnil(L, 2 + op->nparams))
        luaL_error(L, "x:%s: takes %d parameter%s, got %d", op->name, op->nparams, op->nparams == 1 ? "" : "s",
                   lua_gettop(L) - 1);
    return repl_push_tensor(L, op->fn(a, s[0], s[1]));
}

// tensor._unary_ops: {name, nparams, defaults = {d0, d1}, domain = "ANY"|"POS"} for each row,
// so the tests check every row (gradcheck, PyTorch fixtures) without a list of their own
void repl_tensor_op_list(lua_State *L) {
    lua_createtable(L, (int)COUNT(row_ops), 0);
    for (size_t i = 0; i < COUNT(row_ops); i++) {
        lua_createtable(L, 0, 4);
        lua_pushstring(L, row_ops[i].name);
        lua_setfield(L, -2, "name");
        lua_pushinteger(L, row_ops[i].nparams);
        lua_setfield(L, -2, "nparams");
        lua_createtable(L, 2, 0);
        lua_pushnumber(L, row_ops[i].d0);
        lua_rawseti(L, -2, 1);
        lua_pushnumber(L, row_ops[i].d1);
        lua_rawseti(L, -2, 2);
        lua_setfield(L, -2, "defaults");
        lua_pushstring(L, row_ops[i].domain);
        lua_setfield(L, -2, "domain");
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
    lua_setfield(L, -2, "_unary_ops");
}

// the other one-tensor methods
typedef tensor *(*unary_fn)(tensor *);
typedef struct { const char *name; unary_fn fn; } unary_op;
static const unary_op unary_ops[] = {
    {"norm", tensor_norm}, {"contiguous", tensor_contiguous}, {"clone", tensor_clone},
    {"detach", tensor_detach}, {"t", tensor_t},
};

static int l_unary(lua_State *L) {
    const unary_op *op = lua_touserdata(L, lua_upvalueindex(1));
    return repl_push_tensor(L, op->fn(repl_check_tensor(L, 1)));
}

static tensor *sub_s(tensor *a, float s) { return tensor_add_scalar(a, -s); }
static tensor *div_s(tensor *a, float s) { return tensor_div_scalar(a, s); }
static tensor *s_add(float s, tensor *a) { return tensor_add_scalar(a, s); }
static tensor *s_mul(float s, tensor *a) { return tensor_mul_scalar(a, s); }

typedef struct {
    const char *name;
    tensor *(*fn)(tensor *, tensor *);
    tensor *(*right)(tensor *, float);      // a op s; NULL: s becomes a 0-d tensor
    tensor *(*left)(float, tensor *);       // s op a
    int cmp, cmp_flipped;                   // comparisons: tensor_cmp, and for s op a
} binary_op;

enum { NOT_CMP = -1 };
// the operators' entries first, by index, so l_binary's symbols and the metatable's
// __add ... __pow cannot drift from the table
enum { BIN_ADD, BIN_SUB, BIN_MUL, BIN_DIV, BIN_POW, BIN_OPERATORS };
static const binary_op binary_ops[] = {
    [BIN_ADD] = {"add", tensor_add, tensor_add_scalar, s_add, NOT_CMP, NOT_CMP},
    [BIN_SUB] = {"sub", tensor_sub, sub_s, tensor_rsub_scalar, NOT_CMP, NOT_CMP},
    [BIN_MUL] = {"mul", tensor_mul, tensor_mul_scalar, s_mul, NOT_CMP, NOT_CMP},
    [BIN_DIV] = {"div", tensor_div, div_s, tensor_rdiv_scalar, NOT_CMP, NOT_CMP},
    [BIN_POW] = {"pow", tensor_pow, tensor_pow_scalar, NULL, NOT_CMP, NOT_CMP},
    {"maximum", tensor_maximum, NULL, NULL, NOT_CMP, NOT_CMP},
    {"minimum", tensor_minimum, NULL, NULL, NOT_CMP, NOT_CMP},
    {"eq", NULL, NULL, NULL, TENSOR_EQ, TENSOR_EQ},
    {"ne", NULL, NULL, NULL, TENSOR_NE, TENSOR_NE},
    {"lt", NULL, NULL, NULL, TENSOR_LT, TENSOR_GT},
    {"le", NULL, NULL, NULL, TENSOR_LE, TENSOR_GE},
    {"gt", NULL, NULL, NULL, TENSOR_GT, TENSOR_LT},
    {"ge", NULL, NULL, NULL, TENSOR_GE, TENSOR_LE},
};
static const char *const operator_symbols[BIN_OPERATORS] = {"+", "-", "*", "/", "^"};

static tensor *binary_tt(const binary_op *op, tensor *a, tensor *b) {
    return op->cmp == NOT_CMP ? op->fn(a, b) : tensor_compare(a, b, (tensor_cmp)op->cmp);
}

// t op s (or s op t when flipped) with s a number
static tensor *binary_ts(const binary_op *op, tensor *t, float s, int flipped) {
    if (op->cmp != NOT_CMP) return tensor_compare_scalar(t, s, (tensor_cmp)(flipped ? op->cmp_flipped : op->cmp));
    if (!flipped && op->right) return op->right(t, s);
    if (flipped && op->left) return op->left(s, t);
    tensor *st = tensor_scalar(s, t->storage->device);
    if (!st) return NULL;
    return repl_release_and(st, flipped ? op->fn(st, t) : op->fn(t, st));
}

static int l_binary(lua_State *L) {
    const binary_op *op = lua_touserdata(L, lua_upvalueindex(1));
    tensor *a = repl_test_tensor(L, 1), *b = repl_test_tensor(L, 2);
    if (a && b) return repl_push_tensor(L, binary_tt(op, a, b));
    int num = a ? 2 : 1;
    if (!(a || b) || lua_type(L, num) != LUA_TNUMBER) {
        const char *sym = op - binary_ops < BIN_OPERATORS ? operator_symbols[op - binary_ops] : NULL;
        const char *fix = "";
        if (lua_type(L, num) == LUA_TSTRING && lua_isnumber(L, num))    // "2": a number in quotes
            fix = lua_pushfstring(L, "; write %s without quotes, or tonumber(\"%s\")", lua_tostring(L, num),
                                  lua_tostring(L, num));
        luaL_error(L, "tensor.%s%s%s%s: expected tensors or numbers, got %s and %s%s", op->name,
                   sym ? "(a " : "", sym ? sym : "", sym ? " b)" : "", repl_describe(L, 1), repl_describe(L, 2), fix);
    }
    return repl_push_tensor(L, binary_ts(op, a ? a : b, (float)lua_tonumber(L, num), a == NULL));
}

// ---- reductions -------------------------------------------------------------------------
typedef tensor *(*reduce_fn)(tensor *, int, int);
typedef struct {
    const char *name;      // "tensor.sum", for messages
    reduce_fn fn;
    reduce_fn arg;         // max/min: with a dim also return (1-based) indices
    int index;             // result is an index: shift it to 1-based
} reduce_op;
static const reduce_op reduce_ops[] = {
    {"tensor.sum", tensor_sum, NULL, 0}, {"tensor.mean", tensor_mean, NULL, 0},
    {"tensor.max", tensor_max, tensor_argmax, 0}, {"tensor.min", tensor_min, tensor_argmin, 0},
    {"tensor.argmax", tensor_argmax, NULL, 1}, {"tensor.argmin", tensor_argmin, NULL, 1},
};

static int l_reduce(lua_State *L) {
    const reduce_op *op = lua_touserdata(L, lua_upvalueindex(1));
    tensor *a = repl_check_tensor(L, 1);
    if (op->arg) {                       // tensor.max(a, b) is the elementwise maximum
        tensor *b = repl_test_tensor(L, 2);
        if (b) return repl_push_tensor(L, op->fn == tensor_max ? tensor_maximum(a, b) : tensor_minimum(a, b));
    }
    int has_dim = !lua_isnoneornil(L, 2);
    int dim = has_dim ? repl_check_dim(L, 2, op->name, a->ndim, 0) : TENSOR_ALL_DIMS;
    int keep = lua_toboolean(L, 3);
    tensor *r = op->fn(a, dim, keep);
    repl_push_tensor(L, op->index ? repl_one_based(r) : r);
    if (!op->arg || !has_dim) return 1;
    return 1 + repl_push_tensor(L, repl_one_based(op->arg(a, dim, keep)));
}

static int l_var(lua_State *L) {
    int is_std = (int)lua_tointeger(L, lua_upvalueindex(1));
    const char *name = is_std ? "tensor.std" : "tensor.var";
    tensor *a = repl_check_tensor(L, 1);
    int dim = lua_isnoneornil(L, 2) ? TENSOR_ALL_DIMS : repl_check_dim(L, 2, name, a->ndim, 0);
    int keep = lua_toboolean(L, 3);
    int unbiased = lua_isnoneornil(L, 4) ? 1 : lua_toboolean(L, 4);
    return repl_push_tensor(L, (is_std ? tensor_std : tensor_var)(a, dim, keep, unbiased));
}

// ---- methods ------------------------------------------------------------------------
static int m_shape(lua_State *L) {
    tensor *t = repl_check_tensor(L, 1);
    repl_push_shape(L, t->ndim, t->size);
    return 1;
}

static int m_size(lua_State *L) {
    tensor *t = repl_check_tensor(L, 1);
    if (lua_isnoneornil(L, 2)) return m_shape(L);
    lua_pushinteger(L, t->size[repl_check_dim(L, 2, "tensor.size", t->ndim, 0)]);
    return 1;
}

static int m_dim(lua_State *L) {
    lua_pushinteger(L, repl_check_tensor(L, 1)->ndim);
    return 1;
}

static int m_numel(lua_State *L) {
    lua_pushinteger(L, tensor_numel(repl_check_tensor(L, 1)));
    return 1;
}

static int m_item(lua_State *L) {
    float v;
    if (tensor_item(repl_check_tensor(L, 1), &v) != 0) return repl_tensor_error(L);
    lua_pushnumber(L, v);
    return 1;
}

static const float *push_list(lua_State *L, const tensor *t, int depth, const float *p) {
    if (depth == t->ndim) {
        lua_pushnumber(L, *p);
        return p + 1;
    }
    lua_createtable(L, (int)t->size[depth], 0);
    for (int64_t i = 0; i < t->size[depth]; i++) {
        p = push_list(L, t, depth + 1, p);
        lua_rawseti(L, -2, i + 1);
    }
    return p;
}

static int m_tolist(lua_State *L) {
    tensor *t = repl_check_tensor(L, 1);
    if (t->storage->device == TENSOR_META)
        luaL_error(L, "tensor.tolist: a meta tensor has no values (it only has a shape)");
    float *host = tensor_to_host(t);
    if (!host) return repl_tensor_error(L);
    // copy into a Lua-owned buffer so an out-of-memory error while building cannot leak
    float *buf = lua_newuserdatauv(L, sizeof(float) * (size_t)(tensor_numel(t) + 1), 0);
    memcpy(buf, host, sizeof(float) * (size_t)tensor_numel(t));
    free(host);
    push_list(L, t, 0, buf);
    return 1;
}

static int m_device(lua_State *L) {
    lua_pushstring(L, tensor_device_name(repl_check_tensor(L, 1)->storage->device));
    return 1;
}

static int m_to(lua_State *L) {
    tensor *t = repl_check_tensor(L, 1);
    if (lua_isnoneornil(L, 2)) luaL_error(L, "tensor.to: give a device: x:to(\"cuda\"), x:to(\"cpu\") or x:to(\"meta\")");
    return repl_push_tensor(L, tensor_to(t, repl_opt_device(L, 2)));
}

static int m_to_fixed(lua_State *L) {       // x:cuda(), x:cpu()
    tensor_device d = (tensor_device)lua_tointeger(L, lua_upvalueindex(1));
    return repl_push_tensor(L, tensor_to(repl_check_tensor(L, 1), d));
}

static int m_view(lua_State *L) {
    int reshape = (int)lua_tointeger(L, lua_upvalueindex(1));
    tensor *t = repl_check_tensor(L, 1);
    int64_t sizes[TENSOR_MAX_DIMS];
    int n = repl_check_sizes(L, 2, sizes, reshape ? "tensor.reshape" : "tensor.view");
    return repl_push_tensor(L, reshape ? tensor_reshape(t, n, sizes) : tensor_view(t, n, sizes));
}

static int m_expand(lua_State *L) {
    tensor *t = repl_check_tensor(L, 1);
    int64_t sizes[TENSOR_MAX_DIMS];
    int n = repl_check_sizes(L, 2, sizes, "tensor.expand");
    return repl_push_tensor(L, tensor_expand(t, n, sizes));
}

static int m_permute(lua_State *L) {
    tensor *t = repl_check_tensor(L, 1);
    int dims[TENSOR_MAX_DIMS], n = 0;
    int from_table = lua_istable(L, 2);
    if (from_table) lua_settop(L, 2);
    int count = from_table ? (int)lua_rawlen(L, 2) : lua_gettop(L) - 1;
    if (count != t->ndim)
        luaL_error(L, "tensor.permute: got %d dims for a %d-d tensor; list each of its %d dims once",
              count, t->ndim, t->ndim);
    for (int i = 0; i < count; i++) {
        int idx = 2 + i;
        if (from_table) {
            lua_rawgeti(L, 2, i + 1);
            idx = lua_gettop(L);
        }
        dims[n++] = repl_check_dim(L, idx, "tensor.permute", t->ndim, 0);
        if (from_table) lua_pop(L, 1);
    }
    return repl_push_tensor(L, tensor_permute(t, dims));
}

static int m_transpose(lua_State *L) {
    tensor *t = repl_check_tensor(L, 1);
    int d0 = repl_check_dim(L, 2, "tensor.transpose", t->ndim, 0);
    int d1 = repl_check_dim(L, 3, "tensor.transpose", t->ndim, 0);
    return repl_push_tensor(L, tensor_transpose(t, d0, d1));
}

static int m_narrow(lua_State *L) {
    tensor *t = repl_check_tensor(L, 1);
    int dim = repl_check_dim(L, 2, "tensor.narrow", t->ndim, 0);
    lua_Integer start = luaL_checkinteger(L, 3), len = luaL_checkinteger(L, 4);
    int64_t n = t->size[dim];
    lua_Integer c = start > 0 ? start - 1 : n + start;
    if (start == 0 || c < 0 || c > n)
        luaL_error(L, "tensor.narrow: start %d is out of range for dim %d of size %d (starts are 1-based: 1..%d)",
              (int)start, dim + 1, (int)n, (int)n);
    if (len < 0 || c + len > n)
        luaL_error(L, "tensor.narrow: start %d with length %d runs past the end of dim %d (size %d)",
              (int)start, (int)len, dim + 1, (int)n);
    return repl_push_tensor(L, tensor_narrow(t, dim, c, len));
}

static int m_select(lua_State *L) {
    tensor *t = repl_check_tensor(L, 1);
    int dim = repl_check_dim(L, 2, "tensor.select", t->ndim, 0);
    return repl_push_tensor(L, tensor_select(t, dim, repl_check_index(L, 3, "tensor.select", dim, t->size[dim])));
}

static int m_unsqueeze(lua_State *L) {
    tensor *t = repl_check_tensor(L, 1);
    return repl_push_tensor(L, tensor_unsqueeze(t, repl_check_dim(L, 2, "tensor.unsqueeze", t->ndim, 1)));
}

static int m_squeeze(lua_State *L) {
    tensor *t = repl_check_tensor(L, 1);
    int dim = lua_isnoneornil(L, 2) ? TENSOR_ALL_DIMS : repl_check_dim(L, 2, "tensor.squeeze", t->ndim, 0);
    return repl_push_tensor(L, tensor_squeeze(t, dim));
}

static int m_flatten(lua_State *L) {
    tensor *t = repl_check_tensor(L, 1);
    if (t->ndim == 0) {
        int64_t one = 1;
        return repl_push_tensor(L, tensor_reshape(t, 1, &one));
    }
    int s = lua_isnoneornil(L, 2) ? 0 : repl_check_dim(L, 2, "tensor.flatten", t->ndim, 0);
    int e = lua_isnoneornil(L, 3) ? t->ndim - 1 : repl_check_dim(L, 3, "tensor.flatten", t->ndim, 0);
    return repl_push_tensor(L, tensor_flatten(t, s, e));
}

static int m_is_contiguous(lua_State *L) {
    lua_pushboolean(L, tensor_is_contiguous(repl_check_tensor(L, 1)));
    return 1;
}

static int m_copy(lua_State *L) {
    tensor *t = repl_check_tensor(L, 1);
    int rc = lua_type(L, 2) == LUA_TNUMBER ? tensor_fill_(t, (float)lua_tonumber(L, 2))
                                           : tensor_copy_(t, repl_check_tensor(L, 2));
    if (rc != 0) return repl_tensor_error(L);
    lua_settop(L, 1);
    return 1;
}

static int m_fill(lua_State *L) {
    tensor *t = repl_check_tensor(L, 1);
    if (tensor_fill_(t, repl_check_float(L, 2, "tensor.fill", "the value")) != 0) return repl_tensor_error(L);
    lua_settop(L, 1);
    return 1;
}

static int m_zero(lua_State *L) {
    if (tensor_zero_(repl_check_tensor(L, 1)) != 0) return repl_tensor_error(L);
    lua_settop(L, 1);
    return 1;
}

static int m_clamp(lua_State *L) {
    tensor *t = repl_check_tensor(L, 1);
    float lo = lua_isnoneornil(L, 2) ? -INFINITY : repl_check_float(L, 2, "tensor.clamp", "lo");
    float hi = lua_isnoneornil(L, 3) ? INFINITY : repl_check_float(L, 3, "tensor.clamp", "hi");
    return repl_push_tensor(L, tensor_clamp(t, lo, hi));
}

static int m_matmul(lua_State *L) {
    return repl_push_tensor(L, tensor_matmul(repl_check_tensor(L, 1), repl_check_tensor(L, 2)));
}

static int m_softmax(lua_State *L) {
    int log = (int)lua_tointeger(L, lua_upvalueindex(1));
    const char *name = log ? "tensor.log_softmax" : "tensor.softmax";
    tensor *t = repl_check_tensor(L, 1);
    int dim = lua_isnoneornil(L, 2) ? t->ndim - 1 : repl_check_dim(L, 2, name, t->ndim, 0);
    return repl_push_tensor(L, log ? tensor_log_softmax(t, dim) : tensor_softmax(t, dim));
}

// x:gather(dim, idx) / x:index_select(dim, idx): idx is 1-based in Lua
static int m_indexing(lua_State *L) {
    int select = (int)lua_tointeger(L, lua_upvalueindex(1));
    const char *name = select ? "tensor.index_select" : "tensor.gather";
    tensor *t = repl_check_tensor(L, 1);
    int dim = repl_check_dim(L, 2, name, t->ndim, 0);
    tensor *idx = tensor_add_scalar(repl_check_tensor(L, 3), -1.0f);
    if (!idx) return repl_tensor_error(L);
    tensor *r = select ? tensor_index_select(t, dim, idx) : tensor_gather(t, dim, idx);
    tensor_release(idx);
    return repl_push_tensor(L, r);
}

static int m_requires_grad(lua_State *L) {
    tensor *t = repl_check_tensor(L, 1);
    int on = lua_isnoneornil(L, 2) ? 1 : lua_toboolean(L, 2);
    if (!tensor_requires_grad_(t, on)) return repl_tensor_error(L);
    lua_settop(L, 1);
    return 1;
}

static int m_backward(lua_State *L) {
    tensor *t = repl_check_tensor(L, 1);
    tensor *g = lua_isnoneornil(L, 2) ? NULL : repl_check_tensor(L, 2);
    if (tensor_backward(t, g) != 0) return repl_tensor_error(L);
    if (repl_dash_watching) repl_dash_note_backward(L, t);
    return 0;
}

static int m_zero_grad(lua_State *L) {
    tensor_zero_grad(repl_check_tensor(L, 1));
    return 0;
}

static int m_tostring(lua_State *L) {
    repl_push_tensor_string(L, repl_check_tensor(L, 1));
    return 1;
}

static int m_len(lua_State *L) {
    tensor *t = repl_check_tensor(L, 1);
    if (t->ndim == 0) luaL_error(L, "#x: a 0-d tensor has no length (use x:item() for its value)");
    lua_pushinteger(L, t->size[0]);
    return 1;
}

static const luaL_Reg plain_methods[] = {
    {"shape", m_shape}, {"size", m_size}, {"dim", m_dim}, {"numel", m_numel}, {"item", m_item},
    {"tolist", m_tolist}, {"device", m_device}, {"to", m_to}, {"expand", m_expand},
    {"permute", m_permute}, {"transpose", m_transpose}, {"narrow", m_narrow}, {"select", m_select},
    {"unsqueeze", m_unsqueeze}, {"squeeze", m_squeeze}, {"flatten", m_flatten},
    {"is_contiguous", m_is_contiguous}, {"copy", m_copy}, {"fill", m_fill}, {"zero", m_zero},
    {"clamp", m_clamp}, {"matmul", m_matmul}, {"requires_grad", m_requires_grad},
    {"backward", m_backward}, {"zero_grad", m_zero_grad}, {NULL, NULL}};

// methods that differ only by an integer flag in their upvalue
static const struct { const char *name; lua_CFunction fn; int flag; } flag_methods[] = {
    {"view", m_view, 0}, {"reshape", m_view, 1}, {"softmax", m_softmax, 0},
    {"log_softmax", m_softmax, 1}, {"gather", m_indexing, 0}, {"index_select", m_indexing, 1},
    {"var", l_var, 0}, {"std", l_var, 1}, {"cuda", m_to_fixed, TENSOR_CUDA},
    {"cpu", m_to_fixed, TENSOR_CPU},
};

// methods table at the top of the stack; also the functional forms tensor.exp(x), ...
void repl_tensor_methods(lua_State *L) {
    luaL_setfuncs(L, plain_methods, 0);
    for (size_t i = 0; i < COUNT(row_ops); i++) {
        lua_pushlightuserdata(L, (void *)&row_ops[i]);
        lua_pushcclosure(L, l_row, 1);
        lua_setfield(L, -2, row_ops[i].name);
    }
    for (size_t i = 0; i < COUNT(unary_ops); i++) {
        lua_pushlightuserdata(L, (void *)&unary_ops[i]);
        lua_pushcclosure(L, l_unary, 1);
        lua_setfield(L, -2, unary_ops[i].name);
    }
    for (size_t i = 0; i < COUNT(binary_ops); i++) {
        lua_pushlightuserdata(L, (void *)&binary_ops[i]);
        lua_pushcclosure(L, l_binary, 1);
        lua_setfield(L, -2, binary_ops[i].name);
    }
    for (size_t i = 0; i < COUNT(reduce_ops); i++) {
        lua_pushlightuserdata(L, (void *)&reduce_ops[i]);
        lua_pushcclosure(L, l_reduce, 1);
        lua_setfield(L, -2, reduce_ops[i].name + strlen("tensor."));
    }
    for (size_t i = 0; i < COUNT(flag_methods); i++) {
        lua_pushinteger(L, flag_methods[i].flag);
        lua_pushcclosure(L, flag_methods[i].fn, 1);
        lua_setfield(L, -2, flag_methods[i].name);
    }
}

// the operators: {metamethod, binary op or -1 for unary minus}
static const struct { const char *event; int op; } operators[] = {
    {"__add", BIN_ADD}, {"__sub", BIN_SUB}, {"__mul", BIN_MUL}, {"__div", BIN_DIV}, {"__pow", BIN_POW},
};

// -x: Lua passes the operand twice
static int m_unm(lua_State *L) { return repl_push_tensor(L, tensor_neg(repl_check_tensor(L, 1))); }

// operators and printing into the metatable at the top of the stack
void repl_tensor_operators(lua_State *L) {
    static const luaL_Reg meta[] = {{"__tostring", m_tostring}, {"__len", m_len}, {NULL, NULL}};
    luaL_setfuncs(L, meta, 0);
    for (size_t i = 0; i < COUNT(operators); i++) {
        lua_pushlightuserdata(L, (void *)&binary_ops[operators[i].op]);
        lua_pushcclosure(L, l_binary, 1);
        lua_setfield(L, -2, operators[i].event);
    }
    lua_pushcfunction(L, m_unm);
    lua_setfield(L, -2, "__unm");
}
