#!/bin/sh
# chaos.sh - one REPL session fed 1,000 erroneous commands through piped stdin: wrong
# shapes, bad dims, nil arguments, strings for tensors, huge sizes, corrupt files, labels
# out of range, backward misuse... generated from a seeded list of templates (the same
# commands every run; CHAOS_SEED and CHAOS_N change them). The process must survive to
# the final marker, and every error line must name the op or function that refused.
# Prints TAP. NNLAB=path overrides ./nnlab (make asan-suite runs it under ASan+UBSan).
cd "$(dirname "$0")/../.." || exit 1
NNLAB=${NNLAB:-./nnlab}
if [ ! -x "$NNLAB" ]; then echo "1..0 # SKIP $NNLAB not built"; exit 0; fi
SEED=${CHAOS_SEED:-20240601}
N=${CHAOS_N:-1000}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

# files for the "corrupt file" templates
printf 'not a tensor file at all\n' > "$tmp/text.safetensors"
printf '\223NUMPY\001\000\377\377{' > "$tmp/trunc.npy"
printf '\377\377\377\377\377\377\377\177{}' > "$tmp/huge_header.safetensors"
printf '\000\000\010\003\377\377\377\377' > "$tmp/bad.idx"
printf '\037\213\010\000garbage-after-gzip-magic' > "$tmp/bad.idx.gz"
: > "$tmp/empty.npy"
mkdir "$tmp/dir.safetensors"
mkfifo "$tmp/fifo.safetensors" 2>/dev/null   # a reader that opened it would wait forever

