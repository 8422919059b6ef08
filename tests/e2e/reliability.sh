#!/bin/sh
# reliability.sh - interrupts and kills leave nnlab usable and files intact.
#  - in a real terminal (tmux): Ctrl-C during a long C op, during a training loop,
#    inside tensor.no_grad, and during a loop of tensor.save: the prompt comes back with
#    every variable intact, and the saved file loads complete;
#  - a 10^12-element tensor gives an out-of-memory message naming the size, and the
#    prompt goes on;
#  - a child saving over an existing checkpoint is SIGKILLed at random points, 60 times
#    (RELIABILITY_KILLS=N changes it): the file always loads, and holds either the old
#    or the new tensors, never a mix or a torn file.
# Prints TAP. NNLAB=path overrides ./nnlab.
cd "$(dirname "$0")/../.." || exit 1
. tests/e2e/lib/tmux.sh
printf 'set bell-style none\n' > "$tmp/inputrc"
KILLS=${RELIABILITY_KILLS:-60}

# idle: waits (up to 15 s) until the last line on screen is a bare prompt, so a command is
# never typed while the previous one still runs (its echo would land mid-screen)
idle() {
  i=0
  while [ $i -lt 150 ]; do
    cap
    [ "$(grep -v '^ *$' "$tmp/screen" | tail -n 1)" = "nnlab>" ] && return 0
    sleep 0.1; i=$((i + 1))
  done
  return 1
}
typed() { idle; T send-keys -t main -l "$1"; T send-keys -t main Enter; }
# result EXPR TEXT: types =EXPR and waits for TEXT on the line right after it
result() {
  typed "=$1"
  i=0
  while [ $i -lt 150 ]; do   # 15 s: a busy machine may take its time
    cap
    grep -A1 -xF -- "nnlab> =$1" "$tmp/screen" | tail -n 1 | grep -qxF -- "$2" && return 0
    sleep 0.1; i=$((i + 1))
  done
  return 1
}
interrupt() {   # Ctrl-C once the command has run a moment; waits for the message
  sleep "${1:-0.7}"
  T send-keys -t main C-c
  wait_for "error: interrupted" 10
}

T new-session -d -s main -x 120 -y 30 \
  "env NNLAB_HISTORY='$tmp/history' INPUTRC='$tmp/inputrc' OPENBLAS_NUM_THREADS=1 '$NNLAB'; echo NNLAB-EXITED \$?; sleep 60"
wait_for "nnlab>" 10
ok $? "the prompt appears"

# ---- Ctrl-C during a long op -------------------------------------------------------------------
typed "keep = tensor.arange(1, 7):view(2, 3); a = tensor.randn(400, 400); n = 0"
typed "while true do b = a:matmul(a):softmax(2):sum(1); n = n + 1 end"
interrupt
ok $? "Ctrl-C stops a loop of matmuls"
T send-keys -t main C-l; gone "error: interrupted"   # the next wait sees only new text
result "keep:sum():item()" "21.0"
ok $? "variables defined before the interrupt are intact"
result "n > 0 and b:numel()" "400"
ok $? "the interrupted loop's results are usable"

# ---- Ctrl-C during a training loop ---------------------------------------------------------------
typed "model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 1)); opt = optim.Adam(model:parameters(), {lr = 1e-3})"
typed "xb, yb = tensor.randn(64, 8), tensor.randn(64, 1); steps = 0"
typed "while true do opt:zero_grad(); local l = nn.mse_loss(model(xb), yb); l:backward(); opt:step(); steps = steps + 1 end"
interrupt 1
ok $? "Ctrl-C stops a training loop"
T send-keys -t main C-l; gone "error: interrupted"   # the next wait sees only new text
typed "opt:zero_grad(); l2 = nn.mse_loss(model(xb), yb); l2:backward(); opt:step(); steps = steps + 1"
result "steps > 1 and l2:item() == l2:item()" "true"
ok $? "after the interrupt the model trains on: forward, backward, step"

# ---- Ctrl-C inside tensor.no_grad restores grad mode -------------------------------------------
typed "tensor.no_grad(function() while true do end end)"
interrupt
T send-keys -t main C-l; gone "error: interrupted"   # the next wait sees only new text
typed "w = tensor.ones(3):requires_grad(); (w * 2):sum():backward()"
result "w.grad:sum():item()" "6.0"
ok $? "Ctrl-C inside tensor.no_grad leaves gradients on"

