#!/usr/bin/env bash
# A README that lies fails the build: runs every ```sh block of README.md, in
# order, in a scratch directory (with build/, ops/ and proto/ linked in), on its
# own broker port and Kafka directory, then checks what the README says they do.
# The two commands of README (ops/quickstart, ops/test) are run by
# tests/integration/demo_test.sh and by CI itself.
source "$(dirname "$0")/lib.sh"
PORT=19520
cd "$WORK"
ln -s "$(dirname "$RECUR")" build
ln -s "$ROOT/ops" ops
ln -s "$ROOT/proto" proto
python3 - "$ROOT/README.md" "$WORK/blocks" <<'PY'
import os, re, sys
text = open(sys.argv[1]).read()
os.makedirs(sys.argv[2])
for i, block in enumerate(re.findall(r"^```sh\n(.*?)^```", text, re.S | re.M)):
    open(os.path.join(sys.argv[2], "%02d.sh" % i), "w").write(block)
PY
n=0
for block in "$WORK"/blocks/*.sh; do
  sed -i -e "s/127\.0\.0\.1:19092/127.0.0.1:$PORT/g" -e "s/--port 19092/--port $PORT --controller-port $((PORT + 1))/g" \
    -e "s#/tmp/kafka#$WORK/kafka#g" "$block"
  log "README block $(basename "$block"):"
  sed 's/^/    /' "$block" >&2
  bash -euo pipefail "$block" >"$block.out" 2>"$block.err" || { tail -20 "$block.err" >&2; fail "README block $(basename "$block") failed"; }
  n=$((n + 1))
done
[[ $n -ge 3 ]] || fail "only $n sh blocks found in README.md"
# What the README claims the commands do.
python3 - <<'PY' || fail "README outcomes"
import json
c = json.load(open("customer.json"))
assert c["customer_id"] == "c-000001" and len(c["features"]) == 41, c.keys()
s = json.load(open("c-9.json"))["last_score"]
assert s and s["customer_id"] == "c-9" and 0 <= s["risk_decline_90d"] <= 1, s
PY
ls models/activity_decline_90d/*/report.html models/repurchase_30d/*/report.html >/dev/null || fail "no reports"
grep -q "valid" "$WORK/blocks/00.sh.out" || fail "recur rules my-rules.txt did not validate"
grep -Eq "^repurchase_30d model .* customers against its training rows" "$WORK/blocks/00.sh.out" \
  || fail "inspect --drift printed no table for the repurchase model"
grep -q "score for shop-" "$WORK"/blocks/01.sh.out || fail "no scores read back with kcat"
grep -Eq "^parity: 900 customers, [1-9][0-9]* with a delivered score checked" "$WORK"/blocks/01.sh.out \
  || fail "train --check-parity checked no score: $(grep parity "$WORK"/blocks/01.sh.out)"
grep -q "^0 differences in 0 customers" "$WORK"/blocks/01.sh.out || fail "online/offline parity differences"
# The data scientist's walk-through: promoted, exported, and its figure recomputed.
grep -Eq "pooled out-of-fold 0\.[0-9]+" "$WORK"/blocks/03.sh.out || fail "walk-through: no out-of-fold ROC-AUC"
grep -q "^export: ds-export/training_set.csv" "$WORK"/blocks/03.sh.out || fail "walk-through: no export"
grep -Eq "^[0-9]+ customers, out-of-fold ROC-AUC" "$WORK"/blocks/03.sh.out || fail "walk-through: no notebook check"
log "PASS readme ($n blocks)"
