#!/bin/sh
# tutorials.sh - every lesson in tutorials/*.lua run with --check (prints TAP, one line
# per lesson with its time). A lesson passes when it exits 0: each one asserts its own
# expectations and exits non-zero with the failed check's message. NNLAB=path overrides
# ./nnlab; TUTORIAL_LANG=ko runs them in Korean. A lesson over LIMIT seconds (30) fails:
# each must stay quick enough to run at every `make test`. A lesson that prints a line
# wider than 80 columns fails too.
cd "$(dirname "$0")/.." || exit 1
NNLAB=${NNLAB:-./nnlab}
LIMIT=${LIMIT:-30}
if [ ! -x "$NNLAB" ]; then echo "1..0 # SKIP $NNLAB not built"; exit 0; fi
lessons=$(ls tutorials/*.lua 2>/dev/null)
if [ -z "$lessons" ]; then echo "1..0 # SKIP no tutorials"; exit 0; fi
set -- $lessons
echo "1..$#"
tmp=$(mktemp) || exit 1
# a finished lesson is recorded in $XDG_DATA_HOME/nnlab/progress: a scratch one, never
# the real home
data=$(mktemp -d) || exit 1
export XDG_DATA_HOME="$data"
trap 'rm -f "$tmp"; rm -rf "$data"' EXIT INT TERM
now() { date +%s.%N; }
n=0
for f in "$@"; do
  n=$((n + 1))
  name=$(basename "$f" .lua)
  t0=$(now)
  NNLAB_TUTORIALS="$PWD/tutorials" "$NNLAB" tutorial "$name" --check ${TUTORIAL_LANG:+--lang $TUTORIAL_LANG} \
    </dev/null >"$tmp" 2>&1
  rc=$?
  secs=$(echo "$(now) $t0" | awk '{printf "%.1f", $1 - $2}')
  slow=$(echo "$secs $LIMIT" | awk '{print ($1 > $2)}')
  # lines wider than the 80-column terminal (display width: Hangul takes two columns)
  wide=$(perl -CSD -MText::Tabs -ne 'chomp; $_ = expand($_);
    my $w = length($_) + (() = /[\x{1100}-\x{115F}\x{2E80}-\x{A4CF}\x{AC00}-\x{D7A3}\x{F900}-\x{FAFF}\x{FF00}-\x{FF60}]/g);
    print "$.: $_\n" if $w > 80' "$tmp")
  if [ $rc -eq 0 ] && [ "$slow" = 0 ] && [ -n "$wide" ]; then
    echo "not ok $n - $name prints lines wider than 80 columns"
    echo "$wide" | head -n 5 | sed 's/^/# /'
  elif [ $rc -eq 0 ] && [ "$slow" = 0 ]; then
    checks=$(grep -c '^  ok - ' "$tmp")
    echo "ok $n - $name ($checks checks, ${secs} s)"
  elif [ $rc -eq 0 ]; then
    echo "not ok $n - $name took ${secs} s, over the ${LIMIT} s budget of a lesson in --check mode"
  else
    echo "not ok $n - $name (exit $rc, ${secs} s)"
    tail -n 15 "$tmp" | sed 's/^/# /'
  fi
done
