-- layers.lua - the built-in layers: Linear, Conv2d, pooling, batch/layer norm,
-- activations, Dropout, Flatten, Embedding, Sequential. Each forward is nn.F or tensor
-- ops, so autograd derives every backward.
local nn, F = nn, nn.F
local U = require("nn.util")
local is_module, shape_str, got, check_count, check_c_int, new_tensor, kaiming_param, const_tensor =
  U.is_module, U.shape_str, U.got, U.check_count, U.check_c_int, U.new_tensor, U.kaiming_param, U.const_tensor
local Module = nn.Module

local function leaf(name, forward, extra)
  local cls = Module:extend(name)
  cls.forward = forward
  if extra then cls.extra_repr = extra end
  return cls
end

local Linear = Module:extend("Linear")
nn.Linear = Linear
function Linear:init(in_features, out_features, opts)
  opts = opts or {}
  self.in_features = check_count("nn.Linear(in, out): in", in_features)
  self.out_features = check_count("nn.Linear(in, out): out", out_features)
  self.weight = kaiming_param({out_features, in_features}, in_features, opts)
  if opts.bias ~= false then self.bias = kaiming_param({out_features}, in_features, opts) end
end
function Linear:forward(x) return F.linear(x, self.weight, self.bias) end
function Linear:extra_repr()
  return string.format("in=%d, out=%d, bias=%s", self.in_features, self.out_features, tostring(self.bias ~= nil))
end
function Linear:mult_adds(out) return F.mult_adds("linear", out, self.weight) end

