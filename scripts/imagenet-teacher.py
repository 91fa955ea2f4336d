#!/usr/bin/env python3
"""Turns torchvision's Inception_v3 ImageNet weights (a .pth file you already have) into a
`weights:` file for fer-pipeline's `inception-v3` teacher.

    .venv/bin/python scripts/imagenet-teacher.py inception_v3_google-0cc3c7bd.pth teacher-imagenet.safetensors

The input is what `torch.save(model.state_dict(), path)` writes for
`torchvision.models.inception_v3` (the file torchvision downloads into its cache is one), or a
whole pickled model, or a dict holding the state dict under `state_dict` / `model`. Only torch
is needed (not torchvision; nothing is downloaded). The teacher uses torchvision's parameter
names, so tensors keep their names; left out are the auxiliary classifier (`AuxLogits.*`, which
the teacher does not have), batch-norm step counters (`*.num_batches_tracked`) and the
1000-class ImageNet classifier (`fc.*`: the teacher's classifier has one output per emotion and
starts from its own initialisation). Every other tensor must be there with torchvision's shape,
or the script stops (exit 2) naming what is missing. The output is a safetensors file written
with the standard library (no `safetensors` package needed).

Use it in pipeline.yaml:

    inception-v3:
      arch: inception-v3
      weights: teacher-imagenet.safetensors   # relative to pipeline.yaml; only its sha256 is hashed
      input_norm: centered                   # torchvision's inputs are in [-1, 1] (the default)
"""

import json
import struct
import sys

import torch

# torchvision Inception3 without the auxiliary classifier: (prefix, conv weight shape) of every
# BasicConv2d (a bias-free convolution, then a batch norm with weight, bias, running_mean and
# running_var), in the network's order.
STEM = [
    ("Conv2d_1a_3x3", (32, 3, 3, 3)),
    ("Conv2d_2a_3x3", (32, 32, 3, 3)),
    ("Conv2d_2b_3x3", (64, 32, 3, 3)),
    ("Conv2d_3b_1x1", (80, 64, 1, 1)),
    ("Conv2d_4a_3x3", (192, 80, 3, 3)),
]
DROPPED_PREFIXES = ("AuxLogits.", "fc.")
EXPECTED_CONVS = 94  # BasicConv2d layers of Inception3 without AuxLogits


def fail(message):
    print(f"imagenet-teacher: {message}", file=sys.stderr)
    sys.exit(2)


def load_state_dict(path):
    try:
        obj = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as e:  # noqa: BLE001 - any unreadable file is a usage error
        fail(f"failed to read `{path}`: {e}")
    if isinstance(obj, torch.nn.Module):
        obj = obj.state_dict()
    if isinstance(obj, dict):
        for key in ("state_dict", "model"):
            if key in obj and isinstance(obj[key], dict):
                obj = obj[key]
                break
    if not isinstance(obj, dict) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        fail(f"`{path}` holds no state dict of tensors")
    # DataParallel checkpoints prefix every name with `module.`.
    return {(k[len("module."):] if k.startswith("module.") else k): v for k, v in obj.items()}


def convert(state):
    kept, dropped = {}, []
    for name, t in state.items():
        if name.startswith(DROPPED_PREFIXES) or name.endswith(".num_batches_tracked"):
            dropped.append(name)
        else:
            kept[name] = t.detach().to(torch.float32).contiguous()
    convs = sorted(n[: -len(".conv.weight")] for n in kept if n.endswith(".conv.weight"))
    missing = []
    for prefix, shape in STEM:
        w = kept.get(f"{prefix}.conv.weight")
        if w is None or tuple(w.shape) != shape:
            missing.append(f"{prefix}.conv.weight {list(shape)}")
    for prefix in convs:
        out = kept[f"{prefix}.conv.weight"].shape[0]
        for part in ("weight", "bias", "running_mean", "running_var"):
            t = kept.get(f"{prefix}.bn.{part}")
            if t is None or tuple(t.shape) != (out,):
                missing.append(f"{prefix}.bn.{part} [{out}]")
    if len(convs) != EXPECTED_CONVS:
        missing.append(f"{EXPECTED_CONVS} convolutions (found {len(convs)})")
    unknown = [n for n in kept if not (n.startswith("Conv2d_") or n.startswith("Mixed_"))]
    if missing or unknown:
        detail = "; ".join(filter(None, [
            ("missing or mis-shaped: " + ", ".join(missing[:10]) + (f" and {len(missing) - 10} more" if len(missing) > 10 else "")) if missing else "",
            ("not Inception_v3 names: " + ", ".join(sorted(unknown)[:10])) if unknown else "",
        ]))
        fail(f"this is not torchvision's Inception_v3: {detail}")
    return kept, dropped


def write_safetensors(path, tensors, metadata):
    header, offset, blobs = {}, 0, []
    for name in sorted(tensors):
        data = tensors[name].numpy().tobytes()
        header[name] = {"dtype": "F32", "shape": list(tensors[name].shape), "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
        blobs.append(data)
    header["__metadata__"] = metadata
    head = json.dumps(header, separators=(",", ":")).encode()
    head += b" " * (-len(head) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(head)))
        f.write(head)
        for b in blobs:
            f.write(b)


def main(argv):
    if len(argv) != 3 or argv[1] in ("-h", "--help"):
        print(__doc__.strip())
        sys.exit(0 if len(argv) == 2 and argv[1] in ("-h", "--help") else 2)
    src, dst = argv[1], argv[2]
    kept, dropped = convert(load_state_dict(src))
    write_safetensors(dst, kept, {"format": "pt", "arch": "inception-v3", "source": "torchvision-imagenet"})
    print(f"wrote {len(kept)} tensors to {dst} (left out {len(dropped)}: AuxLogits, fc, num_batches_tracked)")


if __name__ == "__main__":
    main(sys.argv)
