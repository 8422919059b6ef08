#!/bin/sh
# runs.sh - `nnlab runs`: the list, the workspace as text (--snapshot, --attrs for the
# colours), corrupt and half-written files, and the workspace in a real terminal (tmux).
# Prints TAP. NNLAB=path overrides ./nnlab.
cd "$(dirname "$0")/../.." || exit 1
. tests/e2e/lib/tmux.sh
export NNLAB_RUNS="$tmp/runs"

# three runs whose losses fall at different rates; run b has a test loss and accuracy
mk() {  # mk FOLDER NAME RATE
  mkdir -p "$NNLAB_RUNS/$1"
  awk -v r="$3" 'BEGIN { for (s = 1; s <= 200; s++) {
      printf "{\"step\":%d,\"time\":%g,\"loss\":%.6g,\"lr\":0.001", s, s / 100, 2 * exp(-r * s) + 0.01
      if (s % 50 == 0) printf ",\"test_loss\":%.6g,\"acc\":%.4g", 2.2 * exp(-r * s) + 0.02, 1 - exp(-r * s)
      if (s % 20 == 0) printf ",\"grad_norm\":{\"fc1.weight\":0.5,\"0.bias\":null}"
      printf "}\n" } }' > "$NNLAB_RUNS/$1/metrics.jsonl"
  printf '{"name": "%s", "status": "finished", "start": "2026-12-01T10:0%s:00Z", "steps": 200,\n "model": {"name": "Sequential", "params": 337}, "optimizer": "optim.Adam(lr=0.001)", "script": "x.lua"}\n' "$2" "${#2}" > "$NNLAB_RUNS/$1/meta.json"
}
mk 20261201-100000-slow slow 0.005
mk 20261201-100100-mid mid 0.02
mk 20261201-100200-fast fast 0.08

"$NNLAB" runs > "$tmp/out" 2> "$tmp/err"; rc=$?
cp "$tmp/out" "$tmp/screen"
[ $rc -eq 0 ] && [ "$(grep -c "finished" "$tmp/out")" -eq 3 ]; ok $? "nnlab runs lists the three runs"
grep -E -q "100200-fast .* 200 +0\.01[0-9]* +0\.01[0-9]*" "$tmp/out"; ok $? "the list gives steps, final and best loss"
grep -q "^run .*steps.*final loss.*best loss.*best acc.*status" "$tmp/out"; ok $? "the list has a header"

"$NNLAB" runs --all --snapshot 100x30 --attrs > "$tmp/out" 2>&1
cp "$tmp/out" "$tmp/screen"
grep -qF "Runs (3)" "$tmp/out"; ok $? "the workspace lists three runs"
grep -qF "loss (log)" "$tmp/out"; ok $? "a loss falling by two decades is drawn on a log axis"
LC_ALL=C grep -q "$(printf '\342[\240\241\242\243]')" "$tmp/out"; ok $? "curves are drawn in braille"
# the chart's cells (right of the sidebar, above the summary) in run colours d..k
colours=$(sed -n '/^-- attributes --$/,$p' "$tmp/out" | sed -n '2,22p' | cut -c32-99 | grep -o '[d-k]' | sort -u | wc -l)
[ "$colours" -eq 3 ]; ok $? "three curves in three colours (found $colours)"
"$NNLAB" runs --all --snapshot 100x30 --keys ' ' > "$tmp/out" 2>&1; cp "$tmp/out" "$tmp/screen"
grep -qF "2 runs" "$tmp/out"; ok $? "space deselects the highlighted run"
"$NNLAB" runs --all --snapshot 100x30 --keys 'jjp' > "$tmp/out" 2>&1; cp "$tmp/out" "$tmp/screen"
sed -n 2p "$tmp/out" | grep -q "fast"; ok $? "p pins the highlighted run to the top"
"$NNLAB" runs --all --snapshot 100x30 --keys '\t' > "$tmp/out" 2>&1; cp "$tmp/out" "$tmp/screen"
grep -qF "test loss" "$tmp/out"; ok $? "tab shows the next metric"
"$NNLAB" runs --all --snapshot 100x30 --keys '/fa' > "$tmp/out" 2>&1; cp "$tmp/out" "$tmp/screen"
grep -qF "Runs (1)" "$tmp/out"; ok $? "/ filters the runs by name"
"$NNLAB" runs --all --snapshot 100x30 --keys 'l' > "$tmp/out" 2>&1; cp "$tmp/out" "$tmp/screen"
! grep -qF "loss (log)" "$tmp/out"; ok $? "l turns the log axis off"
"$NNLAB" runs mid --snapshot 100x30 > "$tmp/out" 2>&1; cp "$tmp/out" "$tmp/screen"
grep -qF "Runs (1)" "$tmp/out" && grep -qF "model Sequential, 337 params" "$tmp/out"; ok $? "a name picks runs; the summary shows the highlighted one"
"$NNLAB" runs --all --snapshot 50x10 > "$tmp/out" 2>&1; cp "$tmp/out" "$tmp/screen"
grep -qF "needs 60x12" "$tmp/out"; ok $? "below the minimum size: one notice"

