#!/bin/sh
# gpu_fmad.sh - the kernels that must round as the CPU does (uniform draws, Adam and SGD
# updates) hold no fused multiply-add: their PTX, built with gpu.mk's real flags, has no
# fma.rn.f32; the optimizer updates flush denormals, as the CPU's do. Runs without a GPU
# (nvcc only); the bitwise parity itself is in tests/lua/test_gpu_parity.lua ("bitwise").
# Prints TAP.
cd "$(dirname "$0")/../.." || exit 1
NVCC=$(command -v nvcc 2>/dev/null || ls /usr/local/cuda/bin/nvcc 2>/dev/null)
if [ -z "$NVCC" ]; then echo "1..0 # SKIP no nvcc (the CUDA toolkit is not installed)"; exit 0; fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
. tests/e2e/lib/tap.sh
nice -n 19 make -s build/gpu/gpu_map.ptx build/gpu/gpu_optim.ptx > "$tmp/out" 2>&1
tap_ok $? "the PTX of gpu_map.cu and gpu_optim.cu builds" "$tmp/out"
# fmas PTX ENTRY: the fma.rn.f32 count of the entries whose name contains ENTRY
fmas() {
  awk -v want="$2" '/\.entry/ { on = index($0, want) > 0; seen += on } on && /fma\.rn\.f32/ { c++ }
                    END { print (seen ? c + 0 : "none") }' "$1"
}
for k in gpu_uniform_kernel gpu_adam_kernel gpu_adam_multi_kernel gpu_sgd_kernel gpu_sgd_multi_kernel; do
  case $k in gpu_uniform*) f=build/gpu/gpu_map.ptx ;; *) f=build/gpu/gpu_optim.ptx ;; esac
  c=$(fmas "$f" "$k")
  echo "$k: $c fused multiply-adds" > "$tmp/out"
  [ "$c" = 0 ]
  tap_ok $? "$k has no fused multiply-add (rounds as the CPU)" "$tmp/out"
done
# and flush denormals as tensor/cpu/optim.c does (FTZ/DAZ): every f32 add, mul, div and
# sqrt of the optimizer kernels carries .ftz
plain=$(grep -cE '^[[:space:]]*(add|sub|mul|div|sqrt)(\.rn|\.approx|\.full)?\.f32' build/gpu/gpu_optim.ptx)
flushed=$(grep -cE '^[[:space:]]*(add|sub|mul|div|sqrt)(\.rn|\.approx|\.full)?\.ftz\.f32' build/gpu/gpu_optim.ptx)
echo "gpu_optim.ptx: $plain f32 operations without .ftz, $flushed with" > "$tmp/out"
[ "$plain" = 0 ] && [ "$flushed" -gt 0 ]
tap_ok $? "the optimizer kernels flush denormals to zero (as the CPU's updates)" "$tmp/out"
tap_done
