# gpu_bench_torch.py - PyTorch CUDA side of bench/gpu_bench.lua; same tasks, same
# "name value unit" lines. Prints one "skipped" line when torch or a GPU is missing.
import statistics, sys, time
try:
    import torch
except ImportError:
    print("gpu_bench_torch: skipped: python3 cannot import torch")
    sys.exit(0)
if not torch.cuda.is_available():
    print("gpu_bench_torch: skipped: torch sees no CUDA device")
    sys.exit(0)

dev = "cuda"
torch.backends.cuda.matmul.allow_tf32 = False   # full FP32, as nnlab's cuBLAS calls

def timed(fn, reps, inner):
    fn(1)
    torch.cuda.synchronize()
    ts = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn(inner)
        torch.cuda.synchronize()
        ts.append((time.perf_counter() - t0) / inner)
    return statistics.median(ts)

def report(name, value, unit):
    print("%s %.6g %s" % (name, value, unit), flush=True)

def loop(f):
    def run(k):
        for _ in range(k):
            c = f()
        return c
    return run

torch.manual_seed(0)
for n in (1024, 4096):
    a, b = torch.randn(n, n, device=dev), torch.randn(n, n, device=dev)
    report("sgemm_%d" % n, 2 * n ** 3 / timed(loop(lambda: a @ b), 5, 10 if n >= 4096 else 50) / 1e9, "GFLOP/s")
    torch.backends.cuda.matmul.allow_tf32 = True    # nnlab's set_matmul_precision("high")
    report("sgemm_%d_tf32" % n, 2 * n ** 3 / timed(loop(lambda: a @ b), 5, 10 if n >= 4096 else 50) / 1e9, "GFLOP/s")
    torch.backends.cuda.matmul.allow_tf32 = False

a4, b4 = torch.ones(4, device=dev), torch.ones(4, device=dev)
report("op_overhead_add", 1e6 * timed(loop(lambda: a4 + b4), 7, 20000), "us/op")
report("op_overhead_sum", 1e6 * timed(loop(lambda: a4.sum()), 7, 20000), "us/op")

big = 64 * 1024 * 1024
x, y = torch.randn(big, device=dev), torch.randn(big, device=dev)
report("add_64M", 3 * 4 * big / timed(loop(lambda: x + y), 5, 10) / 1e9, "GB/s")
report("sum_64M", 4 * big / timed(loop(lambda: x.sum()), 5, 10) / 1e9, "GB/s")
xt = x.view(8192, 8192)
report("transpose_copy_8192", 2 * 4 * big / timed(loop(lambda: xt.t().contiguous()), 5, 10) / 1e9, "GB/s")
del x, y, xt
logits = torch.randn(4096, 4096, device=dev)
report("softmax_4096x4096", 1e3 * timed(loop(lambda: logits.softmax(-1)), 5, 20), "ms")
del logits

cx = torch.randn(32, 64, 56, 56, device=dev, requires_grad=True)
cw = torch.randn(64, 64, 3, 3, device=dev, requires_grad=True)
torch.backends.cudnn.allow_tf32 = False   # FP32, as nnlab's default precision
def conv_step():
    torch.nn.functional.conv2d(cx, cw, None, 1, 1).sum().backward()
    return cw.grad
report("conv2d_3x3_64_fwd_bwd", 3 * 2 * 32 * 64 * 56 * 56 * 64 * 9 / timed(loop(conv_step), 5, 5) / 1e9, "GFLOP/s")
del cx, cw

nnm = torch.nn
mlp = nnm.Sequential(nnm.Linear(784, 256), nnm.ReLU(), nnm.Linear(256, 128), nnm.ReLU(), nnm.Linear(128, 10)).to(dev)
opt = torch.optim.Adam(mlp.parameters(), lr=1e-3)
xb = torch.rand(128, 784, device=dev)
labels = torch.tensor([i % 10 for i in range(1, 129)], device=dev)
def mlp_step():
    opt.zero_grad()
    loss = nnm.functional.cross_entropy(mlp(xb), labels)
    loss.backward()
    opt.step()
    return loss
report("mlp_train_step", 1e3 * timed(loop(mlp_step), 7, 50), "ms")

def bottleneck(device):
    torch.manual_seed(10000)
    model = nnm.Sequential(nnm.Linear(1, 32), nnm.Linear(32, 8), nnm.Linear(8, 1)).to(device)
    xs = torch.arange(0, 100, dtype=torch.float32, device=device).view(100, 1)
    o = torch.optim.Adam(model.parameters(), lr=1e-3)
    for _ in range(100):
        o.zero_grad()
        loss = nnm.functional.mse_loss(model(xs), xs)
        loss.backward()
        o.step()
    return loss
report("bottleneck_100_epochs_cuda", 1e3 * timed(lambda k: bottleneck("cuda"), 5, 1), "ms")
report("bottleneck_100_epochs_cpu", 1e3 * timed(lambda k: bottleneck("cpu"), 5, 1), "ms")