local Conv2d = Module:extend("Conv2d")
nn.Conv2d = Conv2d
function Conv2d:init(cin, cout, k, opts)
  opts = opts or {}
  local kh, kw = k, k
  if type(k) == "table" then kh, kw = k[1], k[2] end
  self.in_channels = check_count("nn.Conv2d(in, out, k): in", cin)
  self.out_channels = check_count("nn.Conv2d(in, out, k): out", cout)
  check_count("nn.Conv2d(in, out, k): k", kh)
  check_count("nn.Conv2d(in, out, k): k", kw)
  self.kernel_size = {kh, kw}
  self.stride = check_c_int("nn.Conv2d: stride", opts.stride or 1, 1)
  self.padding = check_c_int("nn.Conv2d: padding", opts.padding or 0, 0)
  self.groups = check_c_int("nn.Conv2d: groups", opts.groups or 1, 1)
  check_c_int("nn.Conv2d(in, out, k): k", kh, 1)
  check_c_int("nn.Conv2d(in, out, k): k", kw, 1)
  if cin % self.groups ~= 0 or cout % self.groups ~= 0 then
    error(string.format("nn.Conv2d(%d, %d): groups=%d must divide both channel counts", cin, cout, self.groups), 2)
  end
  local fan_in = (cin // self.groups) * kh * kw
  self.weight = kaiming_param({cout, cin // self.groups, kh, kw}, fan_in, opts)
  if opts.bias ~= false then self.bias = kaiming_param({cout}, fan_in, opts) end
end
function Conv2d:forward(x)
  return F.conv2d(x, self.weight, self.bias, self.stride, self.padding, self.groups)
end
function Conv2d:extra_repr()
  local s = string.format("%d, %d, k=%dx%d", self.in_channels, self.out_channels, self.kernel_size[1],
                          self.kernel_size[2])
  if self.stride ~= 1 then s = s .. ", stride=" .. self.stride end
  if self.padding ~= 0 then s = s .. ", padding=" .. self.padding end
  if self.groups ~= 1 then s = s .. ", groups=" .. self.groups end
  if not self.bias then s = s .. ", bias=false" end
  return s
end
function Conv2d:mult_adds(out) return F.mult_adds("conv2d", out, self.weight) end

local function pool(name, fn)
  local cls = Module:extend(name)
  function cls:init(k, opts)
    opts = opts or {}
    self.kernel_size = check_c_int("nn." .. name .. "(k)", k, 1)
    self.stride = check_c_int("nn." .. name .. ": stride", opts.stride or k, 1)
    self.padding = check_c_int("nn." .. name .. ": padding", opts.padding or 0, 0)
  end
  function cls:forward(x) return F[fn](x, self.kernel_size, self.stride, self.padding) end
  function cls:extra_repr()
    return string.format("k=%d, stride=%d, padding=%d", self.kernel_size, self.stride, self.padding)
  end
  return cls
end
nn.MaxPool2d = pool("MaxPool2d", "max_pool2d")
nn.AvgPool2d = pool("AvgPool2d", "avg_pool2d")

local function batch_norm(name, dims)
  local cls = Module:extend(name)
  function cls:init(c, opts)
    opts = opts or {}
    self.num_features = check_count("nn." .. name .. "(C)", c)
    self.eps, self.momentum = opts.eps or 1e-5, opts.momentum or 0.1
    local who = string.format("nn.%s(%d)", name, c)
    if opts.affine ~= false then
      self.weight = const_tensor({c}, 1, opts, true, who)
      self.bias = const_tensor({c}, 0, opts, true, who)
    end
    self.running_mean = const_tensor({c}, 0, opts, false, who)
    self.running_var = const_tensor({c}, 1, opts, false, who)
  end
  function cls:forward(x)
    if not dims[x:dim()] then
      error(string.format("nn.%s(%d): expects input %s, got %s", name, self.num_features, dims.doc, shape_str(x)), 2)
    end
    return F.batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias, self.training,
                        self.momentum, self.eps)
  end
  function cls:extra_repr() return string.format("%d, eps=%g, momentum=%g", self.num_features, self.eps, self.momentum) end
  function cls:mult_adds(out) return F.mult_adds("norm", out) end
  return cls
end
nn.BatchNorm1d = batch_norm("BatchNorm1d", {[2] = true, [3] = true, doc = "[N,C] or [N,C,L]"})
nn.BatchNorm2d = batch_norm("BatchNorm2d", {[4] = true, doc = "[N,C,H,W]"})

local LayerNorm = Module:extend("LayerNorm")
nn.LayerNorm = LayerNorm
function LayerNorm:init(shape, opts)
  opts = opts or {}
  if type(shape) == "number" then shape = {shape} end
  self.normalized_shape = shape
  self.eps = opts.eps or 1e-5
  if opts.elementwise_affine ~= false then
    self.weight = const_tensor(shape, 1, opts, true)
    self.bias = const_tensor(shape, 0, opts, true)
  end
end
function LayerNorm:forward(x) return F.layer_norm(x, #self.normalized_shape, self.weight, self.bias, self.eps) end
function LayerNorm:extra_repr() return "[" .. table.concat(self.normalized_shape, ",") .. "], eps=" .. self.eps end
function LayerNorm:mult_adds(out) return F.mult_adds("norm", out) end

nn.ReLU = leaf("ReLU", function(_, x) return x:relu() end)
nn.GELU = leaf("GELU", function(_, x) return x:gelu() end)
nn.Tanh = leaf("Tanh", function(_, x) return x:tanh() end)
nn.Sigmoid = leaf("Sigmoid", function(_, x) return x:sigmoid() end)
nn.Identity = leaf("Identity", function(_, x) return x end)

local Dropout = Module:extend("Dropout")
nn.Dropout = Dropout
function Dropout:init(p)
  p = p == nil and 0.5 or p
  if type(p) ~= "number" or not (p >= 0 and p <= 1) then   -- also refuses NaN
    error(string.format("nn.Dropout(p): p is the probability of zeroing an element, in [0, 1]; got %s", tostring(p)), 4)
  end
  self.p = p
end
function Dropout:forward(x) return F.dropout(x, self.p, self.training) end
function Dropout:extra_repr() return "p=" .. self.p end

-- start_dim is 1-based like every Lua dim: Flatten() = torch's Flatten(start_dim=1)
local Flatten = Module:extend("Flatten")
nn.Flatten = Flatten
function Flatten:init(start_dim, end_dim) self.start_dim, self.end_dim = start_dim or 2, end_dim or -1 end
function Flatten:forward(x) return x:flatten(self.start_dim, self.end_dim) end
function Flatten:extra_repr() return string.format("start_dim=%d, end_dim=%d", self.start_dim, self.end_dim) end

local Embedding = Module:extend("Embedding")
nn.Embedding = Embedding
function Embedding:init(n, d, opts)
  self.num_embeddings = check_count("nn.Embedding(n, d): n", n)
  self.embedding_dim = check_count("nn.Embedding(n, d): d", d)
  self.weight = new_tensor({n, d}, opts)
  F.normal_(self.weight, 0, 1)                  -- PyTorch's default N(0, 1)
  self.weight:requires_grad(true)
end
function Embedding:forward(ids) return F.embedding(self.weight, ids) end     -- ids are 1-based
function Embedding:extra_repr() return string.format("%d, %d", self.num_embeddings, self.embedding_dim) end

local Sequential = Module:extend("Sequential")
nn.Sequential = Sequential
function Sequential:init(...)
  for i, m in ipairs({...}) do
    if not is_module(m) then
      error(string.format("nn.Sequential: argument %d is a %s, not a module (did you pass nn.ReLU instead of "
                          .. "nn.ReLU()?)", i, type(m)), 3)
    end
    self[i] = m
  end
end
function Sequential:add(m) self[#self + 1] = m; return self end
-- A failing layer is named by its index path ("Sequential(2): ...", nested
-- "Sequential(1.2): ..."), the same names named_parameters() uses.
local function at_layer(i, e)
  -- Ctrl-C (the REPL's "interrupted") passes through untouched
  if type(e) ~= "string" or e:find("interrupted$") then error(e, 0) end
  e = e:gsub("^nn/lua/[%w_]+%.lua:%d+: ", "")
  local inner, rest = e:match("^Sequential%(([%d%.]+)%): (.*)$")
  if inner then error("Sequential(" .. i .. "." .. inner .. "): " .. rest, 0) end
  error("Sequential(" .. i .. "): " .. e, 0)
end

function Sequential:forward(x)
  for i = 1, #self do
    local ok, y = pcall(self[i], x)
    if not ok then at_layer(i, y) end
    x = y
  end
  return x
end
