-- test_autograd.lua - gradients seen from Lua: hand-derived values, accumulation,
-- broadcasting in backward, no_grad, detach, and a finite-difference check of every
-- differentiable op on contiguous and non-contiguous (transposed, narrowed, expanded) inputs.
local dir = debug.getinfo(1, "S").source:match("^@(.*)/") or "."
local t = dofile(dir .. "/tap.lua")

-- hand-derived gradients ---------------------------------------------------------------------
do
  local x = tensor{2}:requires_grad()
  local y = (x * x + x * 3):sum()              -- dy/dx = 2x + 3
  y:backward()
  t.eq(x.grad:tolist(), {7}, "d(x^2 + 3x)/dx = 2x + 3")
  t.ok(not y.is_leaf and x.is_leaf, "results are not leaves, inputs are")
  t.ok(y.requires_grad_flag, "a result of a grad-requiring input requires grad")

  local a = tensor{1, 2, 3}:requires_grad()
  local b = tensor{4, 5, 6}:requires_grad()
  ;(a * b):sum():backward()
  t.eq(a.grad:tolist(), {4, 5, 6}, "d(sum a*b)/da = b")
  t.eq(b.grad:tolist(), {1, 2, 3}, "d(sum a*b)/db = a")

  local w = tensor{{1, 2}, {3, 4}}:requires_grad()
  local v = tensor{1, -1}
  w:matmul(v):sum():backward()                 -- d/dW sum(W v) = 1 v^T
  t.eq(w.grad:tolist(), {{1, -1}, {1, -1}}, "matmul grad is the outer product")

  local p = tensor{1, 2}:requires_grad()
  local q = p * 2                              -- diamond: z = q*q + q
  ;(q * q + q):sum():backward()                -- dz/dp = (2q + 1) * 2
  t.eq(p.grad:tolist(), {10, 18}, "a value used twice gets both gradients")

  local m = tensor{{1, 2}, {3, 4}}:requires_grad()
  m:mean():backward()
  t.eq(m.grad:tolist(), {{0.25, 0.25}, {0.25, 0.25}}, "mean spreads 1/n")

  local s = tensor{1, 3, 2}:requires_grad()
  s:max():backward()
  t.eq(s.grad:tolist(), {0, 1, 0}, "max routes the gradient to the argmax")

  local r = tensor{-1, 2}:requires_grad()
  r:relu():sum():backward()
  t.eq(r.grad:tolist(), {0, 1}, "relu passes gradient only where x > 0")

  local e = tensor{1, 2, 3}:requires_grad()
  local out = e * 2
  out:backward(tensor{1, 10, 100})
  t.eq(e.grad:tolist(), {2, 20, 200}, "backward(grad) of a non-scalar")
end

-- accumulation, zeroing -------------------------------------------------------------------------
do
  local x = tensor{1, 2}:requires_grad()
  ;(x * x):sum():backward()
  t.eq(x.grad:tolist(), {2, 4}, "first backward")
  ;(x * x):sum():backward()
  t.eq(x.grad:tolist(), {4, 8}, "a second backward accumulates")
  x:zero_grad()
  t.ok(x.grad == nil, "zero_grad drops the gradient")
  ;(x * 3):sum():backward()
  t.eq(x.grad:tolist(), {3, 3}, "after zero_grad the gradient starts fresh")
  x.grad = nil
  t.ok(x.grad == nil, "x.grad = nil clears it")
  local g = x.grad
  ;(x * 1):sum():backward()
  t.ok(x.grad ~= nil and x.grad:tolist()[1] == 1, "x.grad after clearing")
  x.grad = tensor{10, 20}
  ;(x * 1):sum():backward()
  t.eq(x.grad:tolist(), {11, 21}, "backward accumulates onto an assigned x.grad")
end

-- broadcasting is undone in backward ------------------------------------------------------------
do
  local a = tensor.ones(3, 4):requires_grad()
  local row = tensor.ones(4):requires_grad()
  local col = tensor.ones(3, 1):requires_grad()
  local s = tensor(2):requires_grad()
  ;((a + row) * col * s):sum():backward()
  t.eq(row.grad:shape():totable(), {4}, "row bias gradient keeps its shape [4]")
  t.eq(row.grad:tolist(), {6, 6, 6, 6}, "row bias gradient sums over the broadcast rows")
  t.eq(col.grad:shape():totable(), {3, 1}, "column gradient keeps its shape [3,1]")
  t.eq(col.grad:tolist(), {{16}, {16}, {16}}, "column gradient sums over columns")
  t.eq(s.grad:dim(), 0, "a 0-d input gets a 0-d gradient")
  t.eq(s.grad:item(), 24, "0-d gradient sums everything")
  local b = tensor.ones(4):requires_grad()
  ;(b:view(1, 4):expand(5, 4)):sum():backward()
  t.eq(b.grad:tolist(), {5, 5, 5, 5}, "expand sums its gradient back")
