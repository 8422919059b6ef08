#!/bin/sh
# gpu_check.sh - `make gpu-check`: build with CUDA, check what libnnlab_cuda.so links
# against, run the CPU/GPU parity suite and the GPU benchmarks, print a summary.
# Exits 1 when the build or a parity test fails; 0 (with SKIP) on a machine without a GPU.
set -u
cd "$(dirname "$0")/.." || exit 1
LOG=${TMPDIR:-/tmp}/nnlab-gpu-check.$$
mkdir -p "$LOG" || exit 1
trap 'rm -rf "$LOG"' EXIT

echo "== build"
# A GPU machine lent for minutes may lack the headers a build needs (lua, cjson,
# readline): binaries already built are used as they are. `make gpu-check` builds first.
if [ -x nnlab ] && [ -f libnnlab_cuda.so ] && [ -z "${GPU_CHECK_BUILD:-}" ]; then
  echo "using the built nnlab and libnnlab_cuda.so (GPU_CHECK_BUILD=1 rebuilds)"
elif ! make -j"${JOBS:-2}" all >"$LOG/build" 2>&1; then
  tail -n 40 "$LOG/build"
  echo "gpu-check: FAIL: the build failed"
  exit 1
fi
# the library may need only CUDA and libc: nothing from nnlab (the error setter comes
# through gpu_backend_init), so it works without -rdynamic
extra=$(nm -D --undefined-only libnnlab_cuda.so 2>/dev/null | awk '{print $NF}' |
        grep -v -E '^(cuda|cublas|__cuda|_ITM_|__gmon_start__|__cxa_atexit|__cxa_finalize)' |
        grep -v '@GLIBC_' || true)
command -v nm >/dev/null 2>&1 || echo "(no nm: the symbol check is skipped)"
if [ -n "$extra" ]; then
  echo "gpu-check: FAIL: libnnlab_cuda.so needs unexpected symbols:" $extra
  exit 1
fi
echo "libnnlab_cuda.so: exports $(nm -D --defined-only libnnlab_cuda.so | awk '$2 == "T" {print $3}' | tr '\n' ' ')"

echo "== device"
if command -v nvidia-smi >/dev/null 2>&1; then
  nvidia-smi --query-gpu=name,driver_version,memory.total,compute_cap --format=csv,noheader 2>&1 | head -n 4
else
  echo "(no nvidia-smi)"
fi

echo "== CPU/GPU parity (tests/lua/test_gpu_parity.lua)"
t0=$(date +%s)
./nnlab tests/lua/test_gpu_parity.lua >"$LOG/parity" 2>&1
parity_rc=$?
t1=$(date +%s)
grep -v '^ok ' "$LOG/parity"
total=$(grep -c -E '^(not )?ok ' "$LOG/parity")
failed=$(grep -c '^not ok ' "$LOG/parity")
skip=$(sed -n 's/^1\.\.0 # SKIP //p' "$LOG/parity")

if [ -n "$skip" ]; then
  echo "== summary"
  echo "gpu-check: SKIP: $skip"
  exit 0
fi

echo "== GPU benchmarks (bench/gpu_bench.lua)"
# the pipeline's status is tee's; nnlab's is kept in a file
{ ./nnlab bench/gpu_bench.lua 2>&1; echo $? > "$LOG/bench_rc"; } | tee "$LOG/bench"
bench_rc=$(cat "$LOG/bench_rc" 2>/dev/null || echo 1)

pick() { awk -v n="$1" '$1 == n {printf "%s %s", $2, $3}' "$LOG/bench"; }
echo "== summary"
echo "parity:     $((total - failed)) of $total passed in $((t1 - t0)) s$( [ "$parity_rc" -ne 0 ] && echo " (nnlab exited $parity_rc)")"
echo "sgemm 4096: $(pick sgemm_4096) (TF32, set_matmul_precision(\"high\"): $(pick sgemm_4096_tf32))"
echo "op overhead (4-element add): $(pick op_overhead_add)"
echo "MLP 784-256-128-10 train step (batch 128, Adam): $(pick mlp_train_step)"
echo "bottleneck, 100 epochs: cuda $(pick bottleneck_100_epochs_cuda), cpu $(pick bottleneck_100_epochs_cpu)"
if [ "$failed" -ne 0 ] || [ "$total" -eq 0 ] || [ "$parity_rc" -ne 0 ]; then
  echo "gpu-check: FAIL"
  exit 1
fi
[ "$bench_rc" -eq 0 ] || echo "gpu-check: note: the benchmarks exited $bench_rc"
echo "gpu-check: PASS"
