#!/bin/sh
# lessons_prompt.sh - a lesson taken at the real prompt in a terminal (tmux on a private
# socket, 100x30): `:run sgd` in Korean, the answer typed as 63번, Enter through the
# code, the prompt back with the lesson's globals, and the lesson recorded as finished
# for `nnlab tutorial`. Prints TAP. NNLAB=path overrides ./nnlab.
cd "$(dirname "$0")/../.." || exit 1
. tests/e2e/lib/tmux.sh
# lib/tmux.sh exported XDG_DATA_HOME=$tmp/data: the progress file goes there

# settled: the screen has TEXT and its last non-empty line is LAST, twice in a row 0.3 s
# apart (the final state, not the first sign of it); up to SECONDS (default 20)
settled() {
  i=0 prev=
  while [ $i -lt $((${3:-20} * 10)) ]; do
    cap
    last=$(grep -v '^ *$' "$tmp/screen" | tail -n 1)
    if grep -qF -- "$1" "$tmp/screen" && [ "$last" = "$2" ]; then
      [ "$prev" = yes ] && return 0
      prev=yes
      sleep 0.3
    else
      prev=
      sleep 0.1
    fi
    i=$((i + 1))
  done
  return 1
}

T new-session -d -s main -x 100 -y 30 \
  "env NNLAB_LANG=ko NNLAB_HISTORY='$tmp/history' '$NNLAB'; echo NNLAB-EXITED \$?; sleep 60"
wait_for "nnlab>" 10
ok $? "the prompt appears"

T send-keys -t main -l ":run sgd"
T send-keys -t main Enter
wait_for "내 답>" 10
ok $? ":run sgd asks the lesson's first question, in Korean"
T send-keys -t main -l "63번"
T send-keys -t main Enter
wait_for "[Enter: 계속]" 20
# the verdict has scrolled up past the code block by now: read the scrollback too
T capture-pane -p -S -500 -t main | grep -qF "맞았습니다!"
ok $? "63번 is taken as the right answer"
T send-keys -t main Enter
settled "== sgd 끝: 확인 2개 통과" "nnlab>" 30
ok $? "the lesson ends with its checks passed and the prompt is back"
T capture-pane -p -S -500 -t main > "$tmp/all"
grep -qF "전체 배치" "$tmp/all" && ! grep -qF "not ok" "$tmp/all"
ok $? "its table printed in Korean, no check failed"

T send-keys -t main -l 'print("updates=" .. sgd_updates)'
T send-keys -t main Enter
wait_for "updates=189" 5
ok $? "the lesson's globals stay at the prompt (sgd_updates = 189)"
T send-keys -t main C-d
wait_for "NNLAB-EXITED 0" 5
ok $? "Ctrl-D leaves nnlab with status 0"

grep -qx sgd "$XDG_DATA_HOME/nnlab/progress"
ok $? "the progress file records sgd"
"$NNLAB" tutorial </dev/null > "$tmp/list" 2>&1
grep -q "^  \[x\] sgd " "$tmp/list" && grep -q "^  \[ \] gd " "$tmp/list"
ok $? "nnlab tutorial marks sgd finished"
echo "1..$n"
