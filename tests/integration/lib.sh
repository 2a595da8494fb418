# Shared helpers for the integration tests (sourced). Each test gets its own
# real Kafka broker (ops/kafka/start) on its own ports and work directory, and
# stops it on exit whatever happens.
#   source "$(dirname "$0")/lib.sh"; start_broker 19400; create_input_topics 4
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
RECUR="${RECUR:-$ROOT/build/recur}"
WORK="$(mktemp -d /tmp/recur-it-XXXXXX)"
BROKER_DIR="$WORK/kafka"
BROKER=""
CLUSTER_DIR=""  # start_cluster's
# broker_cpu_ticks: the single broker's JVM user + system CPU so far, in clock
# ticks (benchmarks set the broker's CPU against the events they sent).
broker_cpu_ticks() { awk '{print $14 + $15}' "/proc/$(cat "$BROKER_DIR/broker.pid")/stat"; }
RF=1            # replication factor of the topics created (3 on a cluster)
INPUT_TOPICS=(shop.purchases shop.sessions shop.carts shop.marketing shop.profiles)

cleanup() {
  local rc=$?
  jobs -p | xargs -r kill -9 2>/dev/null || true
  pkill -9 -f -- "$WORK" 2>/dev/null || true  # recur processes started by wrappers
  "$ROOT/ops/kafka/stop" --dir "$BROKER_DIR" >/dev/null 2>&1 || true
  [[ -z $CLUSTER_DIR ]] || "$ROOT/ops/kafka/stop-cluster" --dir "$CLUSTER_DIR" >/dev/null 2>&1 || true
  if [[ $rc -eq 0 ]]; then rm -rf "$WORK"; else echo "test failed (rc=$rc); work dir kept: $WORK" >&2; fi
}
trap cleanup EXIT

log() { echo "[$(date +%T)] $*" >&2; }
fail() { echo "FAIL: $*" >&2; exit 1; }

# start_broker PORT: a fresh KRaft broker on PORT (controller on PORT+1).
start_broker() {
  local port=$1
  local out
  out=$("$ROOT/ops/kafka/start" --dir "$BROKER_DIR" --port "$port" --controller-port $((port + 1)))
  BROKER=$(sed -n 's/^BROKER=\([^ ]*\).*/\1/p' <<<"$out")
  [[ -n "$BROKER" ]] || fail "broker did not start: $out"
  log "broker at $BROKER"
}
# start_cluster PORT: three brokers (ops/kafka/start-cluster, ports PORT..PORT+5);
# BROKER is the list of the three, topics get 3 replicas.
start_cluster() {
  local out
  CLUSTER_DIR="$WORK/cluster"
  out=$("$ROOT/ops/kafka/start-cluster" --dir "$CLUSTER_DIR" --port "$1")
  BROKER=$(sed -n 's/^BROKER=\([^ ]*\).*/\1/p' <<<"$out")
  [[ -n "$BROKER" ]] || fail "cluster did not start: $out"
  RF=3
  log "cluster at $BROKER"
}
restart_broker() {
  "$ROOT/ops/kafka/stop" --dir "$BROKER_DIR" >/dev/null
  "$ROOT/ops/kafka/start" --dir "$BROKER_DIR" >/dev/null
}

# create_input_topics PARTITIONS: the five input topics and the DLQ.
create_input_topics() {
  "$ROOT/ops/kafka/create-topics" --broker "${BROKER%%,*}" --partitions "$1" --replication-factor "$RF" \
    "${INPUT_TOPICS[@]}" recur.dlq recur.scores >/dev/null 2>&1 \
    || fail "could not create topics"
}

# create_changelog_topic N: recur.changelog, compacted, N partitions, records up
# to 32 MiB (README "Several instances").
create_changelog_topic() {
  "$ROOT/ops/kafka/create-topics" --broker "${BROKER%%,*}" --partitions "$1" --replication-factor "$RF" \
    --compact --config max.message.bytes=33554432 recur.changelog >/dev/null 2>&1 \
    || fail "could not create the changelog topic"
}

