-- test_threads.lua - tensor.set_num_threads / get_num_threads, and that the pool changes
-- no result: elementwise ops (contiguous, strided, broadcast), random fills, optimizer
-- steps, softmax, batch norm and pooling give the same bits on 1, 2, 3 and 4
-- threads; reductions (whose long rows are cut into fixed spans) are the same on every
-- count and on every run.
local dir = debug.getinfo(1, "S").source:match("^@(.*)/") or "."
local t = dofile(dir .. "/tap.lua")

local start = tensor.get_num_threads()
t.ok(math.type(start) == "integer" and start >= 1, "get_num_threads is a positive integer (" .. start .. ")")
tensor.set_num_threads(3)
t.eq(tensor.get_num_threads(), 3, "set_num_threads(3) then get_num_threads() is 3")
t.errors_like(function() tensor.set_num_threads(0) end, "valid range is 1%.%.%d+", "set_num_threads(0) names the valid range")
t.errors_like(function() tensor.set_num_threads(-2) end, "valid range is 1%.%.%d+", "set_num_threads(-2) names the valid range")
t.eq(tensor.get_num_threads(), 3, "a refused setting leaves the count as it was")

-- bitwise equality: the same bits, NaN included (both sides NaN at the same places)
local function same(a, b)
  if a:numel() ~= b:numel() then return false end
  local fa, fb = a:contiguous():view(-1), b:contiguous():view(-1)
  local nan_a, nan_b = fa:ne(fa), fb:ne(fb)
  if nan_a:ne(nan_b):sum():item() ~= 0 then return false end
  local eq = fa:eq(fb):sum():item() + nan_a:sum():item()
  return eq == fa:numel()
end

-- fn() run on each thread count; every result compared with the 1-thread one
local function across(name, fn)
  tensor.set_num_threads(1)
  local want = {fn()}
  local ok = true
  for _, n in ipairs({2, 3, 4}) do
    tensor.set_num_threads(n)
    local got = {fn()}
    for i = 1, #want do
      if not same(got[i], want[i]) then ok = false; t.diag(name .. ": result " .. i .. " differs on " .. n .. " threads") end
    end
  end
  t.ok(ok, name .. ": the same bits on 1, 2, 3 and 4 threads")
end

tensor.manual_seed(7)
local N = 1 << 20   -- past the pool's grain many times over
local a, b = tensor.randn(N), tensor.randn(N)
local a2 = a:view(1024, 1024)
a[5] = 0 / 0            -- a NaN travels through every op

across("elementwise chain, contiguous", function() return ((a * b + a):relu() * 0.5):exp(), (a:sigmoid() - b:tanh()):gelu() end)
across("elementwise on a transposed view", function() return a2:t():sin() + a2, a2:t():contiguous() end)
across("broadcast row and column", function()
  tensor.manual_seed(1)
  local r, c = tensor.randn(1, 1024), tensor.randn(1024, 1)
  return a2 + r, a2 * c, a2:narrow(2, 3, 1000):abs()
end)
across("copy and fill in place", function()
  local z = tensor.zeros(1024, 1024)
  z:narrow(2, 1, 512):copy(a2:narrow(2, 513, 512))
  z:narrow(2, 513, 512):fill(2.5)
  return z
end)
across("random fills", function()
  tensor.manual_seed(42)
  return tensor.randn(N), tensor.rand(N)
end)
across("softmax and log_softmax over each dim", function()
  return a2:softmax(2), a2:softmax(1), a2:log_softmax(2)
end)
across("softmax backward", function()
  local x = a2:clone():requires_grad()
  ;(x:softmax(2) * b:view(1024, 1024)):sum():backward()
  return x.grad
end)
across("reductions", function()
  local c = b:view(1024, 1024)
  return b:sum(), c:sum(1), c:sum(2), b:max(), b:min(), b:argmax(), c:max(1), c:argmin(2), b:mean(), c:var(2)
end)
across("a NaN wins max and argmax on every count", function() return a:max(), a:argmax() end)
across("batch norm forward and backward", function()
  tensor.manual_seed(3)
  local x = tensor.randn(64, 16, 32, 32):requires_grad()
  local bn = nn.BatchNorm2d(16)
  local y = bn(x)
  ;(y * y):sum():backward()
  return y, x.grad, bn.running_mean, bn.running_var
end)
across("pooling forward and backward", function()
  tensor.manual_seed(4)
  local x = tensor.randn(32, 8, 32, 32):requires_grad()
  local y = nn.F.max_pool2d(x, 2) * 2 + nn.F.avg_pool2d(x, 3, 1, 1):sum(2, true):narrow(3, 1, 16):narrow(4, 1, 16)
  y:sum():backward()
  return y, x.grad
end)
-- a GEMM (matmul, the im2col convolution) is OpenBLAS's and OpenBLAS blocks by thread
-- count: the same bits run to run, close across counts
do
  local function conv()
    tensor.manual_seed(5)
    local x = tensor.randn(16, 8, 28, 28):requires_grad()
    local w = tensor.randn(16, 8, 3, 3):requires_grad()
    local y = nn.F.conv2d(x, w, nil, 1, 1, 1)
    y:sum():backward()
    return {y, x.grad, w.grad, x:view(16, -1):matmul(tensor.randn(6272, 300))}
  end
  tensor.set_num_threads(1)
  local one = conv()
  tensor.set_num_threads(2)
  local r1, r2 = conv(), conv()
  local same_runs, near = true, true
  for i = 1, #r1 do
    same_runs = same_runs and same(r1[i], r2[i])
    near = near and ((r1[i] - one[i]):abs():max():item() <= 1e-3 * (one[i]:abs():max():item() + 1))
  end
  t.ok(same_runs, "convolution and matmul: the same bits on two runs (2 threads)")
  t.ok(near, "convolution and matmul: 1 and 2 threads agree to rounding")