end

-- no_grad, detach, requires_grad(false) -------------------------------------------------------------
do
  local x = tensor{1, 2}:requires_grad()
  local y, extra = tensor.no_grad(function(v, k) return v * k, "second" end, x, 3)
  t.eq(y:tolist(), {3, 6}, "no_grad passes arguments and returns results")
  t.eq(extra, "second", "no_grad returns every result")
  t.ok(not y.requires_grad_flag and y.is_leaf, "results under no_grad record nothing")
  local ok = pcall(tensor.no_grad, function() error("boom") end)
  t.ok(not ok, "no_grad re-raises the error")
  t.ok((x * 2).requires_grad_flag, "grad mode is restored after an error inside no_grad")
  local nested = tensor.no_grad(function()
    return tensor.no_grad(function() return x * 2 end), (x * 2).requires_grad_flag
  end)
  t.ok(not nested.requires_grad_flag, "nested no_grad")
  t.ok((x * 2).requires_grad_flag, "grad mode is back on after nested no_grad")

  local d = x:detach()
  t.ok(not d.requires_grad_flag and d.is_leaf, "detach gives a tensor without grad")
  d:fill(5)
  t.eq(x:tolist(), {5, 5}, "detach shares storage")
  local z = (x * x:detach()):sum()             -- only the first factor carries gradient
  z:backward()
  t.eq(x.grad:tolist(), {5, 5}, "gradient does not flow through detach")

  local w = tensor{1, 2}:requires_grad()
  w:requires_grad(false)
  t.ok(not (w * 2).requires_grad_flag, "requires_grad(false) turns it off")
  t.ok(w:requires_grad() == w, "requires_grad returns the tensor itself")
end

-- a non-contiguous leaf gets a gradient of its own shape ---------------------------------------------
do
  local base = tensor{{1, 2, 3}, {4, 5, 6}}
  local x = base:t():detach():requires_grad()   -- [3,2], strides of a transpose
  local wt = tensor{{1, 10}, {100, 1000}, {1e4, 1e5}}
  ;(x * wt):sum():backward()
  t.eq(x.grad:shape():totable(), {3, 2}, "gradient of a transposed leaf has its shape")
  t.eq(x.grad:tolist(), wt:tolist(), "gradient of a transposed leaf has the right layout")
end

-- finite differences for every differentiable op -----------------------------------------------
math.randomseed(7)
local EPS, TOL = 1e-3, 1.5e-2

local gen = {}
function gen.any(n)       -- |x| in [0.2, 1]: away from the kinks of abs, relu, 1/x
  local r = {}
  for i = 1, n do r[i] = (math.random() < 0.5 and -1 or 1) * (0.2 + 0.8 * math.random()) end
  return r
end
function gen.pos(n)
  local r = {}
  for i = 1, n do r[i] = 0.3 + math.random() end
  return r
end
function gen.distinct(n)  -- shuffled distinct values, spaced 0.05 apart: no ties for max/min
  local r = {}
  for i = 1, n do r[i] = (i - n / 2) * 0.05 end
  for i = n, 2, -1 do local j = math.random(i); r[i], r[j] = r[j], r[i] end
  return r
end
function gen.grid0(n)     -- multiples of 0.1 ...
  local r = {}
  for i = 1, n do r[i] = math.random(-10, 10) * 0.1 end
  return r
end
function gen.grid5(n)     -- ... and multiples of 0.1 offset by 0.05: never equal to grid0
  local r = {}
  for i = 1, n do r[i] = math.random(-10, 10) * 0.1 + 0.05 end
  return r
end
function gen.clampable(n) -- avoid the clamp bounds at +-0.5
  local r = gen.any(n)
  for i = 1, n do if math.abs(math.abs(r[i]) - 0.5) < 0.05 then r[i] = r[i] * 1.3 end end
  return r
end

local function copy(s) local r = {} for i, v in ipairs(s) do r[i] = v end return r end
local function numel(s) local n = 1 for _, v in ipairs(s) do n = n * v end return n end

