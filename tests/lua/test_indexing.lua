-- test_indexing.lua - Torch7 indexing x[{...}], masks, masked_fill, against PyTorch (TAP)
-- run: ./nnlab tests/lua/test_indexing.lua
--
-- Reference values and gradients: tests/fixtures/index/, made by
-- tests/fixtures/make_index_fixtures.py (the same labels; each Python lambda is the
-- PyTorch spelling of the nnlab op below).
local dir = debug.getinfo(1, "S").source:match("^@(.*)/") or "tests/lua"
local t = dofile(dir .. "/tap.lua")
local FIX = dir .. "/../fixtures/index/"

local function case_id(label)
  return (label:gsub("%-", "m"):gsub("[^%w]+", "_"):gsub("^_+", ""):gsub("_+$", ""))
end
local function exists(path)
  local f = io.open(path, "rb")
  if f then f:close() end
  return f ~= nil
end

-- ---- against PyTorch ---------------------------------------------------------------------------
local function put(fn)   -- assignment cases: into a copy, returned
  return function(x, ...) local y = x:clone(); fn(y, ...); return y end
end
local CASES = {
  {"{ {}, 2 } of [4,5]", function(x) return x[{ {}, 2 }] end},
  {"{ {2,4}, {} } of [4,5]", function(x) return x[{ {2, 4}, {} }] end},
  {"{ {2,-1} } of [4,5]", function(x) return x[{ {2, -1} }] end},
  {"{ {1,-1,2} } of [5,3]", function(x) return x[{ {1, -1, 2} }] end},
  {"{ {}, {1,-1,2} } of [4,5]", function(x) return x[{ {}, {1, -1, 2} }] end},
  {"{ -1, {2,5,2} } of [3,6]", function(x) return x[{ -1, {2, 5, 2} }] end},
  {"{ {}, {}, 3 } of [2,3,4]", function(x) return x[{ {}, {}, 3 }] end},
  {"{ 2, -3 } of [3,4]", function(x) return x[{ 2, -3 }] end},
  {"{ {2}, {1,3,2} } of [3,4]", function(x) return x[{ {2}, {1, 3, 2} }] end},
  {"{ {}, {2,7,3} } of [2,7,3]", function(x) return x[{ {}, {2, 7, 3} }] end},
  {"{ {-3,-2}, 1 } of [4,2,3]", function(x) return x[{ {-3, -2}, 1 }] end},
  {"{ 2 } of [3,4] then { {2,3} }", function(x) return x[{ 2 }][{ {2, 3} }] end},
  {"{ {2,3} } of a transposed [3,4]", function(x) return x:t()[{ {2, 3} }] end},
  {"x[x:gt(0)] of [4,5]", function(x) return x[x:detach():gt(0)] end},
  {"x[rows] of [4,3] (mask [4])", function(x, m) return x[m] end},
  {"x[mask] of [2,3,2] (mask [2,3])", function(x, m) return x[m] end},
  {"masked_select broadcast [3,4] x [4]", function(x, m) return x:masked_select(m) end},
  {"masked_fill(x:lt(0), -1.5) of [4,5]", function(x) return x:masked_fill(x:detach():lt(0), -1.5) end},
  {"masked_fill broadcast [3,4] x [1,4]", function(x, m) return x:masked_fill(m, 7) end},
  {"masked_fill -inf then softmax (causal)", function(x, m) return x:masked_fill(m, -math.huge):softmax(-1) end},
  {"index_fill(2, {1,4}, -2) of [3,5]", function(x) return x:index_fill(2, tensor.tensor({1, 4}), -2) end},
  {"x[{ {}, 1 }] = 0 of [3,4]", put(function(y) y[{ {}, 1 }] = 0 end)},
  {"x[{ {2,3} }] = v [4] of [4,4]", put(function(y, v) y[{ {2, 3} }] = v end)},
  {"x[{ {1,-1,2}, {2,-1,2} }] = 9 of [5,4]", put(function(y) y[{ {1, -1, 2}, {2, -1, 2} }] = 9 end)},
  {"x[x:lt(0)] = 0 of [4,5]", put(function(y) y[y:lt(0)] = 0 end)},
  {"x[rows] = v [2,3] of [4,3]", put(function(y, m, v) y[m] = v end)},
}

