"""Checks a `dltrain export` against `dltrain predict`, for ExportTests.

  onnx_check.py heldout MODEL.onnx DATA.csv OUT.csv SEED
      New rows near DATA's rows (each feature plus noise of a quarter of its column's
      standard deviation), in the feature columns the model's metadata names: rows the
      model never saw. Written with 9 significant digits, so both readers get the same
      float32 values.
  onnx_check.py compare MODEL.onnx HELDOUT.csv PREDICTIONS.csv [SAFETENSORS CHECKPOINT.h5]
      Validates the model with onnx.checker (full check), runs it in onnxruntime on the
      held-out rows and prints JSON: rows, the outputs, the largest absolute difference
      from dltrain predict's columns, and for classifiers the rows whose `label` output is
      not predict's `predicted` class. With a safetensors file and its checkpoint, also
      compares every tensor with the checkpoint's datasets (h5py).
"""
import csv
import json
import sys

import numpy as np
import onnx
import onnxruntime


def metadata(model_path):
    model = onnx.load(model_path)
    return {p.key: p.value for p in model.metadata_props}


def heldout(model_path, data_path, out_path, seed):
    features = json.loads(metadata(model_path)["features"])
    with open(data_path, newline="") as f:
        rows = list(csv.DictReader(f))
    x = np.array([[float(r[name]) for name in features] for r in rows], dtype=np.float64)
    rng = np.random.default_rng(int(seed))
    x = x + rng.normal(size=x.shape) * 0.25 * x.std(axis=0)
    with open(out_path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(features)
        for row in x.astype(np.float32):
            w.writerow(["%.9g" % v for v in row])


def compare(model_path, heldout_path, predictions_path, safetensors_path=None, checkpoint_path=None):
    onnx.checker.check_model(onnx.load(model_path), full_check=True)
    with open(heldout_path, newline="") as f:
        x = np.array([[float(v) for v in r] for r in list(csv.reader(f))[1:]], dtype=np.float32)
    session = onnxruntime.InferenceSession(model_path, providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    outputs = session.run(None, {"features": x})
    with open(predictions_path, newline="") as f:
        lines = list(csv.reader(f))
    header, body = lines[0], lines[1:]
    # Classification: "predicted" then one probability column per class; regression: the
    # predictions, then (gaussian_nll) the standard deviations.
    numeric = np.array([[float(v) for v in r[1:]] if header[0] == "predicted" else [float(v) for v in r] for r in body])
    got = dict(zip(names, outputs))
    ours = np.concatenate([got[n] for n in names if n != "label"], axis=1)
    result = {"rows": len(x), "outputs": names, "shape": list(ours.shape),
              "max_abs_diff": float(np.abs(ours - numeric).max()) if ours.shape == numeric.shape else None}
    if "label" in got:
        result["label_mismatches"] = int(sum(str(a[0]) != r[0] for a, r in zip(got["label"], body)))
    if safetensors_path:
        import h5py
        from safetensors.numpy import load_file
        tensors = load_file(safetensors_path)
        worst = 0.0
        with h5py.File(checkpoint_path, "r") as h5:
            stored = {}
            h5["parameters"].visititems(lambda name, d: stored.__setitem__(name, d[()]) if isinstance(d, h5py.Dataset) else None)
            for name, values in stored.items():
                worst = max(worst, float(np.abs(tensors[name] - values).max()))
            result["safetensors_parameters"] = len(stored)
            result["safetensors_missing"] = sorted(set(stored) - set(tensors))
            result["safetensors_max_abs_diff"] = worst
    print(json.dumps(result))


if __name__ == "__main__":
    {"heldout": heldout, "compare": compare}[sys.argv[1]](*sys.argv[2:])
