#!/bin/sh
# lessons.sh - the lesson runner without a terminal: `nnlab tutorial` lists the lessons
# in curriculum order and marks the finished ones (the progress file under
# XDG_DATA_HOME, written atomically, never a crash when it cannot be written); a lesson
# file given by path runs; answers typed in Korean count; what lesson code prints is
# Korean under --lang ko. Prints TAP. NNLAB=path overrides ./nnlab.
cd "$(dirname "$0")/../.." || exit 1
NNLAB=${NNLAB:-./nnlab}
case $NNLAB in /*) ;; *) NNLAB="$PWD/$NNLAB" ;; esac
if [ ! -x "$NNLAB" ]; then echo "1..0 # SKIP $NNLAB not built"; exit 0; fi
unset NNLAB_TUTORIALS NNLAB_LANG NNLAB_CHECK NNLAB_LESSON_QUICK NNLAB_LESSON_INTERACTIVE

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
export XDG_DATA_HOME="$tmp/data" HOME="$tmp/home"   # never the real home
mkdir -p "$HOME"
n=0
check() {
  name=$1; shift
  n=$((n + 1))
  if "$@"; then echo "ok $n - $name"
  else
    echo "not ok $n - $name"
    for f in out err; do [ -s "$tmp/$f" ] && sed "s/^/# $f: /" "$tmp/$f" | head -n 30; done
  fi
}
run() { "$NNLAB" "$@" </dev/null >"$tmp/out" 2>"$tmp/err"; rc=$?; }
has() { grep -qF -- "$2" "$tmp/$1"; }
count() { grep -cF -- "$2" "$tmp/$1"; }

# ---- the list: curriculum order, in parts -------------------------------------------
run tutorial
names=$(sed -n 's/^  \[.\] \([a-z_0-9]*\) .*/\1/p' "$tmp/out" | tr '\n' ' ')
want="gd matrix_gd sgd approximator optimization regularization nonlinearity_loss fashion \
frameworks papers shapes flatten bottleneck vit_conv xca perceiver "
check "nnlab tutorial lists the lessons in curriculum order" eval '[ $rc -eq 0 ] && [ "$names" = "$want" ]'
check "under an onboarding and an architecture heading" eval \
  'grep -n "lessons$" "$tmp/out" | tr "\n" " " | grep -q "onboarding lessons .*architecture lessons"'
check "every lesson in tutorials/ is listed" eval \
  '[ "$(ls tutorials/*.lua | wc -l)" -eq "$(grep -c "^  \[.\] " "$tmp/out")" ]'
check "nothing finished yet: no [x], 0 of 16" eval \
  '! grep -q "^  \[x\]" "$tmp/out" && has out "finished: 0 of 16 (recorded in $XDG_DATA_HOME/nnlab/progress)"'
wide=$(awk 'length($0) > 80' "$tmp/out")
check "the list fits 80 columns" [ -z "$wide" ]

# ---- progress ---------------------------------------------------------------------------
run tutorial gd --check
run tutorial sgd --check --lang ko
run tutorial gd --check
check "a lesson finished in --check is recorded once, in order" eval \
  '[ "$(cat "$XDG_DATA_HOME/nnlab/progress" | tr "\n" " ")" = "gd sgd " ]'
check "the progress file is replaced whole: no temp file left" eval \
  '[ "$(ls -A "$XDG_DATA_HOME/nnlab")" = progress ]'
run tutorial
check "the list marks gd and sgd finished, the rest not" eval \
  'grep -q "^  \[x\] gd " "$tmp/out" && grep -q "^  \[x\] sgd " "$tmp/out" &&
   grep -q "^  \[ \] matrix_gd " "$tmp/out" && has out "finished: 2 of 16"'
XDG_DATA_HOME= run tutorial matrix_gd --check
check "without XDG_DATA_HOME it goes to ~/.local/share/nnlab/progress" eval \
  '[ "$(cat "$HOME/.local/share/nnlab/progress")" = matrix_gd ]'
XDG_DATA_HOME=relative/dir run tutorial
check "a relative XDG_DATA_HOME is ignored (the XDG rule), by the list too" eval \
  'grep -q "^  \[x\] matrix_gd " "$tmp/out" && [ ! -e relative ]'
XDG_DATA_HOME=/proc/nnlab-cannot-write run tutorial gd --check
check "an unwritable data directory: the lesson still passes, nothing on stderr" eval \
  '[ $rc -eq 0 ] && has out "== gd done" && [ ! -s "$tmp/err" ]'
XDG_DATA_HOME=/proc/nnlab-cannot-write run tutorial
check "and the list still prints" eval '[ $rc -eq 0 ] && has out "  [ ] gd "'

# ---- :run NAME at the prompt (piped) records the lesson too -----------------------------
printf ':run optimization\n' | "$NNLAB" >"$tmp/out" 2>"$tmp/err"
check ":run optimization runs the lesson and records it" eval \
  'has out "== optimization done" && grep -qx optimization "$XDG_DATA_HOME/nnlab/progress"'

# ---- a lesson file that is not built in -------------------------------------------------
mkdir -p "$tmp/mine"
cat > "$tmp/mine/my_lesson.lua" <<'EOF'
-- my_lesson: the lab's own lesson
local L = dofile((os.getenv("NNLAB_TUTORIALS") or "tutorials") .. "/lib/lesson.lua")
local lesson = L.new{name = "my_lesson", title = {en = "our own", ko = "우리 레슨"}}
lesson:code[[
w = nn.Linear(3, 2)
print("params" || "파라미터", w:num_params())
]]
lesson:check(w:num_params() == 8, {en = "Linear(3, 2) has 8 parameters",
                                   ko = "Linear(3, 2)의 파라미터는 8개다"})
