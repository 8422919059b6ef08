#!/bin/sh
# run.sh of build/gpu-bundle (made by scripts/gpu_bundle.sh): runs the CPU/GPU parity
# suite and the GPU benchmarks with the bundled nnlab and libraries, builds nothing,
# and writes result.json (device, parity counts, every benchmark row) to $OUT when it
# is set, else next to this script. Exits 0 when parity passed or was skipped (no GPU),
# 1 when a parity test failed or nnlab could not run.
#   sh run.sh                      everything (about 2-3 minutes on an H200)
#   PARITY_ONLY=1 sh run.sh        the parity suite alone
# The time limits per stage are PARITY_TIMEOUT and BENCH_TIMEOUT (seconds).
set -u
HERE=$(cd "$(dirname "$0")" && pwd) || exit 1
cd "$HERE" || exit 1
RES=${OUT:-$HERE}
mkdir -p "$RES" || exit 1
LOG=$RES/logs
mkdir -p "$LOG" 2>/dev/null || LOG=$RES
export TERM=${TERM:-dumb} NNLAB_RUNS=${NNLAB_RUNS:-${TMPDIR:-/tmp}/nnlab-bundle-runs}

# ---- CUDA's libraries come from the machine: the toolkit, else PyTorch's pip wheels ----
find_cuda_dir() {   # $1 = a library name; prints the first folder that holds it
  for d in ${CUDA_HOME:+$CUDA_HOME/lib64} /usr/local/cuda/lib64 /usr/local/cuda-13*/lib64 \
           /usr/local/cuda/targets/x86_64-linux/lib /usr/lib/x86_64-linux-gnu /usr/lib64; do
    [ -e "$d/$1" ] && { echo "$d"; return 0; }
  done
  d=$(ldconfig -p 2>/dev/null | awk -v n="$1" '$1 == n {print $NF; exit}')
  [ -n "$d" ] && { dirname "$d"; return 0; }
  for py in python3 /opt/torch/.venv/bin/python3; do
    d=$("$py" -c 'import glob, os, site, sys
for s in site.getsitepackages():
    for f in glob.glob(os.path.join(s, "nvidia", "*", "lib", sys.argv[1])):
        print(os.path.dirname(f)); raise SystemExit' "$1" 2>/dev/null) && [ -n "$d" ] && { echo "$d"; return 0; }
  done
  return 1
}
cuda_path=""
for lib in $(grep -v '^#' CUDA_NEEDS 2>/dev/null | awk '{print $1}'); do
  d=$(find_cuda_dir "$lib") || { echo "run.sh: $lib not found on this machine (looked in the CUDA toolkit, ldconfig and python's nvidia packages)$(grep -q "^$lib optional" CUDA_NEEDS && echo '; optional')"; continue; }
  case ":$cuda_path:" in *":$d:"*) ;; *) cuda_path=${cuda_path:+$cuda_path:}$d ;; esac
  echo "run.sh: $lib from $d"
done
# bundled libraries first; the machine's CUDA next; the bundled libcudart last resort.
# Set only for nnlab's own runs, so python3 (PyTorch) keeps the machine's libraries.
NNLAB_LD="$HERE/lib${cuda_path:+:$cuda_path}:$HERE/lib-cuda${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
nnlab() { LD_LIBRARY_PATH=$NNLAB_LD "$HERE/nnlab" "$@"; }
limit() { t=$1; shift; if command -v timeout >/dev/null 2>&1; then timeout "$t" "$@"; else "$@"; fi; }

# ---- the device ----------------------------------------------------------------------------
device="" driver="" memory=""
if command -v nvidia-smi >/dev/null 2>&1; then
  line=$(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null | head -n 1)
  device=$(echo "$line" | cut -d, -f1 | sed 's/^ *//'); driver=$(echo "$line" | cut -d, -f2 | sed 's/^ *//')
  memory=$(echo "$line" | cut -d, -f3 | sed 's/^ *//')
fi
echo "== device: ${device:-unknown (no nvidia-smi)} ${driver:+driver $driver} $memory"
# the CPU reference first (OpenBLAS is dlopen()ed on the first matmul), then the GPU
cpu_smoke=$(nnlab -e 'print(tensor.ones(2, 3):matmul(tensor.ones(3, 2)):sum():item())' 2>&1)
nnlab_rc=$?
echo "nnlab: CPU matmul smoke test: $cpu_smoke (want 12.0)"
[ "$cpu_smoke" = "12.0" ] || nnlab_rc=1
nnlab -e 'print(tensor.cuda_available())' > "$LOG/cuda_available.txt" 2>&1 || nnlab_rc=1
sed 's/^/nnlab: cuda_available: /' "$LOG/cuda_available.txt"

# ---- parity ----------------------------------------------------------------------------------
echo "== CPU/GPU parity"
t0=$(date +%s)
LD_LIBRARY_PATH=$NNLAB_LD limit "${PARITY_TIMEOUT:-240}" "$HERE/nnlab" tests/lua/test_gpu_parity.lua > "$LOG/parity.tap" 2>&1
parity_rc=$?
# the backend kernels no Lua op reaches (tests/c/test_gpu_kernels.c), counted with the suite
if [ -x ./test_gpu_kernels ]; then
  echo "# tests/c/test_gpu_kernels.c" >> "$LOG/parity.tap"
  LD_LIBRARY_PATH=$NNLAB_LD limit 60 ./test_gpu_kernels > "$LOG/kernels.tap" 2>&1 || parity_rc=1
  grep -v '^1\.\.' "$LOG/kernels.tap" >> "$LOG/parity.tap"