printf ':runs fast\n' | "$NNLAB" > "$tmp/out" 2>&1; cp "$tmp/out" "$tmp/screen"
grep -q "100200-fast .* 200 " "$tmp/out" && ! grep -q "100000-slow" "$tmp/out"; ok $? ":runs NAME at the prompt lists the matching runs"

# a corrupt line and a half-written last line
printf '{"step":201,"loss":0.5}\n{"step": oops\n{"step":203,"loss":0.25}\n{"step":204,"lo' >> "$NNLAB_RUNS/20261201-100100-mid/metrics.jsonl"
"$NNLAB" runs > "$tmp/out" 2> "$tmp/err"; rc=$?
cat "$tmp/out" "$tmp/err" > "$tmp/screen"
grep -qF "20261201-100100-mid/metrics.jsonl:202: not valid JSON" "$tmp/err"; ok $? "a corrupt line is named by file and line"
[ $rc -eq 0 ] && [ "$(grep -c "finished" "$tmp/out")" -eq 3 ]; ok $? "the other runs (and the rest of this one) still show"
grep -E -q "100100-mid .* 203 +0\.25 " "$tmp/out"; ok $? "lines after the bad one are read; the half-written last one is left"
echo '{not json' > "$NNLAB_RUNS/20261201-100000-slow/meta.json"
"$NNLAB" runs > "$tmp/out" 2> "$tmp/err"
cat "$tmp/out" "$tmp/err" > "$tmp/screen"
grep -qF "100000-slow/meta.json:1: not valid JSON" "$tmp/err" && grep -q "100000-slow .* 200 " "$tmp/out"; ok $? "a corrupt meta.json is named; its metrics still show"
NNLAB_RUNS="$tmp/none" "$NNLAB" runs > "$tmp/out" 2> "$tmp/err"; rc=$?
cat "$tmp/err" > "$tmp/screen"
[ $rc -ne 0 ] && grep -qF "no runs folder" "$tmp/err"; ok $? "no runs folder: a clear message"

# the workspace in a real terminal
for size in "80 24" "120 40"; do
  set -- $size
  T kill-session -t main 2>/dev/null
  T new-session -d -s main -x "$1" -y "$2" "env PS1='$ ' sh" || { echo "1..0 # SKIP tmux cannot start"; exit 0; }
  T send-keys -t main "LANG=C.UTF-8 $NNLAB runs --all; echo exit=\$?" Enter
  wait_for "Runs (3)" 10; ok $? "$1x$2: the workspace opens"
  wait_for "loss (log)" 5 && wait_for "q quit" 5; ok $? "$1x$2: chart and keys shown"
  T send-keys -t main j; T send-keys -t main Tab; wait_for "test loss" 5; ok $? "$1x$2: tab changes the metric"
  T send-keys -t main q; wait_for "exit=0" 5; ok $? "$1x$2: q leaves with status 0"
  [ "$(T display -p -t main '#{alternate_on}')" = 0 ]; ok $? "$1x$2: terminal restored"
done

echo "1..$n"
