#!/usr/bin/env bash
# A partition gained in a cooperative rebalance is restored beside the kept
# ones (issue 14): instance A keeps two partition numbers and takes two back
# from B, which leaves, and whose stores A must restore from the changelog
# in full (A's old copies of them are deleted first), while new events arrive
# on every partition. Prints, from B's leaving to A's line that assigns it B's
# partitions (their stores open), the longest time without a rise of the
# applied count in A's stats lines (one a second): with the stores opened
# inside the assignment (before 70fc259) the loop stopped for the whole
# restore, and so did its stats lines; beside the loop it stays near the
# stats interval while the kept partitions get events. RECUR=<older binary>
# measures the former.
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
leave=$(date +%s.%N)
kill -TERM "$b"
wait "$b" || fail "B did not stop cleanly: $(tail -3 "$WORK/b.log")"
# A reads B's partitions once their stores are open (any binary logs this).
wait_for_log "$WORK/a.log" "assigned [0-9]* partitions \(partition numbers ${moved}\)" "$a"
wait "$producer" || fail "producing the live chunks failed"
kill -TERM "$a"
wait "$a" || fail "A did not stop cleanly: $(tail -3 "$WORK/a.log")"
# The window: from B's leaving to A's assignment line for B's partitions;
# A's stats lines in it (and the last one before it) with their applied counts.
python3 - "$WORK/a.log" "$leave" "$moved" <<'PY'
import datetime, re, sys
lines = open(sys.argv[1]).read().splitlines()
leave, moved = float(sys.argv[2]), sys.argv[3]
def t(line):
    return datetime.datetime.strptime(line[1:24], "%Y-%m-%d %H:%M:%S.%f").timestamp()
timed = [l for l in lines if l.startswith("[20")]
end = next(t(l) for l in timed if t(l) > leave and f"(partition numbers {moved})" in l)
inside = [l for l in timed if leave < t(l) <= end]
opened = [m.group(1) for m in (re.search(r"stores opened in (\d+) ms", l) for l in inside) if m]
restored = [l.split("] ", 2)[-1] for l in inside if "records (" in l]
stats = [(t(l), int(re.search(r'"applied":(\d+)', l).group(1)))
         for l in timed if '"applied":' in l and "stats" in l and t(l) <= end]
points = [s for s in stats if s[0] <= leave][-1:] + [s for s in stats if s[0] > leave]
last, gaps = leave, []
for a, b in zip(points, points[1:]):
    if b[1] > a[1]:
        gaps.append(b[0] - last)
        last = b[0]
gaps.append(end - last)  # the last rise to the end of the window
print(f"B left -> A reads its partitions: {end - leave:.2f} s"
      + (f" (stores opened beside the loop in {opened[0]} ms)" if opened else "")
      + f"; A's stats lines in it: {max(len(points) - 1, 0)}, applied "
      f"{points[0][1] if points else 0} -> {points[-1][1] if points else 0}; "
      f"longest time without a rise of applied: {max(gaps):.2f} s")
for r in restored:
    print("  " + r)
PY