# features_of STATE_DIR AS_OF: every customer's features as sorted JSON lines.
features_of() { "$RECUR" inspect --all --as-of "$2" --state-dir "$1"; }

# offline_reference JSONL AS_OF OUT: the same events applied without Kafka.
offline_reference() {
  rm -rf "$WORK/offline"
  "$RECUR" import "$1" --state-dir "$WORK/offline" >/dev/null 2>&1 || true
  features_of "$WORK/offline" "$2" >"$3"
}

# last_event_day JSONL: the UTC day (YYYY-MM-DD) of the latest event time.
last_event_day() {
  local ms
  ms=$(grep -o '"event_time_ms":"[0-9]*"' "$1" | tr -dc '0-9\n' | sort -n | tail -1)
  date -u -d "@$((ms / 1000))" +%F
}

# start_http_run ADDR MODELS_DIR: `recur run` on $WORK/state serving --http ADDR
# (output in $WORK/run.out, run.log; its pid in RUN_PID), once /healthz answers.
start_http_run() {
  "$RECUR" run --brokers "$BROKER" --state-dir "$WORK/state" --models-dir "$2" --http "$1" \
    >"$WORK/run.out" 2>"$WORK/run.log" &
  RUN_PID=$!
  until curl -sf "http://$1/healthz" >/dev/null; do
    kill -0 "$RUN_PID" 2>/dev/null || fail "recur run exited: $(tail -5 "$WORK/run.log")"
    sleep 0.2
  done
}

# topic_count TOPIC: records in a topic (all partitions), read with kcat.
topic_count() { kcat -C -b "$BROKER" -t "$1" -e -q -f 'x\n' 2>/dev/null | wc -l; }

# events_read LOG: events_in of the last stats line in a `recur run --stats` log (0 before any).
events_read() { grep -o '"events_in":[0-9]*' "$1" | tail -1 | cut -d: -f2 | grep . || echo 0; }

# wait_events_read LOG N PID: waits (however long the machine takes) until the
# stats lines in LOG show N events read; fails if PID exits first.
wait_events_read() {
  until [[ $(events_read "$1") -ge $2 ]]; do
    kill -0 "$3" 2>/dev/null || fail "recur run exited before reading all $2 events: $(tail -5 "$1")"
    sleep 0.2
  done
}

# assert_like_clean_run STATE_DIR JSONL: the features (as of JSONL's last day)
# and stored offsets of STATE_DIR equal those of a clean run over the same
# topics (a new group and state dir: $WORK/clean), and the features those of
# the offline reference (JSONL imported without Kafka).
assert_like_clean_run() {
  local as_of
  as_of=$(last_event_day "$2")
  features_of "$1" "$as_of" >"$WORK/tested.jsonl"
  "$RECUR" run --brokers "$BROKER" --state-dir "$WORK/clean" --group clean --exit-when-idle-ms 3000 \
    >"$WORK/clean.json" 2>"$WORK/clean.log" || fail "clean run failed: $(tail -3 "$WORK/clean.log")"
  features_of "$WORK/clean" "$as_of" >"$WORK/clean.jsonl"
  assert_same_features "$WORK/clean.jsonl" "$WORK/tested.jsonl"
  offline_reference "$2" "$as_of" "$WORK/offline.jsonl"
  assert_same_features "$WORK/offline.jsonl" "$WORK/tested.jsonl"
  diff <("$RECUR" inspect --offsets --state-dir "$WORK/clean" | sort) <("$RECUR" inspect --offsets --state-dir "$1" | sort) \
    || fail "stored offsets differ from the clean run's"
}

# wait_for_log FILE REGEX PID: until FILE has a line matching REGEX, however
# long a busy machine takes (the process exiting first is the failure; a hang is
# left to CTest's timeout).
wait_for_log() {
  until grep -Eq "$2" "$1" 2>/dev/null; do
    kill -0 "$3" 2>/dev/null || fail "process $3 exited while waiting for '$2' in $1: $(tail -5 "$1")"
    sleep 0.1
  done
}

