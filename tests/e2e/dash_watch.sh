#!/bin/sh
# dash_watch.sh - the dashboard watching unmodified scripts by itself, in a real terminal
# (tmux) at 80x24 and 120x40: panels fill with no dash.* call, prints come out in order
# after close, q,y stops a hand-written loop (one line, no traceback) and the fashion
# lesson goes on, the finished run stays up until q, and the run folder parses.
# Every wait is for the final state of the screen. Prints TAP. NNLAB=path overrides ./nnlab.
cd "$(dirname "$0")/../.." || exit 1
. tests/e2e/lib/tmux.sh
export NNLAB_RUNS="$tmp/runs"
T set-environment -g NNLAB_RUNS "$NNLAB_RUNS"   # the tmux server started before this line
json_ok() { perl -MJSON::PP -e 'local $/; my $t = <STDIN>; for (split /\n/, $t) { decode_json($_) } 1' < "$1" 2>/dev/null; }
before() { awk -v a="$2" -v b="$3" 'index($0, a) && !x { x = NR } index($0, b) && !y { y = NR } END { exit !(x && y && x < y) }' "$1"; }

# ---- fashion_mlp at 80x24, one epoch on 6000 images: no dash.* call in it -------------
T new-session -d -s main -x 80 -y 24 "env PS1='$ ' sh" || { echo "1..0 # SKIP tmux cannot start"; exit 0; }
T send-keys -t main "LANG=C.UTF-8 $NNLAB --dash scripts/fashion_mlp.lua 1 6000; echo exit=\$?" Enter
wait_for "FINISHED" 120; ok $? "80x24: fashion_mlp trains and its run is marked finished"
for t in "Shapes: Sequential" "Linear (1)" "Weight similarity: 5.weight [10x128]" "closest pair: rows" "1.weight" "|grad|" "epoch 1" "q closes"; do
  grep -qF -- "$t" "$tmp/screen"; ok $? "80x24 shows '$t'"
done
LC_ALL=C grep -q "$(printf '\342[\240\241\242\243]')" "$tmp/screen"; ok $? "80x24: the loss is drawn"
perl -CSD -ne 'chomp; $bad = 1 if length($_) > 80; END { exit($bad ? 1 : 0) }' "$tmp/screen"; ok $? "80x24: no line is wider than the terminal"
T send-keys -t main v; wait_for "[v] 2/3 output" 10; ok $? "v turns to the output page"
wait_for "final test acc" 5; ok $? "the output page shows what the script printed"
T send-keys -t main v; wait_for "Distributions: 5.weight" 10; ok $? "v turns to the distributions"
sleep 2; cap
grep -q "FINISHED" "$tmp/screen"; ok $? "the finished run stays up (no key: it waits)"
T send-keys -t main q; wait_for "exit=0" 10; ok $? "q closes it; the script's status is 0"

# prints came out in order after close (the terminal, not /dev/null: --dash shows them)
T send-keys -t main "clear; LANG=C.UTF-8 $NNLAB --dash scripts/fashion_mlp.lua 1 3000; echo exit=\$?" Enter
wait_for "FINISHED" 120
T send-keys -t main q; wait_for "exit=0" 10; ok $? "a second run ends with status 0"
T capture-pane -p -S -200 -t main > "$tmp/screen"
before "$tmp/screen" "fashion_mlp: 235146 params" "epoch 1  loss"; ok $? "the model line comes before the epoch line"
before "$tmp/screen" "epoch 1  loss" "final test acc"; ok $? "the epoch line comes before the final accuracy"
before "$tmp/screen" "final test acc" "step 24  epoch 1  loss"; ok $? "and then where training ended"
[ "$(T display -p -t main '#{alternate_on}')" = 0 ]; ok $? "terminal restored"

# ---- 120x40: every panel at once ---------------------------------------------------------
T send-keys -t main "clear" Enter
T resize-window -t main -x 120 -y 40 2>/dev/null
T send-keys -t main "LANG=C.UTF-8 $NNLAB --dash scripts/fashion_mlp.lua 1 3000; echo exit=\$?" Enter
wait_for "FINISHED" 120; ok $? "120x40: trains and finishes"
for t in "Loss" "Weight similarity" "Shapes: Sequential" "Gradients" "Distributions:" "Output" "System" "RSS" "steps/s"; do
  grep -qF -- "$t" "$tmp/screen"; ok $? "120x40 shows '$t'"
done
T send-keys -t main q; wait_for "exit=0" 10

