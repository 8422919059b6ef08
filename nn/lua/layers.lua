-- layers.lua - the built-in layers: Linear, Conv2d, pooling, batch/layer norm,
-- activations, Dropout, Flatten, Embedding, Sequential. Each forward is nn.F or tensor
-- ops, so autograd derives every backward.
local nn, F = nn, nn.F
local U = require("nn.util")
local is_module, shape_str, got, check_count, check_c_int, new_tensor, kaiming_param, const_tensor =
  U.is_module, U.shape_str, U.got, U.check_count, U.check_c_int, U.new_tensor, U.kaiming_param, U.const_tensor
local Module = nn.Module
-- every options table names its keys: a misspelt one is an error naming the valid ones
local check = require("nn.check")

local function leaf(name, forward, extra)
  local cls = Module:extend(name)
  cls.forward = forward
  if extra then cls.extra_repr = extra end
  return cls
end

local Linear = Module:extend("Linear")
nn.Linear = Linear
function Linear:init(in_features, out_features, opts)
  check.check_options("nn.Linear", opts, {"bias", "device"}, 3)
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

-- the settings a convolution prints when they differ from the defaults (Conv1d, Conv2d,
-- ConvTranspose2d): ", stride=2, padding=1, groups=4, bias=false"
local function conv_settings(m)
  local s = ""
  if m.stride ~= 1 then s = s .. ", stride=" .. m.stride end
  if m.padding ~= 0 then s = s .. ", padding=" .. m.padding end
  if (m.output_padding or 0) ~= 0 then s = s .. ", output_padding=" .. m.output_padding end
  if m.groups ~= 1 then s = s .. ", groups=" .. m.groups end
  if not m.bias then s = s .. ", bias=false" end
  return s
end

local Conv2d = Module:extend("Conv2d")
nn.Conv2d = Conv2d
function Conv2d:init(cin, cout, k, opts)
  check.check_options("nn.Conv2d", opts, {"stride", "padding", "groups", "bias", "device"}, 3)
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
  return s .. conv_settings(self)
end
function Conv2d:mult_adds(out) return F.mult_adds("conv2d", out, self.weight) end

local function pool(name, fn)
  local cls = Module:extend(name)
  function cls:init(k, opts)
    check.check_options("nn." .. name, opts, {"stride", "padding"}, 3)
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
    check.check_options("nn." .. name, opts, {"eps", "momentum", "affine", "device"}, 3)
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
  check.check_options("nn.LayerNorm", opts, {"eps", "elementwise_affine", "device"}, 3)
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
  check.check_options("nn.Embedding", opts, {"device"}, 3)
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

-- ---- Conv1d, ConvTranspose2d, adaptive pooling, GroupNorm, Upsample, softmax modules ----

local function sizes_of(x)
  local s = {}
  for i = 1, x:dim() do s[i] = x:size(i) end
  return s
end

local function zeros_on(x, sizes) return tensor.zeros(sizes, {device = x:device()}) end