lesson:finish()
EOF
(cd "$tmp/mine" && "$NNLAB" tutorial ./my_lesson.lua --check </dev/null >"$tmp/out" 2>"$tmp/err"); rc=$?
check "nnlab tutorial ./my_lesson.lua --check runs a file outside tutorials/ (from its folder)" eval \
  '[ $rc -eq 0 ] && has out "params	8" && has out "ok - Linear(3, 2) has 8 parameters" && has out "== my_lesson done"'
run tutorial "$tmp/mine/my_lesson.lua" --check --lang ko
check "by absolute path, in Korean: its \"en\" || \"ko\" strings print the Korean" eval \
  '[ $rc -eq 0 ] && has out "파라미터	8" && has out "  > print(\"파라미터\", w:num_params())" && ! has out "||"'
(cd "$tmp/mine" && printf ':run ./my_lesson.lua\n' | "$NNLAB" >"$tmp/out" 2>"$tmp/err")
check ":run ./my_lesson.lua at the prompt runs it too (it finds lib/lesson.lua)" eval \
  'has out "== my_lesson done" && [ ! -s "$tmp/err" ]'
(cd "$tmp/mine" && "$NNLAB" tutorial my_lesson.lua --check </dev/null >"$tmp/out" 2>"$tmp/err"); rc=$?
check "NAME.lua that exists here is the file" eval '[ $rc -eq 0 ] && has out "== my_lesson done"'
run tutorial flatten.lua --check
check "NAME.lua that is not a file here is the built-in lesson" eval '[ $rc -eq 0 ] && has out "== flatten done"'
run tutorial "$tmp/mine/nope.lua"
check "a missing lesson file: exit 1, the error names the path" eval \
  '[ $rc -eq 1 ] && has err "nnlab: cannot run the lesson file $tmp/mine/nope.lua: No such file or directory"'
run tutorial nope.lua
check "a missing NAME.lua names the file and the lesson name" eval \
  '[ $rc -eq 1 ] && has err "no lesson file nope.lua here, and no tutorial '"'"'nope'"'"'"'
run tutorial "$tmp/mine/"
check "a directory is not a lesson file" eval '[ $rc -eq 1 ] && has err "$tmp/mine/: not a file"'

# ---- answers typed in Korean (NNLAB_LESSON_INTERACTIVE=1 asks even from a pipe) ---------
ask() {  # ask LESSON INPUT: the lesson run interactively in Korean, INPUT typed
  printf "$2" | NNLAB_LESSON_INTERACTIVE=1 NNLAB_LESSON_QUICK=1 "$NNLAB" tutorial "$1" --lang ko \
    >"$tmp/out" 2>"$tmp/err"
  rc=$?
}
ask sgd '63번\n\n'
check "sgd: 63번 is right for 63 updates" eval '[ $rc -eq 0 ] && has out "맞았습니다!" && ! has out "아쉽네요"'
ask sgd '64번\n\n'
check "sgd: 64번 is not" eval '[ $rc -eq 0 ] && has out "아쉽네요." && ! has out "맞았습니다!"'
ask bottleneck '\n28개\n\n예\n\n\n\n\n\n'
check "bottleneck: 28개, then 예 for yes, both right" eval \
  '[ $rc -eq 0 ] && [ "$(count out "맞았습니다!")" -eq 2 ] && ! has out "아쉽네요"'
ask papers '예\n\n아니오\n\n\n1개\n\n\n22.6\n\n196개와 768개\n\n\n'
check "papers: 예, 아니오, 1개, 22.6 and 196개와 768개 all right" eval \
  '[ $rc -eq 0 ] && [ "$(count out "맞았습니다!")" -eq 5 ] && ! has out "아쉽네요"'
ask papers '네\n\n아니요\n\n\n\n'
check "papers: 네 and 아니요 count too" eval '[ "$(count out "맞았습니다!")" -eq 2 ] && ! has out "아쉽네요"'
ask papers '아니오\n\n예\n\n\n\n'
check "papers: the opposite answers are wrong" eval '[ "$(count out "아쉽네요.")" -eq 2 ] && ! has out "맞았습니다!"'
ask nonlinearity_loss '\n교차 엔트로피, 약 500배\n\n'
check "nonlinearity_loss: 교차 엔트로피, 약 500배 is right" eval 'has out "맞았습니다!"'

# ---- what lesson code prints, in the learner's language ---------------------------------
run tutorial sgd --check --lang ko
check "sgd --lang ko: its table's headings are Korean" eval \
  'has out "업데이트 수   3 에폭 뒤 전체 데이터 손실" && has out "전체 배치" && ! has out "full batch"'
run tutorial sgd --check
check "sgd in English: the same table in English" eval \
  'has out "updates   loss on all data after 3 epochs" && has out "full batch" && ! has out "전체 배치"'
run tutorial gd --check --lang ko
check "gd --lang ko: \"w after 20 steps\" is 20스텝 뒤 w" eval 'has out "lr 0.1    20스텝 뒤 w =" && ! has out "after 20 steps"'
echo "1..$n"