# wait_assigned LOG PID: until `recur run` (PID, logging to LOG) has its
# partitions; fails if it exits first.
wait_assigned() {
  until grep -q "assigned" "$1"; do
    kill -0 "$2" 2>/dev/null || fail "recur run exited before it was assigned: $(tail -3 "$1")"
    sleep 0.1
  done
}

# assert_same_features EXPECTED ACTUAL
assert_same_features() {
  local n
  n=$(wc -l <"$1")
  [[ $n -gt 0 ]] || fail "reference has no customers"
  if ! cmp -s "$1" "$2"; then
    diff <(head -c 200000 "$1") <(head -c 200000 "$2") | head -20 >&2
    fail "features differ from the offline reference ($1 vs $2)"
  fi
  log "features of $n customers identical to the offline reference"
}

# scores TOPIC last|messages: the scores topic read with kcat, decoded by
# tests/integration/scores.py (an independent Protobuf wire reader).
scores() {
  kcat -C -b "$BROKER" -t "$1" -e -q -f '%K:%S:%k%s' 2>/dev/null | python3 "$ROOT/tests/integration/scores.py" "$2"
}

# input_keys JSONL: every shop_id/customer_id in a JSON-lines event file, sorted.
input_keys() {
  python3 -c 'import json,sys
ks=set()
for l in open(sys.argv[1]):
    e=json.loads(l); ks.add(e["shop_id"]+"/"+e["customer_id"])
print("\n".join(sorted(ks)))' "$1"
}

# expect_auth_failure DIR NAME COMMAND...: COMMAND ends by itself (waited on for
# up to 120 s: the bound only catches a hang; recur used to wait 300 s and blame
# --brokers), exits non-zero, names authentication/SASL, does not blame
# --brokers and, when $SECRET is set, never prints it. Output: DIR/NAME.out, .err.
expect_auth_failure() {
  local dir=$1 name=$2 rc=0 pid t0=$SECONDS
  shift 2
  "$@" >"$dir/$name.out" 2>"$dir/$name.err" &
  pid=$!
  for ((i = 0; i < 1200; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    kill -9 "$pid"
    fail "$name: still running 120 s after starting with bad credentials: $(tail -3 "$dir/$name.err")"
  fi
  wait "$pid" || rc=$?
  [[ $rc -ne 0 ]] || fail "$name: exit 0 with bad credentials"
  grep -Eqi 'authentication|SASL' "$dir/$name.err" \
    || fail "$name: the error does not name authentication/SASL: $(tail -3 "$dir/$name.err")"
  grep -qi 'no Kafka broker' "$dir/$name.err" && fail "$name: blamed --brokers: $(tail -3 "$dir/$name.err")"
  if [[ -n "${SECRET:-}" ]] && grep -qF -- "$SECRET" "$dir/$name.out" "$dir/$name.err"; then
    fail "$name: the password appears in the output"
  fi
  log "$name: exit $rc after $((SECONDS - t0)) s: $(grep -Eio 'recur: error: .{0,150}' "$dir/$name.err" | head -1)"
}

# Several instances, each with its log at $WORK/NAME.log and its state dir at
# $WORK/NAME (cleanup_test.sh, standby_cleanup_test.sh):
# owned NAME: the partition numbers of the instance's last assignment, one per line.
owned() { grep -o "partition numbers [0-9,]*)" "$WORK/$1.log" | tail -1 | tr -dc '0-9,' | tr ',' '\n' | grep . || true; }
# partition_dirs NAME: the partition numbers of the stores in its state dir, one per line.
partition_dirs() { find "$WORK/$1" -maxdepth 1 -name 'partition-*' -printf '%f\n' | sed 's/partition-//' | sort -u; }
# instances_alive PID...: fails when one of them has exited.
instances_alive() {
  local p
  for p in "$@"; do kill -0 "$p" 2>/dev/null || fail "an instance exited: $(tail -3 "$WORK"/*.log)"; done
}
