# bottleneck_torch.py - PyTorch twin of bench/bottleneck.lua (same model, data, optimizer).
import sys, time
import torch
torch.set_num_threads(int(sys.argv[1]) if len(sys.argv) > 1 else 2)
x = torch.arange(0, 100, dtype=torch.float32).view(100, 1)
torch.ones(2, 2) @ torch.ones(2, 2)   # as bench/bottleneck.lua: libraries loaded before the clock
steps, t0 = 0, time.perf_counter()
for c in (8, 32, 128):
    torch.manual_seed(10000)
    model = torch.nn.Sequential(torch.nn.Linear(1, 32), torch.nn.Linear(32, c), torch.nn.Linear(c, 1))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    for _ in range(100):
        opt.zero_grad()
        loss = torch.nn.functional.mse_loss(model(x), x)
        loss.backward()
        opt.step()
        steps += 1
    print("C=%d loss %.4f" % (c, loss.item()))
print("bottleneck_step", (time.perf_counter() - t0) / steps)
