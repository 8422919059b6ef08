#!/bin/sh
# gpu_bundle.sh - `make gpu-bundle`: pack nnlab, libnnlab_cuda.so, every non-CUDA shared
# library they need and the checks' Lua files into build/gpu-bundle/, which runs the
# CPU/GPU parity suite and the GPU benchmarks on a bare GPU machine (no apt, no
# headers, no build) with `sh run.sh`. Expects `make all` to have run.
#
# Not bundled, expected on the GPU machine: libc, libm, libdl, libpthread, librt,
# ld-linux, libgcc_s and libstdc++ (every glibc system with CUDA has them), and CUDA's libcublas.so.13 and
# libcublasLt.so.13 (libcublasLt alone is ~540 MB). run.sh finds those in the toolkit
# or in PyTorch's pip packages. libcudart.so.13 (0.7 MB) travels as a fallback.
set -u
cd "$(dirname "$0")/.." || exit 1
B=${BUNDLE:-build/gpu-bundle}
MAX_MIB=64

for f in nnlab libnnlab_cuda.so build/tests/test_gpu_kernels.t; do
  if [ ! -f "$f" ]; then echo "gpu-bundle: $f is not built (run make all; libnnlab_cuda.so needs nvcc)"; exit 1; fi
done
command -v ldd >/dev/null 2>&1 || { echo "gpu-bundle: ldd not found"; exit 1; }

rm -rf "$B"
mkdir -p "$B/lib" "$B/lib-cuda" "$B/tests/lua" "$B/bench" || exit 1
cp nnlab libnnlab_cuda.so "$B/" || exit 1
# the backend kernels no Lua op reaches (shared-output GEMM); next to libnnlab_cuda.so,
# where tensor/device.c looks for it
cp build/tests/test_gpu_kernels.t "$B/test_gpu_kernels" || exit 1
# the bundle's binaries without their DWARF (nnlab 1.8 -> ~0.5 MB); symbols stay for backtraces
command -v strip >/dev/null 2>&1 && strip --strip-debug "$B/nnlab" "$B/test_gpu_kernels"
cp tests/lua/test_gpu_parity.lua tests/lua/tap.lua "$B/tests/lua/" || exit 1
cp bench/gpu_bench.lua bench/gpu_bench_torch.py "$B/bench/" || exit 1
cp scripts/gpu_bundle_run.sh "$B/run.sh" || exit 1
[ -f build/gpu_ceiling ] && cp build/gpu_ceiling "$B/"

# libraries the system is trusted to have, or CUDA's (found on the GPU machine)
skip='^(linux-vdso|ld-linux|libc|libm|libdl|libpthread|librt|libgcc_s|libstdc\+\+|libcublas|libcublasLt|libcudart|libcudnn.*|libnvidia-ml)\.so'
# OpenBLAS is dlopen()ed by name (tensor/cpu_backend.c), so ldd of nnlab misses it
blas=$(ldconfig -p 2>/dev/null | awk '$1 == "libopenblas.so.0" {print $NF; exit}')
[ -n "$blas" ] || blas=$(ls /usr/lib/*/libopenblas.so.0 2>/dev/null | head -n 1)
if [ -z "$blas" ]; then echo "gpu-bundle: libopenblas.so.0 not found (apt-get install libopenblas0)"; exit 1; fi

# name => path of every dependency, transitively (ldd already follows the graph)
deps=$(for f in nnlab libnnlab_cuda.so build/tests/test_gpu_kernels.t "$blas" $( [ -f build/gpu_ceiling ] && echo build/gpu_ceiling); do
         ldd "$f" | awk '$2 == "=>" && $3 ~ /^\// {print $1, $3}'
       done | sort -u)
missing=$(for f in nnlab "$blas"; do ldd "$f"; done | awk '/not found/ {print $1}' | sort -u)
if [ -n "$missing" ]; then echo "gpu-bundle: unresolved here:" $missing; exit 1; fi
echo "$deps" | while read -r name path; do
  [ -n "$name" ] || continue
  echo "$name" | grep -q -E "$skip" && continue
  cp -L "$path" "$B/lib/$name" || exit 1
done || exit 1
cp -L "$blas" "$B/lib/libopenblas.so.0" || exit 1

# libcudart: a fallback, put after the machine's own CUDA libraries by run.sh
cudart=$(echo "$deps" | awk '$1 == "libcudart.so.13" {print $2}')
[ -n "$cudart" ] && cp -L "$cudart" "$B/lib-cuda/"

# what the CUDA library expects from the GPU machine, for run.sh and the reader
{
  echo "# needed from the GPU machine (not bundled): NVIDIA driver >= the CUDA runtime's, and"
  ldd libnnlab_cuda.so | awk '$1 ~ /^lib(cublas|cublasLt|cudart|cudnn)/ {print $1}'
  echo "libcudnn.so.9 optional (dlopen'ed for conv2d; im2col + cuBLAS without it)"
} > "$B/CUDA_NEEDS"
git log -1 --format='%H %s' > "$B/VERSION" 2>/dev/null || echo unknown > "$B/VERSION"

(cd "$B" && find . -type f ! -name MANIFEST | sort | while read -r f; do
   printf '%10d  %s\n' "$(wc -c < "$f")" "$f"
 done) > "$B/MANIFEST"
kib=$(du -sk "$B" | awk '{print $1}')
cat "$B/MANIFEST"
echo "gpu-bundle: $B: $((kib / 1024)).$(( (kib % 1024) * 10 / 1024 )) MiB"
if [ "$kib" -gt $((MAX_MIB * 1024)) ]; then
  echo "gpu-bundle: FAIL: larger than $MAX_MIB MiB (what a GPU machine's working tree may carry)"
  exit 1
fi
echo "gpu-bundle: run it with: sh $B/run.sh   (writes result.json to \$OUT or the bundle)"
