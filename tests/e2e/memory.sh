#!/bin/sh
# memory.sh - running short of memory is an error, never a hang: under an address-space
# limit (ulimit -v 2 GB) with 1.9 GB held, a first 1024x1024 matmul used to spin forever
# inside OpenBLAS (its per-thread scratch malloc retried); now it is an out-of-memory
# error, and a matmul whose scratch was made earlier still runs. Prints TAP.
# NNLAB=path overrides ./nnlab.
cd "$(dirname "$0")/../.." || exit 1
NNLAB=${NNLAB:-./nnlab}
if [ ! -x "$NNLAB" ]; then echo "1..0 # SKIP $NNLAB not built"; exit 0; fi
command -v timeout >/dev/null 2>&1 || { echo "1..0 # SKIP timeout not installed"; exit 0; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
. tests/e2e/lib/tap.sh
# limited CODE: nnlab -e CODE under ulimit -v 2 GB, killed after 30 s; output in $tmp/out
limited() { (ulimit -v 2097152 && timeout 30 "$NNLAB" -e "$1") >"$tmp/out" 2>&1; rc=$?; }

limited 'local hold = tensor.zeros(1900 * 2^20 / 4); local a = tensor.randn(1024, 1024)
         local ok, err = pcall(function() return a:matmul(a) end); print(ok, err)'
check "first matmul with 1.9 of 2 GB held: an error, not a hang (rc $rc)" \
  eval '[ $rc -eq 0 ] && grep -q "false.*matmul: out of memory: OpenBLAS needs" "$tmp/out"'

limited 'local a = tensor.randn(1024, 1024); a:matmul(a); local hold = tensor.zeros(1700 * 2^20 / 4)
         print("sum", a:matmul(a):sum():item() ~= 0)'
check "a matmul after the first runs with memory short (rc $rc)" \
  eval '[ $rc -eq 0 ] && grep -q "^sum	true" "$tmp/out"'

tap_done
