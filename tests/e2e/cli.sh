#!/bin/sh
# cli.sh - nnlab without a terminal: -e, scripts with arguments, --version, --help,
# piped stdin, tutorials, and exit codes (an error exits 1 with the message on
# stderr). Prints TAP. NNLAB=path overrides ./nnlab.
cd "$(dirname "$0")/../.." || exit 1
NNLAB=${NNLAB:-./nnlab}
if [ ! -x "$NNLAB" ]; then echo "1..0 # SKIP $NNLAB not built"; exit 0; fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
. tests/e2e/lib/tap.sh
export XDG_DATA_HOME="$tmp/data"   # a finished lesson is recorded there, not in the real home
# run ARGS...: runs nnlab with stdin from /dev/null; output in $tmp/out, $tmp/err, $rc
run() { "$NNLAB" "$@" </dev/null >"$tmp/out" 2>"$tmp/err"; rc=$?; }
has() { grep -qF -- "$2" "$tmp/$1"; }
line() { [ "$(sed -n "$2p" "$tmp/$1")" = "$3" ]; }

run --version
check "--version prints the version" eval '[ $rc -eq 0 ] && grep -q "^nnlab [0-9]*\.[0-9]*\.[0-9]*" "$tmp/out"'
run --help
check "--help prints the usage" eval '[ $rc -eq 0 ] && has out "usage: nnlab" && has out "tutorial"'
run --no-such-option
check "an unknown option exits 2 with the usage" eval '[ $rc -eq 2 ] && has err "unknown option --no-such-option"'

run -e 'print(1 + 1)'
check "-e runs code" eval '[ $rc -eq 0 ] && line out 1 2'
run -e '1 + 2'
check "-e prints an expression's value" eval '[ $rc -eq 0 ] && line out 1 3'
run -e 'x = 5' -e 'print(x * 2)'
check "several -e share one state" eval '[ $rc -eq 0 ] && line out 1 10'
run -e 'tensor.ones(2, 3):sum():item()'
check "-e reaches the tensor library" eval '[ $rc -eq 0 ] && line out 1 6.0'
run -e 'local t = {} t.self = t return {1, 2, name = "x", t = t}'
check "tables print readably, cycles marked" eval '[ $rc -eq 0 ] && line out 1 "{1, 2, name = \"x\", t = {self = <cycle>}}"'
run -e 'local t = {} for i = 1, 30 do t[i] = i end return t'
check "a long table is cut and wrapped" eval \
  '[ $rc -eq 0 ] && line out 1 "{" && line out 2 "  1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20," && line out 3 "  ... (10 more)" && line out 4 "}"'
run -e '{name = "a\nb", m = nn.Linear(2, 2), x = tensor.ones(2, 3)}'
check "inside a table: strings quoted on one line, objects by one line" eval \
  '[ $rc -eq 0 ] && line out 2 "  m = Linear(in=2, out=2, bias=true), name = \"a\\nb\"," && line out 3 "  x = [tensor 2x3 float32 cpu]"'
run -e 'error("boom")'
check "an -e error exits 1 with the message on stderr" eval '[ $rc -eq 1 ] && line err 1 "error: boom" && [ ! -s "$tmp/out" ]'
run -e 'tensor.ones(2, 3):matmul(tensor.ones(4, 5))'
check "a shape error reads plainly: op and shapes" eval '[ $rc -eq 1 ] && grep -q "^error: matmul: \[2,3\] x \[4,5\]" "$tmp/err"'
run -e 'x = ('
check "a syntax error exits 1" eval '[ $rc -eq 1 ] && has err "error:"'

