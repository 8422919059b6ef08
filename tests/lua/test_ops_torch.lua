-- test_ops_torch.lua - every tensor op against reference values made by PyTorch (TAP)
-- run: ./nnlab tests/lua/test_ops_torch.lua
--
-- The fixtures in tests/fixtures/tensor/ come from tests/fixtures/make_tensor_fixtures.py
-- (run it with a Python that has torch + numpy). For each case below, the label is the
-- TAP name and picks the files (label with "-" -> "m", other non-alphanumerics -> "_"):
-- ID_in1.npy ... inputs, ID_out.npy [ID_out2.npy] torch's outputs, ID_R.npy, and
-- ID_gradK.npy = d sum(out * R) / d inK for each differentiable input. The Lua op here
-- must be the same op as the Python lambda of the same label.
local T = dofile((debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "tests/lua") .. "/tap.lua")
local function tap(cond, name, skip)
  if skip then T.skip(name, skip) else T.ok(cond, name) end
end
local diag = T.diag

local function script_dir()
  local src = debug.getinfo(1, "S").source
  local dir = src:sub(1, 1) == "@" and src:sub(2):match("^(.*)/[^/]*$")
  return dir or "tests/lua"
end
local DIR = script_dir() .. "/../fixtures/tensor/"

local function exists(path)
  local f = io.open(path, "rb")
  if f then f:close() end
  return f ~= nil
end

local function case_id(label)
  return (label:gsub("%-", "m"):gsub("[^%w]+", "_"):gsub("^_+", ""):gsub("_+$", ""))
end

-- values in row-major order, independent of the tensor ops under test
local function flat(t)
  local out = {}
  local function walk(v)
    if type(v) == "table" then for i = 1, #v do walk(v[i]) end else out[#out + 1] = v end
  end
  walk(t:tolist())
  return out
end

local function shape_str(t)
  local s = {}
  for i = 1, t:dim() do s[i] = tostring(t:size(i)) end
  return "[" .. table.concat(s, ",") .. "]"
end

-- max |got - want| / max(1, max |want|); nil, why when shapes differ
local function compare(got, want)
  if not tensor.is_tensor(got) then return nil, "got a " .. type(got) .. ", not a tensor" end
  if shape_str(got) ~= shape_str(want) then
    return nil, "shape " .. shape_str(got) .. ", torch has " .. shape_str(want)
  end
  local g, w = flat(got), flat(want)
  local scale, err, at = 1, -1, nil
  for i = 1, #w do scale = math.max(scale, math.abs(w[i])) end
  for i = 1, #w do
    local d = math.abs(g[i] - w[i])
    if d ~= d then d = math.huge end     -- NaN anywhere fails
    if d > err then err, at = d, i end
  end
  err = math.max(err, 0) / scale
  return err, at and string.format("max error %.3g (relative to magnitude %.3g) at flat index %d: got %.9g, torch %.9g",
                                   err, scale, at, g[at], w[at]) or "empty"
end

local function check(got, want, tol, name)
  local err, why = compare(got, want)
  local good = err ~= nil and err <= tol
  tap(good, name)
  if not good then diag(why .. string.format(" (tol %g)", tol)) end
end

local F = rawget(_G, "nn") and nn.F
local function need_F(fn)
  if not F then return "nn.F is not available" end
  if not F[fn] then return "nn.F." .. fn .. " is not bound" end
end

