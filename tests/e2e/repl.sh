#!/bin/sh
# repl.sh - the prompt end to end in a real terminal (tmux, 100x30): Tab completion,
# multi-line input, errors, Ctrl-C out of a loop and at the prompt, :shapes, ?help,
# Ctrl-D, and history recalled after a restart. Prints TAP. NNLAB=path overrides ./nnlab.
cd "$(dirname "$0")/../.." || exit 1
. tests/e2e/lib/tmux.sh
printf 'set bell-style none\n' > "$tmp/inputrc"

# typed TEXT: types TEXT literally (tmux would read "end" as the End key) and Enter
typed() { T send-keys -t main -l "$1"; T send-keys -t main Enter; }
# shows_after LINE NEXT: the screen has LINE immediately followed by the line NEXT
shows_after() { grep -A1 -xF -- "$1" "$tmp/screen" | tail -n 1 | grep -qxF -- "$2"; }
start() {
  T kill-session -t main 2>/dev/null
  T new-session -d -s main -x 100 -y 30 \
    "env NNLAB_HISTORY='$tmp/history' INPUTRC='$tmp/inputrc' '$NNLAB'; echo NNLAB-EXITED \$?; sleep 60"
  wait_for "nnlab>" 10   # capture-pane trims the trailing space
}

start
ok $? "the prompt appears"
grep -q "^nnlab [0-9.]* .* Lua 5.4" "$tmp/screen"
ok $? "the banner names nnlab, Lua and the BLAS"

T send-keys -t main -l "tensor.ran"
T send-keys -t main Tab
wait_for "tensor.randn" 5 && grep -q "tensor\.rand  " "$tmp/screen"
ok $? "Tab lists tensor.rand and tensor.randn"
T send-keys -t main C-u
typed "x = tensor.ones(2, 2)"
T send-keys -t main -l "x:mat"
T send-keys -t main Tab
wait_for "x:matmul(" 5
ok $? "x:mat<Tab> completes the method x:matmul("
T send-keys -t main C-u

typed "for i = 1, 3 do"
typed "  io.write('loop', i, ' ')"
typed "end"
wait_for "loop1 loop2 loop3" 5 && grep -qF "   ..> end" "$tmp/screen"
ok $? "a for loop over three lines continues with ..> and runs"

typed "error('oops')"
wait_for "error: oops" 5
ok $? "an error prints its message without the chunk position"
typed "x = 1"
typed "=x"
wait_for "nnlab> =x" 5 && sleep 0.3 && cap && shows_after "nnlab> =x" "1"
ok $? "after an error the prompt goes on: x = 1, =x prints 1"

typed "while true do end"
sleep 0.5
T send-keys -t main C-c
wait_for "error: interrupted" 5
ok $? "Ctrl-C stops a running loop"
typed "=x + 1"
wait_for "nnlab> =x + 1" 5 && sleep 0.3 && cap && shows_after "nnlab> =x + 1" "2"
ok $? "variables survive the interrupt"

T send-keys -t main -l "this line is dropped"
T send-keys -t main C-c
typed "=x * 10"
wait_for "nnlab> =x * 10" 5 && sleep 0.3 && cap && shows_after "nnlab> =x * 10" "10"
ok $? "Ctrl-C at the prompt drops the line and gives a new prompt"

typed ":shapes on"
typed "y = tensor.ones(2, 3):matmul(tensor.ones(3, 4))"
wait_for "matmul     [2,3] x [3,4] -> [2,4]" 5
ok $? ":shapes on prints op, input and output shapes"
typed ":shapes off"

typed "?matmul"
wait_for "x:matmul(y) -> tensor" 5 && grep -qF "example:" "$tmp/screen"
ok $? "?matmul prints the signature and an example"

T send-keys -t main C-l
typed "history_marker = 7"
T send-keys -t main C-d
wait_for "NNLAB-EXITED 0" 5
ok $? "Ctrl-D leaves with status 0"

start
T send-keys -t main Up
wait_for "nnlab> history_marker = 7" 5
ok $? "Up after a restart recalls the previous session's last command"
T send-keys -t main C-u
typed ":quit"
wait_for "NNLAB-EXITED 0" 5
ok $? ":quit leaves"

echo "1..$n"
