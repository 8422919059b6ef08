-- scaling.lua - nnlab side of the scaling table (size x threads): an elementwise
-- expression, a full sum, matmul and a CNN training step. Threads come from
-- NNLAB_NUM_THREADS (bench/run.py sets it); prints "name size seconds" lines, medians.
--   nnlab bench/scaling.lua
local function median(t) table.sort(t); return t[(#t + 1) // 2] end
local function time(fn, reps)
  fn()                                     -- warm up: the allocator's cache, BLAS threads
  local ts = {}
  for _ = 1, reps do
    local t0 = sys.clock()
    fn()
    ts[#ts + 1] = sys.clock() - t0
  end
  return median(ts)
end
tensor.manual_seed(0)

-- the "fused expression" of the thread target: five elementwise ops over n elements
for _, n in ipairs({1 << 16, 1 << 20, 1 << 24}) do
  local a, b = tensor.randn(n), tensor.randn(n)
  local reps = n >= (1 << 24) and 9 or 31
  print("ew", n, time(function() local c = ((a * b + a):relu() * 0.5):exp() end, reps))
  print("sum", n, time(function() local s = a:sum() end, reps))
end
-- a fused (single-pass) expression: gelu(x) = x * 0.5 * (1 + erf(x / sqrt 2)), one kernel
for _, n in ipairs({1 << 16, 1 << 24}) do
  local a = tensor.randn(n)
  print("gelu", n, time(function() local c = a:gelu() end, n >= (1 << 24) and 9 or 31))
end
for _, n in ipairs({256, 1024, 2048}) do
  local x, y = tensor.randn(n, n), tensor.randn(n, n)
  print("matmul", n, time(function() local c = x:matmul(y) end, n >= 2048 and 5 or 11))
end

-- one training step of scripts/fashion_cnn.lua's model (conv-BN-ReLU-pool x2, linear head)
local function cnn()
  return nn.Sequential(
    nn.Conv2d(1, 32, 3, {padding = 1}), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
    nn.Conv2d(32, 64, 3, {padding = 1}), nn.BatchNorm2d(64), nn.ReLU(), nn.MaxPool2d(2),
    nn.Flatten(), nn.Linear(64 * 7 * 7, 10))
end
for _, bsz in ipairs({32, 128}) do
  local m = cnn()
  local opt = optim.Adam(m:parameters(), {lr = 1e-3})
  local labels = {}
  for i = 1, bsz do labels[i] = (i * 7) % 10 + 1 end
  local x, y = tensor.rand(bsz, 1, 28, 28), tensor(labels)
  print("cnn_step", bsz, time(function()
    opt:zero_grad()
    nn.cross_entropy(m(x), y):backward()
    opt:step()
  end, 15))
end
