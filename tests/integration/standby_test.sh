#!/usr/bin/env bash
# Standby failover (issue 14): A and B, each with its own state dir, run with
# --standby-replicas 1 and a short session timeout; each keeps the other's
# partitions warm by tailing the changelog. While events keep arriving, A is
# killed with SIGKILL. B takes A's partitions over from its warm copies: it
# reads only what the changelog got since its last catch-up, not the whole
# store (a fresh instance's full restore of the same partitions is the
# comparison). Printed, for docs/BENCHMARKS.md (not pass conditions: timing is
# the machine's): the time from the kill to B's assignment, B's catch-up, and
# the full restore's. Then B runs to the end and equals a clean run.
#   STANDBYS=0 tests/integration/standby_test.sh   # the same failover without copies (a full restore)
#   REBALANCE=cooperative SESSION_MS=1000 tests/integration/standby_test.sh
#   CUSTOMERS=50000 DAYS=60 tests/integration/standby_test.sh   # larger stores (per shop; 2 shops)
#   KILL_STANDBY=1 PORT=19850 tests/integration/standby_test.sh   # B is killed first (below)
# KILL_STANDBY=1 (ctest integration_standby_kill): B first runs under the test
# hook, which SIGKILLs it at its first tailing write to a copy of A's
# partitions (Changelog::BeforeTailWrite), while events arrive; B restarts on
# the same state dir, its copies go on from what they hold, and the rest is as
# above: the copy a kill interrupted is what B later takes A's partitions over
# from, and the end must still equal a clean run.
source "$(dirname "$0")/lib.sh"
STANDBYS="${STANDBYS:-1}"
KILL_STANDBY="${KILL_STANDBY:-0}"
[[ $KILL_STANDBY != 1 || $STANDBYS -gt 0 ]] || fail "KILL_STANDBY=1 needs STANDBYS > 0 (a copy to kill while it tails)"
KILL_AFTER_COMMIT="${KILL_AFTER_COMMIT:-$(dirname "$RECUR")/tests/streams/recur_kill_after_commit}"
start_broker "${PORT:-19840}"
create_input_topics 4
create_changelog_topic 4
"$RECUR" simulate --shops 2 --customers "${CUSTOMERS:-3000}" --days "${DAYS:-200}" --seed 23 --duplicate-rate 0.01 -o "$WORK/events.jsonl"
split -n l/2 -d "$WORK/events.jsonl" "$WORK/half-"
split -n l/10 -d "$WORK/half-01" "$WORK/chunk-"
ARGS=(--brokers "$BROKER" --changelog-topic recur.changelog --standby-replicas "$STANDBYS" --commit-interval-ms 200
  --stats 1 -X "session.timeout.ms=${SESSION_MS:-1500}" -X heartbeat.interval.ms=300)
[[ ${REBALANCE:-eager} == cooperative ]] && ARGS+=(--cooperative-rebalance)

"$RECUR" produce "$WORK/half-00" --brokers "$BROKER" 2>"$WORK/produce.log" || fail "produce"
"$RECUR" run "${ARGS[@]}" --state-dir "$WORK/a" >/dev/null 2>"$WORK/a.log" &
a=$!
wait_events_read "$WORK/a.log" "$(wc -l <"$WORK/half-00")" "$a"
chunks="0 1 2 3 4 5 6 7 8 9"
if [[ $KILL_STANDBY == 1 ]]; then
  "$KILL_AFTER_COMMIT" --at Changelog::BeforeTailWrite 1 run "${ARGS[@]}" --state-dir "$WORK/b" \
    >/dev/null 2>"$WORK/b-killed.log" &
  b=$!
  # Its copies of A's partitions warm (a restore each), then events for A to
  # flush (a flush of A's that came late may be tailed first: killed already).
  until [[ $(grep -c "standby: partition [0-9]* warm" "$WORK/b-killed.log") -ge 2 ]]; do
    kill -0 "$a" 2>/dev/null || fail "A exited: $(tail -3 "$WORK/a.log")"
    kill -0 "$b" 2>/dev/null || break
    sleep 0.2
  done
  for i in 0 1 2 3 4; do
    "$RECUR" produce "$WORK/chunk-0$i" --brokers "$BROKER" 2>>"$WORK/produce.log" || fail "produce"
  done
  rc=0
  wait "$b" || rc=$?
  [[ $rc -eq 137 ]] || fail "expected the test hook's SIGKILL in B's first tailing write, got exit $rc: $(tail -3 "$WORK/b-killed.log")"
  log "B killed in its first tailing write to a copy; restarting it on the same state dir"
  chunks="5 6 7 8 9"
fi
"$RECUR" run "${ARGS[@]}" --state-dir "$WORK/b" >/dev/null 2>"$WORK/b.log" &
b=$!
# Each owns two partition numbers (A's: those B was not assigned), and B keeps A's warm.
b_parts() { grep -o "assigned [0-9]* partitions (partition numbers [0-9,]*)" "$WORK/b.log" | tail -1 | sed 's/.*numbers \([0-9,]*\))/\1/'; }
until [[ $(b_parts | tr ',' '\n' | grep -c .) -eq 2 ]]; do
  kill -0 "$a" 2>/dev/null && kill -0 "$b" 2>/dev/null || fail "an instance exited: $(tail -3 "$WORK/a.log" "$WORK/b.log")"
  sleep 0.2