# ---- Ctrl-C during tensor.save -----------------------------------------------------------------
ck="$tmp/ck.safetensors"
typed "big = tensor.randn(1000, 1000); ref = big:sum():item(); saves = 0"
typed "while true do tensor.save('$ck', {w = big, b = keep}); saves = saves + 1 end"
interrupt 1.5
ok $? "Ctrl-C stops a loop of tensor.save"
T send-keys -t main C-l; gone "error: interrupted"   # the next wait sees only new text
typed "back = tensor.load('$ck')"
result "saves > 0 and back.w:sum():item() == ref and back.b:sum():item()" "21.0"
ok $? "the checkpoint written when Ctrl-C came loads complete"
ls -A "$tmp" | grep -q '\.tmp\.' && st=1 || st=0
cap; ok $st "no temp file is left next to the checkpoint"

# ---- a 10^12-element tensor ----------------------------------------------------------------------
T send-keys -t main C-l; gone "error: interrupted"   # the next wait sees only new text
typed "huge = tensor.zeros(1000000, 1000000)"
wait_for "error: tensor.zeros: out of memory" 10 && grep -q "\[1000000,1000000\] needs 4000.0 GB" "$tmp/screen"
ok $? "a 10^12-element tensor: out of memory, naming the shape and 4000 GB"
result "huge == nil and keep:sum():item()" "21.0"
ok $? "after the out-of-memory error the prompt goes on"

T send-keys -t main C-d
wait_for "NNLAB-EXITED 0" 5
ok $? "Ctrl-D leaves with status 0 after all of that"

# ---- SIGKILL while saving over an existing checkpoint ----------------------------------------
# The child saves {a = full(k), b = full(-k)} for k = 1, 2, ... over the same file. A
# torn file fails to load; a mix shows as a != -b or values that differ inside a tensor.
kp="$tmp/kill.safetensors"
"$NNLAB" -e "tensor.save('$kp', {a = tensor.full({700000}, 0), b = tensor.full({300000}, 0)})"
cat > "$tmp/saver.lua" <<EOF
local k = 0
while true do
  k = k + 1
  tensor.save('$kp', {a = tensor.full({700000}, k), b = tensor.full({300000}, -k)})
end
EOF
cat > "$tmp/check.lua" <<EOF
local ok, t = pcall(tensor.load, '$kp')
if not ok then print('LOAD-FAILED ' .. tostring(t)) os.exit(1) end
local a, b = t.a, t.b
local k = a:max():item()
if a:min():item() ~= k or b:max():item() ~= -k or b:min():item() ~= -k or a:numel() ~= 700000 or b:numel() ~= 300000 then
  print('MIXED', a:min():item(), k, b:min():item(), b:max():item()) os.exit(1)
end
print('VERSION ' .. k)
EOF
bad=0; versions=""
: > "$tmp/screen"   # ok prints it on failure: the kills that went wrong
i=0
while [ $i -lt "$KILLS" ]; do
  OPENBLAS_NUM_THREADS=1 "$NNLAB" "$tmp/saver.lua" &
  pid=$!
  # 10..400 ms: from before the first write to many saves in
  sleep "$(awk -v s="$i" 'BEGIN { srand(s + 11); printf "%.3f", 0.01 + rand() * 0.39 }')"
  kill -9 "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  out=$("$NNLAB" "$tmp/check.lua" 2>&1)
  case "$out" in
    VERSION*) versions="$versions ${out#VERSION }" ;;
    *) bad=$((bad + 1)); echo "kill $i: $out" >> "$tmp/screen" ;;
  esac
  i=$((i + 1))
done
ok $bad "SIGKILL during saves over a checkpoint, $KILLS times: it always loads whole (old or new)"
distinct=$(echo $versions | tr ' ' '\n' | sort -un | wc -l)
[ "$distinct" -ge 3 ] ; ok $? "the kills landed at different points ($distinct different versions survived)"
echo "# versions after each kill:$versions" | cut -c1-300
tap_done
