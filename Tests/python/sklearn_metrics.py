"""scikit-learn's metrics of one CSV of predictions, for MetricsAgreementTests.

  sklearn_metrics.py PREDICTIONS.csv THRESHOLD

PREDICTIONS.csv: a header, then per row the true class index and one probability per class.
THRESHOLD: for two classes, the probability of class 1 at which a row is decided positive
("none": the argmax). Prints JSON: accuracy, balanced_accuracy, f1_macro, mcc, roc_auc
(binary; one-vs-rest macro for several), pr_auc (binary: average precision), log_loss,
brier and ece. ECE has no scikit-learn function; it is computed here from its definition
(Guo et al. 2017): 15 bins ((k-1)/15, k/15] of the top probability, sum over bins of
n_b / n * |accuracy_b - confidence_b| of the argmax.
"""
import csv
import json
import sys

import numpy as np
from sklearn import metrics


def main(path, threshold):
    with open(path, newline="") as f:
        rows = list(csv.reader(f))[1:]
    y = np.array([int(r[0]) for r in rows])
    p = np.array([[float(v) for v in r[1:]] for r in rows], dtype=np.float64)
    classes = p.shape[1]
    if classes == 2 and threshold != "none":
        decided = (p[:, 1] >= np.float32(threshold)).astype(int)
    else:
        decided = np.argmax(p, axis=1)
    out = {
        "accuracy": metrics.accuracy_score(y, decided),
        "balanced_accuracy": metrics.balanced_accuracy_score(y, decided),
        "f1_macro": metrics.f1_score(y, decided, average="macro"),
        "mcc": metrics.matthews_corrcoef(y, decided),
        "log_loss": metrics.log_loss(y, p, labels=list(range(classes))),
    }
    if classes == 2:
        out["roc_auc"] = metrics.roc_auc_score(y, p[:, 1])
        out["pr_auc"] = metrics.average_precision_score(y, p[:, 1])
        out["brier"] = metrics.brier_score_loss(y, p[:, 1])
    else:
        out["roc_auc"] = metrics.roc_auc_score(y, p, multi_class="ovr", average="macro")
        out["brier"] = metrics.brier_score_loss(y, p, labels=list(range(classes)))
    confidence = p.max(axis=1)
    correct = (np.argmax(p, axis=1) == y).astype(float)
    bins = np.clip(np.ceil(confidence * 15).astype(int) - 1, 0, 14)
    ece = 0.0
    for b in range(15):
        inside = bins == b
        if inside.any():
            ece += inside.sum() / len(y) * abs(correct[inside].mean() - confidence[inside].mean())
    out["ece"] = ece
    print(json.dumps({k: float(v) for k, v in out.items()}))


main(sys.argv[1], sys.argv[2])