done
moved=$(printf '0\n1\n2\n3\n' | grep -vxF -f <(b_parts | tr ',' '\n') | paste -sd,)
log "A owns partition numbers $moved"
for p in ${moved//,/ }; do
  [[ $STANDBYS -gt 0 ]] || break
  until grep -q "standby: partition $p warm" "$WORK/b.log"; do
    kill -0 "$b" 2>/dev/null || fail "B exited: $(tail -3 "$WORK/b.log")"
    sleep 0.2
  done
done
# (B's view of the group may pass through the assignment before the rebalance.)
until [[ $STANDBYS -eq 0 ]] || grep -q "standby: keeping partition numbers \[$moved\] warm" "$WORK/b.log"; do
  kill -0 "$b" 2>/dev/null || fail "B exited: $(tail -3 "$WORK/b.log")"
  sleep 0.2
done
[[ $STANDBYS -eq 0 ]] || log "B keeps A's partitions warm"
# The second half arrives while A dies.
(for i in $chunks; do
  "$RECUR" produce "$WORK/chunk-0$i" --brokers "$BROKER" 2>>"$WORK/produce.log" || exit 1
  sleep 0.3
done) &
producer=$!
# B's copies follow A's flushes of it (tailing, not only the first restore):
# each copy's end (B's stats) passes where it was when it became warm.
warm_end() { grep -o "standby: partition $1 warm, at changelog offset [0-9]*" "$WORK/b.log" | head -1 | awk '{print $NF}'; }
copy_end() { grep -o '"standby":{"ends":{[^}]*}' "$WORK/b.log" | tail -1 | grep -o "\"$1\":[0-9]*" | cut -d: -f2; }
for p in ${moved//,/ }; do
  [[ $STANDBYS -gt 0 ]] || break
  until [[ $(copy_end "$p") -gt $(warm_end "$p") ]]; do
    kill -0 "$a" 2>/dev/null && kill -0 "$b" 2>/dev/null || fail "an instance exited: $(tail -3 "$WORK/a.log" "$WORK/b.log")"
    sleep 0.2
  done
done
[[ $STANDBYS -eq 0 ]] || log "B's copies follow A's changelog: $(for p in ${moved//,/ }; do printf '%s: %s -> %s; ' "$p" "$(warm_end "$p")" "$(copy_end "$p")"; done)"
lines_before=$(wc -l <"$WORK/b.log")
killed_at=$(date +%s.%N)
kill -9 "$a"
wait "$a" 2>/dev/null || true
log "A killed"
until tail -n +"$((lines_before + 1))" "$WORK/b.log" | grep -qE "partition numbers (0,1,2,3|$moved)\)"; do
  kill -0 "$b" 2>/dev/null || fail "B exited: $(tail -3 "$WORK/b.log")"
  sleep 0.1
done
wait "$producer" || fail "producing the second half failed: $(tail -3 "$WORK/produce.log")"
line_time() { date -d "$(sed 's/^\[\([^]]*\)\].*/\1/' <<<"$1")" +%s.%N; }
assigned_line=$(tail -n +"$((lines_before + 1))" "$WORK/b.log" | grep -m1 -E "partition numbers (0,1,2,3|$moved)\)")
to_assign=$(awk -v a="$(line_time "$assigned_line")" -v k="$killed_at" 'BEGIN{printf "%.2f", a - k}')
# B's catch-up of A's partitions: the restore lines after the kill (none: nothing to read).
caught=0 caught_s=0
for p in ${moved//,/ }; do
  line=$(tail -n +"$((lines_before + 1))" "$WORK/b.log" | grep "partition-$p: restored" | tail -1 || true)
  [[ -z $line ]] && continue
  caught=$((caught + $(sed 's/.*restored \([0-9,]*\) records.*/\1/' <<<"$line" | tr -d ,)))
  caught_s=$(awk -v a="$caught_s" -v b="$(sed 's/.* in \([0-9.]*\) s$/\1/' <<<"$line")" 'BEGIN{print (b > a) ? b : a}')
done
for p in "$b"; do
  kill -TERM "$p"
  wait "$p" || fail "B did not stop cleanly: $(tail -3 "$WORK/b.log")"
done
# A full restore of the same partitions: a fresh instance's, from the changelog alone.
"$RECUR" run --brokers "$BROKER" --changelog-topic recur.changelog --group other --state-dir "$WORK/fresh" \
  --exit-when-idle-ms 1000 --no-scoring >/dev/null 2>"$WORK/fresh.log" || fail "fresh run failed: $(tail -3 "$WORK/fresh.log")"
full=0 full_s=0
for p in ${moved//,/ }; do
  line=$(grep "partition-$p: restored" "$WORK/fresh.log" | head -1) || fail "no full restore of $p: $(tail -3 "$WORK/fresh.log")"
  full=$((full + $(sed 's/.*restored \([0-9,]*\) records.*/\1/' <<<"$line" | tr -d ,)))
  full_s=$(awk -v a="$full_s" -v b="$(sed 's/.* in \([0-9.]*\) s$/\1/' <<<"$line")" 'BEGIN{print (b > a) ? b : a}')
done
log "failover of partition numbers $moved: kill -> B assigned ${to_assign} s; B read ${caught} changelog records in ${caught_s} s (a full restore: ${full} records in ${full_s} s)"
[[ $STANDBYS -eq 0 || $((caught * 10)) -lt $full ]] || fail "B read $caught records of $full: a full restore, not a warm copy's catch-up"
"$RECUR" run "${ARGS[@]}" --state-dir "$WORK/b" --exit-when-idle-ms 3000 >/dev/null 2>"$WORK/b2.log" \
  || fail "B's last run failed: $(tail -3 "$WORK/b2.log")"
assert_like_clean_run "$WORK/b" "$WORK/events.jsonl"
log "PASS standby"
