#!/usr/bin/env bash
# Messages a person understands (issue 6): a store locked by another process,
# a bad flag, a bad flag value and a missing state dir each exit with the
# documented code and say what is wrong and what to do. (No broker reachable is
# checked in broker_restart_test.sh.)
source "$(dirname "$0")/lib.sh"
cd "$WORK"
"$RECUR" simulate --shops 1 --customers 5 --days 3 -o events.jsonl 2>/dev/null
"$RECUR" import events.jsonl --state-dir state --partitions 1 >/dev/null 2>&1 || fail "import"

# expect CODE PATTERN -- COMMAND...: exit code CODE and PATTERN on stderr.
expect() {
  local code=$1 pattern=$2 rc=0
  shift 3
  "$@" >out.txt 2>err.txt || rc=$?
  [[ $rc -eq $code ]] || fail "$*: exit $rc, expected $code: $(tail -3 err.txt)"
  grep -Eq -- "$pattern" err.txt || fail "$*: no '$pattern' in: $(tail -3 err.txt)"
  log "exit $rc: $* -> $(grep -Eo -- "$pattern.{0,60}" err.txt | head -1)"
}

# A store held by another process (RocksDB's lock is a POSIX record lock on LOCK).
python3 - <<'PY' &
import fcntl, time
f = open("state/partition-0/LOCK", "r+")
fcntl.lockf(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
open("locked", "w").close()
time.sleep(600)
PY
HOLDER=$!
for _ in $(seq 100); do [[ -f locked ]] && break; sleep 0.1; done
[[ -f locked ]] || fail "could not take the store's lock"
expect 1 "another process holds the store's LOCK; stop it or use another state directory" -- \
  "$RECUR" import events.jsonl --state-dir state --partitions 1
expect 1 "another process holds the store's LOCK" -- \
  "$RECUR" run --brokers embedded --state-dir state --exit-when-idle-ms 1000
kill "$HOLDER"; wait "$HOLDER" 2>/dev/null || true

expect 2 "not expected: --no-such-flag" -- "$RECUR" run --brokers embedded --no-such-flag
expect 2 "Run with --help" -- "$RECUR" train --state-dir state --cutoff 2025-13-01
expect 2 "brokers is required" -- "$RECUR" run --state-dir state
expect 1 "nowhere" -- "$RECUR" train --state-dir "$WORK/nowhere" --models-dir models
"$RECUR" --help >out.txt 2>&1 || fail "recur --help"
for sub in run replay snapshot inspect train demo; do
  grep -q "^  $sub" out.txt || fail "recur --help does not list $sub"
  "$RECUR" "$sub" --help >/dev/null 2>&1 || fail "recur $sub --help"
done
log "PASS cli_errors"