for _, c in ipairs(CASES) do
  local label, fn = c[1], c[2]
  local id = FIX .. case_id(label)
  if not exists(id .. "_out.npy") then
    t.ok(false, label, "missing " .. id .. "_out.npy: run /usr/bin/python3 tests/fixtures/make_index_fixtures.py")
  else
    local ins, k = {}, 1
    while exists(id .. "_in" .. k .. ".npy") do ins[k] = tensor.load_npy(id .. "_in" .. k .. ".npy"); k = k + 1 end
    local has_grad = exists(id .. "_R.npy")
    if has_grad then ins[1]:requires_grad() end
    local okc, out = pcall(fn, table.unpack(ins))
    if not okc then
      t.ok(false, label, out)
    else
      t.is_close(out, tensor.load_npy(id .. "_out.npy"), 1e-6, label .. ": values")
      if has_grad then
        ;(out * tensor.load_npy(id .. "_R.npy")):sum():backward()
        t.is_close(ins[1].grad, tensor.load_npy(id .. "_grad1.npy"), 1e-5, label .. ": gradient")
      end
    end
  end
end

-- ---- views: writes through them reach x; masks copy ------------------------------------------
do
  local x = tensor.arange(0, 20):view(4, 5)
  local col = x[{ {}, 2 }]
  col:fill(-1)
  t.eq(x:select(2, 2), tensor.full({4}, -1), "x[{ {}, 2 }] is a view: writing into it changes x")
  x[{ 1, 1 }]:fill(42)
  t.eq(x[1][1]:item(), 42, "a 0-d x[{ i, j }] is a view too")
  local ev = x[{ {1, -1, 2}, {1, -1, 2} }]
  t.eq(ev:shape():totable(), {2, 3}, "a stepped slice [4,5] -> {1,-1,2} x {1,-1,2} is [2,3]")
  t.ok(not ev:is_contiguous(), "a stepped slice is a strided view (not contiguous)")
  ev:fill(0)
  t.eq(x:tolist()[3], {0, -1, 0, 13, 0}, "writing into a stepped view changes every other element of x")
  x:fill(5)
  t.eq(ev, tensor.full({2, 3}, 5), "and writes into x show in the view")
  local all = x[{}]
  all:fill(3)
  t.eq(x:sum():item(), 60, "x[{}] is a view of all of x")
  all:requires_grad()
  t.ok(not x.requires_grad_flag, "x[{}] is a new tensor header, not x itself")
  local picked = x[x:gt(0)]
  picked:fill(-7)
  t.eq(x:sum():item(), 60, "x[mask] is a copy (as in PyTorch): writing into it leaves x alone")
  local y = tensor.zeros(3, 4)
  y[{ {}, 1 }] = tensor.tensor({1, 2, 3}):view(3)
  t.eq(y:select(2, 1):tolist(), {1, 2, 3}, "x[{ {}, 1 }] = tensor copies in place")
  y[{ {2, 3}, {2, 4} }] = tensor.tensor({7, 8, 9})
  t.eq(y:tolist(), {{1, 0, 0, 0}, {2, 7, 8, 9}, {3, 7, 8, 9}}, "assignment broadcasts the tensor")
  local z = tensor.ones(4)
  local h = z[{ {5, 4} }]
  t.eq(h:numel(), 0, "{n+1, n} is the empty range at the end")
  t.eq(z[{ {3, 2} }]:numel(), 0, "{a, a-1} is an empty range")
  local r = tensor.arange(0, 6):view(2, 3)
  r[r:gt(3)] = tensor.tensor({10, 20})
  t.eq(r:tolist(), {{0, 1, 2}, {3, 10, 20}}, "x[mask] = values fills the picked places in order")
  local f = tensor.arange(0, 6):view(2, 3)
  local g = f:masked_fill_(f:lt(2), 0)
  t.ok(rawequal(g, f), "masked_fill_ returns x itself")
  t.eq(f:tolist(), {{0, 0, 2}, {3, 4, 5}}, "masked_fill_ writes in place")
  local q = tensor.zeros(2, 3)
  t.ok(rawequal(q:index_fill_(2, {1, -1}, 4), q) and q:tolist()[2][3] == 4 and q:sum():item() == 16,
       "index_fill_ with a Lua list of indices (negative from the end) writes in place")
  t.eq(tensor.masked_fill(tensor.ones(2), tensor.tensor({0, 1}), 0):tolist(), {1, 0},
       "tensor.masked_fill(x, mask, v) is the method")
