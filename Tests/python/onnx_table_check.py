"""Checks the ONNX export of a table model against `dltrain predict`, for TableCLITests.

  onnx_table_check.py MODEL.onnx DATA.csv PREDICTIONS.csv

Validates the model (onnx.checker, full check), feeds DATA.csv's raw columns as the model's
inputs name them (float32 (N, 1) for numbers, NaN where a cell is empty or a missing-value
token; string (N, 1) for categories, cells with their spaces trimmed, as dltrain reads them),
runs onnxruntime and prints JSON: rows, and the largest absolute difference from dltrain
predict's probability or prediction columns, and the largest relative one (|a - b| / max(1, |b|):
a price in thousands differs from its float32 rounding by more than 1e-5 absolutely), and for
classifiers the rows whose `label` output is not predict's `predicted` class.
"""
import csv
import json
import sys

import numpy as np
import onnx
import onnxruntime

MISSING = {"", "NA", "N/A", "n/a", "NaN", "nan", "NULL", "null", "?", "-"}


def main(model_path, data_path, predictions_path):
    model = onnx.load(model_path)
    onnx.checker.check_model(model, full_check=True)
    kinds = json.loads({p.key: p.value for p in model.metadata_props}["columns"])
    with open(data_path, newline="") as f:
        rows = list(csv.DictReader(f))
    feeds = {}
    for name, kind in kinds.items():
        cells = [r[name].strip() for r in rows]
        if kind == "float32":
            feeds[name] = np.array([[np.nan if c in MISSING else float(c)] for c in cells], dtype=np.float32)
        else:
            feeds[name] = np.array([[c] for c in cells], dtype=object)
    session = onnxruntime.InferenceSession(model_path, providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    got = dict(zip(names, session.run(None, feeds)))
    with open(predictions_path, newline="") as f:
        reader = csv.reader(f)
        header = next(reader)
        expected = [r for r in reader]
    if "probabilities" in got:
        columns = [k for k, h in enumerate(header) if h.startswith("probability_")]
        ours = got["probabilities"]
    else:
        columns = list(range(got["predictions"].shape[1]))
        ours = got["predictions"]
    theirs = np.array([[float(r[k]) for k in columns] for r in expected], dtype=np.float64)
    difference = np.abs(ours - theirs)
    result = {"rows": len(rows), "max_abs_diff": float(np.max(difference)),
              "max_rel_diff": float(np.max(difference / np.maximum(1, np.abs(theirs))))}
    if "label" in got:
        predicted = header.index("predicted")
        result["label_mismatches"] = int(sum(str(a[0]) != r[predicted] for a, r in zip(got["label"], expected)))
    print(json.dumps(result))


main(*sys.argv[1:4])
