# run.py - `make bench`: nnlab and PyTorch side by side on this machine, one table.
# Run with /usr/bin/python3 (Debian's python3-torch). Each figure is a median.
import os, platform, re, statistics, subprocess, sys, tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NNLAB = os.path.join(ROOT, "nnlab")
THREADS = int(os.environ.get("BENCH_THREADS", "1"))   # PyTorch's default here is 1 thread
ENV = dict(os.environ, OPENBLAS_NUM_THREADS=str(THREADS), OMP_NUM_THREADS=str(THREADS))
try:
    import torch  # noqa: F401
    HAVE_TORCH = True
except ImportError:
    HAVE_TORCH = False

def run(cmd):
    return subprocess.run(cmd, cwd=ROOT, env=ENV, capture_output=True, text=True, check=True).stdout

def parse(out):
    vals = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 2:
            try: vals[parts[0]] = float(parts[1])
            except ValueError: pass
    return vals

def wall(cmd, reps):
    ts = []
    for _ in range(reps):
        t0 = time.perf_counter()
        subprocess.run(cmd, cwd=ROOT, env=ENV, capture_output=True, check=True)
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts)

def peak_rss_kb(cmd):
    out = subprocess.run(["/usr/bin/time", "-f", "%M"] + cmd, cwd=ROOT, env=ENV, capture_output=True, text=True)
    return float(out.stderr.strip().splitlines()[-1])

rows = []   # (task, nnlab seconds, torch seconds or None, unit)
def add(task, n, t, unit="s"): rows.append((task, n, t, unit))

py = "/usr/bin/python3"
add("start-up to first result", wall([NNLAB, "-e", "print(1)"], 21),
    wall([py, "-c", "import torch; print(1)"], 5) if HAVE_TORCH else None)
nn_ops = parse(run([NNLAB, "bench/ops.lua"]))
th_ops = parse(run([py, "bench/ops_torch.py", str(THREADS)])) if HAVE_TORCH else {}
direct = parse(run([os.path.join(ROOT, "build", "sgemm_direct")]))
add("tiny op: a + b, 4 elements", nn_ops["tiny_add"], th_ops.get("tiny_add"))
for n in (256, 1024, 2048):
    k = "matmul_%d" % n
    add("matmul %dx%d" % (n, n), nn_ops[k], th_ops.get(k))
    add("  OpenBLAS sgemm direct %d (ceiling)" % n, direct[k], None)
add("MLP 784-256-128-10 fwd+bwd, batch 128", nn_ops["mlp_fwd_bwd"], th_ops.get("mlp_fwd_bwd"))
nb = parse(run([NNLAB, "bench/bottleneck.lua"]))
tb = parse(run([py, "bench/bottleneck_torch.py", str(THREADS)])) if HAVE_TORCH else {}
add("bottleneck: one training step", nb["bottleneck_step"], tb.get("bottleneck_step"))
add("bottleneck: whole process (3x100 epochs)", wall([NNLAB, "bench/bottleneck.lua"], 5),
    wall([py, "bench/bottleneck_torch.py", str(THREADS)], 3) if HAVE_TORCH else None)
for script, kind, label in (("scripts/fashion_mlp.lua", "mlp", "Fashion-MNIST MLP epoch (batch 128)"),
                            ("scripts/fashion_cnn.lua", "cnn", "Fashion-MNIST CNN epoch (batch 128)")):
    m = re.search(r"([0-9.]+) s/epoch", run([NNLAB, script, "1"]))
    t = None
    if HAVE_TORCH:
        tm = re.search(r"([0-9.]+) s/epoch", run([py, "bench/fashion_torch.py", kind, "1", "0", str(THREADS)]))
        t = float(tm.group(1)) if tm else None
    add(label, float(m.group(1)), t)
def median_of(cmd, key, reps=5):
    return statistics.median(parse(run(cmd))[key] for _ in range(reps))
# the dashboard watching by itself (no dash.* call; bench/dash_ab.lua alternates with and
# without it in one process), its run folders in a scratch dir
import tempfile, shutil
scratch = tempfile.mkdtemp(prefix="nnlab-bench-")
ENV["NNLAB_RUNS"] = os.path.join(scratch, "runs")
ab = parse(run([NNLAB, "bench/dash_ab.lua"]))
add("bottleneck step, dashboard off", ab["bare_step"], None)
add("bottleneck step, dashboard watching: %+.1f%% (target <= 2%%)" % ab["dash_overhead_pct"], ab["watched_step"], None)
# nnlab runs: open 100 runs of 10,000 steps and draw the workspace (target < 1 s)
runs100 = os.path.join(scratch, "runs100")
subprocess.run([sys.executable, "bench/runs_gen.py", runs100, "100", "10000"], cwd=ROOT, check=True)
env100 = dict(ENV, NNLAB_RUNS=runs100)
ts = []
for _ in range(5):
    t0 = time.perf_counter()
    subprocess.run([NNLAB, "runs", "--all", "--snapshot", "120x40"], cwd=ROOT, env=env100, capture_output=True, check=True)
    ts.append(time.perf_counter() - t0)
add("nnlab runs: 100 runs x 10,000 steps (target < 1 s)", statistics.median(ts), None)
shutil.rmtree(scratch, ignore_errors=True)
del ENV["NNLAB_RUNS"]
add("peak RSS, REPL idle", peak_rss_kb([NNLAB, "-e", "print(1)"]) / 1024,
    peak_rss_kb([py, "-c", "import torch"]) / 1024 if HAVE_TORCH else None, "MB")
add("peak RSS, one MLP epoch", peak_rss_kb([NNLAB, "scripts/fashion_mlp.lua", "1"]) / 1024,
    peak_rss_kb([py, "bench/fashion_torch.py", "mlp", "1", "0", str(THREADS)]) / 1024 if HAVE_TORCH else None, "MB")

def fmt(v, unit):
    if v is None: return "-"
    if unit == "MB": return "%.1f MB" % v
    if v >= 1: return "%.2f s" % v
    if v >= 1e-3: return "%.2f ms" % (v * 1e3)
    return "%.2f us" % (v * 1e6)

cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), platform.processor())
print("nnlab vs PyTorch %s, %s, %d cores, %d threads each side, %s" % (
    torch.__version__ if HAVE_TORCH else "(not installed: PyTorch column skipped)", cpu, os.cpu_count(), THREADS,
    time.strftime("%Y-%m-%d")))
print("%-46s %12s %12s %10s" % ("task", "nnlab", "PyTorch", "speed-up"))
for task, n, t, unit in rows:
    ratio = "%.2fx" % (t / n) if (t and n) else ""
    print("%-46s %12s %12s %10s" % (task, fmt(n, unit), fmt(t, unit), ratio))
