#!/bin/sh
# save_signals.sh - a save interrupted by a signal leaves no temp file behind: SIGTERM,
# SIGHUP during a loop of tensor.save remove it before the process ends; after
# SIGKILL (which nothing can catch) the next save into the directory removes it. The
# checkpoint itself always loads. Prints TAP. NNLAB=path overrides ./nnlab.
cd "$(dirname "$0")/../.." || exit 1
NNLAB=${NNLAB:-./nnlab}
if [ ! -x "$NNLAB" ]; then echo "1..0 # SKIP $NNLAB not built"; exit 0; fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
ck="$tmp/ck.safetensors"
. tests/e2e/lib/tap.sh
ok() { tap_ok "$1" "$2"; [ "$1" -eq 0 ] || ls -A "$tmp" | sed 's/^/# /'; }
temps() { ls -A "$tmp" | grep -c '\.tmp\.'; }
# saves a 16 MB checkpoint over and over until killed
saver() { "$NNLAB" -e "local w = tensor.randn(2048, 2048); while true do tensor.save('$ck', {w = w}) end" & pid=$!; }
# stop SIG: sends it and waits up to 10 s; a process still alive then is killed (status 1)
stop() {
  kill -$1 $pid; i=0
  while kill -0 $pid 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
  if kill -0 $pid 2>/dev/null; then kill -KILL $pid; wait $pid 2>/dev/null; return 1; fi
  wait $pid 2>/dev/null; return 0
}

for sig in TERM HUP TERM HUP TERM; do   # not INT/QUIT: a shell starts background jobs ignoring them
  saver; sleep 0.7
  if stop $sig; then ok $([ "$(temps)" -eq 0 ] && echo 0 || echo 1) "SIG$sig during a save leaves no temp file"
  else ok 1 "SIG$sig ends the process"; rm -f "$tmp"/.nnlab.tmp.*; fi
done
left=0
for i in 1 2 3; do saver; sleep 0.6; stop KILL; left=$((left + $(temps))); done
"$NNLAB" -e "tensor.save('$ck', {w = tensor.ones(2)})"
ok $([ "$(temps)" -eq 0 ] && echo 0 || echo 1) "the next save removes what $left SIGKILLed saves left"
"$NNLAB" -e "assert(tensor.load('$ck').w:sum():item() == 2)" 2>/dev/null
ok $? "the checkpoint loads"
tap_done
