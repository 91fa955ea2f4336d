#!/usr/bin/env python3
"""Checks a fer-pipeline export against our logits: loads it with onnxruntime (ONNX) or
torch.jit.load (TorchScript), runs the reference's fixed inputs at batch 1 (and all at once when
the export takes any batch), prints the largest absolute difference from our logits, its size
and its latency at batch 1 on one CPU thread beside ours. Exit 1 when a difference exceeds --tol.

usage: check-export.py EXPORT REFERENCE.json [--tol 1e-4] [--runs 50]
"""
import argparse
import json
import os
import statistics
import sys
import time

import numpy as np


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("export")
    ap.add_argument("reference")
    ap.add_argument("--tol", type=float, default=1e-4)
    ap.add_argument("--runs", type=int, default=50)
    a = ap.parse_args()
    ref = json.load(open(a.reference))
    side = json.load(open(a.export + ".json"))
    x = np.asarray(ref["inputs"], dtype=np.float32).reshape(ref["shape"])
    ours = np.asarray(ref["logits"], dtype=np.float32)
    if side["format"] == "onnx":
        import onnxruntime as ort

        opts = ort.SessionOptions()
        opts.intra_op_num_threads = 1
        opts.inter_op_num_threads = 1
        sess = ort.InferenceSession(a.export, opts, providers=["CPUExecutionProvider"])
        name = sess.get_inputs()[0].name

        def run(b):
            return sess.run(None, {name: b})[0]

        runtime = "onnxruntime " + ort.__version__
    else:
        import torch

        torch.set_num_threads(1)
        m = torch.jit.load(a.export)
        m.eval()

        def run(b):
            with torch.no_grad():
                return m(torch.from_numpy(b)).numpy()

        runtime = "torch " + torch.__version__
    theirs = np.concatenate([run(x[i : i + 1]) for i in range(x.shape[0])])
    diff = float(np.abs(theirs - ours).max())
    if side.get("fixed_batch") is None:
        diff = max(diff, float(np.abs(run(x) - ours).max()))
    one = x[:1]
    for _ in range(5):
        run(one)
    times = []
    for _ in range(a.runs):
        t = time.perf_counter()
        run(one)
        times.append((time.perf_counter() - t) * 1e3)
    ms = statistics.median(times)
    size = os.path.getsize(a.export)
    print(
        f"{side['arch']} {side['format']}: {size} bytes; max |logit diff| {diff:.3g} "
        f"(largest |logit| {float(np.abs(ours).max()):.3g}); batch 1, 1 thread: {runtime} {ms:.3f} ms, "
        f"ours {ref['ours_ms']:.3f} ms"
    )
    if not diff <= a.tol:
        print(f"FAIL: difference {diff} exceeds {a.tol}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
