"""Runs the README's h5py snippet as a user would, then checks it against dltrain predict.

  readme_snippet.py README.md WORKDIR IRIS_PREDICTIONS.csv [CHECKPOINT FEATURES.csv PREDICTIONS.csv]...

WORKDIR holds runs/iris/checkpoints/best.h5 and data/iris.csv, the paths the snippet names.
The snippet's `probabilities` are compared with IRIS_PREDICTIONS.csv; each further triple
calls the snippet's dltrain_predict on another checkpoint. Prints the largest absolute
difference per comparison as JSON.
"""
import csv
import json
import os
import re
import sys

import numpy as np


def predictions(path):
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    skip = 1 if rows[0][0] == "predicted" else 0
    return np.array([[float(v) for v in r[skip:]] for r in rows[1:]])


readme, workdir, iris_predictions, *more = sys.argv[1:]
blocks = re.findall(r"```python\n(.*?)```", open(readme).read(), re.S)
snippet = next(b for b in blocks if "def dltrain_predict" in b)
os.chdir(workdir)
namespace = {}
exec(compile(snippet, "README.md snippet", "exec"), namespace)
differences = [float(np.abs(namespace["probabilities"] - predictions(iris_predictions)).max())]
for checkpoint, features_path, predictions_path in zip(more[0::3], more[1::3], more[2::3]):
    with open(features_path, newline="") as f:
        x = np.array([[float(v) for v in r] for r in list(csv.reader(f))[1:]])
    differences.append(float(np.abs(namespace["dltrain_predict"](checkpoint, x) - predictions(predictions_path)).max()))
print(json.dumps({"max_abs_diff": differences}))
