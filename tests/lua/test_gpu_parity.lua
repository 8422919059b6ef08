-- test_gpu_parity.lua: every op on the GPU against the same op on the CPU, forward
-- and backward, then a few hundred training steps of the bottleneck model on both.
-- Run: ./nnlab tests/lua/test_gpu_parity.lua   (prints TAP; skips without a GPU)
--
-- Tolerances: CPU and GPU may differ only in float rounding (docs/ARCHITECTURE.md). Elementwise
-- formulas are the same source (tensor/elementwise.h) but CUDA's expf/erff/... round
-- within 1-2 ulp of glibc's, so they get 1e-5 relative. Sums and matmuls add in a
-- different order (tree vs loop, cuBLAS vs OpenBLAS, float vs double accumulators),
-- so they get more, scaled by the length summed over. Index results must be equal.
local avail, why = tensor.cuda_available()
if not avail then
  print("1..0 # SKIP " .. tostring(why or "no CUDA device found"))
  return
end

local F = nn.F
local dir = debug.getinfo(1, "S").source:match("^@(.*)/") or "."
local tap = dofile(dir .. "/tap.lua")
local ok = tap.ok   -- ok(cond, name, diagnostic shown on failure)

-- a test body that raises becomes one failed test, not the end of the suite
local function run(name, fn)
  local good, err = pcall(fn)
  if not good then ok(false, name .. " (raised)", err) end
end

local EXACT = {atol = 0, rtol = 0}
local EW = {atol = 1e-6, rtol = 1e-5}        -- elementwise, same formula
local SUM = {atol = 1e-4, rtol = 1e-4}       -- sums of a few hundred terms, matmul
local LONG = {atol = 1e-3, rtol = 1e-4}      -- sums of 1e5 terms

-- |got - want| <= atol + rtol*|want| everywhere, NaNs in the same number, same shape
local function close(name, got, want, tol)
  got = got:cpu()
  if tostring(got:shape()) ~= tostring(want:shape()) then
    return ok(false, name, "shape " .. tostring(got:shape()) .. " vs cpu " .. tostring(want:shape()))
  end
  local nan_got, nan_want = got:ne(got):sum():item(), want:ne(want):sum():item()
  local d = (got - want):abs()
  local bad = d:gt(want:abs() * tol.rtol + tol.atol):sum():item()
  local worst = got:numel() > 0 and d:max():item() or 0
  ok(bad == 0 and nan_got == nan_want, name,
     string.format("max |gpu-cpu| %.3g (atol %g, rtol %g); %d of %d elements out; NaNs %d vs %d",
                   worst, tol.atol, tol.rtol, bad, got:numel(), nan_got, nan_want))
end

-- an input that is passed as is (indices, labels): no gradient
local function const(t) return {const = t} end

-- f(inputs...) on both devices; compares the output and the gradient of every input
-- through sum(y * w) for a random w, so each output element carries its own weight.
local function check(name, f, inputs, tol, opts)
  opts = opts or {}
  run(name, function()
    local cin, gin = {}, {}
    for i, x in ipairs(inputs) do
      if type(x) == "table" and x.const then
        cin[i], gin[i] = x.const, x.const:cuda()
      elseif opts.nograd then
        cin[i], gin[i] = x, x:cuda()
      else
        cin[i], gin[i] = x:clone():requires_grad(true), x:cuda():requires_grad(true)
      end
    end
    local yc, yg = f(table.unpack(cin)), f(table.unpack(gin))
    ok(yg:device() == "cuda", name .. " runs on cuda", "result on " .. yg:device())
    close(name, yg, yc, tol)
    if opts.nograd then return end
    local w = yc:dim() > 0 and tensor.randn(yc:shape()) or nil
    local lc = w and (yc * w):sum() or yc
    local lg = w and (yg * w:cuda()):sum() or yg
    lc:backward()
    lg:backward()
    for i, x in ipairs(cin) do
      if not (type(inputs[i]) == "table" and inputs[i].const) then
        close(name .. " grad of input " .. i, gin[i].grad, x.grad, opts.gtol or tol)
      end
    end
  end)
end

tensor.manual_seed(1234)
math.randomseed(1234)

-- 1-based index tensor of `count` values in 1..hi, shaped like sizes (a table)
local function indices(hi, sizes)
  local total = 1
  for _, s in ipairs(sizes) do total = total * s end
  local v = {}
  for i = 1, total do v[i] = math.random(1, hi) end
  return tensor.tensor(v):view(sizes)
end

-- ---- moving data -----------------------------------------------------------------------
run("to/from the device", function()
  local x = tensor.randn(7, 9)
  local g = x:cuda()
  ok(g:device() == "cuda", "x:cuda() is on cuda")
  close("x:cuda():cpu() round trip", g:cpu(), x, EXACT)
  ok(tostring(g):find("cuda", 1, true) ~= nil, "a cuda tensor prints its device", tostring(g))
  close("strided x:t():cuda()", x:t():cuda(), x:t():contiguous(), EXACT)
  local y = tensor.zeros(9, 7, {device = "cuda"})
  y:copy(x:t():cuda())
  close("copy into a cuda tensor from a strided one", y, x:t():contiguous(), EXACT)
  y:fill(2.5)
  close("fill", y, tensor.full({9, 7}, 2.5), EXACT)
  y:narrow(2, 2, 3):zero()
  local want = tensor.full({9, 7}, 2.5)
  want:narrow(2, 2, 3):zero()
  close("zero a strided view", y, want, EXACT)
  -- gradients flow back across devices
  local a = tensor.randn(5):requires_grad(true)
  a:cuda():exp():sum():backward()
  close("grad through x:cuda()", a.grad, a:detach():exp(), EW)
end)

