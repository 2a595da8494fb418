#!/usr/bin/env python3
"""recur's model against scikit-learn's LogisticRegression and Python XGBoost,
fitted on the training set recur exported (`recur train --export`), judged on
the same test rows (docs/QUALITY.md). Test-only: Debian's python3-pandas,
python3-sklearn and python3-xgboost.

  /usr/bin/python3 tests/quality/compare.py EXPORT/training_set.csv META.json

Time split: the peers fit on the `train` rows; XGBoost early-stops on the
`early_stop` rows, like recur; all are judged on the `test` rows, pooled and per
cutoff. k-fold (business labels): the peers are cross-validated on recur's
folds (the `split` column) and judged out of fold. Prints a Markdown table.
"""
import json
import sys

import numpy as np
import pandas as pd
import xgboost as xgb
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score, brier_score_loss, log_loss, roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler


def design(df, features):
    x = df[features].copy()
    cat = [c for c in features if x[c].dtype == object]
    x = pd.get_dummies(x, columns=cat, dummy_na=True, dtype=float)
    return x.astype(float)


def fit_predict(train, stop, test, features, seed):
    cols = design(pd.concat([train, stop, test]), features).columns
    def X(d):
        return design(d, features).reindex(columns=cols, fill_value=0.0)
    lr = make_pipeline(SimpleImputer(strategy="median"), StandardScaler(),
                       LogisticRegression(max_iter=2000))
    lr.fit(X(train), train.label)
    model = xgb.XGBClassifier(n_estimators=300, learning_rate=0.1, max_depth=6, random_state=seed,
                              early_stopping_rounds=20, eval_metric="logloss", n_jobs=2,
                              tree_method="hist")
    model.fit(X(train), train.label, eval_set=[(X(stop), stop.label)], verbose=False)
    return lr.predict_proba(X(test))[:, 1], model.predict_proba(X(test))[:, 1]


def metrics(y, p):
    return (roc_auc_score(y, p), average_precision_score(y, p), brier_score_loss(y, p),
            log_loss(y, np.clip(p, 1e-7, 1 - 1e-7)))


def main():
    df = pd.read_csv(sys.argv[1], dtype={"shop_id": str, "customer_id": str, "cutoff": str,
                                         "split": str, "top_category_6m": str})
    meta = json.load(open(sys.argv[2]))
    features = meta["features"]
    kfold = meta["split"]["kind"] == "stratified_kfold"
    if kfold:
        judged = df.copy()
        judged["lr"] = np.nan
        judged["xgb"] = np.nan
        for k in sorted(df.split.unique()):
            test = df[df.split == k]
            rest = df[df.split != k]
            stop = rest.sample(frac=0.25, random_state=42)  # peers' own early-stopping share
            train = rest.drop(stop.index)
            lr, xg = fit_predict(train, stop, test, features, 42)
            judged.loc[test.index, "lr"] = lr
            judged.loc[test.index, "xgb"] = xg
        parts = [("out of fold, pooled", judged)]
    else:
        train, stop = df[df.split == "train"], df[df.split == "early_stop"]
        judged = df[df.split == "test"].copy()
        judged["lr"], judged["xgb"] = fit_predict(train, stop, judged, features, 42)
        parts = [("test, pooled", judged)] + [("test " + c, g) for c, g in judged.groupby("cutoff")]
    print(f"target {meta.get('target', '?')}: {len(df[df.split == 'train']) if not kfold else len(df)} "
          f"train rows, {len(judged)} judged rows, positives {judged.label.mean():.3f}")
    print()
    print("| rows | model | ROC-AUC | PR-AUC | Brier | log-loss |")
    print("|---|---|---|---|---|---|")
    for name, g in parts:
        for label, col in (("recur", "prediction"), ("sklearn LogisticRegression", "lr"),
                           ("Python XGBoost", "xgb")):
            roc, pr, brier, ll = metrics(g.label, g[col])
            print(f"| {name} ({len(g)}) | {label} | {roc:.4f} | {pr:.4f} | {brier:.4f} | {ll:.4f} |")


if __name__ == "__main__":
    main()
