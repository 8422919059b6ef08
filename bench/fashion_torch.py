#!/usr/bin/python3
"""The models of scripts/fashion_mlp.lua and scripts/fashion_cnn.lua in PyTorch, for the
side-by-side s/epoch: same data (Debian's dataset-fashion-mnist), batch 128, Adam 1e-3.
    /usr/bin/python3 bench/fashion_torch.py mlp|cnn [epochs=5] [limit] [threads]
"""
import gzip
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

DIR = "/usr/share/datasets/fashion-mnist/"


def idx(name, offset):
    with gzip.open(DIR + name) as f:
        return np.frombuffer(f.read(), dtype=np.uint8, offset=offset)


def split(prefix, limit=None):
    x = torch.tensor(idx(prefix + "-images-idx3-ubyte.gz", 16).reshape(-1, 784), dtype=torch.float32) / 255
    y = torch.tensor(idx(prefix + "-labels-idx1-ubyte.gz", 8), dtype=torch.long)
    return (x[:limit], y[:limit]) if limit else (x, y)


def mlp():
    return nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(), nn.Linear(128, 10))


def cnn():
    return nn.Sequential(
        nn.Unflatten(1, (1, 28, 28)),
        nn.Conv2d(1, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1), nn.BatchNorm2d(64), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(64 * 7 * 7, 10))


def main():
    which = sys.argv[1] if len(sys.argv) > 1 else "mlp"
    epochs = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    limit = int(sys.argv[3]) if len(sys.argv) > 3 and sys.argv[3] != "0" else None
    if len(sys.argv) > 4:
        torch.set_num_threads(int(sys.argv[4]))
    torch.manual_seed(0)
    (x, y), (xt, yt) = split("train", limit), split("t10k")
    model = {"mlp": mlp, "cnn": cnn}[which]()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    print(f"torch {torch.__version__} {which}: {sum(p.numel() for p in model.parameters())} params, "
          f"{len(x)} images, {torch.get_num_threads()} threads")
    times = []
    for epoch in range(1, epochs + 1):
        t0, total, steps = time.time(), 0.0, 0
        for idx_b in torch.randperm(len(x)).split(128):
            opt.zero_grad()
            loss = F.cross_entropy(model(x[idx_b]), y[idx_b])
            loss.backward()
            opt.step()
            total, steps = total + loss.item(), steps + 1
        times.append(time.time() - t0)
        with torch.no_grad():
            model.eval()
            acc = (model(xt).argmax(1) == yt).float().mean().item()
            model.train()
        print(f"epoch {epoch}  loss {total / steps:.4f}  test acc {acc:.4f}  {times[-1]:.2f} s/epoch")
    print(f"torch {which}: final test acc {acc:.4f}, median {sorted(times)[(len(times) - 1) // 2]:.2f} s/epoch")


if __name__ == "__main__":
    main()