end

-- ---- autograd through views and masks ---------------------------------------------------------------
do
  local w = tensor.arange(0, 12):view(3, 4):requires_grad()
  local y = w[{ {2, 3}, {1, -1, 2} }]
  t.eq(y.is_leaf, false, "a slice of a leaf that requires grad is not a leaf")
  ;(y * 2):sum():backward()
  t.eq(w.grad:tolist(), {{0, 0, 0, 0}, {2, 0, 2, 0}, {2, 0, 2, 0}}, "the gradient of a slice lands in its places")
  local v = tensor.randn(4):requires_grad()
  local m = tensor.tensor({1, 0, 0, 1})
  v:masked_fill(m, 3):sum():backward()
  t.eq(v.grad:tolist(), {0, 1, 1, 0}, "masked_fill: no gradient where filled")
  v:zero_grad()
  v[m]:sum():backward()
  t.eq(v.grad:tolist(), {1, 0, 0, 1}, "x[mask]: the gradient scatters back into place")
end

-- finite differences against backward (float32: eps 1e-2, a smooth f, relative tol 1e-2)
local function gradcheck(name, f, shape)
  local x = tensor.randn(shape):requires_grad()
  local out = f(x)
  local w = tensor.randn(out:shape())
  ;(out * w):sum():backward()
  local analytic = x.grad:contiguous():view(-1):tolist()
  local flat = x:detach():view(-1)
  local function loss() return tensor.no_grad(function() return (f(x) * w):sum():item() end) end
  local worst, where, eps = 0, "", 1e-2
  for k = 1, flat:numel() do
    local cell = flat:narrow(1, k, 1)
    local x0 = cell:item()
    cell:fill(x0 + eps)
    local lp = loss()
    cell:fill(x0 - eps)
    local lm = loss()
    cell:fill(x0)
    local numeric = (lp - lm) / (2 * eps)
    local err = math.abs(analytic[k] - numeric) / math.max(1, math.abs(numeric))
    if err > worst then worst, where = err, string.format("element %d: analytic %.6g numeric %.6g", k, analytic[k], numeric) end
  end
  t.ok(worst < 1e-2, "gradcheck " .. name, where)
end
tensor.manual_seed(7)
gradcheck("x[{ {}, 2 }]:tanh()", function(x) return x[{ {}, 2 }]:tanh() end, {3, 4})
gradcheck("x[{ {2,-1}, {1,-1,2} }]^2", function(x) return x[{ {2, -1}, {1, -1, 2} }] ^ 2 end, {4, 5})
gradcheck("x[{ -1, {1,5,2} }] of 3-d", function(x) return x[{ -1, {1, 5, 2} }]:sin() end, {2, 5, 3})
gradcheck("x:t()[{ {2,3} }]", function(x) return x:t()[{ {2, 3} }]:exp() end, {3, 4})
local fixed = tensor.tensor({{1, 0, 1, 0, 0}, {0, 1, 1, 0, 1}, {1, 1, 0, 0, 0}})
gradcheck("x[mask]:exp()", function(x) return x[fixed]:exp() end, {3, 5})
gradcheck("x[row mask]", function(x) return x[tensor.tensor({0, 1, 1})]:tanh() end, {3, 5})
gradcheck("masked_fill then softmax", function(x) return x:masked_fill(fixed, -math.huge):softmax(2) end, {3, 5})
gradcheck("masked_select broadcast", function(x) return x:masked_select(tensor.tensor({1, 0, 1, 1, 0})) ^ 2 end, {3, 5})

