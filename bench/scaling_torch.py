# scaling_torch.py - PyTorch side of bench/scaling.lua; same tasks, same output format.
#   /usr/bin/python3 bench/scaling_torch.py THREADS
import statistics, sys, time
import torch
import torch.nn as nn
import torch.nn.functional as F
torch.set_num_threads(int(sys.argv[1]) if len(sys.argv) > 1 else 1)

def timed(fn, reps):
    fn()
    ts = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts)

torch.manual_seed(0)
for n in (1 << 16, 1 << 20, 1 << 24):
    a, b = torch.randn(n), torch.randn(n)
    reps = 9 if n >= (1 << 24) else 31
    print("ew", n, timed(lambda: ((a * b + a).relu() * 0.5).exp(), reps))
    print("sum", n, timed(lambda: a.sum(), reps))
for n in (1 << 16, 1 << 24):
    a = torch.randn(n)
    print("gelu", n, timed(lambda: F.gelu(a), 9 if n >= (1 << 24) else 31))
for n in (256, 1024, 2048):
    x, y = torch.randn(n, n), torch.randn(n, n)
    print("matmul", n, timed(lambda: x @ y, 5 if n >= 2048 else 11))

def cnn():
    return nn.Sequential(
        nn.Conv2d(1, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1), nn.BatchNorm2d(64), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(64 * 7 * 7, 10))
for bsz in (32, 128):
    m = cnn()
    opt = torch.optim.Adam(m.parameters(), lr=1e-3)
    x, y = torch.rand(bsz, 1, 28, 28), torch.randint(0, 10, (bsz,))
    def step():
        opt.zero_grad()
        F.cross_entropy(m(x), y).backward()
        opt.step()
    print("cnn_step", bsz, timed(step, 15))
