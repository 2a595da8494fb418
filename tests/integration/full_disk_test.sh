#!/usr/bin/env bash
# Full disk: `recur run` with its state dir on a small tmpfs that fills up while
# it ingests from a real broker. It must stop with a clear message (non-zero,
# naming the state dir and "no space left"), never abort or crash; once space
# is back a restart resumes from the last flush and the features equal the
# offline reference: nothing lost, nothing counted twice.
# Needs root (mount); otherwise it skips with exit code 77 (ctest SKIP_RETURN_CODE).
source "$(dirname "$0")/lib.sh"

if [[ $(id -u) -ne 0 ]]; then
  echo "SKIP full_disk: needs root to mount a tmpfs" >&2
  exit 77
fi
STATE="$WORK/state"
mkdir -p "$STATE"
if ! mount -t tmpfs -o size=16m tmpfs "$STATE" 2>"$WORK/mount.log"; then
  echo "SKIP full_disk: could not mount a tmpfs: $(cat "$WORK/mount.log")" >&2
  exit 77
fi
# Unmount before lib.sh's cleanup removes the work dir; cleanup reads the
# test's exit status from $? (set +e: `(exit 1)` must not end the trap).
trap 'rc=$?; umount "$STATE" 2>/dev/null || true; set +e; (exit $rc); cleanup' EXIT

start_broker 19700
create_input_topics 2

"$RECUR" simulate --shops 2 --customers 300 --days 420 --seed 5 -o "$WORK/events.jsonl"
log "$(wc -l <"$WORK/events.jsonl") events"
split -n l/2 -d "$WORK/events.jsonl" "$WORK/part-"

# Short commit interval and small batches: many flushes, so the disk fills
# between and inside them.
RUN=("$RECUR" run --brokers "$BROKER" --state-dir "$STATE" --batch-size 500 --linger-ms 20
  --commit-interval-ms 50 --max-retries 3)

# 1. The first half with room to spare: the stores exist and hold offsets.
"$RECUR" produce "$WORK/part-00" --brokers "$BROKER" 2>>"$WORK/produce.log"
"${RUN[@]}" --exit-when-idle-ms 3000 >"$WORK/run-1.json" 2>"$WORK/run-1.log" || fail "first run failed: $(tail -3 "$WORK/run-1.log")"
log "first half ingested; state uses $(du -sk "$STATE" | cut -f1) KiB"

# 2. While it runs, the disk fills up (all but a few KiB), then the second
# half arrives: its flushes hit ENOSPC.
"${RUN[@]}" >"$WORK/run-2.json" 2>"$WORK/run-2.log" &
pid=$!
until grep -qs "assigned" "$WORK/run-2.log"; do
  kill -0 "$pid" 2>/dev/null || fail "recur run exited before it was assigned: $(tail -3 "$WORK/run-2.log")"
  sleep 0.1
done
dd if=/dev/zero of="$STATE/filler" bs=4k status=none 2>/dev/null || true
log "filled: $(df -k --output=avail "$STATE" | tail -1 | tr -d ' ') KiB left"
"$RECUR" produce "$WORK/part-01" --brokers "$BROKER" 2>>"$WORK/produce.log"
# It must stop by itself (it retries a few times with backoff first); a bound
# only so that a hang fails the test instead of blocking it.
for _ in $(seq 1200); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
kill -0 "$pid" 2>/dev/null && fail "recur run still running 120 s after the disk filled: $(tail -5 "$WORK/run-2.log")"
set +e
wait "$pid"
rc=$?
set -e
log "run on the full disk exited with $rc: $(grep -m1 '^recur: error:' "$WORK/run-2.log" || tail -1 "$WORK/run-2.log")"
[[ $rc -ne 0 ]] || fail "recur run succeeded on a full disk (is the tmpfs too big?)"
[[ $rc -lt 128 ]] || fail "recur run died of signal $((rc - 128)) on a full disk: $(tail -5 "$WORK/run-2.log")"
grep -qi "no space left" "$WORK/run-2.log" || fail "no 'no space left' in the message: $(tail -5 "$WORK/run-2.log")"
grep "^recur: error:" "$WORK/run-2.log" | grep -qF "$STATE" || fail "the error does not name the state dir: $(tail -5 "$WORK/run-2.log")"

# 3. Space is back: the restart resumes exactly once.
rm -f "$STATE/filler"
"${RUN[@]}" --exit-when-idle-ms 3000 >"$WORK/run-3.json" 2>"$WORK/run-3.log" || fail "run after freeing space failed: $(tail -5 "$WORK/run-3.log")"
AS_OF=$(last_event_day "$WORK/events.jsonl")
features_of "$STATE" "$AS_OF" >"$WORK/resumed.jsonl"
offline_reference "$WORK/events.jsonl" "$AS_OF" "$WORK/offline.jsonl"
assert_same_features "$WORK/offline.jsonl" "$WORK/resumed.jsonl"
log "PASS full_disk"