-- {label, op(inputs...) -> outputs..., tol (default 1e-5), skip_reason_fn}
local T4 = 1e-4
local cases = {
  -- elementwise unary
  {"neg", function(x) return x:neg() end},
  {"exp", function(x) return x:exp() end},
  {"log", function(x) return x:log() end},
  {"sqrt", function(x) return x:sqrt() end},
  {"abs", function(x) return x:abs() end},
  {"relu", function(x) return x:relu() end},
  {"sigmoid", function(x) return x:sigmoid() end},
  {"tanh", function(x) return x:tanh() end},
  {"gelu", function(x) return x:gelu() end},
  {"sin", function(x) return x:sin() end},
  {"cos", function(x) return x:cos() end},
  {"pow p=2", function(x) return x:pow(2) end},
  {"pow p=3 negative base", function(x) return x:pow(3) end},
  {"pow p=0.5", function(x) return x:pow(0.5) end},
  {"pow p=-1.5", function(x) return x:pow(-1.5) end},
  {"clamp -0.5 0.7", function(x) return x:clamp(-0.5, 0.7) end},
  {"clamp lo only", function(x) return x:clamp(-0.3) end},
  {"clamp at the bounds", function(x) return x:clamp(-0.5, 0.5) end},
  {"add scalar", function(x) return x + 2.5 end},
  {"rsub scalar", function(x) return 3.0 - x end},
  {"mul scalar", function(x) return x * -1.75 end},
  {"rdiv scalar", function(x) return 2.0 / x end},
  {"div scalar", function(x) return x / 4.0 end},
  {"exp of transposed", function(x) return x:t():exp() end},
  {"gelu of transposed", function(x) return x:t():gelu() end},
  {"sigmoid of narrowed", function(x) return x:narrow(2, 2, 3):sigmoid() end},
  {"log of permuted", function(x) return x:permute(3, 1, 2):log() end},
  {"pow p=3 of transposed", function(x) return x:t():pow(3) end},
  -- elementwise binary
  {"add broadcast", function(a, b) return a:add(b) end},
  {"sub broadcast", function(a, b) return a:sub(b) end},
  {"mul broadcast", function(a, b) return a:mul(b) end},
  {"div broadcast", function(a, b) return a:div(b) end},
  {"pow tensor broadcast", function(a, b) return a:pow(b) end},
  {"maximum broadcast", function(a, b) return a:maximum(b) end},
  {"minimum broadcast", function(a, b) return a:minimum(b) end},
  {"maximum with ties", function(a, b) return a:maximum(b) end},
  {"minimum with ties", function(a, b) return a:minimum(b) end},
  {"add same shape", function(a, b) return a:add(b) end},
  {"div by broadcast column", function(a, b) return a:div(b) end},
  {"mul transposed with contiguous", function(a, b) return a:t() * b end},
  {"sub transposed from narrowed", function(a, b) return a:t() - b:narrow(2, 3, 4) end},
  {"div narrowed by transposed", function(a, b) return a:narrow(2, 2, 4) / b:t() end},
  {"operators a*b - a/b + a^2", function(a, b) return a * b - a / b + a ^ 2 end},
  -- comparisons (forward only)
  {"eq", function(a, b) return a:eq(b) end},
  {"lt broadcast", function(a, b) return a:lt(b) end},
  {"ge broadcast", function(a, b) return a:ge(b) end},
  {"eq scalar", function(x) return x:eq(0.5) end},
  {"lt scalar", function(x) return x:lt(0) end},
  {"ge scalar", function(x) return x:ge(-0.5) end},
  {"lt of transposed", function(a, b) return a:t():lt(b) end},
  -- reductions
  {"sum all", function(x) return x:sum() end},
  {"sum dim=2", function(x) return x:sum(2) end},
  {"sum dim=2 keepdim", function(x) return x:sum(2, true) end},
  {"sum dim=-1", function(x) return x:sum(-1) end},
  {"mean all", function(x) return x:mean() end},
  {"mean dim=1 keepdim", function(x) return x:mean(1, true) end},
  {"mean dim=3", function(x) return x:mean(3) end},
  {"max all", function(x) return x:max() end},
  {"max dim=2", function(x) return x:max(2) end},
  {"max dim=3 keepdim", function(x) return x:max(3, true) end},
  {"min all", function(x) return x:min() end},
  {"min dim=1", function(x) return x:min(1) end},
  {"argmax all", function(x) return x:argmax() end},
  {"argmax dim=2", function(x) return x:argmax(2) end},
  {"argmax dim=3 keepdim", function(x) return x:argmax(3, true) end},
  {"argmin dim=1", function(x) return x:argmin(1) end},
  {"var all", function(x) return x:var() end, T4},
  {"var dim=2", function(x) return x:var(2) end, T4},
  {"var dim=3 keepdim", function(x) return x:var(3, true) end, T4},
  {"var dim=2 biased", function(x) return x:var(2, false, false) end, T4},
  {"std all", function(x) return x:std() end, T4},
  {"std dim=1", function(x) return x:std(1) end, T4},
  {"std dim=2 keepdim", function(x) return x:std(2, true) end, T4},
  {"norm", function(x) return x:norm() end},
  {"transpose then sum dim=2", function(x) return x:transpose(1, 3):sum(2) end},
  {"permute then max dim=1", function(x) return x:permute(3, 1, 2):max(1) end},
  {"permute then var dim=3 keepdim", function(x) return x:permute(2, 3, 1):var(3, true) end, T4},
  {"transpose then mean all", function(x) return x:transpose(2, 3):mean() end},
  {"narrow then std dim=1", function(x) return x:narrow(3, 2, 3):std(1) end, T4},
  {"transpose then argmax dim=1", function(x) return x:t():argmax(1) end},
  -- matmul
  {"matmul 1-D dot", function(a, b) return a:matmul(b) end, T4},
  {"matmul 2-D", function(a, b) return a:matmul(b) end, T4},
  {"matmul matrix-vector", function(a, b) return a:matmul(b) end, T4},
  {"matmul vector-matrix", function(a, b) return a:matmul(b) end, T4},
  {"matmul batched [2,3,4]x[4,5]", function(a, b) return a:matmul(b) end, T4},
  {"matmul broadcast [2,1,3,4]x[5,4,2]", function(a, b) return tensor.matmul(a, b) end, T4},
  {"matmul transposed operands", function(a, b) return a:t():matmul(b:t()) end, T4},
  {"matmul batched transposed", function(a, b) return a:transpose(2, 3):matmul(b) end, T4},
  {"matmul narrowed", function(a, b) return a:narrow(2, 2, 4):matmul(b) end, T4},
  -- softmax family
  {"softmax dim=1", function(x) return x:softmax(1) end},
  {"softmax dim=2", function(x) return x:softmax(2) end},
  {"softmax dim=-1", function(x) return x:softmax(-1) end},
  {"log_softmax dim=1", function(x) return x:log_softmax(1) end},
  {"log_softmax dim=-1", function(x) return x:log_softmax(-1) end},
  {"log_softmax large logits", function(x) return x:log_softmax(-1) end},
  {"softmax large logits", function(x) return x:softmax(-1) end},
  {"softmax of transposed dim=-1", function(x) return x:t():softmax(-1) end},
  {"log_softmax of permuted dim=2", function(x) return x:permute(3, 1, 2):log_softmax(2) end},
  -- joining
  {"cat dim=1", function(a, b) return tensor.cat({a, b}, 1) end},
  {"cat dim=2", function(a, b) return tensor.cat({a, b}, 2) end},
  {"cat three dim=-1 with a transposed", function(a, b, c) return tensor.cat({a, b:t(), c}, -1) end},
  {"stack dim=1", function(a, b, c) return tensor.stack({a, b, c}, 1) end},
  {"stack dim=2", function(a, b) return tensor.stack({a, b}, 2) end},
  {"stack dim=3 (new last)", function(a, b) return tensor.stack({a, b}, 3) end},
  -- indexing (indices are 1-based in the fixtures, as Lua takes them)
  {"gather dim=2", function(x, i) return x:gather(2, i) end},
  {"gather dim=1", function(x, i) return x:gather(1, i) end},
  {"gather of transposed dim=1", function(x, i) return x:t():gather(1, i) end},
  {"index_select dim=1", function(x, i) return x:index_select(1, i) end},
  {"index_select dim=2", function(x, i) return x:index_select(2, i) end},
  {"index_select dim=2 of 3-D", function(x, i) return x:index_select(2, i) end},
  -- views
  {"narrow dim=2", function(x) return x:narrow(2, 2, 3) end},
  {"narrow negative start", function(x) return x:narrow(1, -2, 2) end},
  {"select dim=2", function(x) return x:select(2, 3) end},
  {"select dim=1 from end", function(x) return x:select(1, -1) end},
  {"transpose", function(x) return x:transpose(1, 3) end},
  {"permute", function(x) return x:permute(2, 3, 1) end},
  {"expand", function(x) return x:expand(3, 4) end},
  {"expand then sum dim=1", function(x) return x:expand(2, 3, 4):sum(1) end},
  {"expand then sum all", function(x) return (x:expand(3, 4) * 1.0):sum() end},
  {"reshape of transposed", function(x) return x:t():reshape(12) end},
  {"unsqueeze then mul broadcast", function(a, b) return a:unsqueeze(2) * b end},
  {"flatten of permuted", function(x) return x:permute(1, 3, 2):flatten(2) end},
  {"squeeze", function(x) return x:squeeze(2) end},
  -- convolution and pooling through nn.F (positional: x, w, b, stride, padding, groups)
  {"conv2d stride=2 padding=1 groups=2", function(x, w, b) return F.conv2d(x, w, b, 2, 1, 2) end, T4, "conv2d"},
  {"conv2d depthwise groups=C", function(x, w, b) return F.conv2d(x, w, b, 1, 1, 4) end, T4, "conv2d"},
  {"conv2d depthwise multiplier 2", function(x, w, b) return F.conv2d(x, w, b, 1, 0, 3) end, T4, "conv2d"},
  {"conv2d no bias", function(x, w) return F.conv2d(x, w, nil, 1, 0, 1) end, T4, "conv2d"},
  {"conv2d 1x1 stride=2", function(x, w, b) return F.conv2d(x, w, b, 2, 0, 1) end, T4, "conv2d"},
  {"conv2d on permuted channels-last input",
   function(x, w, b) return F.conv2d(x:permute(1, 4, 2, 3), w, b, 1, 1, 1) end, T4, "conv2d"},
  {"max_pool2d k=2", function(x) return F.max_pool2d(x, 2) end, nil, "max_pool2d"},
  {"max_pool2d k=3 stride=2 padding=1", function(x) return F.max_pool2d(x, 3, 2, 1) end, nil, "max_pool2d"},
  {"avg_pool2d k=2", function(x) return F.avg_pool2d(x, 2) end, nil, "avg_pool2d"},
  {"avg_pool2d k=3 stride=2 padding=1", function(x) return F.avg_pool2d(x, 3, 2, 1) end, nil, "avg_pool2d"},
  {"avg_pool2d k=2 odd size", function(x) return F.avg_pool2d(x, 2) end, nil, "avg_pool2d"},
}

