#!/usr/bin/env python3
"""make_runs.py DIR [RUNS=100] [STEPS=10000]: synthetic run folders (docs/RUNS.md) for
timing `nnlab runs`: a decaying loss with noise, a test loss and accuracy per 500 steps,
and a sampled gradient line every 100 steps, as the dashboard writes them."""
import json, math, os, random, sys

root = sys.argv[1]
runs = int(sys.argv[2]) if len(sys.argv) > 2 else 100
steps = int(sys.argv[3]) if len(sys.argv) > 3 else 10000
rng = random.Random(0)
for r in range(runs):
    d = os.path.join(root, "20261201-%06d-run%d" % (r, r))
    os.makedirs(d, exist_ok=True)
    rate = 1e-3 * (1 + r % 7)
    with open(os.path.join(d, "metrics.jsonl"), "w") as f:
        for s in range(1, steps + 1):
            loss = 2.3 * math.exp(-rate * s) + 0.05 + 0.01 * rng.random()
            line = {"step": s, "time": s * 1e-3, "epoch": 1 + s // 1000, "loss": loss, "lr": 1e-3}
            if s % 500 == 0:
                line["test_loss"], line["acc"] = loss * 1.1, 1 - loss / 2.5
            if s % 100 == 0:
                line["grad_norm"] = {"fc1.weight": 0.1, "fc2.weight": 0.05}
            f.write(json.dumps(line, separators=(",", ":")) + "\n")
    meta = {"name": "run%d" % r, "status": "finished", "start": "2026-12-01T12:00:00Z", "steps": steps,
            "model": {"name": "Sequential", "params": 1000}, "optimizer": "optim.Adam(lr=0.001)"}
    with open(os.path.join(d, "meta.json"), "w") as f:
        json.dump(meta, f)
