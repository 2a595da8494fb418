#!/usr/bin/env bash
# `recur verify` (issue 15): on an intact state dir it exits 0; after one byte
# of a table file is flipped it exits non-zero naming that file, where `recur
# inspect` of an untouched customer would have noticed nothing. No broker.
source "$(dirname "$0")/lib.sh"
cd "$WORK"
"$RECUR" simulate --shops 1 --customers 200 --days 60 --seed 3 -o events.jsonl 2>/dev/null
"$RECUR" import events.jsonl --state-dir state --partitions 2 >/dev/null 2>&1 || fail "import"
# A second (empty) import reopens the stores read-write: RocksDB replays the WAL
# into table files, so there are .sst files to corrupt.
: >empty.jsonl
"$RECUR" import empty.jsonl --state-dir state --partitions 2 >/dev/null 2>&1 || fail "second import"
sst=$(ls state/partition-1/*.sst | head -1)
[[ -n "$sst" ]] || fail "no table file after the reopen: $(ls state/partition-1)"

"$RECUR" verify --state-dir state >ok.txt 2>err.txt || fail "verify of an intact store failed: $(cat ok.txt err.txt)"
grep -q "verified 2 partition stores: ok" ok.txt || fail "no summary: $(cat ok.txt)"
log "intact: $(tr '\n' ' ' <ok.txt)"

# Flip one byte in the middle of the first data block.
python3 - "$sst" <<'PY'
import sys
p = sys.argv[1]
with open(p, "r+b") as f:
    f.seek(100)
    b = f.read(1)[0]
    f.seek(100)
    f.write(bytes([b ^ 0xFF]))
PY
rc=0
"$RECUR" verify --state-dir state >bad.txt 2>err.txt || rc=$?
[[ $rc -eq 1 ]] || fail "verify of a corrupt store exited $rc, expected 1: $(cat bad.txt err.txt)"
grep -q "partition-0: ok" bad.txt || fail "the intact partition was not reported ok: $(cat bad.txt)"
grep -q "partition-1: FAILED" bad.txt || fail "the corrupt partition was not reported: $(cat bad.txt)"
grep -qF "$(basename "$sst")" err.txt || fail "the error does not name $(basename "$sst"): $(cat err.txt)"
grep -qi "corrupt" err.txt || fail "the error does not say corrupt: $(cat err.txt)"
log "corrupt: exit $rc: $(grep error: err.txt | cut -c1-300)"
log "PASS verify"