cat > "$tmp/gen.lua" <<'EOF'
-- generator: prints N commands, one per line, from templates picked with a seeded RNG
local n, seed, dir = tonumber(arg[1]), tonumber(arg[2]), arg[3]
math.randomseed(seed)
local function pick(t) return t[math.random(#t)] end
local junk = {"nil", "'abc'", "{}", "true", "print", "-7", "0", "1e300", "0/0", "math.huge",
              "1.5", "{1,'x'}", "{{1,2},{3}}", "2^62", "-2^63", "x:shape()"}
local bad_dim = {"0", "4", "-4", "99", "-99", "'a'", "1.5", "math.maxinteger"}
local bad_shape = {"5", "4, 4", "7, 2", "1, 2, 3, 4", "0, 9", "3, 3"}
local huge = {"1e6, 1e6", "2^31, 2^31, 2^31", "2^62, 2^62", "65536, 65536, 65536", "-1, 3", "-5"}
local files = {dir .. "/text.safetensors", dir .. "/trunc.npy", dir .. "/huge_header.safetensors",
               dir .. "/bad.idx", dir .. "/bad.idx.gz", dir .. "/empty.npy", dir .. "/dir.safetensors",
               dir .. "/missing.safetensors", "/dev/null", "", "/", dir .. "/fifo.safetensors"}
local T = {
  function() return ("tensor.zeros(%s)"):format(pick(junk)) end,
  function() return ("tensor.randn(%s)"):format(pick(huge)) end,
  function() return ("tensor.ones(%s, %s)"):format(pick(junk), pick(junk)) end,
  function() return ("tensor.full(%s, %s)"):format(pick(junk), pick(junk)) end,
  function() return ("x:sum(%s)"):format(pick(bad_dim)) end,
  function() return ("x:softmax(%s)"):format(pick(bad_dim)) end,
  function() return ("x:transpose(1, %s)"):format(pick(bad_dim)) end,
  function() return ("x:unsqueeze(%s)"):format(pick({"0", "5", "-5", "'z'"})) end,
  function() return ("x:narrow(%s, 1, 1)"):format(pick(bad_dim)) end,
  function() return ("x:narrow(2, %s, %s)"):format(pick({"0", "4", "-9", "'a'"}), pick({"-1", "9", "'b'"})) end,
  function() return ("x:select(%s, 1)"):format(pick(bad_dim)) end,
  function() return ("x[%s]"):format(pick({"0", "3", "-3", "99"})) end,
  function() return ("x:view(%s)"):format(pick(bad_shape)) end,
  function() return ("x:reshape(%s)"):format(pick({"4, 4", "-1, -1", "7", "'a'"})) end,
  function() return ("x:expand(%s)"):format(pick({"3, 3", "2, 3, -2", "'a'", "2^62, 2^62, 3"})) end,
  function() return ("x:permute(%s)"):format(pick({"1", "1, 1", "1, 3", "0, 1", "'a', 'b'"})) end,
  function() return ("x:matmul(tensor.randn(%s))"):format(pick({"2, 3", "4", "5, 2", "2, 2, 2"})) end,
  function() return ("x:matmul(%s)"):format(pick(junk)) end,
  function() return ("x + tensor.ones(%s)"):format(pick({"4", "3, 2", "2, 2", "5, 1, 4"})) end,
  function() return ("x * %s"):format(pick({"'abc'", "{}", "true", "print"})) end,
  function() return ("x:%s(%s)"):format(pick({"add", "sub", "mul", "div", "pow", "maximum", "eq", "lt"}),
                                         pick({"'s'", "{}", "true", "tensor.ones(7)"})) end,
  function() return ("tensor.cat({x, %s}, %s)"):format(pick({"'a'", "tensor.ones(5, 5)", "1"}), pick({"1", "2", "0", "3"})) end,
  function() return ("tensor.stack(%s)"):format(pick({"{}", "{x, tensor.ones(3, 2)}", "'a'", "nil"})) end,
  function() return ("x:gather(2, tensor{{%s}, {1}})"):format(pick({"0", "4", "-1", "1.5", "1e30"})) end,
  function() return ("x:index_select(1, tensor{%s})"):format(pick({"0", "3", "-1", "2.5"})) end,
  function() return ("tensor.tensor(%s)"):format(pick({"{{1,2},{3}}", "{'a'}", "{{1},{{2}}}", "'abc'", "{1,{2}}"})) end,
  function() return ("tensor.eye(%s)"):format(pick({"-3", "'a'", "2^40", "nil"})) end,
  function() return ("tensor.arange(%s)"):format(pick({"0, 1, 0", "0, 1e300, 1e-300", "'a'", "0/0", "0, math.huge"})) end,
  function() return ("tensor.linspace(0, 1, %s)"):format(pick({"-1", "'a'", "math.maxinteger", "1.5"})) end,
  function() return ("tensor.load(%q)"):format(pick(files)) end,
  function() return ("tensor.load_npy(%q)"):format(pick(files)) end,
  function() return ("data.idx(%q)"):format(pick(files)) end,
  function() return ("tensor.save(%q, %s)"):format(pick({dir .. "/no/such/dir/x.safetensors", "", dir .. "/dir.safetensors"}), pick({"x", "{w=x}"})) end,
  function() return ("tensor.save(%q, %s)"):format(dir .. "/ok.safetensors", pick(junk)) end,
  function() return ("nn.Linear(%s, %s)"):format(pick(junk), pick(junk)) end,
  function() return ("nn.Linear(3, 2)(tensor.randn(%s))"):format(pick({"2, 5", "4", "1, 1, 2"})) end,
  function() return ("nn.Linear(3, 2)(%s)"):format(pick(junk)) end,
  function() return ("nn.Conv2d(3, 8, 3)(tensor.randn(%s))"):format(pick({"1, 2, 8, 8", "8, 8", "1, 3, 2, 2"})) end,
  function() return ("nn.Conv2d(%s, 8, 3)"):format(pick(junk)) end,
  function() return ("nn.Embedding(5, 3)(tensor{%s})"):format(pick({"0", "6", "-1", "2.5"})) end,
  function() return ("nn.cross_entropy(tensor.randn(2, 3), tensor{%s})"):format(pick({"0, 1", "4, 1", "1", "1, 1, 1", "-1, 2"})) end,
  function() return ("nn.cross_entropy(%s, %s)"):format(pick(junk), pick(junk)) end,
  function() return ("nn.mse_loss(x, tensor.ones(%s))"):format(pick({"3, 2", "5", "2, 2"})) end,
  function() return ("nn.Sequential(nn.Linear(3, 4), nn.Linear(5, 1))(x)") end,
  function() return ("optim.SGD(%s)"):format(pick(junk)) end,
  function() return ("optim.Adam({x}, {lr = %s})"):format(pick({"'fast'", "{}", "-1", "true"})) end,
  function() return ("(x * 2):backward()") end,
  function() return ("tensor.ones(2):sum():backward(%s)"):format(pick({"tensor.ones(3)", "'a'", "{}"})) end,
  function() return ("tensor.full({2}, 1, {device = %s})"):format(pick({"'tpu'", "7", "{}"})) end,
  function() return ("x:to(%s)"):format(pick({"'tpu'", "7", "nil"})) end,
  function() return ("dash.log(%s)"):format(pick({"'a'", "7", "nil", "{loss = 'a'}"})) end,
  function() return ("dash.watch(%s)"):format(pick({"'a'", "7", "{}"})) end,
  function() return ("x:fill(%s)"):format(pick({"'a'", "{}", "nil"})) end,
  function() return ("x:copy(tensor.ones(%s))"):format(pick({"3", "2, 2", "4, 3"})) end,
  function() return ("x:clamp(%s)"):format(pick({"'a'", "{}", "1, 'b'"})) end,
  function() return ("nn.summary(%s, %s)"):format(pick({"nn.Linear(3, 2)", "7", "'m'"}), pick({"tensor.ones(2, 5)", "'x'", "nil"})) end,
  -- metamethods are plain functions: one given a foreign value must leave it alone
  function() return ("getmetatable(x).__gc(%s)"):format(pick({"io.stdout", "{}", "'a'", "7", "x:shape()", "nil"})) end,
  -- sizes that do not fit a C int, and ones that overflow it when doubled
  function() return "nn." .. pick({"Conv2d(1, 1, 3, ", "MaxPool2d(2, ", "AvgPool2d(2, "}) ..
                    pick({"{padding = ", "{stride = ", "{groups = "}) .. pick({"2^40})", "2^32 + 1})", "2^31})", "-1})", "0})"}) end,
  function() return ("nn.F.%s(tensor.randn(1, 1, 4, 4), %s, %s, %s)"):format(pick({"max_pool2d", "avg_pool2d"}),
                                         pick({"2", "2^32 + 2", "2^31 - 1"}), pick({"1", "2^32 + 1"}), pick({"0", "2^31", "2^31 - 1", "2^40"})) end,
  -- in-place writes: into what a forward pass used, and into a leaf that requires grad
  function() return ("local w = tensor.ones(2):requires_grad(); local y = (w * w):sum(); w:detach():%s; y:backward()"):format(
                                         pick({"fill(0)", "zero()", "copy(tensor.ones(2))", "fill(0/0)"})) end,
  function() return ("tensor.ones(2):requires_grad():%s"):format(pick({"fill(1)", "zero()", "copy(tensor.zeros(2))"})) end,
}
for i = 1, n do io.write(pick(T)(), "\n") end
EOF

echo "1..7"
"$NNLAB" "$tmp/gen.lua" "$N" "$SEED" "$tmp" > "$tmp/cmds" 2> "$tmp/gen.err"
lines=$(wc -l < "$tmp/cmds")
if [ "$lines" -eq "$N" ]; then echo "ok 1 - generated $N commands (seed $SEED)"; else echo "not ok 1 - generated $lines of $N commands"; sed 's/^/# /' "$tmp/gen.err"; fi

{ echo 'x = tensor.randn(2, 3)'; cat "$tmp/cmds"; echo 'print("CHAOS-" .. "END", x:shape())'; } > "$tmp/session"
"$NNLAB" < "$tmp/session" > "$tmp/out" 2> "$tmp/err"
rc=$?
if grep -qx 'CHAOS-END	\[2,3\]' "$tmp/out"; then echo "ok 2 - the session survived all $N commands to the final marker, x intact"
else echo "not ok 2 - no final marker (exit status $rc)"; tail -n 5 "$tmp/err" | sed 's/^/# /'; fi
if [ "$rc" -lt 128 ] && ! grep -q 'AddressSanitizer\|runtime error:\|LeakSanitizer' "$tmp/err"; then echo "ok 3 - exit status $rc, no signal, no sanitizer report"
else echo "not ok 3 - exit status $rc"; grep -m 20 -A 12 'Sanitizer\|runtime error:' "$tmp/err" | sed 's/^/# /'; fi

errors=$(grep -c '^error: ' "$tmp/err")
if [ "$errors" -ge $((N * 9 / 10)) ]; then echo "ok 4 - $errors of $N commands raised an error"
else echo "not ok 4 - only $errors of $N commands raised an error"; fi

# An error line names what refused: "op: ...", "op(args): ..." or Lua's
# "bad argument #k to 'name'" (never to '?'). A "file:line: " prefix is dropped first.
# Known gaps, reported to their owners, are counted in test 6 (TODO) instead:
# device-name errors and the allocator's out-of-memory message name no op, and
# dash.log's bad values say "bad argument #-1".
known="^(unknown device|device must be|out of memory: a tensor of shape)|bad argument #-1 to"
grep '^error: ' "$tmp/err" | sed 's/^error: //; s/^[^ :]*\.lua:[0-9]*: //' > "$tmp/msgs"
grep -Ev "^[A-Za-z_][A-Za-z0-9_.:]*(\[[a-z]\])?(\([^)]*\))?( = v)?: |bad argument #[0-9]+ to '[A-Za-z_][A-Za-z0-9_.:]*'" "$tmp/msgs" \
  > "$tmp/unnamed"
grep -Ev "$known" "$tmp/unnamed" | sort | uniq -c | sort -rn > "$tmp/unnamed_new"
grep -E "$known" "$tmp/unnamed" | sort | uniq -c | sort -rn > "$tmp/unnamed_known"
if [ ! -s "$tmp/unnamed_new" ]; then echo "ok 5 - every error line names the op or function (known gaps: test 6)"
else echo "not ok 5 - $(awk '{s+=$1} END {print s}' "$tmp/unnamed_new") error lines name no op:"; head -n 25 "$tmp/unnamed_new" | sed 's/^/# /'; fi
if [ ! -s "$tmp/unnamed_known" ]; then echo "ok 6 - no device, out-of-memory or dash.log message without an op name"
else echo "not ok 6 - $(awk '{s+=$1} END {print s}' "$tmp/unnamed_known") error lines without an op name (known) # TODO repl/lua_tensor.c, tensor/tensor.c, repl/dash/lua_dash.c"
  head -n 10 "$tmp/unnamed_known" | sed 's/^/# /'; fi

# Errors should point at the learner's code, not inside nnlab's own Lua modules.
grep '^error: ' "$tmp/err" | grep -E '^error: ((repl|nn)/lua/)?[a-z_]+\.lua:[0-9]+: ' | sed 's/^error: //' | cut -c1-100 \
  | sort | uniq -c | sort -rn > "$tmp/internal"
if [ ! -s "$tmp/internal" ]; then echo "ok 7 - no error message starts with a position inside nnlab's own Lua modules"
else echo "not ok 7 - $(awk '{s+=$1} END {print s}' "$tmp/internal") error lines start with an internal position # TODO nn/lua/*.lua: error(msg, level) points inside the module"
  head -n 15 "$tmp/internal" | sed 's/^/# /'; fi
