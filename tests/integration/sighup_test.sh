#!/usr/bin/env bash
# SIGHUP stops `recur run` cleanly, as SIGTERM does (issue 15, item 10): the
# batch in flight is committed, the stores are flushed, exit 0 and "stopped
# cleanly" (it used to die of the signal: exit 129).
source "$(dirname "$0")/lib.sh"

start_broker 19664
create_input_topics 2
"$RECUR" simulate --shops 1 --customers 50 --days 20 --seed 5 -o "$WORK/events.jsonl" 2>/dev/null
n=$(wc -l <"$WORK/events.jsonl")
"$RECUR" produce "$WORK/events.jsonl" --brokers "$BROKER" 2>"$WORK/produce.log" || fail "produce"

"$RECUR" run --brokers "$BROKER" --state-dir "$WORK/state" --stats 1 >"$WORK/run.json" 2>"$WORK/run.log" &
RUN=$!
# Wait for the condition (every event read), however long the machine takes.
wait_events_read "$WORK/run.log" "$n" "$RUN"
log "all $n events read; sending SIGHUP"
kill -HUP "$RUN"
rc=0
wait "$RUN" || rc=$?
[[ $rc -eq 0 ]] || fail "recur run exited $rc on SIGHUP: $(tail -5 "$WORK/run.log")"
grep -q 'stopped cleanly' "$WORK/run.log" || fail "no 'stopped cleanly' after SIGHUP: $(tail -5 "$WORK/run.log")"

AS_OF=$(last_event_day "$WORK/events.jsonl")
features_of "$WORK/state" "$AS_OF" >"$WORK/online.jsonl"
offline_reference "$WORK/events.jsonl" "$AS_OF" "$WORK/offline.jsonl"
assert_same_features "$WORK/offline.jsonl" "$WORK/online.jsonl"

echo "PASS sighup"