# ---- a hand-written loop that never calls dash.*: q, y stops it in one line ----------------
cat > "$tmp/loop.lua" <<'LUA'
tensor.manual_seed(1)
local m = nn.Sequential(nn.Linear(8, 32), nn.Tanh(), nn.Linear(32, 1))
local opt = optim.Adam(m, {lr = 1e-3})
local x = tensor.randn(64, 8)
local y = x:sum(2):view(64, 1)
local t0 = sys.clock()
for step = 1, 1e9 do
  opt:zero_grad()
  local loss = nn.mse_loss(m(x), y)
  loss:backward()
  opt:step()
  if step % 2000 == 0 then print("tick", step) end
  if sys.clock() - t0 > 60 then break end
end
print("loop ended by itself")
LUA
T send-keys -t main "clear" Enter
T resize-window -t main -x 80 -y 24 2>/dev/null
T send-keys -t main "LANG=C.UTF-8 $NNLAB --dash $tmp/loop.lua; echo exit=\$?" Enter
wait_for "1.weight" 30 && wait_for "Weight similarity: 1.weight [32x8]" 10; ok $? "hand loop: gradients and similarity fill by themselves"
T send-keys -t main q; wait_for "stop training? y/n" 10; ok $? "q asks"
T send-keys -t main y; wait_for "exit=0" 15; ok $? "y stops the loop; status 0"
T capture-pane -p -S -200 -t main > "$tmp/screen"
grep -qF "training stopped from the dashboard (q, y)" "$tmp/screen"; ok $? "one line says why it stopped"
! grep -qi "traceback" "$tmp/screen"; ok $? "no traceback"
! grep -qF "loop ended by itself" "$tmp/screen"; ok $? "the loop did stop"
grep -q "^tick" "$tmp/screen" || grep -q "^step" "$tmp/screen"; ok $? "what it printed is back on the terminal"

# ---- bottleneck at 120x40: a run per width, similarity now vs init ------------------------------
T send-keys -t main "clear" Enter
T resize-window -t main -x 120 -y 40 2>/dev/null
T send-keys -t main "LANG=C.UTF-8 $NNLAB --dash scripts/bottleneck.lua 8,32 2 200; echo exit=\$?" Enter
wait_for "FINISHED" 60; ok $? "bottleneck finishes"
grep -qF "Weight similarity: 2.weight [32x32]" "$tmp/screen"; ok $? "it shows the middle weight of the last width"
grep -qF "at init:" "$tmp/screen"; ok $? "with its value at init"
T send-keys -t main q; wait_for "exit=0" 10
grep -q "^ *32 " "$tmp/screen"; ok $? "the script's table is printed after close"
nruns=$(ls "$NNLAB_RUNS" | grep -c bottleneck)
[ "$nruns" -eq 2 ]; ok $? "one run folder per width (2 found: $nruns)"
d=$(ls -d "$NNLAB_RUNS"/*bottleneck-2 2>/dev/null | head -1)
[ -n "$d" ] && json_ok "$d/metrics.jsonl" && perl -MJSON::PP -e 'local $/; my $m = decode_json(<STDIN>); exit !($m->{status} eq "finished" && $m->{steps} == 400)' < "$d/meta.json"
ok $? "the run folder parses: 400 steps (2 seeds x 200), finished"

# ---- the fashion lesson: q, y during its training, and it goes on --------------------------------
T send-keys -t main "clear" Enter
T resize-window -t main -x 100 -y 30 2>/dev/null
T send-keys -t main "LANG=C.UTF-8 $NNLAB tutorial fashion; echo exit=\$?" Enter
# Enter through the text; while a training runs (the dashboard is up and not finished)
# q, y stops it; a finished one closes with q
stops=0 i=0
while cap; [ $i -lt 600 ] && ! grep -q "^exit=[0-9]" "$tmp/screen"; do
  if grep -qF "FINISHED" "$tmp/screen"; then
    T send-keys -t main q; gone "FINISHED"
  elif grep -qF "Weight similarity" "$tmp/screen" && grep -qF "steps/s" "$tmp/screen"; then
    T send-keys -t main q
    if wait_for "stop training? y/n" 5; then T send-keys -t main y; stops=$((stops + 1)); fi
    gone "Weight similarity"
  else
    T send-keys -t main Enter
  fi
  sleep 0.3; i=$((i + 1))
done
wait_for "exit=0" 30; ok $? "the lesson runs to its end (status 0)"
[ "$stops" -ge 2 ]; ok $? "q, y stopped both trainings ($stops)"
T capture-pane -p -S -400 -t main > "$tmp/screen"
[ "$(grep -c "training stopped from the dashboard; the lesson goes on" "$tmp/screen")" -ge 1 ] || grep -q "stopped from the dashboard after" "$tmp/screen"
ok $? "the lesson says training stopped and goes on"
! grep -qi "traceback" "$tmp/screen"; ok $? "no traceback"

tap_done
