#!/usr/bin/env bash
# Messages a person understands (issue 6): a store locked by another process,
# a bad flag, a bad flag value and a missing state dir each exit with the
# documented code and say what is wrong and what to do. (No broker reachable is
# checked in broker_restart_test.sh.) And `recur import` of a file in any order
# (issue 16, item 7).
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
# A flag given a 40-digit value in a config file: CLI11 throws std::out_of_range
# (tests/fuzz/config_fuzz found it): a usage error, not an abort.
printf '[run]\nbrokers = "embedded"\nno-scoring = 3333333333333333333333333333333333333333\n' >huge-flag.toml
expect 2 "out of range" -- "$RECUR" --config huge-flag.toml run
expect 2 "--log-format: xml not in" -- "$RECUR" --log-format xml run --brokers embedded
expect 2 "Run with --help" -- "$RECUR" train --state-dir state --cutoff 2025-13-01
expect 2 "brokers is required" -- "$RECUR" run --state-dir state
expect 1 "nowhere" -- "$RECUR" train --state-dir "$WORK/nowhere" --models-dir models
"$RECUR" --help >out.txt 2>&1 || fail "recur --help"
for sub in run replay snapshot inspect train demo; do
  grep -q "^  $sub" out.txt || fail "recur --help does not list $sub"
  "$RECUR" "$sub" --help >/dev/null 2>&1 || fail "recur $sub --help"
done
# Import order (issue 16, item 7): a file written customer by customer lost most
# of its older events as too_late (the horizon followed the newest line so far).
# The same lines in either order now give the same store, all applied; a rerun
# skips them all; an event older than the store's horizon says what to do.
"$RECUR" simulate --shops 1 --customers 30 --days 500 --seed 7 -o long.jsonl 2>/dev/null
python3 -c '
import json
lines = [l for l in open("long.jsonl") if l.strip()]
open("by_customer.jsonl", "w").writelines(sorted(lines, key=lambda l: json.loads(l)["customer_id"]))
old = next(json.loads(l) for l in lines if "\"session\"" in l); old["event_id"] += "-old"; old["event_time_ms"] = "1672531200000"
open("old.jsonl", "w").write(json.dumps(old) + "\n")'
TOTAL=$(grep -c . long.jsonl)
for f in long by_customer; do
  "$RECUR" import $f.jsonl --state-dir "state-$f" --partitions 2 >/dev/null 2>"import-$f.txt" \
    || fail "import $f: $(tail -3 "import-$f.txt")"
  grep -q "imported: $TOTAL applied, 0 duplicates, 0 rejected" "import-$f.txt" \
    || fail "import $f: $(tail -3 "import-$f.txt")"
  "$RECUR" inspect --all --buckets --as-of "$(last_event_day long.jsonl)" --state-dir "state-$f" \
    >"features-$f.jsonl" || fail "inspect $f"
done
cmp -s features-long.jsonl features-by_customer.jsonl \
  || fail "customer-by-customer import differs from the time-sorted one"
[[ $(wc -l <features-long.jsonl) -eq 30 ]] || fail "expected 30 customers"
"$RECUR" import by_customer.jsonl --state-dir state-by_customer --partitions 2 >/dev/null \
  2>rerun.txt || fail "rerun: $(tail -3 rerun.txt)"
grep -q "0 applied, 0 duplicates, 0 rejected, $TOTAL skipped" rerun.txt || fail "rerun: $(cat rerun.txt)"
expect 3 "line 1: too_late: event_time_ms: 2023-01-01 is [0-9]+ days before the latest event this store holds \([0-9-]+\) and the store keeps 400 days \(from [0-9-]+, its --retention-days\): import older files first, or into a new state dir \(with a longer --retention-days to keep more history\)" -- \
  "$RECUR" import old.jsonl --state-dir state-long --partitions 2
log "PASS cli_errors"