end
across("Adam and SGD steps", function()
  tensor.manual_seed(6)
  local p1, p2 = tensor.randn(N):requires_grad(), tensor.randn(N):requires_grad()
  local o1, o2 = optim.Adam({p1}, {lr = 0.01, weight_decay = 0.1}), optim.SGD({p2}, {lr = 0.1, momentum = 0.9, nesterov = true})
  for _ = 1, 3 do
    o1:zero_grad(); o2:zero_grad()
    ;((p1 * p1):sum() + (p2 * b):sum()):backward()
    o1:step(); o2:step()
  end
  return p1, p2
end)

-- a full sum of 16M is cut into spans; on one count, run twice: the same bits
do
  tensor.set_num_threads(2)
  local big = tensor.randn(1 << 24)
  local s1, s2 = big:sum():item(), big:sum():item()
  t.ok(s1 == s2, "a 16M-element sum is the same on two runs (2 threads)")
  tensor.set_num_threads(1)
  t.ok(big:sum():item() == s1, "and on 1 thread")
end

tensor.set_num_threads(start)
t.eq(tensor.get_num_threads(), start, "the count goes back to the default")

-- OpenBLAS 0.3.21 falls back to its SSE3 (Prescott) kernels on a CPU model it does not
-- know; nnlab names the core by the CPU's features (tensor/cpu/blas.c)
do
  local f = io.open("/proc/cpuinfo")
  local flags = f and (f:read("a"):match("\nflags%s*:([^\n]*)") or "") .. " " or ""
  if f then f:close() end
  local function has(x) return flags:find(" " .. x .. " ", 1, true) ~= nil end
  local core = tensor.blas_core()
  t.ok(type(core) == "string" and #core > 0, "tensor.blas_core() names the kernels (" .. tostring(core) .. ")")
  if os.getenv("OPENBLAS_CORETYPE") then
    t.skip("OPENBLAS_CORETYPE is set: the user's choice stands")
  elseif has("avx512f") and has("avx512bw") and has("avx512vl") and has("avx512dq") and has("avx512cd") then
    local want = {SkylakeX = true, Cooperlake = true, SapphireRapids = true}
    t.ok(want[core], "an AVX-512 CPU gets OpenBLAS's AVX-512 kernels, got " .. tostring(core))
  elseif has("avx2") and has("fma") then
    t.ok(core ~= "Prescott" and core ~= "Core2" and core ~= "Nehalem" and core ~= "SandyBridge",
         "an AVX2 CPU gets AVX2 kernels, got " .. tostring(core))
  else
    t.skip("no AVX2 on this CPU: OpenBLAS's own choice stands")
  end
end
t.done_testing()
