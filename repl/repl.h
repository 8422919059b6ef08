// repl.h - the one header of repl/: Lua bindings, printing, help, the prompt.
// Only repl/ knows Lua; tensor/ and nn/ are plain C libraries.
#ifndef NNLAB_REPL_H
#define NNLAB_REPL_H

#include <lua.h>
#include <lauxlib.h>
#include "../tensor/tensor.h"

#define NNLAB_VERSION "0.1.0"
#define REPL_TENSOR_MT "nnlab.tensor"
#define REPL_SHAPE_MT "nnlab.shape"

// ---- tensors as Lua values (lua_tensor.c, lua_tensor_ops.c, lua_tensor_new.c) ----
tensor *repl_check_tensor(lua_State *L, int idx);     // raises a Lua error if not a tensor
tensor *repl_test_tensor(lua_State *L, int idx);      // NULL if not a tensor
// Pushes the value at idx as a learner reads it ("the string \"10\"", "a tensor [2,3]",
// "the number 2.5", "nil") and returns it.
const char *repl_describe(lua_State *L, int idx);
// Pushes t (taking over the caller's reference). If t is NULL, raises a Lua error
// with tensor_last_error(). Tells the Lua GC about the bytes t holds.
int repl_push_tensor(lua_State *L, tensor *t);
// A Lua dim (1-based, negative from the end) at idx -> 0-based C dim for a tensor
// of ndim dims (ndim_plus = 1 where a new dim may be appended, e.g. unsqueeze).
// Dim 0 raises "dims are 1-based ...".
int repl_check_dim(lua_State *L, int idx, const char *op, int ndim, int ndim_plus);
// sizes from varargs (2,3,4) or a table {2,3,4} or a shape value starting at idx
int repl_check_sizes(lua_State *L, int idx, int64_t *sizes, const char *op);
// the device named in an options table at idx ({device="cuda"}), or the REPL default
tensor_device repl_opt_device(lua_State *L, int idx);
tensor_device repl_default_device(void);
void repl_set_default_device(tensor_device d);
// pushes a shape value (prints [2,3], s[1], ==)
void repl_push_shape(lua_State *L, int ndim, const int64_t *sizes);
// Raises the last tensor error as a Lua error (never returns).
int repl_tensor_error(lua_State *L);
// the library's last error in the learner's words (1-based dims, Lua syntax), in buf
const char *repl_last_error(char *buf, size_t n);
// the pieces of the `tensor` global: methods into the table at the top of the stack
// (lua_tensor_ops.c), operators and __tostring into the metatable there, the functions
// of the `tensor` table (lua_tensor_new.c)
void repl_tensor_methods(lua_State *L);
void repl_tensor_operators(lua_State *L);
void repl_tensor_functions(lua_State *L);
void repl_tensor_op_list(lua_State *L);      // tensor._unary_ops, from tensor/op_table.h

// ---- arguments in C terms (lua_args.c) ----
// The C function running, as the learner called it ("tensor.randn", "x:to"); pushed.
const char *repl_current_function(lua_State *L);
tensor_device repl_check_device_name(lua_State *L, int idx);
// raises for a key of the options table at idx not in valid (NULL-terminated), naming the
// closest valid one and all of them (nn/lua/check.lua's wording)
void repl_check_options(lua_State *L, int idx, const char *what, const char *const *valid);
// the index of a trailing options table of a creation call ({2,3} alone is sizes), or 0
int repl_opts_index(lua_State *L);
float repl_check_float(lua_State *L, int idx, const char *op, const char *what);
// a 1-based index (negative from the end) into dim `dim` of size n -> 0-based
int64_t repl_check_index(lua_State *L, int idx, const char *op, int dim, int64_t n);
// entry `entry` of an index table x[{...}] at idx: a 1-based index into dim `dim` (0-based)
// of size n -> 0-based; with_end also accepts n + 1 (the start of the empty range {n+1, n})
int64_t repl_check_index_entry(lua_State *L, int idx, const char *op, int entry, int dim, int64_t n, int with_end);
tensor *repl_release_and(tensor *drop, tensor *keep);   // releases drop, returns keep
tensor *repl_one_based(tensor *idx);                    // C's 0-based index results, +1