-- n zeros before and after x along dim (n may be 0); lo/hi < 0 crop instead
local function pad_dim(x, dim, lo, hi)
  if lo < 0 then x = x:narrow(dim, 1 - lo, x:size(dim) + lo); lo = 0 end
  if hi < 0 then x = x:narrow(dim, 1, x:size(dim) + hi); hi = 0 end
  if lo == 0 and hi == 0 then return x end
  local parts = {}
  local s = sizes_of(x)
  if lo > 0 then s[dim] = lo; parts[#parts + 1] = zeros_on(x, s) end
  parts[#parts + 1] = x
  if hi > 0 then s[dim] = hi; parts[#parts + 1] = zeros_on(x, s) end
  return tensor.cat(parts, dim)
end

-- Conv1d: (B,C,L) as a (B,C,L,1) image through conv2d with a (k,1) kernel; padding is
-- added as zeros first because conv2d pads both spatial dims alike.
local Conv1d = Module:extend("Conv1d")
nn.Conv1d = Conv1d
function Conv1d:init(cin, cout, k, opts)
  check.check_options("nn.Conv1d", opts, {"stride", "padding", "groups", "bias", "device"}, 3)
  opts = opts or {}
  self.in_channels = check_count("nn.Conv1d(in, out, k): in", cin)
  self.out_channels = check_count("nn.Conv1d(in, out, k): out", cout)
  self.kernel_size = check_c_int("nn.Conv1d(in, out, k): k", k, 1)
  self.stride = check_c_int("nn.Conv1d: stride", opts.stride or 1, 1)
  self.padding = check_c_int("nn.Conv1d: padding", opts.padding or 0, 0)
  self.groups = check_c_int("nn.Conv1d: groups", opts.groups or 1, 1)
  if cin % self.groups ~= 0 or cout % self.groups ~= 0 then
    error(string.format("nn.Conv1d(%d, %d): groups=%d must divide both channel counts", cin, cout, self.groups), 3)
  end
  local fan_in = (cin // self.groups) * k
  self.weight = kaiming_param({cout, cin // self.groups, k}, fan_in, opts)
  if opts.bias ~= false then self.bias = kaiming_param({cout}, fan_in, opts) end
end
function Conv1d:forward(x)
  local name = string.format("nn.Conv1d(%d, %d, k=%d)", self.in_channels, self.out_channels, self.kernel_size)
  local unbatched = x:dim() == 2
  if unbatched then x = x:unsqueeze(1) end
  if x:dim() ~= 3 or x:size(2) ~= self.in_channels then
    local hint = x:dim() == 3 and x:size(3) == self.in_channels and "; channels look last: x:transpose(2, 3)" or ""
    error(string.format("%s: expects [B,%d,L] (or [%d,L]), got %s%s", name, self.in_channels, self.in_channels,
                        shape_str(x), hint), 2)
  end
  if x:size(3) + 2 * self.padding < self.kernel_size then
    error(string.format("%s: input %s is shorter than the kernel (padding %d); use a longer input or more padding",
                        name, shape_str(x), self.padding), 2)
  end
  x = pad_dim(x, 3, self.padding, self.padding)
  local y = F.conv2d(x:unsqueeze(4), self.weight:unsqueeze(4), self.bias, self.stride, 0, self.groups):squeeze(4)
  return unbatched and y:squeeze(1) or y
end
function Conv1d:extra_repr()
  local s = string.format("%d, %d, k=%d", self.in_channels, self.out_channels, self.kernel_size)
  return s .. conv_settings(self)
end
function Conv1d:mult_adds(out) return out:numel() * (self.in_channels // self.groups) * self.kernel_size end

-- s-1 zeros between neighbours along dim: (..., n, ...) -> (..., (n-1)s+1, ...)
local function dilate(x, dim, s)
  if s == 1 then return x end
  local n = x:size(dim)
  local xu = x:unsqueeze(dim + 1)
  local zs = sizes_of(xu)
  zs[dim + 1] = s - 1
  local sizes = sizes_of(x)
  sizes[dim] = n * s
  return tensor.cat({xu, zeros_on(x, zs)}, dim + 1):reshape(sizes):narrow(dim, 1, (n - 1) * s + 1)
end

-- ConvTranspose2d: the adjoint of Conv2d (its backward with respect to the input), built as
-- a stride-1 conv2d of the zero-dilated, padded input with the flipped kernel, so
-- autograd derives its own backward. Weight [in, out/groups, kh, kw] like PyTorch;
-- output (H-1)*stride - 2*padding + kh + output_padding.
local ConvT = Module:extend("ConvTranspose2d")
nn.ConvTranspose2d = ConvT
function ConvT:init(cin, cout, k, opts)
  check.check_options("nn.ConvTranspose2d", opts, {"stride", "padding", "output_padding", "groups", "bias", "device"}, 3)
  opts = opts or {}
  local kh, kw = k, k
  if type(k) == "table" then kh, kw = k[1], k[2] end
  local what = "nn.ConvTranspose2d(in, out, k)"
  self.in_channels = check_count(what .. ": in", cin)
  self.out_channels = check_count(what .. ": out", cout)
  self.kernel_size = {check_c_int(what .. ": k", kh, 1), check_c_int(what .. ": k", kw, 1)}
  self.stride = check_c_int("nn.ConvTranspose2d: stride", opts.stride or 1, 1)
  self.padding = check_c_int("nn.ConvTranspose2d: padding", opts.padding or 0, 0)
  self.output_padding = check_c_int("nn.ConvTranspose2d: output_padding", opts.output_padding or 0, 0)
  self.groups = check_c_int("nn.ConvTranspose2d: groups", opts.groups or 1, 1)
  if cin % self.groups ~= 0 or cout % self.groups ~= 0 then
    error(string.format("nn.ConvTranspose2d(%d, %d): groups=%d must divide both channel counts", cin, cout,
                        self.groups), 3)
  end
  if self.output_padding >= self.stride then
    error(string.format("nn.ConvTranspose2d: output_padding=%d must be smaller than stride=%d", self.output_padding,
                        self.stride), 3)
  end
  -- PyTorch's fan_in for a transposed conv is weight.size(1) * kh * kw
  local fan_in = (cout // self.groups) * kh * kw
  self.weight = kaiming_param({cin, cout // self.groups, kh, kw}, fan_in, opts)
  if opts.bias ~= false then self.bias = kaiming_param({cout}, fan_in, opts) end
end
function ConvT:forward(x)
  local kh, kw = self.kernel_size[1], self.kernel_size[2]
  local name = string.format("nn.ConvTranspose2d(%d, %d, k=%dx%d)", self.in_channels, self.out_channels, kh, kw)
  if x:dim() ~= 4 or x:size(2) ~= self.in_channels then
    error(string.format("%s: expects [B,%d,H,W], got %s%s", name, self.in_channels, shape_str(x),
                        x:dim() == 3 and "; add a batch dim with x:unsqueeze(1)" or ""), 2)
  end
  local s, p, op, g = self.stride, self.padding, self.output_padding, self.groups
  local oh, ow = (x:size(3) - 1) * s - 2 * p + kh + op, (x:size(4) - 1) * s - 2 * p + kw + op
  if oh < 1 or ow < 1 then
    error(string.format("%s: input %s with stride %d, padding %d gives no output (%dx%d); use less padding", name,
                        shape_str(x), s, p, oh, ow), 2)
  end
  local d = dilate(dilate(x, 3, s), 4, s)
  d = pad_dim(pad_dim(d, 3, kh - 1 - p, kh - 1 - p + op), 4, kw - 1 - p, kw - 1 - p + op)
  local w = self.weight
  local function reversed(n)
    local idx = {}
    for i = 1, n do idx[i] = n + 1 - i end
    return tensor.tensor(idx, {device = w:device()})
  end
  w = w:index_select(3, reversed(kh)):index_select(4, reversed(kw))
  local cin_g, cout_g = self.in_channels // g, self.out_channels // g
  w = w:reshape(g, cin_g, cout_g, kh, kw):transpose(2, 3):reshape(g * cout_g, cin_g, kh, kw)
  return F.conv2d(d, w, self.bias, 1, 0, g)
end
function ConvT:extra_repr()
  local s = string.format("%d, %d, k=%dx%d", self.in_channels, self.out_channels, self.kernel_size[1],
                          self.kernel_size[2])
  return s .. conv_settings(self)
end
-- each input value is multiplied into a kh x kw x out/groups patch
function ConvT:mult_adds(out, x)
  return x:numel() * (self.out_channels // self.groups) * self.kernel_size[1] * self.kernel_size[2]
end

-- mean over PyTorch's adaptive bins along dim: bin i spans [floor(i n/out), ceil((i+1) n/out))
local function adaptive_mean(x, dim, out)
  local n = x:size(dim)
  if n == out then return x end
  if n % out == 0 then                           -- equal bins: one reshape and one mean
    local s = sizes_of(x)
    s[dim] = n // out
    table.insert(s, dim, out)
    return x:reshape(s):mean(dim + 1)
  end
  local parts = {}
  for i = 0, out - 1 do
    local a, b = (i * n) // out, -((-(i + 1) * n) // out)
    parts[#parts + 1] = x:narrow(dim, a + 1, b - a):mean(dim, true)
  end
  return tensor.cat(parts, dim)
end

-- AdaptiveAvgPool2d(size | {oh, ow}): any [B,C,H,W] (or [C,H,W]) to a fixed oh x ow; bins
-- are rectangles, so rows then columns give their exact means.
local Adaptive = Module:extend("AdaptiveAvgPool2d")
nn.AdaptiveAvgPool2d = Adaptive
function Adaptive:init(size)
  local oh, ow = size, size
  if type(size) == "table" then oh, ow = size[1], size[2] end
  self.output_size = {check_count("nn.AdaptiveAvgPool2d(size): size", oh), check_count("nn.AdaptiveAvgPool2d(size): size", ow)}
end
function Adaptive:forward(x)
  local oh, ow = self.output_size[1], self.output_size[2]
  if x:dim() ~= 4 and x:dim() ~= 3 then
    error(string.format("nn.AdaptiveAvgPool2d(%dx%d): expects [B,C,H,W] or [C,H,W], got %s", oh, ow, shape_str(x)), 2)
  end
  local dh, dw = x:dim() - 1, x:dim()
  if x:size(dh) < oh or x:size(dw) < ow then
    error(string.format("nn.AdaptiveAvgPool2d(%dx%d): input %s is smaller than the output; every bin needs a pixel",
                        oh, ow, shape_str(x)), 2)
  end
  return adaptive_mean(adaptive_mean(x, dh, oh), dw, ow)
end
function Adaptive:extra_repr() return string.format("output_size=%dx%d", self.output_size[1], self.output_size[2]) end
function Adaptive:mult_adds(out, x) return x:numel() end

-- GroupNorm(groups, C): normalises each group of C/groups channels of a sample over those
-- channels and all positions (layer norm of a [N, groups, C/groups*...] view), then a
-- per-channel affine.
local GroupNorm = Module:extend("GroupNorm")
nn.GroupNorm = GroupNorm
function GroupNorm:init(groups, c, opts)
  check.check_options("nn.GroupNorm", opts, {"eps", "affine", "device"}, 3)
  opts = opts or {}
  self.num_groups = check_count("nn.GroupNorm(groups, C): groups", groups)
  self.num_channels = check_count("nn.GroupNorm(groups, C): C", c)
  if c % groups ~= 0 then
    error(string.format("nn.GroupNorm(%d, %d): groups must divide the channels", groups, c), 3)
  end
  self.eps = opts.eps or 1e-5
  if opts.affine ~= false then
    self.weight = const_tensor({c}, 1, opts, true)
    self.bias = const_tensor({c}, 0, opts, true)
  end
end
function GroupNorm:forward(x)
  local G, C = self.num_groups, self.num_channels
  if x:dim() < 2 or x:size(2) ~= C then
    error(string.format("nn.GroupNorm(%d, %d): expects [N,%d,...], got %s", G, C, C, shape_str(x)), 2)
  end
  local y = F.layer_norm(x:reshape(x:size(1), G, -1), 1, nil, nil, self.eps):reshape(sizes_of(x))
  if not self.weight then return y end
  local s = {C}
  for i = 3, x:dim() do s[i - 1] = 1 end
  return y * self.weight:reshape(s) + self.bias:reshape(s)
end
function GroupNorm:extra_repr() return string.format("%d, %d, eps=%g", self.num_groups, self.num_channels, self.eps) end
function GroupNorm:mult_adds(out) return F.mult_adds("norm", out) end

-- a float32 value, so index arithmetic rounds where PyTorch's does
local function f32(v) return (string.unpack("f", string.pack("f", v))) end

-- resample dim (3 or 4 of [B,C,H,W]) to out entries; scale = in/out (or 1/scale_factor)
local function resample(x, dim, out, scale, mode)
  local n = x:size(dim)
  local dev = {device = x:device()}
  if mode == "nearest" then
    local idx = {}
    for j = 0, out - 1 do idx[j + 1] = math.min(math.floor(f32(j * scale)), n - 1) + 1 end
    return x:index_select(dim, tensor.tensor(idx, dev))
  end
  -- bilinear, align_corners=false: source = (j + 0.5) * scale - 0.5, at least 0
  local i0, i1, w0, w1 = {}, {}, {}, {}
  for j = 0, out - 1 do
    local src = math.max(f32(f32(scale * (j + 0.5)) - 0.5), 0)
    local a = math.floor(src)
    local l = f32(src - a)
    i0[j + 1], i1[j + 1] = a + 1, (a < n - 1 and a + 1 or a) + 1
    w0[j + 1], w1[j + 1] = 1 - l, l
  end
  local shape = dim == x:dim() and {out} or {out, 1}
  local a = x:index_select(dim, tensor.tensor(i0, dev))
  local b = x:index_select(dim, tensor.tensor(i1, dev))
  return a * tensor.tensor(w0, dev):reshape(shape) + b * tensor.tensor(w1, dev):reshape(shape)
end

-- nn.interpolate(x, {size= | scale_factor=, mode="nearest"|"bilinear", align_corners=false})
-- on [B,C,H,W] (or [C,H,W]); PyTorch's index rules, bilinear without aligned corners.
function nn.interpolate(x, opts)
  check.check_options("nn.interpolate", opts, {"size", "scale_factor", "mode", "align_corners"}, 2)
  opts = opts or {}
  local mode = opts.mode or "nearest"
  if mode ~= "nearest" and mode ~= "bilinear" then
    error("nn.interpolate: mode is \"nearest\" or \"bilinear\", got " .. check.describe(mode), 2)
  end
  if opts.align_corners then
    error("nn.interpolate: align_corners=true is not supported; use the default false (PyTorch's default too)", 2)
  end
  if not tensor.is_tensor(x) or (x:dim() ~= 4 and x:dim() ~= 3) then
    error("nn.interpolate: expects an image [B,C,H,W] or [C,H,W], got " .. check.describe(x), 2)
  end
  local dh, dw = x:dim() - 1, x:dim()
  local H, W = x:size(dh), x:size(dw)
  local oh, ow, sh, sw
  if opts.size then
    oh, ow = opts.size, opts.size
    if type(opts.size) == "table" then oh, ow = opts.size[1], opts.size[2] end
    check_count("nn.interpolate: size", oh)
    check_count("nn.interpolate: size", ow)
    sh, sw = f32(H / oh), f32(W / ow)
  elseif opts.scale_factor then
    local fh, fw = opts.scale_factor, opts.scale_factor
    if type(fh) == "table" then fh, fw = fh[1], fh[2] end
    if type(fh) ~= "number" or type(fw) ~= "number" or fh <= 0 or fw <= 0 then
      error("nn.interpolate: scale_factor must be a number > 0 (or {fh, fw})", 2)
    end
    oh, ow = math.floor(H * fh), math.floor(W * fw)
    sh, sw = f32(1 / fh), f32(1 / fw)
  else
    error("nn.interpolate: give size = {h, w} or scale_factor = s", 2)
  end
  return resample(resample(x, dh, oh, sh, mode), dw, ow, sw, mode)
end

local Upsample = Module:extend("Upsample")
nn.Upsample = Upsample
-- nn.Upsample({size= | scale_factor=, mode="nearest"|"bilinear"}) or nn.Upsample(scale_factor)
function Upsample:init(opts)
  if type(opts) == "number" then opts = {scale_factor = opts} end
  check.check_options("nn.Upsample", opts, {"size", "scale_factor", "mode", "align_corners"}, 3)
  opts = opts or {}
  if not opts.size and not opts.scale_factor then error("nn.Upsample: give {size = {h, w}} or {scale_factor = s}", 3) end
  self.size, self.scale_factor, self.mode, self.align_corners = opts.size, opts.scale_factor, opts.mode or "nearest",
                                                                 opts.align_corners
end
function Upsample:forward(x)
  return nn.interpolate(x, {size = self.size, scale_factor = self.scale_factor, mode = self.mode,
                            align_corners = self.align_corners})
end
function Upsample:extra_repr()
  local s = self.size and ("size=" .. (type(self.size) == "table" and table.concat(self.size, "x") or self.size))
            or ("scale_factor=" .. (type(self.scale_factor) == "table" and table.concat(self.scale_factor, "x")
                                    or tostring(self.scale_factor)))
  return s .. ", mode=" .. self.mode
end
-- bilinear: two products per output value
function Upsample:mult_adds(out) return self.mode == "bilinear" and 2 * out:numel() or 0 end

local function softmax_module(name, method)
  local cls = Module:extend(name)
  function cls:init(dim)
    if dim ~= nil and (math.type(dim) ~= "integer" and not (type(dim) == "number" and dim % 1 == 0) or dim == 0) then
      error(string.format("nn.%s(dim): dim is a 1-based dim (or negative from the end), got %s", name,
                          check.describe(dim)), 3)
    end
    self.dim = dim and math.tointeger(dim) or -1
  end
  function cls:forward(x) return x[method](x, self.dim) end
  function cls:extra_repr() return "dim=" .. self.dim end
  return cls
end
nn.Softmax = softmax_module("Softmax", "softmax")
nn.LogSoftmax = softmax_module("LogSoftmax", "log_softmax")

-- ---- parametrised activations on the tensor library's elementwise ops -----------------
-- nn.NAME(args...) -> a module calling x:method(args...); each arg a finite number
local function activation(name, method, params, repr)
  local cls = Module:extend(name)
  local names = {}
  for i, p in ipairs(params) do names[i] = p[1] end
  local signature = "nn." .. name .. "(" .. table.concat(names, ", ") .. ")"
  function cls:init(...)
    local args = {...}
    if #args > #params then
      error(string.format("%s: takes %d argument(s), got %d", signature, #params, #args), 3)
    end
    for i, p in ipairs(params) do
      local v = args[i]
      if v == nil then v = p[2] end
      if type(v) ~= "number" or v ~= v or v == math.huge or v == -math.huge then
        error(string.format("%s: %s must be a finite number, got %s", signature, p[1], check.describe(v)), 3)
      end
      self[p[1]] = v
    end
    if name == "Hardtanh" and self.min_val > self.max_val then
      error(string.format("nn.Hardtanh(min_val, max_val): min_val %g is above max_val %g", self.min_val, self.max_val), 3)
    end
  end
  function cls:forward(x)
    local a = {}
    for i, p in ipairs(params) do a[i] = self[p[1]] end
    return x[method](x, table.unpack(a))
  end
  function cls:extra_repr()
    local parts = {}
    for i, p in ipairs(params) do parts[i] = (repr and p[1] .. "=" or "") .. string.format("%g", self[p[1]]) end
    return table.concat(parts, ", ")
  end
  return cls
end
nn.LeakyReLU = activation("LeakyReLU", "leaky_relu", {{"negative_slope", 0.01}}, true)
nn.ELU = activation("ELU", "elu", {{"alpha", 1}}, true)
nn.SiLU = activation("SiLU", "silu", {})
nn.Softplus = activation("Softplus", "softplus", {{"beta", 1}, {"threshold", 20}}, true)
nn.Hardtanh = activation("Hardtanh", "hardtanh", {{"min_val", -1}, {"max_val", 1}}, true)

require("nn.rnn")