-- ---- the in-place rules of x:copy / x:fill hold for assignment ------------------------------------
do
  local p = tensor.randn(3):requires_grad()
  t.errors_like(function() p[{ {1, 2} }] = 0 end, "^.-x%[{%.%.%.}%] = v: cannot write in place into a view of a leaf tensor that requires grad",
                "x[{...}] = v on a parameter: the teaching message of the in-place rules")
  t.errors_like(function() p[p:gt(0)] = 0 end, "x%[mask%] = v: cannot write in place into a leaf tensor that requires grad",
                "x[mask] = v on a parameter is refused too")
  tensor.no_grad(function() p[{ 1 }] = 5 end)
  t.eq(p[1]:item(), 5, "inside tensor.no_grad a parameter may be written")
  local h = p * 2
  t.errors_like(function() h[{ 1 }] = 0 end, "x%[{%.%.%.}%] = v: writing in place into a view", "a view of a tensor with a graph is refused")
  t.errors_like(function() h[h:gt(0)] = 0 end, "masked_fill%(mask, v%)", "x[mask] = v into a tensor with a graph points at masked_fill")
  local a = tensor.randn(3)
  local w = tensor.randn(3):requires_grad()
  local loss = (w * a):sum()         -- mul saves a for backward
  a[{ {1, 2} }] = 0
  t.errors_like(function() loss:backward() end, "version", "writing a saved tensor through x[{...}] bumps its version: backward refuses")
  t.errors_like(function() tensor.ones(1, 3):expand(2, 3)[{ {}, 1 }] = 0 end, "expanded", "an expanded view cannot be written")
end

