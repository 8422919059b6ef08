-- gpu_bench.lua - GPU benchmarks: cuBLAS sgemm rate, per-op overhead, memory-bound
-- kernels, and training steps; side by side with PyTorch CUDA when python3 can import
-- torch with a GPU (bench/gpu_bench_torch.py runs the same tasks).
-- usage: nnlab bench/gpu_bench.lua          prints "name value unit" lines, then a table
local avail, why = tensor.cuda_available()
if not avail then
  print("gpu_bench: skipped: " .. tostring(why))
  return
end

local F = nn.F
local cuda = {device = "cuda"}
local function median(t) table.sort(t); return t[(#t + 1) // 2] end
-- kernels run asynchronously: reading one value back waits for all queued work
local function sync(t) return t:flatten():narrow(1, 1, 1):item() end

-- seconds per call of fn(inner) / inner, median of reps; fn returns a tensor to sync on
local function time(fn, reps, inner)
  sync(fn(1))   -- warm up: cuBLAS heuristics, the allocator's cache
  local ts = {}
  for _ = 1, reps do
    local t0 = sys.clock()
    sync(fn(inner))
    ts[#ts + 1] = (sys.clock() - t0) / inner
  end
  return median(ts)
end

local results, order = {}, {}
local function report(name, value, unit, higher_is_better)
  results[name] = {value = value, unit = unit, higher = higher_is_better}
  order[#order + 1] = name
  print(string.format("%s %.6g %s", name, value, unit))
end

tensor.manual_seed(0)

-- ---- sgemm -----------------------------------------------------------------------------
for _, n in ipairs({1024, 4096}) do
  local a, b = tensor.randn(n, n, cuda), tensor.randn(n, n, cuda)
  local s = time(function(k) local c; for _ = 1, k do c = a:matmul(b) end; return c end, 5, n >= 4096 and 10 or 50)
  report("sgemm_" .. n, 2 * n ^ 3 / s / 1e9, "GFLOP/s", true)
  tensor.set_matmul_precision("high")   -- TF32 tensor cores
  s = time(function(k) local c; for _ = 1, k do c = a:matmul(b) end; return c end, 5, n >= 4096 and 10 or 50)
  report("sgemm_" .. n .. "_tf32", 2 * n ^ 3 / s / 1e9, "GFLOP/s", true)
  tensor.set_matmul_precision("highest")
end

-- ---- per-op overhead: a 4-element add is all launch and bookkeeping ------------------------
local a4, b4 = tensor.ones(4, cuda), tensor.ones(4, cuda)
report("op_overhead_add", 1e6 * time(function(k) local c; for _ = 1, k do c = a4 + b4 end; return c end, 7, 20000),
       "us/op", false)
report("op_overhead_sum", 1e6 * time(function(k) local c; for _ = 1, k do c = a4:sum() end; return c end, 7, 20000),
       "us/op", false)

-- ---- memory-bound kernels ------------------------------------------------------------------
local big = 64 * 1024 * 1024
local x, y = tensor.randn(big, cuda), tensor.randn(big, cuda)
report("add_64M", 3 * 4 * big / time(function(k) local c; for _ = 1, k do c = x + y end; return c end, 5, 10) / 1e9,
       "GB/s", true)
report("sum_64M", 4 * big / time(function(k) local c; for _ = 1, k do c = x:sum() end; return c end, 5, 10) / 1e9,
       "GB/s", true)
local xt = x:view(8192, 8192)
report("transpose_copy_8192", 2 * 4 * big / time(function(k) local c; for _ = 1, k do c = xt:t():contiguous() end;
       return c end, 5, 10) / 1e9, "GB/s", true)
x, y, xt = nil, nil, nil
local logits = tensor.randn(4096, 4096, cuda)
report("softmax_4096x4096", 1e3 * time(function(k) local c; for _ = 1, k do c = logits:softmax(-1) end; return c end, 5, 20),
       "ms", false)
logits = nil
collectgarbage()

-- ---- conv2d 3x3, 64 -> 64 channels, batch 32 of 56x56 (a ResNet stage): forward + backward ----
do
  local cx = tensor.randn(32, 64, 56, 56, cuda):requires_grad(true)
  local cw = tensor.randn(64, 64, 3, 3, cuda):requires_grad(true)
  local flops = 3 * 2 * 32 * 64 * 56 * 56 * 64 * 9   -- forward, grad of x, grad of w
  local s = time(function(k) local y; for _ = 1, k do y = F.conv2d(cx, cw, nil, 1, 1); y:sum():backward() end
                   return cw.grad end, 5, 5)
  report("conv2d_3x3_64_fwd_bwd", flops / s / 1e9, "GFLOP/s", true)
end
collectgarbage()

-- ---- training steps ------------------------------------------------------------------------
-- MLP 784-256-128-10, batch 128: forward, cross-entropy, backward, Adam
local mlp = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(), nn.Linear(128, 10)):cuda()
local opt = optim.Adam(mlp, {lr = 1e-3})
local xb = tensor.rand(128, 784, cuda)
local labels = tensor.tensor((function() local t = {} for i = 1, 128 do t[i] = (i % 10) + 1 end return t end)()):cuda()
local function mlp_steps(k)
  local loss
  for _ = 1, k do
    opt:zero_grad()
    loss = F.cross_entropy(mlp(xb), labels)
    loss:backward()
    opt:step()
  end
  return loss
end
report("mlp_train_step", 1e3 * time(mlp_steps, 7, 50), "ms", false)

-- the bottleneck tutorial's model: 100 full-batch Adam epochs, C = 8
local function bottleneck(device)
  tensor.manual_seed(10000)
  local model = nn.Sequential(nn.Linear(1, 32), nn.Linear(32, 8), nn.Linear(8, 1)):to(device)
  local xs = tensor.arange(0, 100):view(100, 1):to(device)
  local o = optim.Adam(model, {lr = 1e-3})
  local loss
  for _ = 1, 100 do
    o:zero_grad()
    loss = F.mse_loss(model(xs), xs)
    loss:backward()
    o:step()
  end
  return loss
end
report("bottleneck_100_epochs_cuda", 1e3 * time(function() return bottleneck("cuda") end, 5, 1), "ms", false)
report("bottleneck_100_epochs_cpu", 1e3 * time(function() return bottleneck("cpu") end, 5, 1), "ms", false)

local mem = tensor.cuda_memory()
print(string.format("# cuda memory: %.1f MiB allocated, %.1f MiB cached", mem.allocated / 2 ^ 20, mem.cached / 2 ^ 20))

-- ---- PyTorch CUDA side by side --------------------------------------------------------------
-- NNLAB_TORCH_BENCH names a file holding that output, made beforehand (the GPU bundle's
-- run.sh does so: python3 must not inherit the bundle's library path)
local here = (debug.getinfo(1, "S").source:match("^@(.*/)") or "./")
local torch_out, given = "", os.getenv("NNLAB_TORCH_BENCH")
if given then
  local f = io.open(given)
  torch_out = f and f:read("a") or ""
  if f then f:close() end
else
  local p = io.popen("python3 " .. here .. "gpu_bench_torch.py 2>&1")
  torch_out = p and p:read("a") or ""
  if p then p:close() end
end
local theirs = {}
for name, v in torch_out:gmatch("(%S+) (%S+) %S+\n") do theirs[name] = tonumber(v) end
if not next(theirs) then
  print("# PyTorch CUDA: not compared (" .. (torch_out:match("[^\n]*skipped[^\n]*") or "python3 with torch not found") .. ")")
  return
end
print(string.format("\n%-28s %14s %14s %10s  %s", "benchmark", "nnlab", "pytorch", "nnlab/pt", "(speed ratio: >1 = nnlab faster)"))
for _, name in ipairs(order) do
  local r, t = results[name], theirs[name]
  local ratio = t and (r.higher and r.value / t or t / r.value)
  print(string.format("%-28s %10.4g %-3s %10s %-3s %10s", name, r.value, r.unit,
                      t and string.format("%.4g", t) or "-", t and r.unit or "", ratio and string.format("%.2fx", ratio) or "-"))
end