local function run_case(c)
  local label, op, tol, needs = c[1], c[2], c[3] or 1e-5, c[4]
  local id = DIR .. case_id(label)
  -- what the fixtures hold for this case
  local nin, nout, grads = 0, 0, {}
  while exists(id .. "_in" .. (nin + 1) .. ".npy") do nin = nin + 1 end
  while exists(id .. (nout == 0 and "_out" or "_out" .. (nout + 1)) .. ".npy") do nout = nout + 1 end
  for k = 1, nin do grads[k] = exists(id .. "_grad" .. k .. ".npy") end
  local has_grad = exists(id .. "_R.npy")
  local names = {label .. " forward matches torch"}
  for k = 2, nout do names[k] = label .. " output " .. k .. " matches torch" end
  local gnames = {}
  for k = 1, nin do
    if grads[k] then gnames[#gnames + 1] = {k, label .. " grad of input " .. k .. " matches torch"} end
  end
  if nin == 0 or nout == 0 then
    tap(false, label .. " fixtures present")
    diag("missing " .. id .. "_in1.npy / _out.npy: run /usr/bin/python3 tests/fixtures/make_tensor_fixtures.py")
    return
  end
  local skip = needs and need_F(needs)
  if skip then
    for _, nm in ipairs(names) do tap(true, nm, skip) end
    for _, g in ipairs(gnames) do tap(true, g[2], skip) end
    return
  end
  local inputs = {}
  for k = 1, nin do
    inputs[k] = tensor.load_npy(id .. "_in" .. k .. ".npy")
    if grads[k] then inputs[k]:requires_grad() end
  end
  local outs = table.pack(pcall(op, table.unpack(inputs, 1, nin)))
  if not outs[1] then
    for _, nm in ipairs(names) do tap(false, nm) end
    for _, g in ipairs(gnames) do tap(false, g[2]) end
    diag("the op raised: " .. tostring(outs[2]))
    return
  end
  for k = 1, nout do
    local want = tensor.load_npy(id .. (k == 1 and "_out" or "_out" .. k) .. ".npy")
    check(outs[k + 1], want, tol, names[k])
  end
  if not has_grad then return end
  local R = tensor.load_npy(id .. "_R.npy")
  local good, err = pcall(function() (outs[2] * R):sum():backward() end)
  if not good then
    for _, g in ipairs(gnames) do tap(false, g[2]) end
    diag("backward raised: " .. tostring(err))
    return
  end
  for _, g in ipairs(gnames) do
    local k = g[1]
    local got = inputs[k].grad
    if got == nil then
      tap(false, g[2])
      diag("input " .. k .. " has no .grad after backward")
    else
      check(got, tensor.load_npy(id .. "_grad" .. k .. ".npy"), tol, g[2])
    end
  end
end

-- the rows of tensor/op_table.h with parameters other than their defaults
for _, c in ipairs({
  {"leaky_relu 0.2", function(x) return x:leaky_relu(0.2) end},
  {"elu 0.5", function(x) return x:elu(0.5) end},
  {"softplus beta=2 threshold=3", function(x) return x:softplus(2, 3) end},
  {"hardtanh -0.5 0.7", function(x) return x:hardtanh(-0.5, 0.7) end},
}) do cases[#cases + 1] = c end
-- every row of the op table has a case under its own name (its defaults): a new row fails
-- here until make_tensor_fixtures.py has its PyTorch twin
local labelled = {}
for _, c in ipairs(cases) do labelled[c[1]] = true end
for _, row in ipairs(tensor._unary_ops) do
  if not labelled[row.name] then
    cases[#cases + 1] = {row.name, function(x) return x[row.name](x) end}
  end
end

for _, c in ipairs(cases) do run_case(c) end

-- ---- dropout: random, so only its statistics -------------------------------------------
local skip = need_F("dropout")
if skip then
  for _, nm in ipairs({"dropout keeps the mean (1/(1-p) scaling)", "dropout zeroes about p of the values",
                       "dropout scales kept values by exactly 1/(1-p)", "dropout grad is the same mask and scale",
                       "dropout in eval mode is the identity"}) do tap(true, nm, skip) end
else
  tensor.manual_seed(7)
  local p, N = 0.3, 200000
  local x = tensor.ones(N):requires_grad()
  local y = F.dropout(x, p, true)
  local vals = flat(y)
  local sum, zeros, bad = 0, 0, 0
  for i = 1, N do
    local v = vals[i]
    sum = sum + v
    if v == 0 then zeros = zeros + 1 elseif math.abs(v - 1 / (1 - p)) > 1e-6 then bad = bad + 1 end
  end
  -- std of the mean is sqrt(p/(1-p)/N) ~ 0.0015; of the zero fraction sqrt(p(1-p)/N) ~ 0.001
  local mean, frac = sum / N, zeros / N
  tap(math.abs(mean - 1) < 0.01, "dropout keeps the mean (1/(1-p) scaling)")
  if math.abs(mean - 1) >= 0.01 then diag("mean " .. mean) end
  tap(math.abs(frac - p) < 0.01, "dropout zeroes about p of the values")
  if math.abs(frac - p) >= 0.01 then diag("fraction zero " .. frac) end
  tap(bad == 0, "dropout scales kept values by exactly 1/(1-p)")
  if bad > 0 then diag(bad .. " kept values differ from 1/(1-p)") end
  y:sum():backward()
  local g = x.grad and flat(x.grad)
  local same = g ~= nil
  if same then for i = 1, N do if g[i] ~= vals[i] then same = false; break end end end
  tap(same, "dropout grad is the same mask and scale")
  local e = F.dropout(tensor.ones(100), p, false)
  local ev = flat(e)
  local ident = #ev == 100
  for i = 1, #ev do if ev[i] ~= 1 then ident = false end end
  tap(ident, "dropout in eval mode is the identity")
end

T.done()
