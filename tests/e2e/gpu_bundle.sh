#!/bin/sh
# gpu_bundle.sh - `make gpu-bundle` makes a folder that runs on its own: copied to a
# temp dir and run with a clean environment, its run.sh starts the bundled nnlab, the
# CPU reference loads the bundled OpenBLAS, the parity suite runs (or, without a GPU,
# skips naming the reason) and result.json is valid JSON. Prints TAP. Skips without
# nvcc (no libnnlab_cuda.so to bundle).
cd "$(dirname "$0")/../.." || exit 1
NVCC=$(command -v nvcc 2>/dev/null || ls /usr/local/cuda/bin/nvcc 2>/dev/null)
if [ -z "$NVCC" ]; then echo "1..0 # SKIP nvcc not found (a build without CUDA has no bundle)"; exit 0; fi
if ! command -v python3 >/dev/null 2>&1; then echo "1..0 # SKIP python3 (to check the JSON) not found"; exit 0; fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
echo "1..8"
n=0
t() {   # t COND-EXIT-STATUS NAME [FILE shown on failure]
  n=$((n + 1))
  if [ "$1" -eq 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; [ -n "${3:-}" ] && sed 's/^/# /' "$3" | tail -n 30; fi
}
make -j2 gpu-bundle BUNDLE="$tmp/built" > "$tmp/make.log" 2>&1
t $? "make gpu-bundle builds the folder" "$tmp/make.log"
kib=$(du -sk "$tmp/built" 2>/dev/null | awk '{print $1}')
[ -n "$kib" ] && [ "$kib" -le $((64 * 1024)) ]
t $? "the bundle is at most 64 MiB (it is $((${kib:-0} / 1024)) MiB)"
cp -r "$tmp/built" "$tmp/copy" 2>/dev/null
mkdir -p "$tmp/out"
(cd "$tmp/copy" && env -i PATH=/usr/bin:/bin OUT="$tmp/out" sh run.sh > "$tmp/run.log" 2>&1)
rc=$?
t $rc "run.sh in a copy, with a clean environment, exits 0" "$tmp/run.log"
grep -q 'CPU matmul smoke test: 12.0' "$tmp/run.log"
t $? "the bundled nnlab runs and its CPU matmul works" "$tmp/run.log"
# the loader's own account: OpenBLAS and Lua come from the bundle, not the system
(cd "$tmp/copy" && env -i PATH=/usr/bin:/bin LD_LIBRARY_PATH="$tmp/copy/lib" LD_DEBUG=libs \
   ./nnlab -e 'tensor.ones(2, 2):matmul(tensor.ones(2, 2))' > "$tmp/ld.log" 2>&1)
grep 'calling init' "$tmp/ld.log" | grep -q "$tmp/copy/lib/libopenblas.so.0" &&
  grep 'calling init' "$tmp/ld.log" | grep -q "$tmp/copy/lib/liblua5.4.so.0"
t $? "OpenBLAS (dlopen'ed) and liblua resolve inside the bundle" "$tmp/ld.log"
if grep -q '^1\.\.0 # SKIP' "$tmp/copy/logs/parity.tap" 2>/dev/null || grep -q '^1\.\.0 # SKIP' "$tmp/out/logs/parity.tap" 2>/dev/null; then
  grep -q 'SKIP: no CUDA device' "$tmp/run.log"
  t $? "without a GPU the parity suite skips, saying no CUDA device" "$tmp/run.log"
else
  grep -q 'run.sh: PASS' "$tmp/run.log"
  t $? "with a GPU the parity suite passes" "$tmp/run.log"
fi
python3 -m json.tool "$tmp/out/result.json" > "$tmp/json.log" 2>&1 &&
  python3 -c 'import json, sys; r = json.load(open(sys.argv[1])); assert "parity" in r and "bench" in r and "device" in r' \
    "$tmp/out/result.json" >> "$tmp/json.log" 2>&1
t $? "result.json (in \$OUT) is valid JSON with device, parity and bench" "$tmp/json.log"
logs="$tmp/out/logs/parity.tap"; [ -f "$logs" ] || logs="$tmp/copy/logs/parity.tap"
grep -q 'gemm shared output on cpu' "$logs" 2>/dev/null && ! grep -q '^not ok' "$logs"
t $? "run.sh runs the bundled backend-kernel test (test_gpu_kernels) with the parity suite" "$logs"
