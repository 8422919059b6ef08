# ops_torch.py - PyTorch side of bench/ops.lua; same tasks, same output format.
import sys, time, statistics
import torch
torch.set_num_threads(int(sys.argv[1]) if len(sys.argv) > 1 else 2)

def bench(fn, reps, inner):
    ts = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn(inner)
        ts.append((time.perf_counter() - t0) / inner)
    return statistics.median(ts)

torch.manual_seed(0)
a, b = torch.ones(4), torch.ones(4)
def tiny(n):
    for _ in range(n): c = a + b
print("tiny_add", bench(tiny, 7, 200000))

for n in (256, 1024, 2048):
    x, y = torch.randn(n, n), torch.randn(n, n)
    def mm(k):
        for _ in range(k): c = x @ y
    print("matmul_%d" % n, bench(mm, 5 if n >= 2048 else 9, 50 if n <= 256 else 3))

def param(o, i): return (torch.randn(o, i) / i ** 0.5).requires_grad_()
w1, w2, w3 = param(256, 784), param(128, 256), param(10, 128)
b1, b2, b3 = [torch.zeros(n, requires_grad=True) for n in (256, 128, 10)]
xb = torch.rand(128, 784)
def mlp(n):
    for _ in range(n):
        h = torch.relu(xb @ w1.t() + b1)
        h = torch.relu(h @ w2.t() + b2)
        out = h @ w3.t() + b3
        loss = (out * out).mean()
        loss.backward()
        for p in (w1, w2, w3, b1, b2, b3): p.grad = None
print("mlp_fwd_bwd", bench(mlp, 7, 50))
