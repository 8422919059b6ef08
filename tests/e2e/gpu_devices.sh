#!/bin/sh
# gpu_devices.sh - tensor.cuda_devices() and cuda:N without a GPU: against a stand-in
# libnvidia-ml.so.1 (three GPUs, the middle one busy) it lists each GPU's name, memory,
# load and processes, and follows CUDA_VISIBLE_DEVICES (indices and UUIDs); without
# NVML it returns {} and the reason; cuda:N parses and bad names fail clearly, in Lua
# and on the command line. The dashboard's system panel shows that card's memory and
# load on CUDA (build/tests/test_dash_sys.t, run against the stand-in) and nothing of
# it on the CPU, NVML or not. Prints TAP. NNLAB=path overrides ./nnlab.
cd "$(dirname "$0")/../.." || exit 1
NNLAB=${NNLAB:-./nnlab}
if [ ! -x "$NNLAB" ]; then echo "1..0 # SKIP $NNLAB not built"; exit 0; fi
CC=${CC:-cc}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
cat > "$tmp/nvml.c" <<'C'
#include <stdio.h>
#include <string.h>
typedef struct { unsigned long long total, free, used; } mem;
typedef struct { unsigned int gpu, memory; } util;
static const char *names[] = {"Fake GPU A", "Fake GPU B", "Fake GPU C"};
int nvmlInit_v2(void) { return 0; }
int nvmlDeviceGetCount_v2(unsigned int *n) { *n = 3; return 0; }
int nvmlDeviceGetHandleByIndex_v2(unsigned int i, void **d) { if (i >= 3) return 2; *d = (void *)(long)(i + 1); return 0; }
int nvmlDeviceGetName(void *d, char *b, unsigned int n) { snprintf(b, n, "%s", names[(long)d - 1]); return 0; }
int nvmlDeviceGetUUID(void *d, char *b, unsigned int n) { snprintf(b, n, "GPU-%ld111-2222", (long)d - 1); return 0; }
int nvmlDeviceGetMemoryInfo(void *d, mem *m) {
  m->total = 80ull << 30; m->used = (long)d == 2 ? 70ull << 30 : 1ull << 30; m->free = m->total - m->used; return 0; }
int nvmlDeviceGetUtilizationRates(void *d, util *u) { u->gpu = (long)d == 2 ? 97 : 0; u->memory = 0; return 0; }
int nvmlDeviceGetComputeRunningProcesses_v3(void *d, unsigned int *n, void *p) { *n = (long)d == 2 ? 2 : 0; return *n ? 7 : 0; }
const char *nvmlErrorString(int r) { return "fake error"; }
C
if ! $CC -shared -fPIC -o "$tmp/libnvidia-ml.so.1" "$tmp/nvml.c" 2>"$tmp/cc.log"; then
  echo "1..0 # SKIP cannot build the stand-in NVML"; exit 0