-- ---- elementwise ------------------------------------------------------------------------
local x = tensor.randn(37, 53)
local pos = tensor.rand(37, 53) + 0.1
local unary = {
  neg = function(a) return a:neg() end, exp = function(a) return a:exp() end,
  abs = function(a) return a:abs() end, relu = function(a) return a:relu() end,
  sigmoid = function(a) return a:sigmoid() end, tanh = function(a) return a:tanh() end,
  gelu = function(a) return a:gelu() end, sin = function(a) return a:sin() end,
  cos = function(a) return a:cos() end, ["pow 2"] = function(a) return a:pow(2) end,
  ["pow 3"] = function(a) return a:pow(3) end, clamp = function(a) return a:clamp(-0.5, 0.5) end,
  ["+ 2"] = function(a) return a + 2 end, ["* 3"] = function(a) return a * 3 end,
  ["2 - x"] = function(a) return 2 - a end, ["unary -"] = function(a) return -a end,
}
local names = {}
for k in pairs(unary) do names[#names + 1] = k end
table.sort(names)
for _, k in ipairs(names) do check(k, unary[k], {x}, EW) end
check("log", function(a) return a:log() end, {pos}, EW)
check("sqrt", function(a) return a:sqrt() end, {pos}, EW)
check("pow 0.5", function(a) return a:pow(0.5) end, {pos}, EW)
check("2 / x", function(a) return 2 / a end, {pos}, EW)
check("exp of a transposed view", function(a) return a:t():exp() end, {x}, EW)
check("sigmoid of a narrowed view", function(a) return a:narrow(2, 3, 10):sigmoid() end, {x}, EW)
check("tanh of an expanded view", function(a) return a:unsqueeze(1):expand(4, 37, 53):tanh() end, {x}, EW)

local a3, b2, bpos = tensor.randn(4, 1, 53), tensor.randn(37, 53), tensor.rand(37, 1) + 0.5
check("add (broadcast)", function(a, b) return a + b end, {a3, b2}, EW)
check("sub (broadcast)", function(a, b) return a - b end, {a3, b2}, EW)
check("mul (broadcast)", function(a, b) return a * b end, {a3, b2}, EW)
check("div (broadcast)", function(a, b) return a / b end, {a3, bpos}, EW)
check("pow (tensor exponent)", function(a, b) return a:pow(b) end, {pos, b2:clamp(-2, 2)}, EW)
check("maximum", function(a, b) return a:maximum(b) end, {a3, b2}, EW)
check("minimum", function(a, b) return a:minimum(b) end, {a3, b2}, EW)
check("add of permuted views", function(a, b) return a:permute(3, 1, 2) + b:t():unsqueeze(2) end,
      {a3, b2}, EW)
for _, c in ipairs({"eq", "ne", "lt", "le", "gt", "ge"}) do
  check(c, function(a, b) return a[c](a, b) end, {a3:clamp(-0.5, 0.5):mul(4):abs(), b2:abs():clamp(0, 1)},
        EXACT, {nograd = true})
end
check("gt scalar", function(a) return a:gt(0.25) end, {x}, EXACT, {nograd = true})

-- ---- reductions ------------------------------------------------------------------------
local r3 = tensor.randn(6, 300, 70)
for d = 1, 3 do
  check("sum dim " .. d, function(a) return a:sum(d) end, {r3}, SUM)
  check("mean dim " .. d .. " keepdim", function(a) return a:mean(d, true) end, {r3}, SUM)
  check("max dim " .. d, function(a) return (a:max(d)) end, {r3}, EXACT)
  check("max dim " .. d .. " indices", function(a) local _, i = a:max(d); return i end, {r3}, EXACT,
        {nograd = true})
  check("min dim " .. d, function(a) return (a:min(d)) end, {r3}, EXACT)
  check("argmax dim " .. d, function(a) return a:argmax(d) end, {r3}, EXACT, {nograd = true})
  check("argmin dim " .. d, function(a) return a:argmin(d) end, {r3}, EXACT, {nograd = true})
  check("var dim " .. d, function(a) return a:var(d) end, {r3}, SUM)
  check("std dim " .. d, function(a) return a:std(d) end, {r3}, SUM)
end
check("sum all", function(a) return a:sum() end, {r3}, LONG)
check("mean all", function(a) return a:mean() end, {r3}, SUM)
check("max all", function(a) return a:max() end, {r3}, EXACT)
check("norm", function(a) return a:norm() end, {r3}, SUM)
-- long rows take the split (two-pass) paths
local long = tensor.randn(100000)
check("sum of 1e5", function(a) return a:sum() end, {long}, LONG)
check("max of 1e5", function(a) return a:max() end, {long}, EXACT)
check("argmax of 1e5", function(a) return a:argmax() end, {long}, EXACT, {nograd = true})
check("argmin of 1e5", function(a) return a:argmin(1) end, {long}, EXACT, {nograd = true})
local tall = tensor.randn(20000, 8)
check("sum over 20000 rows (bias gradient shape)", function(a) return a:sum(1) end, {tall}, LONG)
check("argmax over 20000 rows", function(a) return a:argmax(1) end, {tall}, EXACT, {nograd = true})
check("max of short rows", function(a) return (a:max(2)) end, {tensor.randn(1000, 10)}, EXACT)
check("argmax takes the first of tied values",
      function(a) return a:argmax(2) end, {tensor.tensor({{1, 3, 3, 2}, {5, 5, 5, 5}, {-1, -2, -1, -2}})},
      EXACT, {nograd = true})

-- ---- matmul ----------------------------------------------------------------------------
local A, B = tensor.randn(33, 65), tensor.randn(65, 17)
check("matmul 2-D", function(a, b) return a:matmul(b) end, {A, B}, SUM)
check("matmul of transposed views", function(a, b) return a:t():matmul(b:t()) end,
      {tensor.randn(65, 33), tensor.randn(17, 65)}, SUM)
check("matmul batched", function(a, b) return a:matmul(b) end, {tensor.randn(3, 33, 65), tensor.randn(3, 65, 17)}, SUM)
check("matmul broadcast (shared right operand)", function(a, b) return a:matmul(b) end,
      {tensor.randn(2, 3, 33, 65), B}, SUM)
check("matmul broadcast (shared left operand)", function(a, b) return a:matmul(b) end,
      {A, tensor.randn(4, 65, 17)}, SUM)
check("matmul vector x matrix", function(a, b) return a:matmul(b) end, {tensor.randn(65), B}, SUM)
check("matmul matrix x vector", function(a, b) return a:matmul(b) end, {A, tensor.randn(65)}, SUM)
check("matmul 512x512", function(a, b) return a:matmul(b) end, {tensor.randn(512, 512), tensor.randn(512, 512)},
      {atol = 1e-3, rtol = 1e-4})

-- ---- softmax ---------------------------------------------------------------------------
check("softmax last dim (long rows)", function(a) return a:softmax(-1) end, {tensor.randn(40, 1000)}, EW)
check("softmax last dim (short rows)", function(a) return a:softmax(-1) end, {tensor.randn(500, 10)}, EW)
check("softmax middle dim", function(a) return a:softmax(2) end, {r3}, EW)
check("log_softmax last dim (long rows)", function(a) return a:log_softmax(-1) end, {tensor.randn(40, 1000)}, SUM)
check("log_softmax middle dim", function(a) return a:log_softmax(2) end, {r3}, SUM)
check("softmax of large logits", function(a) return a:softmax(2) end, {tensor.randn(8, 300) * 50}, EW)

-- ---- indexing, joining -----------------------------------------------------------------
local src = tensor.randn(6, 300, 7)
-- repeated indices make the backward (scatter_add, atomics on the GPU) add in any order
check("gather dim 2", function(a, i) return a:gather(2, i) end, {src, const(indices(300, {6, 40, 7}))}, EW)
check("gather dim 1", function(a, i) return a:gather(1, i) end, {src, const(indices(6, {9, 300, 7}))}, EW)
check("index_select with repeats", function(a, i) return a:index_select(2, i) end,
      {src, const(indices(300, {500}))}, EW)
check("cat", function(a, b) return tensor.cat({a, b}, 2) end, {tensor.randn(3, 4, 5), tensor.randn(3, 2, 5)}, EXACT)
check("stack", function(a, b) return tensor.stack({a, b}, 3) end, {tensor.randn(3, 4), tensor.randn(3, 4)}, EXACT)
run("index errors", function()
  local bad = tensor.tensor({1, 2, 9})
  local okc, errc = pcall(function() return tensor.randn(4, 3):index_select(1, bad) end)
  -- the GPU does not wait at the call: the next sync reports it (see "device errors" below)
  local okg, errg = pcall(function()
    local y = tensor.randn(4, 3, {device = "cuda"}):index_select(1, bad:cuda())
    return y:sum():item()
  end)
  ok(not okc and not okg, "an out-of-range index fails on both devices", tostring(errc) .. " / " .. tostring(errg))
  local strip = function(e) return (tostring(e):gsub("^.-:%d+: ", "")) end
  ok(strip(errg):sub(1, #strip(errc)) == strip(errc), "with the same message (the GPU's says when it was found)",
     strip(errc) .. " / " .. strip(errg))
  local after = tensor.ones(3, {device = "cuda"}):sum():item()
  ok(after == 3, "the device still works after an index error", after)
end)

-- ---- nn building blocks ------------------------------------------------------------------
local img = tensor.randn(2, 3, 11, 13)
check("conv2d 3x3 pad 1", function(x, w, b) return F.conv2d(x, w, b, 1, 1, 1) end,
      {img, tensor.randn(4, 3, 3, 3), tensor.randn(4)}, SUM)
check("conv2d 3x3 stride 2", function(x, w) return F.conv2d(x, w, nil, 2, 0, 1) end,
      {img, tensor.randn(5, 3, 3, 3)}, SUM)
check("conv2d depthwise", function(x, w) return F.conv2d(x, w, nil, 1, 1, 3) end,
      {img, tensor.randn(3, 1, 3, 3)}, SUM)
check("conv2d 5x5 stride 2 pad 2", function(x, w) return F.conv2d(x, w, nil, 2, 2, 1) end,
      {img, tensor.randn(2, 3, 5, 5)}, SUM)
check("max_pool2d 2", function(x) return F.max_pool2d(x, 2) end, {img}, EXACT)
check("max_pool2d 3 stride 2 pad 1", function(x) return F.max_pool2d(x, 3, 2, 1) end, {img}, EXACT,
      {gtol = EW})   -- overlapping windows: a pixel's gradient adds up in any order
check("avg_pool2d 3 stride 2 pad 1", function(x) return F.avg_pool2d(x, 3, 2, 1) end, {img}, EW)
check("layer_norm", function(x, w, b) return F.layer_norm(x, 1, w, b) end,
      {tensor.randn(16, 70), tensor.randn(70), tensor.randn(70)}, SUM)
check("batch_norm (training)", function(x, w, b) return F.batch_norm(x, nil, nil, w, b, true) end,
      {tensor.randn(32, 5, 4, 4), tensor.randn(5), tensor.randn(5)}, SUM)
check("linear", function(x, w, b) return F.linear(x, w, b) end,
      {tensor.randn(2, 50, 64), tensor.randn(8, 64), tensor.randn(8)}, SUM)
check("embedding", function(w, i) return F.embedding(w, i) end, {tensor.randn(20, 6), const(indices(20, {4, 30}))}, EW)
check("cross_entropy", function(z, y) return F.cross_entropy(z, y) end,
      {tensor.randn(64, 10), const(indices(10, {64}))}, SUM)
check("mse_loss", function(a, b) return F.mse_loss(a, b) end, {tensor.randn(64, 3), tensor.randn(64, 3)}, SUM)

-- ---- random numbers: the same counter-based draws on both devices -------------------------
run("random", function()
  for _, kind in ipairs({"rand", "randn"}) do
    tensor.manual_seed(77)
    local c = tensor[kind](1000, 3)
    tensor.manual_seed(77)
    local g = tensor[kind](1000, 3, {device = "cuda"})
    close(kind .. " draws the same numbers", g, c, {atol = 1e-5, rtol = 1e-5})
  end
  local v = tensor.randn(200, 50)
  tensor.manual_seed(5)
  local c = F.dropout(v, 0.3, true)
  tensor.manual_seed(5)
  local g = F.dropout(v:cuda(), 0.3, true)
  close("dropout keeps the same elements", g, c, EW)
end)

-- bitwise: uniform's a + (b - a) * u rounds twice on both devices (gpu.mk builds
-- gpu_map.cu with -fmad=false; tests/e2e/gpu_fmad.sh checks its PTX), so Linear's
-- Kaiming init U(-1/sqrt(128), 1/sqrt(128)) and rand are the CPU's bits, not 1 ulp off
run("random bitwise", function()
  local bound = 1 / math.sqrt(128)
  tensor.manual_seed(128)
  local c = nn.init.uniform_(tensor.zeros(512, 128), -bound, bound)
  tensor.manual_seed(128)
  local g = nn.init.uniform_(tensor.zeros(512, 128, {device = "cuda"}), -bound, bound)
  close("uniform(-1/sqrt(128), 1/sqrt(128)) is bitwise the CPU's", g, c, EXACT)
  tensor.manual_seed(9)
  c = tensor.rand(1000, 33)
  tensor.manual_seed(9)
  close("rand is bitwise the CPU's", tensor.rand(1000, 33, {device = "cuda"}), c, EXACT)
  tensor.manual_seed(4)
  c = nn.init.kaiming_uniform_(tensor.zeros(64, 128), 128)
  tensor.manual_seed(4)
  close("kaiming_uniform_ is bitwise the CPU's", nn.init.kaiming_uniform_(tensor.zeros(64, 128, {device = "cuda"}), 128),
        c, EXACT)
end)

-- ---- optimizers: each fused update against the CPU's --------------------------------------
local function opt_steps(make_opt, device)
  tensor.manual_seed(3)
  local p = tensor.randn(1000):to(device):requires_grad(true)
  local w = tensor.randn(1000):to(device)
  local opt = make_opt({p})
  for _ = 1, 5 do
    opt:zero_grad()
    local loss = (p * w):sum() + (p * p):sum() * 0.5
    loss:backward()
    opt:step()
  end
  return p:detach()
end
local optimizers = {
  ["SGD"] = function(ps) return optim.SGD(ps, {lr = 0.1}) end,
  ["SGD momentum, dampening, weight decay"] = function(ps)
    return optim.SGD(ps, {lr = 0.1, momentum = 0.9, dampening = 0.1, weight_decay = 0.01}) end,
  ["SGD nesterov"] = function(ps) return optim.SGD(ps, {lr = 0.1, momentum = 0.9, nesterov = true}) end,
  ["Adam"] = function(ps) return optim.Adam(ps, {lr = 0.01}) end,
  ["Adam weight decay"] = function(ps) return optim.Adam(ps, {lr = 0.01, weight_decay = 0.1}) end,
  ["AdamW"] = function(ps) return optim.AdamW(ps, {lr = 0.01}) end,
}
names = {}
for k in pairs(optimizers) do names[#names + 1] = k end
table.sort(names)
for _, k in ipairs(names) do
  run(k, function() close(k .. " (5 steps)", opt_steps(optimizers[k], "cuda"), opt_steps(optimizers[k], "cpu"), EW) end)
end

-- bitwise: the GPU's Adam/SGD element update is tensor/cpu/optim.c's expression term for
-- term (multiply by 1/sqrt(bias_c2), no FMA: gpu_optim.cu). The gradient of (p * w):sum()
-- is w exactly on both devices, so the parameters and both moments must match to the bit.
run("optimizer updates bitwise", function()
  local function steps(device, kind, wd, decoupled, multi)
    tensor.manual_seed(21)
    local shapes = {{300, 129}, {129}, {7, 3}}
    local ps, ws, m, v, nsteps, firsts = {}, {}, {}, {}, {}, {}
    for i, sh in ipairs(shapes) do
      ps[i] = tensor.randn(table.unpack(sh)):to(device):requires_grad(true)
      ws[i] = tensor.randn(table.unpack(sh)):to(device)
      m[i], v[i] = tensor.zeros(sh, {device = device}), tensor.zeros(sh, {device = device})
    end
    for s = 1, 8 do
      local loss
      for i, p in ipairs(ps) do
        p:zero_grad()
        loss = loss and loss + (p * ws[i]):sum() or (p * ws[i]):sum()
        nsteps[i], firsts[i] = s, s == 1
      end
      loss:backward()
      if kind == "adam" and multi then tensor._adam_step_multi(ps, m, v, nsteps, 1e-2, 0.9, 0.999, 1e-8, wd, decoupled)
      elseif kind == "adam" then
        for i, p in ipairs(ps) do F.adam_step(p, m[i], v[i], s, 1e-2, 0.9, 0.999, 1e-8, wd, decoupled) end
      elseif multi then tensor._sgd_step_multi(ps, m, firsts, 0.05, 0.9, 0, wd, true)
      else for i, p in ipairs(ps) do F.sgd_step(p, m[i], 0.05, 0.9, 0, wd, true, s == 1) end end
    end
    local out = {}
    for i, p in ipairs(ps) do out[#out + 1] = p:detach():cpu(); out[#out + 1] = m[i]:cpu(); out[#out + 1] = v[i]:cpu() end
    return out
  end
  -- one line per setting: every parameter and moment, the elements that differ counted
  local function same_bits(name, got, want)
    local bad, n, first = 0, 0, nil
    for j = 1, #want do
      local d = got[j]:ne(want[j]):sum():item()
      if d > 0 and not first then first = j end
      bad, n = bad + d, n + want[j]:numel()
    end
    ok(bad == 0, name, string.format("%d of %d elements differ (first in tensor %s)", bad, n, tostring(first)))
  end
  for _, c in ipairs({{"adam", 0, false}, {"adam", 0.1, false}, {"adam", 0.01, true}, {"sgd", 0.01, false}}) do
    local kind, wd, dec = c[1], c[2], c[3]
    local label = (kind == "adam" and (dec and "AdamW" or "Adam") or "SGD nesterov") .. " weight decay " .. wd
    local want = steps("cpu", kind, wd, dec, false)
    for _, multi in ipairs({false, true}) do
      same_bits(string.format("%s%s, 8 steps: parameters and moments are bitwise the CPU's", label,
                              multi and " (multi-tensor)" or ""), steps("cuda", kind, wd, dec, multi), want)
    end
  end
end)

-- ---- matmul precision: "high" is TF32 (10-bit mantissa inputs), "highest" full FP32 ------------
run("matmul precision", function()
  local a, b = tensor.randn(64, 256), tensor.randn(256, 48)
  local want = a:matmul(b)
  tensor.set_matmul_precision("high")
  local got = a:cuda():matmul(b:cuda())
  tensor.set_matmul_precision("highest")
  -- TF32 rounds each input to ~1e-3 relative; a 256-term dot product of N(0,1) values is ~16
  close("matmul under \"high\" (TF32) is within TF32's error", got, want, {atol = 0.1, rtol = 1e-2})
  close("matmul back under \"highest\" is FP32 again", a:cuda():matmul(b:cuda()), want, SUM)
end)

-- ---- fused kernels (the GPU's one-launch paths) against the CPU's composed ops -----------------
-- cross-entropy without weights or smoothing, layer norm, and the multi-tensor optimizer step
run("fused cross_entropy", function()
  for _, shape in ipairs({{64, 10}, {7, 1000}, {3, 5, 33}}) do
    local rows = shape[1] * (shape[3] and shape[2] or 1)
    local C = shape[#shape]
    local lab = indices(C, shape[3] and {shape[1], shape[2]} or {shape[1]})
    local logits = tensor.randn(table.unpack(shape)) * 3
    check("cross_entropy " .. table.concat(shape, "x"), function(x, y) return F.cross_entropy(x, y) end,
          {logits, const(lab)}, SUM)
    check("cross_entropy sum " .. table.concat(shape, "x"), function(x, y) return F.cross_entropy(x, y, {reduction = "sum"}) end,
          {logits, const(lab)}, {atol = 1e-3 * rows, rtol = 1e-4})
  end
  -- large logits: the max is taken first, so exp never overflows
  check("cross_entropy of logits ~1e4", function(x, y) return F.cross_entropy(x, y) end,
        {tensor.randn(16, 40) * 1e4, const(indices(40, {16}))}, {atol = 1, rtol = 1e-4})
end)
run("fused layer_norm", function()
  for _, shape in ipairs({{32, 64}, {4, 7, 300}, {3, 2000}}) do
    local D = shape[#shape]
    local x = tensor.randn(table.unpack(shape)) * 2 + 1
    check("layer_norm " .. table.concat(shape, "x"), function(a, w, b) return F.layer_norm(a, 1, w, b, 1e-5) end,
          {x, tensor.randn(D), tensor.randn(D)}, {atol = 1e-4, rtol = 1e-4})
    check("layer_norm without affine " .. table.concat(shape, "x"), function(a) return F.layer_norm(a, 1, nil, nil, 1e-5) end,
          {x}, {atol = 1e-4, rtol = 1e-4})
  end
  local ln = nn.LayerNorm(48)
  local x = tensor.randn(5, 6, 48)
  local want = ln(x)
  close("nn.LayerNorm module on cuda", ln:cuda()(x:cuda()), want, {atol = 1e-4, rtol = 1e-4})
end)
run("multi-tensor optimizer steps", function()
  local function model_steps(device, multi, kind)
    tensor.manual_seed(77)
    local ps = {}
    for i, shape in ipairs({{64, 32}, {32}, {10, 64}, {10}, {3, 3}}) do ps[i] = tensor.randn(table.unpack(shape)):to(device):requires_grad(true) end
    local st1, st2, steps, firsts = {}, {}, {}, {}
    for i, p in ipairs(ps) do st1[i], st2[i] = tensor.zeros(p:shape(), {device = device}), tensor.zeros(p:shape(), {device = device}) end
    for s = 1, 4 do
      for _, p in ipairs(ps) do p:zero_grad() end
      local loss = (ps[1]:sum(1) * ps[2]):sum() + (ps[3] * ps[3]):sum() + ps[4]:sigmoid():sum()   -- ps[5]: no grad
      loss:backward()
      for i = 1, #ps do steps[i], firsts[i] = s, s == 1 end
      if kind == "adam" and multi then tensor._adam_step_multi(ps, st1, st2, steps, 1e-2, 0.9, 0.999, 1e-8, 0.01, true)
      elseif kind == "adam" then
        for i, p in ipairs(ps) do F.adam_step(p, st1[i], st2[i], s, 1e-2, 0.9, 0.999, 1e-8, 0.01, true) end
      elseif multi then tensor._sgd_step_multi(ps, st1, firsts, 0.05, 0.9, 0, 1e-3, true)
      else for i, p in ipairs(ps) do F.sgd_step(p, st1[i], 0.05, 0.9, 0, 1e-3, true, s == 1) end end
    end
    local out = {}
    for i, p in ipairs(ps) do out[i] = p:detach():cpu() end
    return out
  end
  for _, kind in ipairs({"adam", "sgd"}) do
    local want, got = model_steps("cpu", false, kind), model_steps("cuda", true, kind)
    for i = 1, #want do close(kind .. " multi-tensor step, parameter " .. i, got[i], want[i], {atol = 1e-5, rtol = 1e-4}) end
  end
end)

-- ---- errors found on the device: reported at the next sync, naming the op -------------------
-- a bad index or label does not make the op wait for the GPU; the next item(), print,
-- :cpu() or tensor.cuda_synchronize() raises it, in the CPU's words
local function raises(fn) local good, err = pcall(fn); return not good, tostring(err) end
run("device errors: gather", function()
  local a, bad = tensor.randn(4, 10), tensor.tensor({{1}, {11}, {2}, {3}})
  local _, cpu_err = raises(function() return a:gather(2, bad) end)
  local queued, qerr = raises(function() return a:cuda():gather(2, bad:cuda()) end)
  ok(not queued, "a bad gather index does not raise at the call (no sync)", qerr)
  local raised, err = raises(function() return tensor.cuda_synchronize() end)
  ok(raised and err:find("gather: index 11 is out of range", 1, true) ~= nil,
     "the next sync raises it, naming gather", err)
  ok(err:find(cpu_err:match("gather: index[^(]*"), 1, true) ~= nil, "in the CPU's words", cpu_err .. " | " .. err)
  ok(not raises(function() return tensor.ones(2, {device = "cuda"}):sum():item() end),
     "reported once: the sync after it is clean")
end)
run("device errors: cross_entropy labels", function()
  local logits, labels = tensor.randn(5, 10), tensor.tensor({1, 2, 11, 4, 5})
  local _, cpu_err = raises(function() return F.cross_entropy(logits, labels) end)
  local queued, qerr = raises(function() return F.cross_entropy(logits:cuda(), labels:cuda()) end)
  ok(not queued, "a bad label does not raise at the call (labels stay on the GPU)", qerr)
  local raised, err = raises(function() local l = F.cross_entropy(logits:cuda(), labels:cuda()); return l:item() end)
  ok(raised and err:find("nn.cross_entropy: label 11 at position 3", 1, true) ~= nil,
     "item() raises it with the label and its position", err)
  ok(err:find(cpu_err:match("nn%.cross_entropy: label[^;]*"), 1, true) ~= nil, "in the CPU's words", cpu_err .. " | " .. err)
  ok(not raises(function() return tensor.cuda_synchronize() end), "and only once")
end)
-- many bad entries across many blocks: the CPU stops at the first in flat order, and the
-- GPU (atomicMin on the flat position, gpu_index.cu) must name that one, not whichever
-- thread got there first. The error is raised at the call (CPU) or at the sync (GPU).
local function first_bad_case(n, valid)
  local t = {}
  for p = 0, n - 1 do
    -- bad every 997th entry from 70001 on, each a different value; the first is 70001 + 999
    t[p + 1] = (p >= 70001 and (p - 70001) % 997 == 0) and (1000 + p % 100000) or (p % valid + 1)
  end
  return tensor.tensor(t)
end
run("device errors: the first bad index, as the CPU", function()
  local a = tensor.randn(64, 10)
  local idx = first_bad_case(64 * 4096, 10):view(64, 4096)
  local _, cpu_err = raises(function() return a:gather(2, idx) end)
  local raised, err = raises(function()
    local y = a:cuda():gather(2, idx:cuda())
    tensor.cuda_synchronize()
    return y
  end)
  local want = cpu_err:match("gather: index %d+ is out of range") or "?"
  ok(want == "gather: index 71001 is out of range", "the CPU names the first bad index", cpu_err)
  ok(raised and err:find(want, 1, true) ~= nil, "the GPU names the same bad index", cpu_err .. " | " .. err)
  ok(not raises(function() return tensor.cuda_synchronize() end), "and only once")
end)
run("device errors: the first bad label, as the CPU", function()
  local n = 200000
  local logits, labels = tensor.randn(n, 10), first_bad_case(n, 10)
  local _, cpu_err = raises(function() return F.cross_entropy(logits, labels):item() end)
  local raised, err = raises(function() return F.cross_entropy(logits:cuda(), labels:cuda()):item() end)
  local want = cpu_err:match("nn%.cross_entropy: label %d+ at position %d+") or "?"
  ok(want == "nn.cross_entropy: label 71001 at position 70002", "the CPU names the first bad label", cpu_err)
  ok(raised and err:find(want, 1, true) ~= nil, "the GPU names the same label and position", cpu_err .. " | " .. err)
  ok(not raises(function() return tensor.cuda_synchronize() end), "and only once")
end)
run("device errors: max backward (scatter_add) does not sync", function()
  local x = tensor.randn(6, 8):cuda():requires_grad(true)
  x:max(2):sum():backward()
  close("max backward", x.grad, (function()
    local c = x:detach():cpu():requires_grad(true); c:max(2):sum():backward(); return c.grad end)(), EXACT)
end)

-- ---- the caching allocator -----------------------------------------------------------------
run("cuda memory", function()
  collectgarbage()
  collectgarbage("stop")   -- no other tensor may be freed while the counts are compared
  local before = tensor.cuda_memory()
  local big = tensor.zeros(1024, 1024, {device = "cuda"})
  local during = tensor.cuda_memory()
  ok(during.allocated >= before.allocated + 4 * 1024 * 1024, "a 4 MiB tensor counts as allocated",
     before.allocated .. " -> " .. during.allocated)
  big = nil
  collectgarbage()
  collectgarbage()
  local after = tensor.cuda_memory()
  ok(after.cached >= 4 * 1024 * 1024, "its freed block stays cached", after.cached)
  local again = tensor.ones(1024, 1024, {device = "cuda"})
  ok(tensor.cuda_memory().cached == after.cached - 4 * 1024 * 1024, "and is reused for the same size",
     tensor.cuda_memory().cached)
  again = nil
  collectgarbage()
  collectgarbage()
  local before_empty = tensor.cuda_memory().cached
  tensor.cuda_empty_cache()
  -- segments that still hold a live tensor stay (PyTorch's empty_cache does the same)
  ok(tensor.cuda_memory().cached <= before_empty - 4 * 1024 * 1024, "empty_cache gives back the free segments",
     before_empty .. " -> " .. tensor.cuda_memory().cached)
  -- splitting: a freed 16 MiB block serves two 8 MiB tensors with no new segment
  local a16 = tensor.zeros(4 * 1024 * 1024, {device = "cuda"})
  local held = tensor.cuda_memory()
  a16 = nil
  collectgarbage()
  collectgarbage()
  local h1, h2 = tensor.zeros(2 * 1024 * 1024, {device = "cuda"}), tensor.zeros(2 * 1024 * 1024, {device = "cuda"})
  local now = tensor.cuda_memory()
  ok(now.allocated + now.cached == held.allocated + held.cached, "a freed block is split for smaller tensors",
     string.format("reserved %d -> %d", held.allocated + held.cached, now.allocated + now.cached))
  h1, h2 = nil, nil
  collectgarbage("restart")
end)
-- out of memory: garbage tensors are collected before the allocator gives up, and the
-- device works after a failed allocation
run("cuda out of memory", function()
  collectgarbage()
  tensor.cuda_empty_cache()
  local free_now = tensor.cuda_devices()[1]
  local total = free_now and free_now.memory_total or 80 * 2 ^ 30
  -- 60% of the card held only by garbage: a request for half fits only after a collection
  do local _ = tensor.empty(math.floor(total * 0.6 / 4), {device = "cuda"}) end
  local good, err = pcall(function() return tensor.empty(math.floor(total / 2 / 4), {device = "cuda"}) end)
  ok(good, "garbage tensors are collected before out-of-memory", tostring(err))
  collectgarbage()
  local bad, msg = pcall(function() return tensor.empty(math.floor(total * 2 / 4), {device = "cuda"}) end)
  ok(not bad and tostring(msg):find("out of GPU memory", 1, true) and tostring(msg):find("size class", 1, true),
     "a request larger than the card fails, naming its size class", tostring(msg))
  ok(tensor.ones(3, {device = "cuda"}):sum():item() == 3, "and the device works after it")
  collectgarbage()
  tensor.cuda_empty_cache()
end)
collectgarbage("restart")   -- also when the block above raised

-- ---- modules: the same seed on both devices, outputs and every parameter's gradient ------------
local function module_check(name, make, inputs, tol, opts)
  opts = opts or {}
  run(name, function()
    tensor.manual_seed(4242)
    local mc = make()
    tensor.manual_seed(4242)
    local mg = make():cuda()
    if opts.eval then mc:eval(); mg:eval() end
    local yc = mc(table.unpack(inputs))
    local gin = {}
    for i, x in ipairs(inputs) do gin[i] = x:cuda() end
    local yg = mg(table.unpack(gin))
    close(name .. " output", yg, yc, tol)
    if opts.nograd then return end
    local w = tensor.randn(yc:shape())
    ;(yc * w):sum():backward()
    ;(yg * w:cuda()):sum():backward()
    local names, pg = {}, mg:parameters()
    for pname in mc:named_parameters() do names[#names + 1] = pname end
    for i, p in ipairs(mc:parameters()) do
      close(name .. " grad of " .. names[i], pg[i].grad, p.grad, opts.gtol or tol)
    end
    if opts.after then opts.after(mc, mg) end
  end)
end

-- batch norm with running statistics: training updates them alike, eval uses them
local function running_stats(mc, mg)
  close("running_mean after a training step", mg.running_mean, mc.running_mean, {atol = 1e-5, rtol = 1e-4})
  close("running_var after a training step", mg.running_var, mc.running_var, {atol = 1e-5, rtol = 1e-4})
end
module_check("BatchNorm1d (N,C) training, running stats", function() return nn.BatchNorm1d(16) end,
             {tensor.randn(64, 16) * 3 + 1}, SUM, {after = running_stats})
module_check("BatchNorm1d (N,C,L) training", function() return nn.BatchNorm1d(8) end, {tensor.randn(16, 8, 50)}, SUM,
             {after = running_stats})
module_check("BatchNorm2d training", function() return nn.BatchNorm2d(6) end, {tensor.randn(8, 6, 9, 9) * 2}, SUM,
             {after = running_stats})
run("BatchNorm2d eval uses the running statistics", function()
  tensor.manual_seed(9)
  local mc = nn.BatchNorm2d(5)
  local x = tensor.randn(4, 5, 7, 7) + 2
  mc(x)   -- one training step moves the running stats off 0/1
  local mg = nn.BatchNorm2d(5)
  mg.running_mean:copy(mc.running_mean); mg.running_var:copy(mc.running_var)
  mg:cuda(); mc:eval(); mg:eval()
  local y = tensor.randn(3, 5, 7, 7)
  close("BatchNorm2d eval output", mg(y:cuda()), mc(y), EW)
end)

-- attention-shaped matmuls: q@k^T (T x T maps) and XCA's q^T@k (d x d maps), batched by head
local q, k = tensor.randn(2, 4, 33, 16), tensor.randn(2, 4, 47, 16)
check("attention q @ k^T (batched, transposed right)", function(a, b) return a:matmul(b:transpose(3, 4)) end,
      {q, k}, SUM)
check("XCA q^T @ k (batched, transposed left)", function(a, b) return a:transpose(3, 4):matmul(b) end,
      {tensor.randn(2, 4, 47, 16), k}, SUM)
check("scaled_dot_attention", function(a, b, c) return nn.scaled_dot_attention(a, b, c) end,
      {q, k, tensor.randn(2, 4, 47, 16)}, SUM)
check("scaled_dot_attention causal", function(a, b, c) return nn.scaled_dot_attention(a, b, c, {causal = true}) end,
      {q, tensor.randn(2, 4, 33, 16), tensor.randn(2, 4, 33, 16)}, SUM)
module_check("MultiheadAttention (self)", function() return nn.MultiheadAttention(32, 4) end,
             {tensor.randn(3, 10, 32)}, SUM)
module_check("XCA", function() return nn.XCA(32, 4) end, {tensor.randn(3, 10, 32)}, SUM)

-- narrowed (offset, strided) operands into matmul, reductions and the fused ops
local wide = tensor.randn(70, 90)
check("matmul of narrowed operands", function(a, b) return a:narrow(1, 5, 40):matmul(b:narrow(2, 7, 30)) end,
      {wide, tensor.randn(90, 50)}, SUM)
check("sum of a narrowed view", function(a) return a:narrow(2, 11, 50):sum(2) end, {wide}, SUM)
check("softmax of a narrowed view", function(a) return a:narrow(1, 3, 60):softmax(-1) end, {wide}, EW)
check("cross_entropy of narrowed logits", function(z, y) return F.cross_entropy(z:narrow(2, 1, 10), y) end,
      {tensor.randn(70, 20), const(indices(10, {70}))}, SUM)

-- big tensors: more than one grid-stride pass (65536 blocks x 256 threads = 16.7M elements)
-- and more rows than a grid has blocks
run("beyond one grid", function()
  local n = 17 * 1024 * 1024 + 3
  local big = tensor.randn(n)
  local g = big:cuda()
  close("exp of 17M elements", g:exp(), big:exp(), EW)
  close("add of 17M elements", g + g, big + big, EW)
  ok(math.abs(g:sum():item() - big:sum():item()) <= 1e-2 * math.sqrt(n), "sum of 17M elements",
     string.format("cuda %.6g cpu %.6g", g:sum():item(), big:sum():item()))
  close("max of 17M elements", g:max(), big:max(), EXACT)
  local rows = tensor.randn(70000, 24)
  local gr = rows:cuda()
  close("softmax over 70000 rows", gr:softmax(-1), rows:softmax(-1), EW)
  close("sum over 70000 rows", gr:sum(2), rows:sum(2), SUM)
  close("argmax over 70000 rows", gr:argmax(2), rows:argmax(2), EXACT)
  close("layer_norm over 70000 rows", F.layer_norm(gr, 1), F.layer_norm(rows, 1), {atol = 1e-4, rtol = 1e-4})
  local lab = indices(24, {70000})
  close("cross_entropy over 70000 rows", F.cross_entropy(gr, lab:cuda()), F.cross_entropy(rows, lab), SUM)
  big, g, rows, gr = nil, nil, nil, nil
  collectgarbage()
end)

-- NaN, Inf and ties: the same winners and the same NaNs on both devices
run("NaN, Inf, ties", function()
  local v = tensor.tensor({{1, 0 / 0, 3, 3}, {2, 2, -1 / 0, 1}, {1 / 0, 1 / 0, 0, -1}, {-1, -1, -1, -1}})
  local g = v:cuda()
  close("max rows with NaN/Inf", (g:max(2)), (v:max(2)), EXACT)
  close("argmax: NaN wins, else the first of ties", g:argmax(2), v:argmax(2), EXACT)
  close("argmin ties", g:argmin(2), v:argmin(2), EXACT)
  close("exp of NaN/Inf", g:exp(), v:exp(), EW)
  close("relu of NaN/Inf", g:relu(), v:relu(), EXACT)
  close("softmax with Inf and NaN", g:softmax(-1), v:softmax(-1), EW)
  close("sum with Inf", g:sum(2), v:sum(2), EXACT)
  local img = tensor.tensor({{{{1, 0 / 0}, {3, 3}}}})
  close("max_pool2d with NaN", F.max_pool2d(img:cuda(), 2), F.max_pool2d(img, 2), EXACT)
end)

-- uniform(lo, hi) draws the same numbers on both devices
run("uniform(lo, hi)", function()
  tensor.manual_seed(31)
  local c = nn.init.uniform_(tensor.empty(500, 7), -0.25, 3)
  tensor.manual_seed(31)
  local g = nn.init.uniform_(tensor.empty(500, 7, {device = "cuda"}), -0.25, 3)
  close("uniform_(t, -0.25, 3) draws the same numbers", g, c, {atol = 1e-6, rtol = 1e-5})
  ok(g:min():item() >= -0.25 and g:max():item() < 3, "and stays in [lo, hi)")
end)

-- ---- a 300-step CPU-vs-GPU training run: MLP with LayerNorm, cross-entropy (the fused path on
-- the GPU), AdamW; the loss curves stay within tolerance
run("300-step MLP classification", function()
  local steps = 300
  tensor.manual_seed(555)
  local X = tensor.randn(256, 20)
  local Y = X:narrow(2, 1, 5):argmax(2)   -- a learnable labelling, 1-based classes 1..5
  local function train(device)
    tensor.manual_seed(2024)
    local m = nn.Sequential(nn.Linear(20, 64), nn.LayerNorm(64), nn.ReLU(), nn.Linear(64, 5)):to(device)
    local o = optim.AdamW(m, {lr = 3e-3})
    local x, y, losses = X:to(device), Y:to(device), {}
    for s = 1, steps do
      o:zero_grad()
      local loss = F.cross_entropy(m(x), y)
      loss:backward()
      o:step()
      losses[s] = loss:item()
    end
    return losses
  end
  local lc, lg = train("cpu"), train("cuda")
  local worst, at = 0, 1
  for s = 1, steps do
    local rel = math.abs(lg[s] - lc[s]) / math.max(math.abs(lc[s]), 1e-2)
    if rel > worst then worst, at = rel, s end
  end
  ok(worst < 1e-2, string.format("MLP: %d steps, losses agree (cpu %.4f, cuda %.4f at the end)", steps, lc[steps],
                                 lg[steps]),
     string.format("largest relative difference %.3g at step %d (cpu %.6g, cuda %.6g)", worst, at, lc[at], lg[at]))
  ok(lg[steps] < lg[1] * 0.5, "and the GPU run learns", string.format("%.4f -> %.4f", lg[1], lg[steps]))
end)

-- ---- the bottleneck model (tutorial bottleneck): a few hundred Adam steps -----------------------
-- Linear(1,32) -> Linear(32,8) -> Linear(8,1), inputs 0..99, targets the same, MSE, Adam 1e-3.
run("bottleneck", function()
  local steps = 300
  local function train(device)
    tensor.manual_seed(10000)
    local model = nn.Sequential(nn.Linear(1, 32), nn.Linear(32, 8), nn.Linear(8, 1))
    if device == "cuda" then model:cuda() end
    local xs = tensor.arange(0, 100):view(100, 1):to(device)
    local opt = optim.Adam(model, {lr = 1e-3})
    local losses = {}
    for s = 1, steps do
      opt:zero_grad()
      local loss = F.mse_loss(model(xs), xs)
      loss:backward()
      opt:step()
      losses[s] = loss:item()
    end
    return losses, model[2].weight:detach():cpu()
  end
  local lc, wc = train("cpu")
  local lg, wg = train("cuda")
  -- relative to the loss, but not below 1e-2: late losses are ~1e-3 and all rounding
  local worst, at = 0, 1
  for s = 1, steps do
    local rel = math.abs(lg[s] - lc[s]) / math.max(math.abs(lc[s]), 1e-2)
    if rel > worst then worst, at = rel, s end
  end
  ok(worst < 1e-3, string.format("bottleneck: %d steps, losses agree (cpu %.4f, cuda %.4f at the end)",
                                 steps, lc[steps], lg[steps]),
     string.format("largest relative difference %.3g at step %d (cpu %.6g, cuda %.6g)", worst, at, lc[at], lg[at]))
  close("bottleneck: trained middle weight", wg, wc, {atol = 1e-4, rtol = 1e-3})
end)

tap.done_testing()
