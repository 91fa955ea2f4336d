"""PyTorch eager reference for `fer-pipeline bench`: the same architectures, data sizes, batch
sizes, optimiser and thread count as fer-pipeline's training step, timed the same way.

Prints one JSON object per line:
  {"model": ..., "mode": "train-memory" | "train-jpeg" | "latency", ...}

Modes
  train-memory  a bare eager loop over tensors already in memory (kernel parity);
  train-jpeg    fed like the public Deep-Emotion code: 48x48 JPEG files decoded per item with
                PIL, ToTensor + Normalize, DataLoader at batch 128 (needs Pillow and numpy);
  latency       median forward time at batch 1 and 64 in eval mode.
"""

import argparse
import json
import math
import os
import statistics
import sys
import tempfile
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class DeepEmotion(nn.Module):
    """The public Deep-Emotion implementation's layout (reference/models.md)."""

    def __init__(self, classes=7):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 10, 3)
        self.conv2 = nn.Conv2d(10, 10, 3)
        self.pool2 = nn.MaxPool2d(2, 2)
        self.conv3 = nn.Conv2d(10, 10, 3)
        self.conv4 = nn.Conv2d(10, 10, 3)
        self.pool4 = nn.MaxPool2d(2, 2)
        self.norm = nn.BatchNorm2d(10)
        self.fc1 = nn.Linear(810, 50)
        self.fc2 = nn.Linear(50, classes)
        self.localization = nn.Sequential(
            nn.Conv2d(1, 8, kernel_size=7), nn.MaxPool2d(2, stride=2), nn.ReLU(True),
            nn.Conv2d(8, 10, kernel_size=5), nn.MaxPool2d(2, stride=2), nn.ReLU(True))
        self.fc_loc = nn.Sequential(nn.Linear(640, 32), nn.ReLU(True), nn.Linear(32, 6))
        self.fc_loc[2].weight.data.zero_()
        self.fc_loc[2].bias.data.copy_(torch.tensor([1, 0, 0, 0, 1, 0], dtype=torch.float))

    def stn(self, x):
        xs = self.localization(x).view(-1, 640)
        theta = self.fc_loc(xs).view(-1, 2, 3)
        grid = F.affine_grid(theta, x.size(), align_corners=False)
        return F.grid_sample(x, grid, align_corners=False)

    def forward(self, x):
        out = self.stn(x)
        out = F.relu(self.conv1(out))
        out = F.relu(self.pool2(self.conv2(out)))
        out = F.relu(self.conv3(out))
        out = F.relu(self.pool4(self.norm(self.conv4(out))))
        out = F.dropout(out, 0.5, self.training)
        out = F.relu(self.fc1(out.view(-1, 810)))
        return self.fc2(out)


class MicroExpNet(nn.Module):
    """MicroExpNet p12 with TensorFlow SAME padding reproduced."""

    def __init__(self, fc1=48, classes=8):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, 8, stride=2)
        self.conv2 = nn.Conv2d(16, 32, 4, stride=2)
        self.fc1 = nn.Linear(1152, fc1)
        self.fc2 = nn.Linear(fc1, classes)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(F.pad(x, (3, 3, 3, 3)))), 2)
        x = F.relu(self.conv2(F.pad(x, (1, 2, 1, 2))))
        x = F.max_pool2d(x, 2, ceil_mode=True)
        x = x.permute(0, 2, 3, 1).reshape(-1, 1152)
        x = F.dropout(F.relu(self.fc1(x)), 0.5, self.training)
        return self.fc2(x)


WIDTHS = {"m": 768, "s": 192, "xs": 96, "xxs": 48}


class Inception(nn.Module):
    """torchvision's Inception_v3 on grayscale replicated to 3 channels (needs torchvision)."""

    def __init__(self, classes):
        super().__init__()
        from torchvision.models import inception_v3

        self.net = inception_v3(weights=None, aux_logits=False, init_weights=False, num_classes=classes)

    def forward(self, x):
        return self.net(x.expand(-1, 3, -1, -1))


SIDE = {"inception-v3": 75}


