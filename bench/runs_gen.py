# runs_gen.py ROOT N STEPS - N synthetic run folders of STEPS logged steps each
# (docs/RUNS.md), for the `nnlab runs` row of bench/run.py.
import json, math, os, random, sys

root, nruns, nsteps = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
for r in range(nruns):
    name = "bench%03d" % r
    hh, mm = 10 + r // 60, r % 60
    d = os.path.join(root, "20261202-%02d%02d00-%s" % (hh, mm, name))
    os.makedirs(d, exist_ok=True)
    rnd = random.Random(r)
    with open(os.path.join(d, "metrics.jsonl"), "w") as f:
        for s in range(1, nsteps + 1):
            o = {"step": s, "time": round(s * 0.004, 3), "epoch": 1 + s // 1000,
                 "loss": 2.3 * math.exp(-s / (500 + 50 * r)) + 0.01 * rnd.random(), "lr": 0.001}
            if s % 1000 == 0:
                o["test_loss"] = o["loss"] * 1.1
                o["acc"] = 90 + 9 * (1 - math.exp(-s / 3000))
            f.write(json.dumps(o) + "\n")
    with open(os.path.join(d, "meta.json"), "w") as f:
        json.dump({"name": name, "status": "finished", "start": "2026-12-02T%02d:%02d:00Z" % (hh, mm),
                   "end": "2026-12-02T%02d:%02d:40Z" % (hh, mm), "steps": nsteps, "script": "bench.lua",
                   "args": [], "device": "cpu", "seed": r, "optimizer": "optim.Adam(4 params, lr=0.001)",
                   "model": {"name": "Sequential", "params": 203530}}, f)
