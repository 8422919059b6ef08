# run.py - `make bench`: nnlab and PyTorch side by side on this machine, at 1 and at 2
# threads each side (BENCH_THREADS=1,2,4 for others), the targets printed beside the
# figures, then a scaling table (size x threads) for an elementwise expression, a sum,
# matmul and a CNN training step. Run with /usr/bin/python3 (Debian's python3-torch).
# Each figure is a median. The thread count reaches both sides the same way: nnlab's
# NNLAB_NUM_THREADS (its kernels, OpenBLAS and oneDNN), PyTorch's torch.set_num_threads,
# and OPENBLAS_NUM_THREADS / OMP_NUM_THREADS for the libraries underneath both.
import os, platform, re, shutil, statistics, subprocess, sys, tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NNLAB = os.path.join(ROOT, "nnlab")
THREADS = [int(t) for t in os.environ.get("BENCH_THREADS", "1,2").split(",") if t.strip()]
PY = "/usr/bin/python3"
try:
    import torch  # noqa: F401
    HAVE_TORCH = True
except ImportError:
    HAVE_TORCH = False


# OpenBLAS's kernels: the ones nnlab picks (tensor.blas_core(): by the CPU's features where
# OpenBLAS 0.3.21 would fall back to SSE3 on a CPU model it does not know) go to both
# sides, so the speed-ups measure the code above OpenBLAS, not the choice of kernels.
BLAS_CORE = os.environ.get("OPENBLAS_CORETYPE") or subprocess.run(
    [NNLAB, "-e", "print(tensor.blas_core())"], cwd=ROOT, capture_output=True, text=True).stdout.strip()


def env_for(threads, **extra):
    n = str(threads)
    e = dict(os.environ, OPENBLAS_NUM_THREADS=n, OMP_NUM_THREADS=n, NNLAB_NUM_THREADS=n, **extra)
    if BLAS_CORE:
        e["OPENBLAS_CORETYPE"] = BLAS_CORE
    return e


def run(cmd, env):
    return subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, check=True).stdout


def parse(out):
    vals = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 2:
            try: vals[parts[0]] = float(parts[1])
            except ValueError: pass
        elif len(parts) == 3:   # scaling lines: name size seconds
            try: vals[(parts[0], int(parts[1]))] = float(parts[2])
            except ValueError: pass
    return vals


def wall(cmd, reps, env):
    ts = []
    for _ in range(reps):
        t0 = time.perf_counter()
        subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, check=True)
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts)