-- how each input is made from a contiguous base tensor
local VARIANTS = {
  {name = "contiguous", base = copy, apply = function(b) return b end},
  {name = "transposed", min_dims = 2,
   base = function(s) local b = copy(s); b[#b], b[#b - 1] = b[#b - 1], b[#b]; return b end,
   apply = function(b) return b:transpose(-1, -2) end},
  {name = "narrowed", min_dims = 1,
   base = function(s) local b = copy(s); b[#b] = b[#b] + 2; return b end,
   apply = function(b, s) return b:narrow(-1, 2, s[#s]) end},
  {name = "expanded", min_dims = 1, ties = true,
   base = function(s) local b = copy(s); b[1] = 1; return b end,
   apply = function(b, s) return b:expand(s) end},
}

local function make(shape, g)
  local n = numel(shape)
  local flat = tensor.tensor(n > 0 and g(n) or {})
  return #shape == 0 and flat:view({}) or flat:view(shape)
end

-- Worst relative error between backward's gradients and central differences, for
-- inputs made by one variant; plus where it happened.
local function gradcheck_variant(f, shapes, opt, var)
  local bases = {}
  for i, s in ipairs(shapes) do
    local g = type(opt.gen) == "table" and opt.gen[i] or opt.gen or gen.any
    bases[i] = make(var.base(s), g)
  end
  local function forward()
    local xs = {}
    for i, b in ipairs(bases) do xs[i] = var.apply(b, shapes[i]) end
    return f(table.unpack(xs))
  end
  for _, b in ipairs(bases) do b:requires_grad() end
  local out = forward()
  local w = make(out:shape():totable(), gen.any)   -- a random projection of the output
  ;(out * w):sum():backward()
  local function loss() return tensor.no_grad(function() return (forward() * w):sum():item() end) end
  local worst, where = 0, ""
  for i, b in ipairs(bases) do
    local flat = b:detach():view(-1)
    local analytic = b.grad and b.grad:view(-1):tolist() or {}
    for k = 1, flat:numel() do
      local cell = flat:narrow(1, k, 1)
      local x0 = cell:item()
      cell:fill(x0 + EPS)
      local lp = loss()
      cell:fill(x0 - EPS)
      local lm = loss()
      cell:fill(x0)
      local numeric = (lp - lm) / (2 * EPS)
      local got = analytic[k] or 0
      local err = math.abs(got - numeric) / math.max(1, math.abs(numeric))
      if err > worst or err ~= err then
        worst, where = err, string.format("input %d element %d: analytic %.6g numeric %.6g", i, k, got, numeric)
      end
    end
  end
  return worst, where
end

-- f(inputs...) -> tensor. shapes: one per input. opt.gen: a generator or one per input;
-- opt.ties: the op breaks on repeated values (skip the expanded variant).
local function gradcheck(name, f, shapes, opt)
  opt = opt or {}
  for _, var in ipairs(VARIANTS) do
    local applies = not (var.ties and opt.ties)
    for _, s in ipairs(shapes) do
      if #s < (var.min_dims or 0) then applies = false end
    end
    if applies then
      local worst, where = gradcheck_variant(f, shapes, opt, var)
      t.ok(worst <= TOL, string.format("gradcheck %s [%s]", name, var.name), where)
    end
  end
end

-- the checker itself must catch a wrong gradient (here: half of d(x*x)/dx is cut off)
t.ok(gradcheck_variant(function(x) return x * x:detach() end, {{3}}, {}, VARIANTS[1]) > 0.1,
  "gradcheck detects a wrong gradient")

local S = {3, 4}
-- unary
-- every row of tensor/op_table.h, at its defaults and (with parameters) at other values
local other_params = {leaky_relu = {0.2}, elu = {0.5}, softplus = {2, 3}, hardtanh = {-0.5, 0.7}}
for _, row in ipairs(tensor._unary_ops) do
  local opts = row.domain == "POS" and {gen = gen.pos} or nil
  gradcheck(row.name, function(x) return x[row.name](x) end, {S}, opts)
  local p = other_params[row.name]
  if p then
    gradcheck(row.name .. "(" .. table.concat(p, ", ") .. ")", function(x) return x[row.name](x, table.unpack(p)) end,
              {S}, opts)
  elseif row.nparams > 0 then
    t.ok(false, row.name .. ": give other_params an entry for this row's parameters")
  end
end
for _, op in ipairs{"clone", "contiguous"} do
  gradcheck(op, function(x) return x[op](x) end, {S})
end
gradcheck("unary minus", function(x) return -x end, {S})
gradcheck("pow(x, 3)", function(x) return x:pow(3) end, {S})
gradcheck("x ^ 2", function(x) return x ^ 2 end, {S})
gradcheck("x ^ 0.5", function(x) return x ^ 0.5 end, {S}, {gen = gen.pos})
gradcheck("x + 2", function(x) return x + 2 end, {S})
gradcheck("x - 2", function(x) return x - 2 end, {S})
gradcheck("x * 3", function(x) return x * 3 end, {S})
gradcheck("x / 4", function(x) return x / 4 end, {S})
gradcheck("2 - x", function(x) return 2 - x end, {S})
gradcheck("2 / x", function(x) return 2 / x end, {S})
gradcheck("2 ^ x", function(x) return 2 ^ x end, {S})
gradcheck("clamp", function(x) return x:clamp(-0.5, 0.5) end, {S}, {gen = gen.clampable})
gradcheck("norm", function(x) return x:norm() end, {S})

-- binary, same shapes and broadcast
local pairs_of_shapes = {{S, S}, {S, {4}}, {{3, 1}, {1, 4}}, {S, {}}}
for _, shp in ipairs(pairs_of_shapes) do
  local tag = tostring(tensor.zeros(shp[1]):shape()) .. "," .. tostring(tensor.zeros(shp[2]):shape())
  gradcheck("add " .. tag, function(a, b) return a + b end, shp)
  gradcheck("sub " .. tag, function(a, b) return a - b end, shp)
  gradcheck("mul " .. tag, function(a, b) return a * b end, shp)
  gradcheck("div " .. tag, function(a, b) return a / b end, shp)
  gradcheck("pow " .. tag, function(a, b) return a ^ b end, shp, {gen = {gen.pos, gen.any}})
  gradcheck("maximum " .. tag, function(a, b) return a:maximum(b) end, shp, {gen = {gen.grid0, gen.grid5}})
  gradcheck("minimum " .. tag, function(a, b) return a:minimum(b) end, shp, {gen = {gen.grid0, gen.grid5}})
end

-- reductions
gradcheck("sum()", function(x) return x:sum() end, {S})
gradcheck("sum(1)", function(x) return x:sum(1) end, {S})
gradcheck("sum(2, keepdim)", function(x) return x:sum(2, true) end, {S})
gradcheck("mean()", function(x) return x:mean() end, {S})
gradcheck("mean(-1)", function(x) return x:mean(-1) end, {S})
gradcheck("mean(1, keepdim) 3-d", function(x) return x:mean(1, true) end, {{2, 3, 4}})
gradcheck("max()", function(x) return x:max() end, {S}, {gen = gen.distinct, ties = true})
gradcheck("max(2)", function(x) return (x:max(2)) end, {S}, {gen = gen.distinct, ties = true})
gradcheck("min(1, keepdim)", function(x) return (x:min(1, true)) end, {S}, {gen = gen.distinct, ties = true})
gradcheck("min()", function(x) return x:min() end, {S}, {gen = gen.distinct, ties = true})
gradcheck("var()", function(x) return x:var() end, {S})
gradcheck("var(2)", function(x) return x:var(2) end, {S})
gradcheck("var(1, keepdim, biased)", function(x) return x:var(1, true, false) end, {S})
gradcheck("std()", function(x) return x:std() end, {S})
gradcheck("std(2)", function(x) return x:std(2) end, {S})

-- matmul in all its forms
gradcheck("matmul 2-D", function(a, b) return a:matmul(b) end, {{3, 4}, {4, 5}})
gradcheck("matmul dot", function(a, b) return a:matmul(b) end, {{4}, {4}})
gradcheck("matmul 2-D x 1-D", function(a, b) return a:matmul(b) end, {{3, 4}, {4}})
gradcheck("matmul 1-D x 2-D", function(a, b) return a:matmul(b) end, {{4}, {4, 5}})
gradcheck("matmul batched", function(a, b) return a:matmul(b) end, {{2, 3, 4}, {2, 4, 5}})
gradcheck("matmul batch x 2-D", function(a, b) return a:matmul(b) end, {{2, 3, 4}, {4, 5}})
gradcheck("matmul broadcast batch", function(a, b) return a:matmul(b) end, {{2, 1, 3, 4}, {3, 4, 2}})

-- softmax family
gradcheck("softmax(2)", function(x) return x:softmax(2) end, {S})
gradcheck("softmax(1)", function(x) return x:softmax(1) end, {S})
gradcheck("log_softmax(2)", function(x) return x:log_softmax(2) end, {S})
gradcheck("log_softmax(1)", function(x) return x:log_softmax(1) end, {S})
gradcheck("softmax 3-d dim 2", function(x) return x:softmax(2) end, {{2, 3, 4}})

-- joining and indexing
gradcheck("cat(1)", function(a, b) return tensor.cat({a, b}, 1) end, {S, {2, 4}})
gradcheck("cat(2)", function(a, b) return tensor.cat({a, b}, 2) end, {S, {3, 2}})
gradcheck("stack(1)", function(a, b) return tensor.stack({a, b}, 1) end, {S, S})
gradcheck("stack(-1)", function(a, b) return tensor.stack({a, b}, -1) end, {S, S})
local gidx = tensor{{1, 4}, {2, 2}, {4, 3}}
gradcheck("gather(2)", function(x) return x:gather(2, gidx) end, {S})
gradcheck("gather(1)", function(x) return x:gather(1, tensor{{3, 1, 2, 3}}) end, {S})
gradcheck("index_select(1) with repeats", function(x) return x:index_select(1, tensor{3, 1, 3}) end, {S})
gradcheck("index_select(2)", function(x) return x:index_select(2, tensor{4, 2}) end, {S})

-- views
gradcheck("view", function(x) return x:reshape(12):view(2, 6) end, {S})
gradcheck("reshape", function(x) return x:reshape(4, 3) end, {S})
gradcheck("permute", function(x) return x:permute(3, 1, 2) end, {{2, 3, 4}})
gradcheck("transpose", function(x) return x:transpose(1, 2) end, {S})
gradcheck("t", function(x) return x:t() end, {S})
gradcheck("narrow", function(x) return x:narrow(2, 2, 2) end, {S})
gradcheck("select", function(x) return x:select(2, 3) end, {S})
gradcheck("x[i]", function(x) return x[2] end, {S})
gradcheck("unsqueeze", function(x) return x:unsqueeze(2) end, {S})
gradcheck("squeeze", function(x) return x:squeeze(2) end, {{3, 1, 4}})
gradcheck("expand", function(x) return x:view(3, 1, 4):expand(3, 2, 4) end, {S})
gradcheck("flatten", function(x) return x:flatten() end, {{2, 3, 4}})

-- a small network end to end: mean cross-entropy of a linear layer
gradcheck("linear + log_softmax + gather loss", function(x, w, b)
  local logits = x:matmul(w:t()) + b
  return -logits:log_softmax(2):gather(2, tensor{{2}, {1}, {3}}):mean()
end, {S, {3, 4}, {3}})

-- summing losses without :item() builds one long chain; dropping it without backward()
-- must free it iteratively (it used to recurse once per op and overflow the C stack)
do
  local w, total = tensor(1):requires_grad(), tensor(0)
  for _ = 1, 500000 do total = total + w end
  total = nil
  collectgarbage()
  t.ok(true, "a 500,000-op graph dropped without backward() is freed without a crash")
end

-- ---- in-place writes: the version counter and PyTorch's rules --------------------------
do
  local MODIFIED = "modified by an inplace operation"
  local function forward() local w, x = tensor{1, 2}:requires_grad(), tensor{3, 4}:requires_grad(); return w, x, (w * x):sum() end
  local w, x, y = forward()
  tensor.no_grad(function() w:fill(0) end)
  t.errors_like(function() y:backward() end, MODIFIED .. ": input 1 of mul .*overwritten by fill",
                "w:fill(0) between forward and backward: backward raises, naming mul and fill")
  w, x, y = forward()
  tensor.no_grad(function() x:copy(tensor{0, 0}) end)
  t.errors_like(function() y:backward() end, MODIFIED .. ": input 2 of mul .*overwritten by copy", "x:copy(...) too")
  w, x, y = forward()
  w:detach():fill(0)
  t.errors_like(function() y:backward() end, MODIFIED, "a write through w:detach() counts")
  w, x, y = forward()
  local d = w:detach()
  d[2] = 7
  t.errors_like(function() y:backward() end, MODIFIED, "a write through a view of a detached alias counts")
  local e = w:exp()
  local z = e:sum()
  e:detach():zero()
  t.errors_like(function() z:backward() end, MODIFIED .. ": the output of exp", "exp's saved output, changed, raises")
  w, x, y = forward()
  local opt = optim.SGD({w, x}, {lr = 0.1})
  y:backward()
  opt:step()
  local y2 = (w * x):sum()
  opt:step()
  t.errors_like(function() y2:backward() end, "overwritten by an optimizer step", "an optimizer step between forward and backward")
  w, x, y = forward()
  y:backward()
  t.eq(w.grad, {3, 4}, "an unchanged graph still runs backward")
  -- ops that do not read a value are not affected by its change (add saves nothing)
  local a, c = tensor{1, 2}:requires_grad(), tensor{1, 1}
  local s = (a + c):sum()
  c:fill(5)
  s:backward()
  t.eq(a.grad, {1, 1}, "a changed input that add's backward never reads is fine (as PyTorch)")
  -- batch norm updates its running stats in place: two forwards, one backward is fine
  local bn = nn.BatchNorm1d(2)
  local xb = tensor.randn(4, 2):requires_grad()
  local l = bn(xb):sum() + bn(xb * 2):sum()
  t.ok(pcall(function() l:backward() end), "BatchNorm's running stats updated twice before one backward: no false alarm")

  -- in place on a leaf that requires grad: refused (PyTorch too), fine inside no_grad
  local p = tensor{1, 2}:requires_grad()
  t.errors_like(function() p:fill(0) end, "fill: cannot write in place into a leaf tensor that requires grad.*no_grad",
                "p:fill on a leaf that requires grad is refused, pointing at tensor.no_grad")
  t.errors_like(function() p:copy(tensor{0, 0}) end, "copy: cannot write in place into a leaf", "p:copy too")
  t.errors_like(function() p:zero() end, "cannot write in place into a leaf", "p:zero too")
  t.errors_like(function() p[1] = 5 end, "into a view of a leaf tensor that requires grad", "p[i] = v too")
  tensor.no_grad(function() p:fill(3); p[2] = 4 end)
  t.eq(p, {3, 4}, "inside tensor.no_grad the same writes work")

  -- a copy/fill into a non-leaf rewires its graph (PyTorch: h = v*2; h:copy(c) gives d/dv 0)
  local v = tensor{1, 2}:requires_grad()
  local h = v * 2
  h:copy(tensor{5, 5})
  h:sum():backward()
  t.eq(v.grad, {0, 0}, "h = v*2; h:copy(const): d/dv is 0, not 2")
  t.ok(h.requires_grad_flag, "h still requires grad after the copy")
  v = tensor{1, 2}:requires_grad()
  h = v * 2
  h:fill(3);
  (h * h):sum():backward()
  t.eq(v.grad, {0, 0}, "h:fill(3): d/dv is 0")
  local src = tensor{1, 2}:requires_grad()
  local buf = tensor.zeros(2)
  buf:copy(src * 3);
  (buf * buf):sum():backward()
  t.eq(src.grad, {18, 36}, "buf:copy(src * 3): the gradient flows to src through the copy")
  v = tensor{1, 2}:requires_grad()
  h = v * 2
  h:copy(h)   -- keeps its history (the fuzzer found a reference cycle here)
  h:sum():backward()
  t.eq(v.grad, {2, 2}, "h:copy(h) keeps h's history")
  -- cases whose PyTorch answer needs history nnlab does not keep: an error, not a wrong gradient
  v = tensor{1, 2}:requires_grad()
  h = v * 2
  local used = h + 1
  t.errors_like(function() h:copy(tensor{0, 0}) end, "already used by an op recorded for backward",
                "copy into a non-leaf an earlier op used: refused")
  t.errors_like(function() h[1] = 0 end, "into a view .* of a tensor that has a graph", "x[i] = v on a non-leaf: refused")
  local _ = used
end

-- a gradient on another device than the tensor: an error (the fuzzer found the kernels
-- reading a meta tensor's missing data)
do
  local m = tensor.ones(2, {device = "meta"}):requires_grad()
  local y = m:gelu()
  t.errors_like(function() y:backward(tensor.ones(2)) end, "backward: the gradient is on cpu but the tensor is on meta",
                "backward(g) with g on another device is refused")
end

-- x.grad is one userdata while it is one gradient: x.grad == x.grad, and it keys a table
do
  local w = tensor{1, 2}:requires_grad();
  (w * w):sum():backward()
  local seen = {[w.grad] = true}
  t.ok(w.grad == w.grad and rawequal(w.grad, w.grad) and seen[w.grad], "x.grad == x.grad, and a table finds it")
end

t.done_testing()
