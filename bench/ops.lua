-- ops.lua - nnlab side of the micro benchmarks; prints "name seconds" lines.
-- usage: nnlab bench/ops.lua
local function median(t) table.sort(t); return t[(#t + 1) // 2] end

local function time(fn, reps, inner)
  fn(1)                        -- warm up: first-touch pages, BLAS threads
  local ts = {}
  for _ = 1, reps do
    local t0 = sys.clock()
    fn(inner)
    ts[#ts + 1] = (sys.clock() - t0) / inner
  end
  return median(ts)
end

tensor.manual_seed(0)
local a, b = tensor.ones(4), tensor.ones(4)
print("tiny_add", time(function(n) local c; for _ = 1, n do c = a + b end end, 7, 200000))

for _, n in ipairs({256, 1024, 2048}) do
  local x, y = tensor.randn(n, n), tensor.randn(n, n)
  local reps = n >= 2048 and 5 or 9
  print("matmul_" .. n, time(function(k) for _ = 1, k do local c = x:matmul(y) end end, reps, n <= 256 and 50 or 3))
end

-- forward+backward of a 784-256-128-10 MLP on a batch of 128, from raw tensor ops
local function param(o, i) return (tensor.randn(o, i) * (1 / math.sqrt(i))):requires_grad() end
local w1, w2, w3 = param(256, 784), param(128, 256), param(10, 128)
local b1, b2, b3 = tensor.zeros(256):requires_grad(), tensor.zeros(128):requires_grad(), tensor.zeros(10):requires_grad()
local xb = tensor.rand(128, 784)
local function mlp_step()
  local h = (xb:matmul(w1:t()) + b1):relu()
  h = (h:matmul(w2:t()) + b2):relu()
  local out = h:matmul(w3:t()) + b3
  local loss = (out * out):mean()
  loss:backward()
  for _, p in ipairs({w1, w2, w3, b1, b2, b3}) do p.grad = nil end
end
print("mlp_fwd_bwd", time(function(n) for _ = 1, n do mlp_step() end end, 7, 50))