-- ---- errors that teach ----------------------------------------------------------------------------------
do
  local x = tensor.randn(4, 5)
  local E = {
    {function() return x[{ 5 }] end, "x%[{%.%.%.}%]: entry 1 is index 5, out of range for dim 1 of size 4 %(valid: 1%.%.4, or %-4%.%.%-1", "out of range"},
    {function() return x[{ {}, -6 }] end, "index %-6, out of range for dim 2 of size 5", "negative out of range"},
    {function() return x[{ {}, 0 }] end, "entry 2 is index 0, but indices are 1%-based", "index 0"},
    {function() return x[{ 1, 2, 3 }] end, "3 entries for the 2%-d tensor %[4,5%]: at most one per dim", "too many indices"},
    {function() return x[{ {1, 4, 0} }] end, "a step of 0", "a step of 0"},
    {function() return x[{ {1, 4, -1} }] end, "negative step", "a negative step"},
    {function() return x[{ "a" }] end, "entry 1 is the string \"a\"; each entry is a number i", "a string entry"},
    {function() return x[{ {1, "b"} }] end, "entry 1 holds the string \"b\"", "a string inside a range"},
    {function() return x[{ 1.5 }] end, "holds 1%.5, not a whole number", "a fraction"},
    {function() return x[{ {3, 1} }] end, "runs backwards", "a backwards range"},
    {function() return x[{ {1, 2, 3, 4} }] end, "has 4 numbers", "a range with 4 numbers"},
    {function() return x[{ dim = 2 }] end, "keys other than", "a table with named keys"},
    {function() return x[{ true }] end, "entry 1 is the boolean true", "a boolean"},
    {function() return x[{ tensor.ones(2) }] end, "a mask goes alone", "a tensor inside the table"},
    {function() return x[tensor.ones(3)] end, "x%[mask%]: the mask has shape %[3%] but x has %[4,5%]", "a mask of the wrong shape"},
    {function() return x[tensor.ones(4, 5) * 2] end, "holds 2 at element 1 .- a mask holds only 0 and 1", "a mask with a 2 in it"},
    {function() return x[tensor.tensor({1, 3})] end, "index_select", "an index tensor points at index_select"},
    {function() return x:masked_fill(tensor.ones(3), 1) end, "x:masked_fill: the mask has shape %[3%], which does not broadcast to x's shape %[4,5%]", "masked_fill mask shape"},
    {function() return x:masked_fill(x:gt(0)) end, "x:masked_fill: v %(the fill value%) must be a number", "masked_fill without a value"},
    {function() return x:masked_fill(1, 1) end, "mask must be a tensor of 0/1", "masked_fill with a number for the mask"},
    {function() return x:index_fill(2, {6}, 0) end, "x:index_fill: entry 1 is index 6, out of range for dim 2 of size 5", "index_fill out of range"},
    {function() return x:index_fill(3, {1}, 0) end, "x:index_fill: dim 3 is out of range", "index_fill dim out of range"},
    {function() x[{ {}, 1 }] = "s" end, "x%[{%.%.%.}%] = v: v must be a number", "assigning a string"},
    {function() x[{ {}, 1 }] = tensor.ones(3) end, "x%[{%.%.%.}%] = v: v has shape %[3%] but x%[{ {}, 1 }%] is %[4%] %(x is %[4,5%]%); v must have that shape or broadcast", "assigning a wrong shape"},
    {function() x[tensor.ones(4)] = tensor.ones(3) end, "the mask picks 4 slices of shape %[5%]", "x[rows] = values of the wrong shape"},
    {function() return tensor.scalar_tensor ~= nil or tensor.ones(1):sum()[{ 1 }] end, "a 0%-d tensor has no dims", "indexing a 0-d tensor"},
    {function() return tensor.zeros(3, {device = "meta"})[tensor.ones(3, {device = "meta"})] end, "on the meta device a mask has no values", "x[mask] on meta"},
  }
  for _, e in ipairs(E) do t.errors_like(e[1], e[2], "error: " .. e[3]) end
  local meta = tensor.zeros(4, 5, {device = "meta"})
  t.eq(meta[{ {2, 3}, {1, -1, 2} }]:shape():totable(), {2, 3}, "x[{...}] on meta: shapes only")
  t.eq(meta:masked_fill(tensor.zeros(5, {device = "meta"}), 1):shape():totable(), {4, 5}, "masked_fill on meta")
end