fi
parity_s=$(( $(date +%s) - t0 ))
grep -v '^ok ' "$LOG/parity.tap" | head -n 60

# ---- benchmarks -------------------------------------------------------------------------------
bench_rc="" ceiling_rc="" torch_rc=""
: > "$LOG/bench.txt"; : > "$LOG/torch.txt"; : > "$LOG/ceiling.txt"
if [ -z "${PARITY_ONLY:-}" ] && ! grep -q '^1\.\.0 # SKIP' "$LOG/parity.tap"; then
  echo "== cuBLAS ceilings (gpu_ceiling)"
  if [ -x ./gpu_ceiling ]; then
    LD_LIBRARY_PATH=$NNLAB_LD limit 120 ./gpu_ceiling > "$LOG/ceiling.txt" 2>&1; ceiling_rc=$?
    cat "$LOG/ceiling.txt"
  fi
  echo "== PyTorch CUDA (bench/gpu_bench_torch.py, the machine's own python3)"
  limit 240 python3 bench/gpu_bench_torch.py > "$LOG/torch.txt" 2>&1; torch_rc=$?
  cat "$LOG/torch.txt"
  echo "== nnlab GPU benchmarks (bench/gpu_bench.lua)"
  NNLAB_TORCH_BENCH=$LOG/torch.txt LD_LIBRARY_PATH=$NNLAB_LD limit "${BENCH_TIMEOUT:-300}" \
    "$HERE/nnlab" bench/gpu_bench.lua > "$LOG/bench.txt" 2>&1
  bench_rc=$?
  cat "$LOG/bench.txt"
fi

# ---- result.json -----------------------------------------------------------------------------
total=$(grep -c -E '^(not )?ok ' "$LOG/parity.tap")
failed=$(grep -c '^not ok ' "$LOG/parity.tap")
skip=$(sed -n 's/^1\.\.0 # SKIP //p' "$LOG/parity.tap" | head -n 1)
awk -v device="$device" -v driver="$driver" -v memory="$memory" -v cuda_path="$cuda_path" \
    -v total="$total" -v failed="$failed" -v skip="$skip" -v prc="$parity_rc" -v psec="$parity_s" \
    -v smoke="$cpu_smoke" -v nrc="$nnlab_rc" -v brc="$bench_rc" -v crc="$ceiling_rc" -v trc="$torch_rc" -v version="$(cat VERSION 2>/dev/null)" \
    -v avail="$(head -c 400 "$LOG/cuda_available.txt" | tr '\n\t' '  ')" '
function q(s) { gsub(/\\/, "\\\\", s); gsub(/"/, "\\\"", s); gsub(/[\001-\037]/, " ", s); return "\"" s "\"" }
function num(s) { return s == "" ? "null" : s + 0 }
{ file = FILENAME ~ /parity\.tap$/ ? 1 : FILENAME ~ /bench\.txt$/ ? 2 : FILENAME ~ /torch\.txt$/ ? 3 : 4 }
file == 1 && /^not ok / { sub(/^not ok [0-9]+ *-? */, ""); fails[nf++] = $0 }
file >= 2 && NF == 3 && $2 ~ /^-?[0-9.]+([eE][-+]?[0-9]+)?$/ {
  src = file == 2 ? "nnlab" : file == 3 ? "pytorch" : "cublas"
  rows[nr++] = sprintf("{\"source\": %s, \"name\": %s, \"value\": %s, \"unit\": %s}", q(src), q($1), $2 + 0, q($3))
}
END {
  printf "{\n  \"bundle\": %s,\n  \"device\": {\"name\": %s, \"driver\": %s, \"memory\": %s},\n", q(version), q(device), q(driver), q(memory)
  printf "  \"cuda_library_path\": %s,\n  \"nnlab_cuda_available\": %s,\n", q(cuda_path), q(avail)
  printf "  \"cpu_smoke\": {\"ok\": %s, \"output\": %s},\n", nrc == 0 ? "true" : "false", q(smoke)
  printf "  \"parity\": {\"total\": %d, \"passed\": %d, \"failed\": %d, \"skipped\": %s, \"seconds\": %d, \"exit\": %d, \"failures\": [", total, total - failed, failed, skip == "" ? "null" : q(skip), psec, prc
  for (i = 0; i < nf; i++) printf "%s%s", i ? ", " : "", q(fails[i])
  printf "]},\n  \"exit\": {\"bench\": %s, \"ceiling\": %s, \"pytorch\": %s},\n  \"bench\": [", num(brc), num(crc), num(trc)
  for (i = 0; i < nr; i++) printf "%s\n    %s", i ? "," : "", rows[i]
  printf "%s]\n}\n", nr ? "\n  " : ""
}' "$LOG/parity.tap" "$LOG/bench.txt" "$LOG/torch.txt" "$LOG/ceiling.txt" > "$RES/result.json"
echo "== summary"
echo "parity: $((total - failed)) of $total passed in $parity_s s${skip:+ (SKIP: $skip)} (nnlab exited $parity_rc)"
[ -n "$bench_rc" ] && echo "benchmarks: nnlab exited $bench_rc, pytorch $torch_rc, gpu_ceiling ${ceiling_rc:-absent}"
echo "result: $RES/result.json"
if [ "$nnlab_rc" -ne 0 ] || [ "$parity_rc" -ne 0 ] || [ "$failed" -ne 0 ]; then echo "run.sh: FAIL"; exit 1; fi
[ -n "$skip" ] && { echo "run.sh: SKIP: $skip"; exit 0; }
[ "$total" -gt 0 ] || { echo "run.sh: FAIL: the parity suite ran no test"; exit 1; }
echo "run.sh: PASS"
