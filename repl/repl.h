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

// ---- tensors as Lua values (lua_tensor.c) ----
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

// ---- libraries opened into a state ----
int repl_open_tensor(lua_State *L);    // global `tensor` and the tensor metatable
void repl_open_cuda(lua_State *L);     // tensor.cuda_* (lua_cuda.c); called by repl_open_tensor
int repl_open_nn(lua_State *L);        // C half of `nn` / `optim` (nn/lua_nn.c) + nn.lua
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
int repl_open_help(lua_State *L);      // help(), tutorials()
int repl_open_sys(lua_State *L);       // sys.clock(), sys.rss_kb(): timing and memory (lua_sys.c)
// Runs an embedded Lua module (repl/lua/NAME.lua compiled into the binary) and
// leaves its return value on the stack.
int repl_require_embedded(lua_State *L, const char *name);

// ---- printing (print.c) ----
// tostring of a tensor: values like PyTorch, abbreviated, footer [tensor 2x3 float32 cpu]
void repl_push_tensor_string(lua_State *L, tensor *t);

#endif
