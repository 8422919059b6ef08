# tap.sh - TAP output for the shell tests (tests/e2e/*.sh, tests/e2e/lib/tmux.sh). Source it
# after setting $tmp (a scratch directory). It defines
#   tap_ok STATUS NAME [FILE...]   one TAP line: ok when STATUS is 0; on failure the
#                                  non-empty FILEs as "# " diagnostics
#   check NAME COMMAND...          runs COMMAND: ok when it exits 0, else $tmp/out and
#                                  $tmp/err (when present) as diagnostics
#   tap_done                       the plan line, 1..N for the N lines printed
n=0
tap_ok() {
  _status=$1 _name=$2
  shift 2
  n=$((n + 1))
  if [ "$_status" -eq 0 ]; then echo "ok $n - $_name"; return 0; fi
  echo "not ok $n - $_name"
  for _f in "$@"; do [ -s "$_f" ] && sed "s/^/# /" "$_f"; done
  return 0
}
check() {
  _cname=$1
  shift
  "$@"
  tap_ok $? "$_cname" "$tmp/out" "$tmp/err"
}
tap_done() { echo "1..$n"; }
