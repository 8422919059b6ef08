// interrupt.c - Ctrl-C. While Lua runs, the handler sets a hook that raises
// "interrupted" at the next Lua instruction, so a runaway loop returns to the
// prompt with every variable intact (lua.c does the same). A second Ctrl-C
// before the hook fires (stuck inside C) kills the process as usual (removing a
// save's temp file first). At the
// prompt the handler only raises a flag; the prompt loop clears the line.
// Inside one long C op (a 6000^2 matmul, a 16M-element chain) the hook would wait for
// the op's end, so the handler also raises the tensor library's interrupt flag: the op
// stops at its next chunk or GEMM block with the error "interrupted".
#include <signal.h>
#include <string.h>
#include "session.h"

static volatile sig_atomic_t pending;
static lua_State *volatile running;

static void stop_hook(lua_State *L, lua_Debug *ar)
{
    lua_sethook(L, NULL, 0, 0);
    luaL_error(L, "interrupted");
}

static void set_handler(void (*fn)(int))
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = fn;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
}

// The second Ctrl-C: the process ends as Ctrl-C ends it, but a save in progress
// takes its temp file with it first.
static void on_hard_sigint(int sig)
{
    tensor_io_signal_cleanup();
    signal(sig, SIG_DFL);
    raise(sig);
}

static void on_sigint(int sig)
{
    pending = 1;
    lua_State *L = running;
    if (L) {
        set_handler(on_hard_sigint);   // the next Ctrl-C is the hard one
        tensor_request_interrupt();
        lua_sethook(L, stop_hook, LUA_MASKCALL | LUA_MASKRET | LUA_MASKCOUNT, 1);
    }
}

void repl_interrupt_init(void) { set_handler(on_sigint); }

void repl_interrupt_arm(lua_State *L)
{
    pending = 0;
    tensor_clear_interrupt();
    running = L;
    set_handler(on_sigint);
}

int repl_interrupt_disarm(void)
{
    lua_State *L = running;
    int was = pending;
    running = NULL;
    // a Ctrl-C that came too late to fire must not stop the next command
    if (L && was) lua_sethook(L, NULL, 0, 0);
    tensor_clear_interrupt();
    pending = 0;
    set_handler(on_sigint);
    return was;
}

int repl_interrupt_take(void)
{
    int was = pending;
    pending = 0;
    return was;
}
