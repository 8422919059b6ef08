# tmux.sh - shared by the end-to-end tests that drive nnlab in a real terminal.
# Source it from tests/e2e/NAME.sh after cd-ing to the repository root. Without tmux
# or without the binary it prints a TAP skip and exits the test. It defines
#   $NNLAB, $tmp (removed at exit)  the binary (NNLAB=path overrides ./nnlab), a scratch dir
#   T ARGS...                       tmux on a private server (killed at exit)
#   ok STATUS NAME                  one TAP line; on failure the screen as diagnostics
#   cap                             the screen of window "main" into $tmp/screen
#   wait_for TEXT [SECONDS]         polls until the screen shows TEXT (default 10 s)
#   gone TEXT                       polls up to 5 s until TEXT has left the screen
NNLAB=${NNLAB:-./nnlab}
if ! command -v tmux >/dev/null 2>&1; then echo "1..0 # SKIP tmux not installed"; exit 0; fi
if [ ! -x "$NNLAB" ]; then echo "1..0 # SKIP $NNLAB not built"; exit 0; fi

tmp=$(mktemp -d)
export XDG_DATA_HOME="$tmp/data"   # a finished lesson is recorded there, not in the real home
sock="nnlab-e2e-$$"
T() { tmux -L "$sock" -f "$tmp/tmux.conf" "$@"; }
trap 'T kill-server 2>/dev/null; rm -rf "$tmp"' EXIT INT TERM
printf 'set -g default-terminal screen\nset -g status off\n' > "$tmp/tmux.conf"
unset TMUX
# A session that outlives the tests' own: tmux exits with its last session, and a test
# that kills "main" and starts it again then races the dying server ("server exited
# unexpectedly" on a busy machine). Started a few times: the first start can race too.
for _try in 1 2 3; do
  T new-session -d -s keeper "sleep 86400" 2>/dev/null && break
  sleep 0.5
done

. tests/e2e/lib/tap.sh
ok() { tap_ok "$1" "$2" "$tmp/screen"; }
cap() { T capture-pane -p -t main > "$tmp/screen"; }
wait_for() {
  i=0
  while [ $i -lt $((${2:-10} * 10)) ]; do
    cap
    grep -qF -- "$1" "$tmp/screen" && return 0
    sleep 0.1
    i=$((i + 1))
  done
  return 1
}
gone() {
  i=0
  while [ $i -lt 50 ]; do
    cap
    grep -qF -- "$1" "$tmp/screen" || return 0
    sleep 0.1
    i=$((i + 1))
  done
  return 1
}