def build(name, classes, device):
    if name == "deep-emotion":
        return DeepEmotion(classes).to(device), 48
    if name.startswith("microexpnet-"):
        return MicroExpNet(WIDTHS[name.split("-", 1)[1]], classes).to(device), 84
    if name == "inception-v3":
        return Inception(classes).to(device), SIDE[name]
    raise SystemExit(f"unknown model {name}")


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def train_memory(name, batch, steps, warmup, classes, images, device):
    model, side = build(name, classes, device)
    model.train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-4)
    x_all = torch.rand(images, 1, side, side, device=device) * 2 - 1
    y_all = torch.randint(0, classes, (images,), device=device)
    loss_sum = torch.zeros((), dtype=torch.float64, device=device)
    perm = torch.randperm(images, device=device)
    nb = images // batch

    def step(i):
        nonlocal loss_sum
        idx = perm[(i % nb) * batch:(i % nb) * batch + batch]
        x, y = x_all.index_select(0, idx), y_all.index_select(0, idx)
        logits = model(x)
        loss = F.cross_entropy(logits, y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        loss_sum += loss.detach().double() * batch

    for i in range(warmup):
        step(i)
    sync(device)
    t0 = time.perf_counter()
    for i in range(steps):
        step(i)
    loss_sum.item()
    sync(device)
    dt = time.perf_counter() - t0
    return {"images_per_s": steps * batch / dt, "steps": steps, "seconds": dt}


def train_jpeg(name, batch, steps, warmup, classes, images, device):
    """The public Deep-Emotion code's feeding: JPEG files, PIL per item, DataLoader."""
    import numpy as np
    from PIL import Image

    model, side = build(name, classes, device)
    model.train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-4)
    tmp = tempfile.mkdtemp(prefix="fer-bench-jpeg-")
    rng = np.random.default_rng(0)
    labels = rng.integers(0, classes, images)
    for i in range(images):
        Image.fromarray(rng.integers(0, 256, (side, side), dtype=np.uint8), "L").save(os.path.join(tmp, f"{i}.jpg"))

    class Files(torch.utils.data.Dataset):
        def __len__(self):
            return images

        def __getitem__(self, i):
            img = Image.open(os.path.join(tmp, f"{i}.jpg"))
            x = torch.from_numpy(np.asarray(img, dtype=np.float32) / 255.0).unsqueeze(0)  # ToTensor
            return (x - 0.5) / 0.5, int(labels[i])  # Normalize((0.5,), (0.5,))

    loader = torch.utils.data.DataLoader(Files(), batch_size=batch, shuffle=True, num_workers=0)

    def batches():
        while True:
            for b in loader:
                yield b

    it = batches()

    def step():
        x, y = next(it)
        x, y = x.to(device), y.to(device)
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return loss

    for _ in range(warmup):
        step()
    sync(device)
    t0 = time.perf_counter()
    for _ in range(steps):
        loss = step()
    loss.item()
    sync(device)
    dt = time.perf_counter() - t0
    return {"images_per_s": steps * batch / dt, "steps": steps, "seconds": dt}


def latency(name, classes, device, repeats):
    model, side = build(name, classes, device)
    model.eval()
    out = {}
    with torch.no_grad():
        for b in (1, 64):
            x = torch.rand(b, 1, side, side, device=device)
            for _ in range(5):
                model(x)
            sync(device)
            times = []
            for _ in range(repeats):
                t0 = time.perf_counter()
                model(x)
                sync(device)
                times.append((time.perf_counter() - t0) * 1e3)
            out[f"ms_batch{b}"] = statistics.median(times)
    return out


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--model", required=True)
    p.add_argument("--mode", choices=["train-memory", "train-jpeg", "latency"], required=True)
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--steps", type=int, default=30)
    p.add_argument("--warmup", type=int, default=5)
    p.add_argument("--classes", type=int, default=7)
    p.add_argument("--images", type=int, default=2048)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--device", default="cpu")
    p.add_argument("--repeats", type=int, default=30)
    p.add_argument("--side", type=int, default=75, help="input side of inception-v3")
    a = p.parse_args()
    SIDE["inception-v3"] = a.side
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    device = torch.device(a.device)
    if a.device.startswith("cuda"):
        torch.backends.cudnn.benchmark = True
    if a.mode == "train-memory":
        r = train_memory(a.model, a.batch, a.steps, a.warmup, a.classes, a.images, device)
    elif a.mode == "train-jpeg":
        r = train_jpeg(a.model, a.batch, a.steps, a.warmup, a.classes, a.images, device)
    else:
        r = latency(a.model, a.classes, device, a.repeats)
    r.update({"model": a.model, "mode": a.mode, "batch": a.batch, "threads": a.threads, "device": a.device,
              "torch": torch.__version__})
    print(json.dumps(r), flush=True)


if __name__ == "__main__":
    sys.exit(main())
