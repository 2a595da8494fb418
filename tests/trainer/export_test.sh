#!/usr/bin/env bash
# `recur train --export DIR` (issue 16, item 6): a notebook reads
# DIR/training_set.csv with pandas and recomputes, with scikit-learn, exactly
# the ROC-AUC recur reports (to 1e-9): pooled over the test cutoffs and per
# cutoff for the time split; pooled out of fold and per fold for k-fold (the
# business labels of one date). The same data, options and seed export the
# same bytes. pandas and scikit-learn are Debian's (ops/setup), test-only.
set -euo pipefail
RECUR="${RECUR:-$(dirname "$0")/../../build/recur}"
WORK="$(mktemp -d /tmp/recur-export-XXXXXX)"
trap 'rm -rf "$WORK"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
# Debian's packages are the system Python's; a python3 earlier on PATH (pyenv,
# a venv) may not have them.
PY=""
for p in python3 /usr/bin/python3; do
  "$p" -c 'import pandas, sklearn' 2>/dev/null && { PY=$p; break; }
done
[[ -n "$PY" ]] || fail "python3-pandas and python3-sklearn are needed (ops/setup)"

"$RECUR" simulate --shops 2 --customers 400 --days 300 --seed 3 -o "$WORK/events.jsonl"
"$RECUR" import "$WORK/events.jsonl" --state-dir "$WORK/state" >/dev/null 2>&1
train() {  # train NAME ARGS...: models in $WORK/NAME-models, export in $WORK/NAME
  local name=$1
  shift
  "$RECUR" train --state-dir "$WORK/state" --models-dir "$WORK/$name-models" --max-rounds 40 \
    --export "$WORK/$name" "$@" >"$WORK/$name.out" 2>"$WORK/$name.err" \
    || fail "recur train $*: $(tail -3 "$WORK/$name.err")"
  grep -q "^export: $WORK/$name/training_set.csv$" "$WORK/$name.out" || fail "no export line: $(cat "$WORK/$name.out")"
  sed -n 's/^report: \(.*\)\/report.html$/\1\/meta.json/p' "$WORK/$name.out"
}

# The CSV against meta.json: header, rows per split, predictions exactly on the
# rows reported on, and every ROC-AUC recomputed.
check() {  # check CSV META
  "$PY" - "$1" "$2" <<'PY'
import json, math, sys
import pandas as pd
from sklearn.metrics import roc_auc_score
csv, meta_path = sys.argv[1], sys.argv[2]
meta = json.load(open(meta_path))
df = pd.read_csv(csv, dtype={"shop_id": str, "customer_id": str, "cutoff": str, "split": str,
                             "top_category_6m": str})
def fail(msg):
    sys.exit(f"FAIL: {msg}")
expected = ["shop_id", "customer_id", "cutoff", "split", "label"] + meta["features"] + ["prediction"]
if list(df.columns) != expected:
    fail(f"header {list(df.columns)} != {expected}")
kfold = meta["split"]["kind"] == "stratified_kfold"
judged = df if kfold else df[df.split == "test"]
if len(judged) != meta["rows"]["valid"]:
    fail(f"{len(judged)} judged rows, meta.json says {meta['rows']['valid']}")
if judged.prediction.isna().any() or (not kfold and df[df.split != "test"].prediction.notna().any()):
    fail("predictions are not exactly on the rows reported on")
def close(name, ours, theirs):
    if not math.isclose(ours, theirs, rel_tol=0, abs_tol=1e-9):
        fail(f"{name}: sklearn {ours!r} != recur {theirs!r}")
    print(f"  {name}: sklearn {ours:.12f} = recur {theirs:.12f}")
close("pooled ROC-AUC", roc_auc_score(judged.label, judged.prediction), meta["metrics"]["roc_auc"])
if kfold:
    groups = [(f"fold {int(k) + 1}", g) for k, g in judged.groupby(judged.split.astype(int))]
    if sorted(df.split.astype(int).unique()) != list(range(meta["split"]["folds"])):
        fail(f"folds {sorted(df.split.unique())}")
else:
    groups = list(judged.groupby("cutoff"))
    if [c for c, _ in groups] != meta["split"]["test_cutoffs"]:
        fail(f"test cutoffs {[c for c, _ in groups]} != {meta['split']['test_cutoffs']}")
    stop = df[df.split == "early_stop"]
    if list(stop.cutoff.unique()) != [meta["split"]["early_stop_cutoff"]] or len(stop) != meta["rows"]["early_stop"]:
        fail("early-stopping rows differ from meta.json")
    if len(df[df.split == "train"]) != meta["rows"]["train"]:
        fail("train rows differ from meta.json")
parts = {p["part"]: p["model"]["roc_auc"] for p in meta["metrics_by_part"]}
aucs = []
for name, g in groups:
    aucs.append(roc_auc_score(g.label, g.prediction))
    close(f"{name} ROC-AUC", aucs[-1], parts[name])
if kfold:
    close("per-fold mean", sum(aucs) / len(aucs), meta["split"]["roc_auc_mean"])
PY
}

echo "time split:"
meta=$(train time)
check "$WORK/time/training_set.csv" "$meta" || fail "time split export"
meta2=$(train time2)
cmp -s "$WORK/time/training_set.csv" "$WORK/time2/training_set.csv" || fail "same data and seed exported different bytes"
cmp -s "$meta" "$meta2" || fail "same data and seed wrote a different meta.json"

# k-fold: business labels of one date, the last test cutoff's labels.
last=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["split"]["test_cutoffs"][-1])' "$meta")
{ echo "shop_id,customer_id,label,as_of"
  awk -F, -v c="$last" 'NR > 1 && $3 == c { print $1 "," $2 "," $5 "," $3 }' "$WORK/time/training_set.csv"; } >"$WORK/labels.csv"
echo "k-fold ($(($(wc -l <"$WORK/labels.csv") - 1)) business labels as of $last):"
meta=$(train kfold --labels-csv "$WORK/labels.csv" --folds 4)
check "$WORK/kfold/training_set.csv" "$meta" || fail "k-fold export"
echo "PASS the exported training set reproduces recur's ROC-AUC"