cat > "$tmp/script.lua" <<'EOF'
local a, b = ...
print(arg[0]:match("script%.lua$") ~= nil, arg[1], arg[2], #arg, a, b)
EOF
run "$tmp/script.lua" one two
check "a script gets arg and ... like lua" eval '[ $rc -eq 0 ] && line out 1 "true	one	two	2	one	two"'
printf 'print("before")\nlocal x = tensor.ones(2):matmul(tensor.ones(3))\n' > "$tmp/bad.lua"
run "$tmp/bad.lua"
check "a script error exits 1, message and line on stderr" eval '[ $rc -eq 1 ] && line out 1 before && has err "bad.lua:2: matmul"'
run "$tmp/missing.lua"
check "a missing script exits 1" eval '[ $rc -eq 1 ] && has err "missing.lua"'

printf 'x = 1\n=x + 1\nfor i = 1, 2 do\n  print("i", i)\nend\n{1, 2}\nprint("quiet")\n' | "$NNLAB" >"$tmp/out" 2>"$tmp/err"; rc=$?
check "piped stdin runs chunk by chunk, no prompt or banner" eval \
  '[ $rc -eq 0 ] && [ "$(cat "$tmp/out")" = "$(printf "2\ni\t1\ni\t2\n{1, 2}\nquiet")" ]'
printf 'error("first")\nprint("still running")\n' | "$NNLAB" >"$tmp/out" 2>"$tmp/err"; rc=$?
check "piped stdin goes on after an error and exits 1" eval '[ $rc -eq 1 ] && line out 1 "still running" && line err 1 "error: first"'
printf 'y = tensor.ones(3);\n=y:numel()\n:time on\nz = 1\n' | "$NNLAB" >"$tmp/out" 2>"$tmp/err"; rc=$?
check "a trailing ; hides the value; colon commands work when piped" eval \
  '[ $rc -eq 0 ] && line out 1 3 && line out 2 "time on" && grep -q "^(.* ms)$" "$tmp/out"'
printf 'x = 41\ny = x + 1\n=y\nerror("not saved")\n:save %s/session.lua\n' "$tmp" | "$NNLAB" >/dev/null 2>&1
run "$tmp/session.lua"
check ":save writes the commands that worked as a replayable script" eval \
  '[ $rc -eq 0 ] && line out 1 42 && ! grep -q "not saved" "$tmp/session.lua"'

# :save replays what was typed: =expr as print(...) on one line, a loop whole, help calls dropped
printf 'x = 1\n=x\nx + 1\nhelp("matmul")\ntutorials()\nfor i = 1, 2 do\n  io.write(i)\nend\nx -- a comment\n:save %s/typed.lua\n' "$tmp" |
  "$NNLAB" >/dev/null 2>&1
cp "$tmp/typed.lua" "$tmp/out"
check ":save writes =x and x as print(x) on one line, keeps the loop whole, drops help() and tutorials()" eval \
  'line out 2 "x = 1" && line out 3 "print(x)" && line out 4 "print(x + 1)" && line out 5 "for i = 1, 2 do" &&
   line out 6 "  io.write(i)" && line out 7 "end" && line out 8 "print(x -- a comment" && line out 9 ")" &&
   ! grep -q "help\|tutorials" "$tmp/out"'
run "$tmp/typed.lua"
check "the saved session replays: it prints what the session printed" eval '[ $rc -eq 0 ] && line out 1 1 && line out 2 2'

# :run NAME runs a lesson, as `nnlab tutorial NAME` does
printf ':run gd\n' | "$NNLAB" >"$tmp/out" 2>"$tmp/err"
check ":run gd runs the lesson gd" eval 'has out "== gd done" && ! has err "cannot open"'
printf ':run no_such_lesson\n' | "$NNLAB" >"$tmp/out" 2>"$tmp/err"
check ":run with neither a file nor a lesson says so" eval \
  'has err "error: :run no_such_lesson: no such file, and no lesson by that name (tutorials() lists them)"'

run --device meta -e 'tensor.zeros(1000, 1000):device()'
check "--device meta sets the default device" eval '[ $rc -eq 0 ] && line out 1 meta'
run --device nosuch -e '1'
check "--device with an unknown name fails clearly" eval '[ $rc -eq 1 ] && has err "unknown device"'
if "$NNLAB" -e 'assert(tensor.cuda_available())' >/dev/null 2>&1; then
  n=$((n + 1)); echo "ok $n - --device cuda without a GPU # SKIP a GPU is present"
else
  run --device cuda -e '1'
  check "--device cuda without a GPU fails with the reason" eval '[ $rc -eq 1 ] && has err "cuda is not available"'
fi

run tutorial
check "tutorial alone lists the lessons" eval '[ $rc -eq 0 ] && has out "tutorials"'
run tutorial no_such_lesson
check "an unknown tutorial exits 1" eval '[ $rc -eq 1 ] && has err "no tutorial"'
mkdir -p "$tmp/lessons"
printf -- '-- demo: a lesson for the test\nprint("demo", ...)\n' > "$tmp/lessons/01_demo.lua"
NNLAB_TUTORIALS="$tmp/lessons" "$NNLAB" tutorial demo --check --lang ko </dev/null >"$tmp/out" 2>"$tmp/err"; rc=$?
check "tutorial NAME runs the lesson with its arguments" eval '[ $rc -eq 0 ] && line out 1 "demo	--check	--lang	ko"'
NNLAB_TUTORIALS="$tmp/lessons" "$NNLAB" -e 'tutorials()' </dev/null >"$tmp/out" 2>"$tmp/err"; rc=$?
check "tutorials() lists name and description" eval '[ $rc -eq 0 ] && grep -q "01_demo  *a lesson for the test" "$tmp/out"'

run -e 'help(tensor.randn)'
check "help(fn) prints signature and example" eval '[ $rc -eq 0 ] && line out 1 "tensor.randn(sizes..., [opts]) -> tensor" && has out "example:"'

cat > "$tmp/dash.lua" <<'EOF'
print("open", dash.is_open())
error("inside the dashboard")
EOF
run --dash "$tmp/dash.lua"
check "--dash opens the dashboard and closes it on error" eval \
  '[ $rc -eq 1 ] && has out "open	true" && has err "inside the dashboard"'

tap_done