def peak_rss_kb(cmd, env):
    out = subprocess.run(["/usr/bin/time", "-f", "%M"] + cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    return float(out.stderr.strip().splitlines()[-1])


def epoch_seconds(out):
    m = re.search(r"([0-9.]+) s/epoch", out)
    return float(m.group(1)) if m else None


# a target: ("ratio", 1.3) = PyTorch/nnlab at least 1.3x; ("ceiling", 0.95) = ceiling/nnlab
# at least 0.95x; ("pct", 2) = the row's percentage at most 2; ("max", 1.0) = at most 1 s
def verdict(target, n, t, pct=None):
    kind, want = target
    if kind == "ratio" and t and n: got, ok = t / n, t / n >= want
    elif kind == "ceiling" and t and n: got, ok = t / n, t / n >= want
    elif kind == "pct" and pct is not None: return "<= %g%%: %s" % (want, "met" if pct <= want else "MISSED")
    elif kind == "max": return "< %s: %s" % (fmt(want, "s"), "met" if n < want else "MISSED")
    else: return ""
    sign = ">=" if kind == "ratio" else ">= ceiling x"
    return "%s %.2fx: %s" % (sign, want, "met" if ok else "MISSED")


def fmt(v, unit):
    if v is None: return "-"
    if unit == "MB": return "%.1f MB" % v
    if v >= 1: return "%.2f s" % v
    if v >= 1e-3: return "%.2f ms" % (v * 1e3)
    return "%.2f us" % (v * 1e6)


def table(threads, first):
    env = env_for(threads)
    rows = []   # (task, nnlab, torch or ceiling, unit, target text)

    def add(task, n, t, unit="s", target=None, pct=None, ratio=True):
        rows.append((task, n, t, unit, verdict(target, n, t, pct) if target else "", ratio))

    if first:
        add("start-up to first result", wall([NNLAB, "-e", "print(1)"], 21, env),
            wall([PY, "-c", "import torch; print(1)"], 5, env) if HAVE_TORCH else None)
    nn_ops = parse(run([NNLAB, "bench/ops.lua"], env))
    th_ops = parse(run([PY, "bench/ops_torch.py", str(threads)], env)) if HAVE_TORCH else {}
    direct = parse(run([os.path.join(ROOT, "build", "sgemm_direct")], env))
    add("tiny op: a + b, 4 elements", nn_ops["tiny_add"], th_ops.get("tiny_add"))
    for n in (256, 1024, 2048):
        k = "matmul_%d" % n
        add("matmul %dx%d" % (n, n), nn_ops[k], th_ops.get(k))
        add("  OpenBLAS sgemm direct %d (ceiling)" % n, nn_ops[k], direct[k], target=("ceiling", 0.95) if n == 256 else None)
    add("MLP 784-256-128-10 fwd+bwd, batch 128", nn_ops["mlp_fwd_bwd"], th_ops.get("mlp_fwd_bwd"))
    nb = parse(run([NNLAB, "bench/bottleneck.lua"], env))
    tb = parse(run([PY, "bench/bottleneck_torch.py", str(threads)], env)) if HAVE_TORCH else {}
    add("bottleneck: one training step", nb["bottleneck_step"], tb.get("bottleneck_step"), target=("ratio", 8))
    add("bottleneck: whole process (3x100 epochs)", wall([NNLAB, "bench/bottleneck.lua"], 5, env),
        wall([PY, "bench/bottleneck_torch.py", str(threads)], 3, env) if HAVE_TORCH else None)
    for script, kind, label, want in (("scripts/fashion_mlp.lua", "mlp", "Fashion-MNIST MLP epoch (batch 128)", 1.3),
                                      ("scripts/fashion_cnn.lua", "cnn", "Fashion-MNIST CNN epoch (batch 128)", 1.2)):
        n = epoch_seconds(run([NNLAB, script, "1"], env))
        t = epoch_seconds(run([PY, "bench/fashion_torch.py", kind, "1", "0", str(threads)], env)) if HAVE_TORCH else None
        add(label, n, t, target=("ratio", want))
    # the dashboard watching by itself (no dash.* call; bench/dash_ab.lua alternates with
    # and without it in one process), its run folders in a scratch dir
    scratch = tempfile.mkdtemp(prefix="nnlab-bench-")
    denv = dict(env, NNLAB_RUNS=os.path.join(scratch, "runs"))
    ab = parse(run([NNLAB, "bench/dash_ab.lua"], denv))
    add("bottleneck step, dashboard off", ab["bare_step"], None)
    add("bottleneck step, dashboard watching: %+.1f%%" % ab["dash_overhead_pct"], ab["watched_step"], None,
        target=("pct", 2), pct=ab["dash_overhead_pct"])
    add("  a watched run's first 2 steps and close (once)", ab["run_setup"], None)
    if first:
        # nnlab runs: open 100 runs of 10,000 steps and draw the workspace
        runs100 = os.path.join(scratch, "runs100")
        subprocess.run([sys.executable, "bench/runs_gen.py", runs100, "100", "10000"], cwd=ROOT, check=True)
        add("nnlab runs: 100 runs x 10,000 steps", wall([NNLAB, "runs", "--all", "--snapshot", "120x40"], 5,
                                                          dict(env, NNLAB_RUNS=runs100)), None, target=("max", 1.0))
        add("peak RSS, REPL idle", peak_rss_kb([NNLAB, "-e", "print(1)"], env) / 1024,
            peak_rss_kb([PY, "-c", "import torch"], env) / 1024 if HAVE_TORCH else None, "MB")
    shutil.rmtree(scratch, ignore_errors=True)
    add("peak RSS, one MLP epoch", peak_rss_kb([NNLAB, "scripts/fashion_mlp.lua", "1"], env) / 1024,
        peak_rss_kb([PY, "bench/fashion_torch.py", "mlp", "1", "0", str(threads)], env) / 1024 if HAVE_TORCH else None,
        "MB")
    print()
    print("%d thread%s each side" % (threads, "" if threads == 1 else "s"))
    print("%-46s %12s %12s %10s  %s" % ("task", "nnlab", "PyTorch", "speed-up", "target"))
    for task, n, t, unit, target, _ in rows:
        ratio = "%.2fx" % (t / n) if (t and n) else ""
        if task.startswith("  OpenBLAS"):   # the ceiling row: nnlab's matmul against sgemm called directly
            print("%-46s %12s %12s %10s  %s" % (task, fmt(t, unit), "", "%.2fx" % (t / n), target))
            continue
        print("%-46s %12s %12s %10s  %s" % (task, fmt(n, unit), fmt(t, unit), ratio, target))


def scaling():
    nn_s, th_s = {}, {}
    for threads in THREADS:
        env = env_for(threads)
        nn_s[threads] = parse(run([NNLAB, "bench/scaling.lua"], env))
        th_s[threads] = parse(run([PY, "bench/scaling_torch.py", str(threads)], env)) if HAVE_TORCH else {}
    labels = {"ew": "((a*b+a):relu()*0.5):exp()", "sum": "a:sum()", "gelu": "a:gelu() (fused, one pass)",
              "matmul": "matmul n x n", "cnn_step": "CNN step, batch"}
    t0, t1 = THREADS[0], THREADS[-1]
    print()
    print("scaling: seconds by size and threads; xN = time at %d / time at %d thread(s) (target: >= 1.7x on a "
          "16M-element fused expression, %d -> %d threads; the 5-op chain writes 4 intermediates and is bound by "
          "memory bandwidth)" % (t0, t1, t0, t1))
    head = "%-28s %9s" % ("op", "size")
    for side in ("nnlab", "PyTorch"):
        for threads in THREADS: head += " %10s" % ("%s %dt" % (side, threads))
        head += " %7s" % "x%d" % t1
    print(head + " %9s" % "vs torch")
    for key in nn_s[t0]:
        if not isinstance(key, tuple): continue
        op, size = key
        shown = size if op in ("matmul", "cnn_step") else "%dM" % (size >> 20) if size >= 1 << 20 else "%dK" % (size >> 10)
        line = "%-28s %9s" % (labels.get(op, op), shown)
        for side in (nn_s, th_s):
            for threads in THREADS: line += " %10s" % fmt(side[threads].get(key), "s")
            a, b = side[t0].get(key), side[t1].get(key)
            line += " %7s" % ("%.2fx" % (a / b) if a and b else "")
        n, t = nn_s[t1].get(key), th_s[t1].get(key)
        line += " %9s" % ("%.2fx" % (t / n) if n and t else "")
        if op in ("ew", "gelu") and size == 1 << 24:
            a, b = nn_s[t0].get(key), nn_s[t1].get(key)
            line += "  target >= 1.70x: %s" % ("met" if a and b and a / b >= 1.7 else "MISSED")
        print(line)


cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), platform.processor())
print("nnlab vs PyTorch %s, %s, %d cores, %s, OpenBLAS %s kernels both sides, %s" % (
    torch.__version__ if HAVE_TORCH else "(not installed: PyTorch column skipped)", cpu, os.cpu_count(),
    " and ".join("%d" % t for t in THREADS) + " threads each side", BLAS_CORE or "?", time.strftime("%Y-%m-%d")))
for i, threads in enumerate(THREADS):
    table(threads, i == 0)
scaling()
