#!/usr/bin/env bash
# A partition gained in a cooperative rebalance is restored beside the kept
# ones (issue 14): instance A keeps two partition numbers and takes two back
# from B, which leaves, and whose stores A must restore from the changelog
# in full (A's old copies of them are deleted first), while new events arrive
# on every partition. Prints the restore's length (A's "stores opened in" line)
# and, over the same window, the longest gap between two of A's stats lines
# that showed more events applied: with the store opened inside the
# assignment (before 70fc259) the loop stopped for the whole restore, so the
# gap was at least its length; beside the loop it stays near the stats
# interval (1 s) while the kept partitions get events.
#   CUSTOMERS=200000 DAYS=14 PORT=19870 tests/bench/restore_beside.sh
source "$(dirname "$0")/../integration/lib.sh"
start_broker "${PORT:-19870}"
create_input_topics 4
create_changelog_topic 4
"$RECUR" simulate --shops 3 --customers "${CUSTOMERS:-200000}" --days "${DAYS:-14}" --seed 3 -o "$WORK/events.jsonl"
total=$(wc -l <"$WORK/events.jsonl")
head -n $((total * 9 / 10)) "$WORK/events.jsonl" >"$WORK/first.jsonl"
tail -n +$((total * 9 / 10 + 1)) "$WORK/events.jsonl" >"$WORK/live.jsonl"
split -n l/20 -d "$WORK/live.jsonl" "$WORK/live-"
"$RECUR" produce "$WORK/first.jsonl" --brokers "$BROKER" 2>"$WORK/produce.log" || fail "produce"
ARGS=(--brokers "$BROKER" --changelog-topic recur.changelog --cooperative-rebalance --stats 1
  -X session.timeout.ms=6000 -X heartbeat.interval.ms=500)
"$RECUR" run "${ARGS[@]}" --state-dir "$WORK/a" >/dev/null 2>"$WORK/a.log" &
a=$!
wait_events_read "$WORK/a.log" "$(wc -l <"$WORK/first.jsonl")" "$a"
log "A read $(wc -l <"$WORK/first.jsonl") events"
"$RECUR" run "${ARGS[@]}" --state-dir "$WORK/b" >/dev/null 2>"$WORK/b.log" &
b=$!
until grep -q "assigned [0-9]* partitions" "$WORK/b.log" && grep -q '"applied":' "$WORK/b.log"; do
  kill -0 "$a" 2>/dev/null && kill -0 "$b" 2>/dev/null || fail "an instance exited: $(tail -3 "$WORK/a.log" "$WORK/b.log")"
  sleep 0.2
done
moved=$(grep -o "assigned [0-9]* partitions (partition numbers [0-9,]*)" "$WORK/b.log" | tail -1 | sed 's/.*numbers \([0-9,]*\))/\1/')
log "B took partition numbers $moved: $(grep -o "restored [0-9,]* records[^)]*" "$WORK/b.log" | head -2 | paste -sd';')"
for p in ${moved//,/ }; do rm -rf "$WORK/a/partition-$p"; done  # closed at A's revocation
# The live chunks arrive while B leaves and A restores what B had.
(for f in "$WORK"/live-*; do
  "$RECUR" produce "$f" --brokers "$BROKER" 2>>"$WORK/produce.log" || exit 1
  sleep 0.3
done) &
producer=$!
sleep 1
kill -TERM "$b"
wait "$b" || fail "B did not stop cleanly: $(tail -3 "$WORK/b.log")"
until grep -q "stores opened in [0-9]* ms beside the others" "$WORK/a.log"; do
  kill -0 "$a" 2>/dev/null || fail "A exited: $(tail -3 "$WORK/a.log")"
  sleep 0.2
done
wait "$producer" || fail "producing the live chunks failed"
kill -TERM "$a"
wait "$a" || fail "A did not stop cleanly: $(tail -3 "$WORK/a.log")"
# The window: from A's "opening" line to its "opened in" line; the stats lines
# in it (and the last one before it) with their applied counts.
python3 - "$WORK/a.log" <<'EOF'
import datetime, re, sys
lines = open(sys.argv[1]).read().splitlines()
def t(line):
    return datetime.datetime.strptime(line[1:24], "%Y-%m-%d %H:%M:%S.%f").timestamp()
start = next(i for i, l in enumerate(lines) if "assigned: opening their stores" in l)
end = next(i for i, l in enumerate(lines) if "stores opened in" in l)
opened_ms = int(re.search(r"stores opened in (\d+) ms", lines[end]).group(1))
restored = [l.split("] ", 2)[-1] for l in lines[start:end] if "records (" in l]
stats = [(t(l), int(re.search(r'"applied":(\d+)', l).group(1)))
         for l in lines[:end + 1] if '"applied":' in l and "stats" in l]
before = [s for s in stats if s[0] <= t(lines[start])]
inside = [s for s in stats if t(lines[start]) < s[0] <= t(lines[end])]
points = before[-1:] + inside
rises = [b for a, b in zip(points, points[1:]) if b[1] > a[1]]
gaps, last = [], points[0][0] if points else None
for s in rises:
    gaps.append(s[0] - last)
    last = s[0]
if last is not None:
    gaps.append(t(lines[end]) - last)  # the last rise to the end of the restore
print(f"restore beside the loop: {opened_ms} ms; {len(inside)} stats lines in it, "
      f"applied {points[0][1] if points else 0} -> {points[-1][1] if points else 0}; "
      f"longest gap between rises of applied: {max(gaps) if gaps else float('nan'):.2f} s")
for r in restored:
    print("  " + r)
EOF