// ---- indexing (lua_index.c): x[{...}], x[mask], masked_fill ----
int repl_index_get(lua_State *L);      // __index with a table or tensor key at 2
int repl_index_set(lua_State *L);      // __newindex with a table or tensor key at 2
void repl_index_methods(lua_State *L); // masked_fill, masked_select... into the table on top
// :shapes on (shapes.c): an indexing op built from several library ops shows as one line
int repl_shapes_active(void);          // a line would be printed now
void repl_shapes_pause(int delta);     // +1 / -1 around the library calls of one such op
void repl_shapes_line(const char *op, const tensor *in, const char *what, const tensor *out);

// ---- libraries opened into a state ----
int repl_open_tensor(lua_State *L);    // global `tensor` and the tensor metatable
void repl_open_cuda(lua_State *L);     // tensor.cuda_* (lua_cuda.c); called by repl_open_tensor
void repl_open_optim_steps(lua_State *L);  // nn.F.*_steps, tensor._*_step_multi (lua_optim.c)
int repl_open_nn(lua_State *L);        // C half of `nn` / `optim` (repl/lua_nn.c) + nn/lua/*.lua
int repl_open_io(lua_State *L);        // tensor.save/load/..., data.*
int repl_open_dash(lua_State *L);      // global `dash`
// backward() on a scalar while a dashboard watches: that is the loss (repl/dash/watch.c)
extern int repl_dash_watching;
// The script being run (its name names the runs; script and args go in meta.json).
void repl_dash_script(const char *path, int argc, char **argv);
// --dash: the script ended with status: the run is marked, waits for q on a
// terminal, then the dashboard closes and what was printed is written out.
void repl_dash_finish(const char *status);
int repl_dash_is_watching(void);               // a dashboard is open
void repl_dash_note_error(const char *msg);    // into its log panel and output.log
// nnlab runs ARGS (repl/dash/runs_view.c): returns the exit status
int repl_runs_main(int argc, char **argv);
void repl_dash_note_backward(lua_State *L, tensor *t);
// around a fused optimizer update while watching (opt: the optimizer's stack index)
void repl_dash_step_begin(lua_State *L, int opt);
void repl_dash_step_end(lua_State *L, int opt, double lr);
int repl_open_help(lua_State *L);      // help(), tutorials()
int repl_open_sys(lua_State *L);       // sys.clock(), sys.rss_kb(): timing and memory (lua_sys.c)
// ---- the Lua modules compiled into the binary (embedded.c) ----
// nn/lua/NAME.lua is module "nn.NAME", repl/lua/NAME.lua is "NAME". install puts their
// searcher in package.searchers; require_embedded runs require(name) and leaves its value.
void repl_install_embedded(lua_State *L);
int repl_require_embedded(lua_State *L, const char *name);
int repl_is_embedded_source(const char *src);   // "@nn/lua/x.lua" and the like

// ---- NVML (nvml.c): the driver's view of a GPU, for tensor.cuda_devices() and the dashboard ----
#define REPL_NVML_BUF 96               // NVML_DEVICE_NAME_V2/UUID_V2 buffer sizes
typedef struct {
    char name[REPL_NVML_BUF], uuid[REPL_NVML_BUF];
    int nvml_index;                    // the driver's numbering (CUDA_VISIBLE_DEVICES renumbers)
    int has_mem, has_util, has_procs;  // what this driver answered
    unsigned long long mem_used, mem_total, mem_free;   // bytes, all processes
    unsigned int util, procs;          // % busy over the last sample period; compute processes
} repl_nvml_gpu;
int repl_nvml_load(const char **why);            // 1 loaded; 0 not, *why says why (tried once)
int repl_nvml_count(char *err, size_t n);        // GPUs the driver sees; -1 + err
int repl_nvml_index(int cuda, int count);        // cuda:N -> NVML index via CUDA_VISIBLE_DEVICES; -1 none
int repl_nvml_read(int nvml_index, repl_nvml_gpu *g);   // 0 ok; -1 no such GPU
int repl_nvml_read_cuda(int cuda, repl_nvml_gpu *g);    // load + map + read cuda:N; 0 ok, -1 not known
int repl_nvml_read_load(repl_nvml_gpu *g);       // memory and load of g's GPU again; 0 ok, -1 gone

// ---- printing (print.c) ----
// tostring of a tensor: values like PyTorch, abbreviated, footer [tensor 2x3 float32 cpu]
void repl_push_tensor_string(lua_State *L, tensor *t);

#endif
