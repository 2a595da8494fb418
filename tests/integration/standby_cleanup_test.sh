#!/usr/bin/env bash
# Standby copies the group no longer wants are deleted (issue 14;
# `--state-cleanup-delay-ms`, here 0: at once). A and B, each with its own
# state dir and --standby-replicas 1, keep each other's partitions warm; then C
# joins. In the ring of three each instance keeps only the partitions of the
# one before it, so some copies of A's or B's are wanted by nobody here any
# more (with the default range assignor, whatever the member-id order: at
# least one). Checked: every copy an instance made that it neither owns nor
# keeps warm after the join is gone from its state dir, with a log line, and
# the copies it keeps are there; so are its own stores of partitions that
# moved to another member: in the end each state dir holds only what its
# instance owns or keeps. Then C and A stop; B, taking every partition
# (deleted copies restored from the changelog), equals a clean run.
#   PORT=19860 tests/integration/standby_cleanup_test.sh
source "$(dirname "$0")/lib.sh"
start_broker "${PORT:-19860}"
create_input_topics 4
create_changelog_topic 4
"$RECUR" simulate --shops 2 --customers "${CUSTOMERS:-1500}" --days "${DAYS:-120}" --seed 29 -o "$WORK/events.jsonl"
"$RECUR" produce "$WORK/events.jsonl" --brokers "$BROKER" 2>"$WORK/produce.log" || fail "produce"
ARGS=(--brokers "$BROKER" --changelog-topic recur.changelog --standby-replicas 1 --state-cleanup-delay-ms 0
  --commit-interval-ms 200 --stats 1 -X session.timeout.ms=1500 -X heartbeat.interval.ms=300)

# wanted NAME: the partition numbers of the instance's last "keeping ... warm"
# line, one per line (owned, partition_dirs, instances_alive: lib.sh).
wanted() { grep -o "keeping partition numbers \[[0-9,]*\]" "$WORK/$1.log" | tail -1 | tr -dc '0-9,' | tr ',' '\n' | grep . || true; }
warm() { grep -o "standby: partition [0-9]* warm" "$WORK/$1.log" | awk '{print $3}' | sort -u; }

"$RECUR" run "${ARGS[@]}" --state-dir "$WORK/a" >/dev/null 2>"$WORK/a.log" &
a=$!
wait_events_read "$WORK/a.log" "$(wc -l <"$WORK/events.jsonl")" "$a"
"$RECUR" run "${ARGS[@]}" --state-dir "$WORK/b" >/dev/null 2>"$WORK/b.log" &
b=$!
# Two partitions each, and each keeps the other's two warm.
for n in a b; do
  until [[ $(owned $n | wc -l) -eq 2 && $(wanted $n | wc -l) -eq 2 && $(warm $n | grep -cxF -f <(wanted $n)) -eq 2 ]]; do
    instances_alive "$a" "$b"
    sleep 0.2
  done
done
log "A owns $(owned a | paste -sd,) and keeps $(wanted a | paste -sd,) warm; B owns $(owned b | paste -sd,) and keeps $(wanted b | paste -sd,) warm"
"$RECUR" run "${ARGS[@]}" --state-dir "$WORK/c" >/dev/null 2>"$WORK/c.log" &
c=$!
# Settled: the ring of three, from the member ids in the "keeping" lines
# (members in id order; each keeps the partitions of the one before it):
# every instance's last assignment and last "keeping" line agree with it.
member() { grep -o "keeping partition numbers .*member [^)]*" "$WORK/$1.log" | tail -1 | sed 's/.*member //'; }
settled() {
  local n total=0
  for n in a b c; do
    [[ -n $(member $n) ]] || return 1
    total=$((total + $(owned $n | wc -l)))
  done
  [[ $total -eq 4 && $( (owned a; owned b; owned c) | sort -u | wc -l) -eq 4 ]] || return 1
  local ring=() i
  mapfile -t ring < <(for n in a b c; do echo "$(member $n) $n"; done | LC_ALL=C sort | awk '{print $2}')
  for i in 0 1 2; do
    [[ "$(wanted "${ring[i]}" | paste -sd,)" == "$(owned "${ring[(i + 2) % 3]}" | sort -n | paste -sd,)" ]] || return 1
  done
}
until settled; do
  instances_alive "$a" "$b" "$c"
  sleep 0.2
done
log "after C joined: A owns $(owned a | paste -sd,) keeps $(wanted a | paste -sd,); B owns $(owned b | paste -sd,) keeps $(wanted b | paste -sd,); C owns $(owned c | paste -sd,) keeps $(wanted c | paste -sd,)"
# A's and B's copies that neither owns nor keeps now: deleted (each with its line).
stale_total=0
for n in a b; do
  stale=$(comm -23 <(warm $n) <( (owned $n; wanted $n) | sort -u))
  for p in $stale; do
    stale_total=$((stale_total + 1))
    until grep -q "standby: deleted the copy of partition $p " "$WORK/$n.log"; do
      instances_alive "$a" "$b" "$c"
      sleep 0.2
    done
    # (unless the group moved again and p is wanted or owned here once more)
    [[ ! -e "$WORK/$n/partition-$p" ]] || (owned $n; wanted $n) | grep -qx "$p" \
      || fail "$n's copy of partition $p is still there after its deletion"
  done
  for p in $(wanted $n); do
    until grep -q "standby: partition $p warm" "$WORK/$n.log" || ! wanted $n | grep -qx "$p"; do
      instances_alive "$a" "$b" "$c"
      sleep 0.2
    done
    [[ -d "$WORK/$n/partition-$p" ]] || ! wanted $n | grep -qx "$p" \
      || fail "$n keeps partition $p warm without its directory"
  done
done
[[ $stale_total -ge 1 ]] || fail "no copy went stale when C joined (expected at least one with the range assignor)"
log "$stale_total copies no longer wanted were deleted"
# So are A's and B's own stores of partitions that moved to another member
# and that they do not keep: in the end each state dir holds only the stores
# of partitions its instance owns or keeps warm.
for n in a b; do
  until [[ -z $(comm -23 <(partition_dirs $n) <( (owned $n; wanted $n) | sort -u)) ]]; do
    instances_alive "$a" "$b" "$c"
    sleep 0.2
  done
done
stores_deleted=$(cat "$WORK/a.log" "$WORK/b.log" | grep -c "standby: deleted the store of partition" || true)
log "A's and B's state dirs hold only what they own or keep ($stores_deleted own stores of partitions that moved were deleted)"
grep -h "standby: deleted" "$WORK/a.log" "$WORK/b.log" >&2
# C and A leave; B takes every partition, restoring the deleted ones from the
# changelog, and runs to the end.
for p in "$c" "$a" "$b"; do
  kill -TERM "$p"
  wait "$p" || fail "an instance did not stop cleanly: $(tail -3 "$WORK"/*.log)"
done
"$RECUR" run "${ARGS[@]}" --state-dir "$WORK/b" --exit-when-idle-ms 3000 >/dev/null 2>"$WORK/b2.log" \
  || fail "B's last run failed: $(tail -3 "$WORK/b2.log")"
assert_like_clean_run "$WORK/b" "$WORK/events.jsonl"
log "PASS standby_cleanup"
