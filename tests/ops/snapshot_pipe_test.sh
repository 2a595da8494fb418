#!/usr/bin/env bash
# `recur snapshot … | head`: the reader goes away while the snapshot is being
# taken. The writes to the closed pipe must not kill the process half-way
# (SIGPIPE), which would leave OUT.tmp-* behind and no OUT: the snapshot
# completes (exit 0, OUT is a state dir) and nothing temporary remains. No broker.
set -euo pipefail
RECUR="${RECUR:-$(dirname "$0")/../../build/recur}"
RECUR="$(cd "$(dirname "$RECUR")" && pwd)/$(basename "$RECUR")"
WORK="$(mktemp -d /tmp/recur-snapshot-pipe-XXXXXX)"
trap 'rm -rf "$WORK"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
cd "$WORK"

"$RECUR" simulate --shops 2 --customers 200 --days 100 --seed 1 -o events.jsonl 2>/dev/null
"$RECUR" import events.jsonl --state-dir state >/dev/null 2>&1

check() {  # $1: OUT, $2: exit code, $3: how it was run
  [[ $2 -eq 0 ]] || fail "$3: exit $2 (141 = killed by SIGPIPE)"
  local left
  left=$(find . -maxdepth 1 -name "$1.tmp-*")
  [[ -z $left ]] || fail "$3: left $left behind"
  [[ -d $1 ]] || fail "$3: no $1"
  "$RECUR" inspect --offsets --state-dir "$1" >/dev/null || fail "$3: $1 is not a state dir"
}

# Deterministic: stdout and stderr are a pipe whose reading end is already
# closed, so the very first write fails.
rc=$(python3 - "$RECUR" <<'PY'
import os, subprocess, sys
r, w = os.pipe()
os.close(r)
p = subprocess.run([sys.argv[1], "snapshot", "--state-dir", "state", "--out", "closed"],
                   stdout=w, stderr=w)  # restore_signals: the child has SIGPIPE's default action
print(p.returncode if p.returncode >= 0 else 128 - p.returncode)
PY
)
check closed "$rc" "a closed pipe"

# The user's form: head takes the first line and exits.
set +o pipefail
"$RECUR" snapshot --state-dir state --out headed 2>&1 | head -1 >/dev/null
rc=${PIPESTATUS[0]}
set -o pipefail
check headed "$rc" "| head -1"
echo "PASS snapshot survives a closed pipe"