fi
list='for _, g in ipairs((tensor.cuda_devices())) do print(g.device, g.name, g.memory_used >> 30, g.memory_total >> 30, g.utilization, g.processes, g.nvml_index, g.current) end'
echo "1..13"
n=0
t() { n=$((n + 1)); if [ "$1" -eq 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; sed 's/^/# /' "$tmp/out"; fi; }

LD_LIBRARY_PATH="$tmp" "$NNLAB" -e "$list" > "$tmp/out" 2>&1
printf 'cuda:0\tFake GPU A\t1\t80\t0\t0\t0\ttrue\ncuda:1\tFake GPU B\t70\t80\t97\t2\t1\tfalse\ncuda:2\tFake GPU C\t1\t80\t0\t0\t2\tfalse\n' > "$tmp/want"
cmp -s "$tmp/out" "$tmp/want"; t $? "cuda_devices lists every GPU: name, memory used/total, load, processes"
LD_LIBRARY_PATH="$tmp" CUDA_VISIBLE_DEVICES=2,0 "$NNLAB" -e "$list" > "$tmp/out" 2>&1
printf 'cuda:0\tFake GPU C\t1\t80\t0\t0\t2\ttrue\ncuda:1\tFake GPU A\t1\t80\t0\t0\t0\tfalse\n' > "$tmp/want"
cmp -s "$tmp/out" "$tmp/want"; t $? "CUDA_VISIBLE_DEVICES=2,0 renumbers them as CUDA does"
LD_LIBRARY_PATH="$tmp" CUDA_VISIBLE_DEVICES=GPU-1111,9 "$NNLAB" -e "$list" > "$tmp/out" 2>&1
[ "$(cut -f2 "$tmp/out")" = "Fake GPU B" ]; t $? "a UUID prefix picks a GPU, and an unknown entry ends the list"
LD_LIBRARY_PATH="$tmp" "$NNLAB" -e 'pcall(tensor.zeros, 1, {device = "cuda:1"})' -e "$list" > "$tmp/out" 2>&1
grep -q "^cuda:1	Fake GPU B.*true$" "$tmp/out"; t $? "after using cuda:1, it is the current one"

"$NNLAB" -e 'local l, why = tensor.cuda_devices(); print(#l, why)' > "$tmp/out" 2>&1
grep -q "^0	.*libnvidia-ml.so.1" "$tmp/out"; t $? "without NVML: an empty list and the reason"
"$NNLAB" -e 'print(pcall(tensor.zeros, 1, {device = "cuda:x"}))' > "$tmp/out" 2>&1
grep -q "unknown device 'cuda:x': a GPU is named cuda:N" "$tmp/out"; t $? "cuda:x fails, saying how a GPU is named"
"$NNLAB" -e 'print(pcall(function() return tensor.ones(2):to("cuda:-1") end))' > "$tmp/out" 2>&1
grep -q "unknown device 'cuda:-1'" "$tmp/out"; t $? "x:to(\"cuda:-1\") fails the same way"
"$NNLAB" -e 'print(pcall(tensor.zeros, 1, {device = "cuda:1"}))' > "$tmp/out" 2>&1
grep -q "false.*cuda" "$tmp/out" && ! grep -q "unknown device" "$tmp/out"; t $? "cuda:1 is a device name (here: no GPU, said so)"
"$NNLAB" --device cuda:x -e 1 > "$tmp/out" 2>&1
rc=$?
[ $rc -ne 0 ] && grep -q -- "--device cuda:x: unknown device 'cuda:x': a GPU is named cuda:N" "$tmp/out"
t $? "--device cuda:x fails clearly"

# ---- the dashboard's system panel ----
# on CUDA: the C test draws the panel from what it samples (no GPU here to make this
# process use CUDA); cuda:0 is the busy card B through CUDA_VISIBLE_DEVICES
dash_t=${BUILD:-build}/tests/test_dash_sys.t
if [ -x "$dash_t" ]; then
  LD_LIBRARY_PATH="$tmp" CUDA_VISIBLE_DEVICES=1 WANT_GPU="card     70.0/80.0 GB  97%" "$dash_t" > "$tmp/out" 2>&1
  rc=$?
  [ $rc -eq 0 ] && grep -q "^# │card     70.0/80.0 GB  97% *│$" "$tmp/out" &&
    grep -q "^# │device   cuda:0 Fake GPU B *│$" "$tmp/out"
  t $? "on cuda the system panel shows the card: 70.0/80.0 GB, 97%, cuda:0 Fake GPU B"
else
  n=$((n + 1)); echo "ok $n # SKIP $dash_t not built (make check builds it)"
fi
# on the CPU: the System panel's rows (digits as N), and whether NVML got loaded
panel='dash.open{plain = true, every = 1e9}
local s = dash.snapshot(120, 40)
dash.close()
local rows = {}
for l in s:gmatch("[^\n]+") do rows[#rows + 1] = l:sub(utf8.offset(l, utf8.len(l) - 28), utf8.offset(l, utf8.len(l)) - 1) end
local top
for i, r in ipairs(rows) do if r:find("System") then top = i end end
for i = top + 1, #rows - 2 do local r = rows[i]:gsub("%s+$", ""):gsub("[%d.]+", "N"); if r ~= "" then print(r) end end
for l in io.lines("/proc/self/maps") do if l:find("nvidia%-ml") then print("NVML loaded") break end end'
printf 'steps/s  -\nCPU      N%%\nRSS      N MB\ndevice   cpu\n' > "$tmp/want"
LD_LIBRARY_PATH="$tmp" "$NNLAB" -e "$panel" > "$tmp/out" 2>&1
cmp -s "$tmp/out" "$tmp/want"; t $? "on the CPU with NVML here: the panel as before, no GPU rows, NVML not loaded"
LD_LIBRARY_PATH="$tmp" "$NNLAB" -e 'local ok = pcall(tensor.zeros, 1, {device = "cuda:1"})' -e "$panel" > "$tmp/out" 2>&1
cmp -s "$tmp/out" "$tmp/want"; t $? "after a cuda:1 tensor that could not be made: still no GPU rows"
"$NNLAB" -e "$panel" > "$tmp/out" 2>&1
cmp -s "$tmp/out" "$tmp/want"; t $? "without NVML: the panel as before"