-- ---- fuzz: random index tables never crash, and agree with a plain-Lua reference ---------------------
do
  -- what x[{...}] should give for x with sizes sz (values as nested lists), or nil
  local function resolve(i, n)     -- a 1-based index -> 1-based positive, or nil
    if math.type(i) == "float" then
      if i ~= i or i ~= math.floor(i) or math.abs(i) > 2^53 then return nil end
      i = math.tointeger(i)
    end
    if math.type(i) ~= "integer" or i == 0 or i > n or i < -n then return nil end
    return i > 0 and i or n + i + 1
  end
  local function plan(spec, sz)
    if #spec > #sz then return nil end
    for k in pairs(spec) do if math.type(k) ~= "integer" or k < 1 or k > #spec then return nil end end
    local p = {}
    for d = 1, #sz do
      local e, n = spec[d], sz[d]
      if e == nil then p[d] = {whole = true}
      elseif type(e) == "number" then
        local i = resolve(e, n)
        if not i then return nil end
        p[d] = {one = i}
      elseif type(e) == "table" and not tensor.is_tensor(e) then
        for k in pairs(e) do if math.type(k) ~= "integer" or k < 1 or k > #e then return nil end end
        if #e == 0 then p[d] = {whole = true}
        elseif #e > 3 then return nil
        else
          for k = 1, #e do if type(e[k]) ~= "number" then return nil end end
          local a = (#e > 1 and e[1] == n + 1) and n + 1 or resolve(e[1], n)
          local b = #e == 1 and a or resolve(e[2], n)
          local s = e[3] or 1
          if math.type(s) == "float" and s == math.floor(s) then s = math.tointeger(s) end
          if not a or not b or math.type(s) ~= "integer" or s < 1 or b < a - 1 then return nil end
          if a == n + 1 and b ~= n then return nil end
          p[d] = {from = a, to = b, step = s}
        end
      else return nil end
    end
    return p
  end
  local function apply(list, p, d)
    if d > #p then return list end
    local e = p[d]
    if e.one then return apply(list[e.one], p, d + 1) end
    local out, from, to, step = {}, e.from or 1, e.to or #list, e.step or 1
    for i = from, to, step do out[#out + 1] = apply(list[i], p, d + 1) end
    return out
  end
  local function numel(v) if type(v) ~= "table" then return 1 end local c = 0 for _, w in ipairs(v) do c = c + numel(w) end return c end

  math.randomseed(16)
  local atoms = {0, 1.5, 2.0, -0.0, math.huge, -math.huge, 0 / 0, math.maxinteger, math.mininteger, 2^63, "a", "1",
                 true, print, tensor.ones(1)}
  local function atom()
    local r = math.random()
    if r < 0.6 then return math.random(-6, 6) end
    return atoms[math.random(#atoms)]
  end
  local function entry()
    local r = math.random()
    if r < 0.35 then return atom() end
    if r < 0.45 then return {} end
    local e = {}
    for k = 1, math.random(1, 4) do e[k] = atom() end
    if math.random() < 0.05 then e.x = 1 end
    return e
  end
  local agree, crashes, bad_msgs, writes_ok = 0, 0, {}, 0
  local N = 1500
  for _ = 1, N do
    local nd = math.random(1, 3)
    local sz = {}
    for d = 1, nd do sz[d] = math.random(0, 4) end
    local n = 1
    for _, s in ipairs(sz) do n = n * s end
    local x = n > 0 and tensor.arange(0, n):view(sz) or tensor.zeros(sz)
    local spec = {}
    for k = 1, math.random(0, 4) do spec[k] = entry() end
    local p = plan(spec, sz)
    local okc, got = pcall(function() return x[spec] end)
    if okc ~= (p ~= nil) then
      crashes = crashes + 1
      if #bad_msgs < 3 then bad_msgs[#bad_msgs + 1] = t.show(sz) .. " " .. t.show(spec) .. ": " .. tostring(got) end
    elseif okc then
      local want = apply(x:tolist(), p, 1)
      if t.show(got:tolist()) == t.show(want) then agree = agree + 1
      elseif #bad_msgs < 3 then bad_msgs[#bad_msgs + 1] = t.show(spec) .. " gave " .. t.show(got:tolist()) .. " want " .. t.show(want) end
      -- the same table assigns: exactly the view's elements change
      local y = x:clone()
      local okw = pcall(function() y[spec] = -100 end)
      local changed = y:eq(-100):sum():item()
      if okw and changed == numel(want) and (numel(want) == 0 or y[spec]:eq(-100):sum():item() == numel(want)) then
        writes_ok = writes_ok + 1
      elseif #bad_msgs < 3 then bad_msgs[#bad_msgs + 1] = "assigning " .. t.show(spec) .. " changed " .. changed end
    else
      if not tostring(got):find("x[{...}]", 1, true) and #bad_msgs < 3 then
        bad_msgs[#bad_msgs + 1] = "message does not name x[{...}]: " .. tostring(got)
      end
      agree = agree + 1
    end
  end
  t.ok(crashes == 0, "fuzz: " .. N .. " random index tables succeed exactly when they are valid",
       table.concat(bad_msgs, "\n"))
  t.ok(agree == N and #bad_msgs == 0, "fuzz: valid ones agree with a plain-Lua reference; errors name x[{...}]",
       table.concat(bad_msgs, "\n"))
  t.ok(writes_ok > 100, "fuzz: assignment through the same tables writes exactly the view (" .. writes_ok .. ")")
  -- random masks and values: never a crash, only errors
  local unnamed, results = {}, 0
  local function try(name, f)
    local okc, err = pcall(f)
    if okc then results = results + 1
    elseif not tostring(err):find(name, 1, true) and #unnamed < 3 then unnamed[#unnamed + 1] = err end
  end
  for _ = 1, 300 do
    local x = tensor.randn(math.random(1, 3), math.random(1, 3))
    local sz = {}
    for d = 1, math.random(1, 3) do sz[d] = math.random(1, 3) end
    local m = tensor.rand(sz):mul(math.random(1, 3) == 1 and 1.5 or 1):add(0.5):clamp(0, 2):mul(0.5)
    m = math.random(1, 2) == 1 and m:gt(0.5) or m
    local v = ({1, tensor.ones(2), "x", tensor.ones(1), -math.huge})[math.random(5)]
    try("x[mask]", function() return x[m] end)
    try("x[mask] = v", function() x[m] = v end)
    try("x:masked_fill", function() return x:masked_fill(m, v) end)
    try("x:masked_select", function() return x:masked_select(m) end)
  end
  t.ok(#unnamed == 0 and results > 50, "fuzz: random masks, shapes and values work or raise errors naming the op (" ..
       results .. " worked)", table.concat(unnamed, "\n"))
end

-- ---- :shapes on prints each indexing op as one line ---------------------------------------------------
do
  local exe = "./nnlab"
  if not io.open(exe, "rb") and arg and arg[-1] then exe = arg[-1] end
  local path = os.tmpname()
  local f = assert(io.open(path, "w"))
  f:write(":shapes on\nx = tensor.randn(4,5)\ny = x[{ {2,3}, 1 }]\nx[{ {}, 1 }] = 0\nz = x[x:gt(0)]\n",
          "w = x:masked_fill(x:lt(0), 0)\nq = x[{ {1,-1,2} }]\n")
  f:close()
  local pipe = io.popen(exe .. " < " .. path .. " 2>&1")
  local out = pipe:read("a")
  pipe:close()
  os.remove(path)
  t.has(out, "index      [4,5] [{ {2,3}, 1 }] -> [2]", ":shapes: x[{ {2,3}, 1 }] is one line")
  t.has(out, "index_put  [4,5] [{ {}, 1 }] = 0 -> [4,5]", ":shapes: assignment")
  t.has(out, "index      [4,5] [mask [4,5]] -> [", ":shapes: x[mask]")
  t.has(out, "masked_fill [4,5] x [4,5] -> [4,5]", ":shapes: masked_fill")
  t.has(out, "index      [4,5] [{ {1,-1,2} }] -> [2,5]", ":shapes: a stepped slice")
  t.ok(not out:find("select ") and not out:find("narrow ") and not out:find("gather "),
       ":shapes: the library ops inside are not listed", out)
end

-- ---- devices: the same ops through the backend on cuda, when there is one ------------------------------
do
  local avail, why = tensor.cuda_available()
  if not avail then
    t.skip("indexing on cuda matches cpu", why)
  else
    local x = tensor.randn(4, 6)
    local xc = x:cuda()
    local m = x:gt(0)
    local okc, err = pcall(function()
      t.is_close(xc[{ {2, -1}, {1, -1, 2} }]:cpu(), x[{ {2, -1}, {1, -1, 2} }], 0, "cuda: x[{...}] matches cpu")
      t.is_close(xc[m:cuda()]:cpu(), x[m], 0, "cuda: x[mask] matches cpu")
      t.is_close(xc:masked_fill(m:cuda(), -1):cpu(), x:masked_fill(m, -1), 0, "cuda: masked_fill matches cpu")
      local w = xc:clone():requires_grad()
      w[m:cuda()]:sum():backward()
      t.is_close(w.grad:cpu(), m, 0, "cuda: x[mask] backward")
      local y = xc:clone()
      y[{ {}, 2 }] = 0
      y[m:cuda()] = 5
      local z = x:clone()
      z[{ {}, 2 }] = 0
      z[m] = 5
      t.is_close(y:cpu(), z, 0, "cuda: assignment matches cpu")
    end)
    if not okc then t.ok(false, "cuda: indexing ran", err) end
  end
end

t.done_testing()
