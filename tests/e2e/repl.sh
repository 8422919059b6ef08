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

typed "tm = nn.Linear(2, 2)"
T send-keys -t main -l "tm:"
T send-keys -t main Tab
wait_for "tm:zero_grad" 5 && grep -qF "tm:parameters" "$tmp/screen" && ! grep -qE "tm:(extend|new|init)( |$)" "$tmp/screen"
ok $? "m:<Tab> lists a module's methods without the class internals extend, new, init"
T send-keys -t main C-u
T send-keys -t main C-l

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
wait_for "nnlab> this line is dropped" 5   # typed and shown before the Ctrl-C
T send-keys -t main C-c
wait_for "this line is dropped^C" 5
typed "=x * 10"
wait_for "nnlab> =x * 10" 5 && sleep 0.3 && cap && shows_after "nnlab> =x * 10" "10"
ok $? "Ctrl-C at the prompt drops the line and gives a new prompt"
grep -qxF "nnlab> this line is dropped^C" "$tmp/screen"
ok $? "Ctrl-C at the prompt leaves the line as typed with ^C after it (the prompt intact)"

# teaching errors for Lua mistakes: each names what to type instead
T send-keys -t main C-l
typed "hm = nn.Linear(2, 2); ho = optim.SGD(hm, {lr = 0.1}); ht = tensor.ones(2, 2); hl = ht:sum()"
typed "ht.sum(2)"
wait_for "error: ht.sum(2): did you mean ht:sum(2)? methods are called with a colon (ht:sum(2) is" 5
ok $? "x.sum(2) -> did you mean x:sum(2)? methods are called with a colon"
typed "hm.parameters()"
wait_for "error: hm.parameters(): did you mean hm:parameters()? methods are called with a colon" 5
ok $? "m.parameters() -> did you mean m:parameters()?"
typed "ho.step()"
wait_for "error: ho.step(): did you mean ho:step()?" 5
ok $? "opt.step() -> did you mean opt:step()?"
typed "hl.backward()"
wait_for "error: hl.backward(): did you mean hl:backward()?" 5
ok $? "loss.backward() -> did you mean loss:backward()?"
typed "hm.forward(ht)"
wait_for "error: hm.forward(ht): did you mean hm:forward(ht)?" 5
ok $? "m.forward(x) -> did you mean m:forward(x)?"

T send-keys -t main C-l
typed "tensor.randm(2, 3)"
wait_for "error: tensor.randm is not a function; did you mean tensor.randn?" 5
ok $? "tensor.randm -> did you mean tensor.randn?"
typed "nn.Relu()"
wait_for "error: nn.Relu is not a function; did you mean nn.ReLU?" 5
ok $? "nn.Relu -> did you mean nn.ReLU?"
typed "nn.linear(2, 3)"
wait_for "error: nn.linear is not a function; did you mean nn.Linear?" 5
ok $? "nn.linear -> did you mean nn.Linear?"
typed "ht:tranpose(1, 2)"
wait_for "error: ht:tranpose is not a tensor method; did you mean ht:transpose?" 5
ok $? "x:tranpose -> did you mean x:transpose?"
typed "?randm"
wait_for "no help for 'randm'; did you mean tensor.randn?" 5
ok $? "?randm -> did you mean tensor.randn?"

T send-keys -t main C-l
typed "optim.Adam(hm, {learning_rate = 0.1})"
wait_for "error: optim.Adam: unknown option 'learning_rate' (did you mean lr? options: lr, betas, eps, weight_" 5
ok $? "an unknown optimizer option names lr and the list"
typed "ht @ ht"
wait_for "error: syntax error: Lua has no @ operator: write ht:matmul(ht) for ht @ ht" 5
ok $? "x @ x -> a syntax error that says x:matmul(x)"
typed 'nn.Linear("10", 5)'
wait_for 'error: nn.Linear(in, out): in: expected an integer >= 1, got the string "10"; write 10 without' 5
ok $? 'nn.Linear("10", 5) says it got the string "10"'
typed 'ht + "a"'
wait_for 'error: tensor.add(a + b): expected tensors or numbers, got a tensor [2,2] and the string "a"' 5
ok $? 'x + "a" names the op and the string'

T send-keys -t main C-l
typed "ht:sum"
typed ""
wait_for "   ..>" 5
typed ""
wait_for "error: ht:sum is a method: call it with parentheses, ht:sum()" 5 && wait_for "nnlab>" 2
ok $? "x:sum then a second empty line ends the chunk with its error"
typed "for i = 1, 2 do"
typed ""
typed "  io.write('blank', i, ' ')"
typed "end"
wait_for "blank1 blank2" 5
ok $? "one empty line inside a loop does not end it"
typed "s = [["
typed ""
typed ""
typed "]]; io.write('long string kept ', #s)"
wait_for "long string kept 2" 5
ok $? "empty lines inside a long string are kept"

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

tap_done
