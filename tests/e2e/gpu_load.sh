#!/bin/sh
# gpu_load.sh - when libnnlab_cuda.so is next to the binary but cannot load (its
# libcublas/libcudart missing), the message gives the loader's reason; it used to say
# "built without CUDA". Runs a copy of nnlab beside a stand-in libnnlab_cuda.so that
# needs a library that is gone. Prints TAP. NNLAB=path overrides ./nnlab.
cd "$(dirname "$0")/../.." || exit 1
NNLAB=${NNLAB:-./nnlab}
if [ ! -x "$NNLAB" ]; then echo "1..0 # SKIP $NNLAB not built"; exit 0; fi
CC=${CC:-cc}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
echo 'int nnlab_gone(void) { return 1; }' > "$tmp/gone.c"
echo 'int nnlab_gone(void); int use(void) { return nnlab_gone(); }' > "$tmp/cuda.c"
if ! $CC -shared -fPIC -o "$tmp/libnnlabgone.so" "$tmp/gone.c" ||
   ! $CC -shared -fPIC -o "$tmp/libnnlab_cuda.so" "$tmp/cuda.c" -L"$tmp" -lnnlabgone; then
  echo "1..0 # SKIP cannot build the stand-in libraries"; exit 0
fi
rm "$tmp/libnnlabgone.so"
cp "$NNLAB" "$tmp/nnlab"
"$tmp/nnlab" -e 'print(select(2, tensor.cuda_available()))' > "$tmp/out" 2>&1
echo "1..2"
if grep -q "libnnlabgone.so" "$tmp/out"; then echo "ok 1 - the message names the library that failed to load"
else echo "not ok 1 - the message names the library that failed to load"; sed 's/^/# /' "$tmp/out"; fi
if ! grep -q "built without CUDA" "$tmp/out"; then echo "ok 2 - and does not claim a build without CUDA"
else echo "not ok 2 - and does not claim a build without CUDA"; fi
