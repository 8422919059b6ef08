-- nn.lua - modules, layers, losses and the model summary, on top of nn.F (nn/*.c).
-- A module is a Lua table whose fields are tensors (parameters when they require
-- grad, buffers otherwise), child modules, or plain tables of those. Fields are
-- remembered in the order they were set, so names and parameter order are stable
-- ("1.weight", "encoder.fc.weight") like PyTorch's registration order.
local nn = nn or {}          -- repl_open_nn made the global with nn.F before loading us
local F = assert(nn.F, "nn.lua: load through repl_open_nn (nn.F missing)")
local hints = require("hints")

local function is_tensor(v) return tensor.is_tensor(v) end

local function is_module(v)
  return type(v) == "table" and rawget(v, "_keys") ~= nil and getmetatable(v) ~= nil
end

local function fmt_int(n)
  local s = tostring(math.floor(n))
  local neg = s:sub(1, 1) == "-"
  if neg then s = s:sub(2) end
  s = s:reverse():gsub("(%d%d%d)", "%1,"):reverse():gsub("^,", "")
  return (neg and "-" or "") .. s
end

local function shape_str(t)
  local parts = {}
  for i = 1, t:dim() do parts[i] = tostring(t:size(i)) end
  return "[" .. table.concat(parts, ",") .. "]"
end

-- ---- Module ------------------------------------------------------------------------
local Module = {__name = "Module"}
Module.__index = Module
nn.Module = Module

-- records each new field's key, so iteration follows registration order
function Module.__newindex(self, k, v)
  rawset(self, k, v)
  local set = rawget(self, "_keyset")
  if set and not set[k] then
    set[k] = true
    local keys = rawget(self, "_keys")
    keys[#keys + 1] = k
  end
end

local METAMETHODS = {"__call", "__tostring", "__newindex", "__len"}

local function class_call(cls, ...) return cls:new(...) end
local function class_tostring(cls) return "nn." .. cls.__name .. " (a module class; call it to make one)" end

setmetatable(Module, {__call = class_call, __tostring = class_tostring})

-- nn.Module:extend("MyNet") -> a class; define M:init(...) and M:forward(...)
function Module:extend(name)
  local cls = {}
  for _, k in ipairs(METAMETHODS) do cls[k] = self[k] end
  cls.__index = cls
  cls.__name = name or "Module"
  return setmetatable(cls, {__index = self, __call = class_call, __tostring = class_tostring})
end

function Module:new(...)
  if nn._rearm then nn._rearm() end   -- a dashboard wants this model's first forward
  local obj = setmetatable({_keys = {}, _keyset = {}, training = true}, self)
  obj:init(...)
  return obj
end

function Module:init() end

function Module:forward()
  error(self.__name .. ":forward is not defined; write function " .. self.__name .. ":forward(x) ... end", 2)
end

-- An error raised inside nn.lua is re-raised at the caller's line, so a learner sees
-- where their code called the layer rather than a line of nn.lua.
local function raise_at_caller(e)
  if type(e) == "string" then
    local msg, n = e:gsub("^[^:\n]*nn%.lua:%d+: ", "", 1)
    if n > 0 then error(msg, 3) end            -- 1 here, 2 __call, 3 whoever called the module
  end
  error(e, 0)
end

-- A forward's own mistakes (self.fc.forward(x), x:tranpose()) are explained where they
-- happen, while the stack still shows them; the message then travels up as usual.
local function explained(e)
  if type(e) ~= "string" then return e end
  local ok, h = pcall(hints.explain, e)
  return ok and h or e
end

-- The summary (and anyone else) may set nn._hook to see every module call.
function Module:__call(...)
  local hook = nn._hook
  if hook then return hook(self, ...) end
  local w = nn._watch          -- a dashboard notes each module's first input shape
  if w then w(self, ...) end
  if tensor.detect_anomaly() then return self:_call_named(...) end
  local res = table.pack(xpcall(self.forward, explained, self, ...))
  if not res[1] then raise_at_caller(res[2]) end
  return table.unpack(res, 2, res.n)
end

-- With tensor.detect_anomaly(true): the ops of this call remember the layer's name, so
-- a NaN gradient is reported as "inside Linear(in=32, out=8)", not only by its op.
function Module:_call_named(...)
  local outer = nn._scope
  local name = tostring(self):match("^[^\n]*")
  nn._scope = name
  tensor._set_scope(name)
  local res = table.pack(xpcall(self.forward, explained, self, ...))
  nn._scope = outer
  tensor._set_scope(outer)
  if not res[1] then raise_at_caller(res[2]) end
  return table.unpack(res, 2, res.n)
end

-- keys of a module (registration order) or of a plain table (array part, then sorted)
local function keys_of(obj)
  local keys = rawget(obj, "_keys")
  if keys then return keys end
  local out, strs = {}, {}
  for i = 1, #obj do out[#out + 1] = i end
  for k in pairs(obj) do
    if type(k) ~= "number" or k < 1 or k > #obj or k % 1 ~= 0 then strs[#strs + 1] = k end
  end
  table.sort(strs, function(a, b) return tostring(a) < tostring(b) end)
  for _, k in ipairs(strs) do out[#out + 1] = k end
  return out
end

-- Visits every tensor slot under obj: on_tensor(holder, key, tensor, name) and each
-- module on_module(module, name), depth first in registration order.
local function walk(obj, prefix, on_tensor, on_module, seen)
  for _, k in ipairs(keys_of(obj)) do
    local v = rawget(obj, k)
    local name = prefix .. tostring(k)
    if v == nil or (type(k) == "string" and k:sub(1, 1) == "_") then
      -- private or removed field
    elseif is_tensor(v) then
      if on_tensor then on_tensor(obj, k, v, name) end
    elseif type(v) == "table" and not seen[v] then
      if is_module(v) then
        seen[v] = true
        if on_module then on_module(v, name) end
        walk(v, name .. ".", on_tensor, on_module, seen)
      elseif getmetatable(v) == nil then        -- a plain list/table of modules or tensors
        seen[v] = true
        walk(v, name .. ".", on_tensor, on_module, seen)
      end
    end
  end
end

function Module:_walk(on_tensor, on_module)
  walk(self, "", on_tensor, on_module, {[self] = true})
end

-- iterator over a list of {name, value} pairs, in order
local function each_pair(list)
  local i = 0
  return function()
    i = i + 1
    if list[i] then return list[i][1], list[i][2] end
  end
end

-- iterator over (name, parameter); each tensor once even when shared
function Module:named_parameters()
  local list, seen = {}, {}
  self:_walk(function(_, _, t, name)
    if F.requires_grad(t) and not seen[t] then
      seen[t] = true
      list[#list + 1] = {name, t}
    end
  end)
  return each_pair(list)
end

function Module:parameters()
  local out = {}
  for _, p in self:named_parameters() do out[#out + 1] = p end
  return out
end

-- iterator over (name, module), the module itself first with name ""
function Module:named_modules()
  local list = {{"", self}}
  self:_walk(nil, function(m, name) list[#list + 1] = {name, m} end)
  return each_pair(list)
end

-- direct children, in order (modules inside a plain table field count as children)
function Module:children()
  local out = {}
  local function scan(obj, seen)
    for _, k in ipairs(keys_of(obj)) do
      local v = rawget(obj, k)
      if type(k) == "string" and k:sub(1, 1) == "_" then v = nil end
      if is_module(v) then out[#out + 1] = v
      elseif type(v) == "table" and getmetatable(v) == nil and not seen[v] then
        seen[v] = true
        scan(v, seen)
      end
    end
  end
  scan(self, {})
  return out
end

function Module:train(mode)
  if mode == nil then mode = true end
  for _, m in self:named_modules() do rawset(m, "training", mode and true or false) end
  return self
end

function Module:eval() return self:train(false) end

function Module:zero_grad()
  for _, p in self:named_parameters() do p:zero_grad() end
end

-- the number of parameters (tensors that require grad), each shared tensor once; one
-- value, like sum(p.numel() for p in m.parameters()) (it used to print "97 97")
function Module:num_params()
  local total, seen = 0, {}
  self:_walk(function(_, _, t)
    if not seen[t] and F.requires_grad(t) then
      seen[t] = true
      total = total + t:numel()
    end
  end)
  return total
end

-- a tensor on dev; parameters stay leaves that require grad
local function moved(t, dev)
  if t:device() == dev then return t end
  local rg = F.requires_grad(t)
  local n = t:detach():to(dev)
  if rg then n:requires_grad(true) end
  return n
end

-- Moves every parameter and buffer; returns a function that puts the originals back.
function Module:_swap_to(dev)
  local undo, done = {}, {}   -- done: a weight shared by two layers (b.weight = a.weight) stays shared
  self:_walk(function(holder, k, t)
    undo[#undo + 1] = {holder, k, t}
    done[t] = done[t] or moved(t, dev)
    rawset(holder, k, done[t])
  end)
  return function()
    for _, u in ipairs(undo) do rawset(u[1], u[2], u[3]) end
  end
end

-- Moves the model (make the optimizer after moving, as in PyTorch).
function Module:to(dev)
  self:_swap_to(dev)
  return self
end
function Module:cuda() return self:to("cuda") end
function Module:cpu() return self:to("cpu") end

-- name -> tensor for parameters and buffers; the second result lists the names in order
function Module:state_dict()
  local sd, names = {}, {}
  self:_walk(function(_, _, t, name)
    if sd[name] == nil then
      sd[name] = t
      names[#names + 1] = name
    end
  end)
  return sd, names
end

function Module:load_state_dict(sd, what)
  what = what or "load_state_dict"
  local own, names = self:state_dict()
  local missing, extra = {}, {}
  for _, name in ipairs(names) do if sd[name] == nil then missing[#missing + 1] = name end end
  for name in pairs(sd) do if own[name] == nil then extra[#extra + 1] = name end end
  table.sort(extra)
  if #missing > 0 or #extra > 0 then
    local msg = what .. ":"
    if #missing > 0 then msg = msg .. " missing key(s) " .. table.concat(missing, ", ") .. ";" end
    if #extra > 0 then msg = msg .. " unexpected key(s) " .. table.concat(extra, ", ") .. ";" end
    error(msg .. " the model has " .. table.concat(names, ", "), 2)
  end
  for _, name in ipairs(names) do
    local dst, src = own[name], sd[name]
    if not is_tensor(src) then error(what .. ": " .. name .. " is a " .. type(src) .. ", not a tensor", 2) end
    if shape_str(dst) ~= shape_str(src) then
      error(string.format("%s: %s has shape %s in the file but %s in the model", what, name, shape_str(src),
                          shape_str(dst)), 2)
    end
  end
  tensor.no_grad(function()   -- parameters are leaves that require grad: written outside autograd
    for _, name in ipairs(names) do
      local dst, src = own[name], sd[name]
      if src:device() ~= dst:device() then src = src:to(dst:device()) end
      dst:copy(src)
    end
  end)
  return self
end

function Module:save(path)
  tensor.save(path, (self:state_dict()))
  return self
end

function Module:load(path)
  return self:load_state_dict(tensor.load(path), "load('" .. tostring(path) .. "')")
end

-- help(m) for a module: what it is, its layers, parameters and how to call forward
function Module:_help()
  local cls = getmetatable(self)
  local out = {}
  local name = rawget(cls, "__name") or "Module"
  local builtin = rawequal(nn[name], cls)
  out[#out + 1] = string.format("a module: %s%s, %s parameters", name,
                                builtin and (" (nn." .. name .. ", see help(nn." .. name .. "))") or " (your class)",
                                fmt_int(self:num_params()))
  for line in tostring(self):gmatch("[^\n]+") do out[#out + 1] = "  " .. line end
  local params = {}
  for pname, p in self:named_parameters() do params[#params + 1] = "  " .. pname .. "  " .. shape_str(p) end
  if #params > 0 then
    out[#out + 1] = "parameters (m:named_parameters()):"
    for i = 1, math.min(#params, 12) do out[#out + 1] = params[i] end
    if #params > 12 then out[#out + 1] = string.format("  ... %d more", #params - 12) end
  end
  local fwd = self.forward
  local args = {}
  if type(fwd) == "function" then
    local info = debug.getinfo(fwd, "u")
    for i = 2, info.nparams do args[#args + 1] = debug.getlocal(fwd, i) or "?" end
    if info.isvararg then args[#args + 1] = "..." end
  end
  local a = table.concat(args, ", ")
  out[#out + 1] = string.format("call it: y = m(%s)   (runs %s:forward(%s))", a, name, a)
  out[#out + 1] = "methods: m:parameters(), m:train(), m:eval(), m:zero_grad(), m:to(dev), m:save(path); help(nn.Module)"
  return table.concat(out, "\n")
end

function Module:extra_repr() return "" end

-- like PyTorch's repr: Name(extra) for leaves, a nested tree for containers
function Module:__tostring()
  local function render(m, indent)
    local lines = {}
    local function child(name, c)
      lines[#lines + 1] = indent .. "  (" .. name .. "): " .. render(c, indent .. "  ")
    end
    local function scan(obj, prefix, seen)
      for _, k in ipairs(keys_of(obj)) do
        local v = rawget(obj, k)
        if type(k) == "string" and k:sub(1, 1) == "_" then v = nil end
        if is_module(v) then child(prefix .. tostring(k), v)
        elseif type(v) == "table" and getmetatable(v) == nil and not seen[v] then
          seen[v] = true
          scan(v, prefix .. tostring(k) .. ".", seen)
        end
      end
    end
    scan(m, "", {})
    local extra = m:extra_repr()
    if #lines == 0 then return m.__name .. "(" .. extra .. ")" end
    local head = m.__name .. "(" .. (extra ~= "" and (extra .. ",") or "")
    return head .. "\n" .. table.concat(lines, "\n") .. "\n" .. indent .. ")"
  end
  return render(self, "")
end

-- Own mult-adds of one call (children count themselves); out is the output.
function Module:mult_adds(out, ...) return 0 end

-- ---- helpers for built-ins ----------------------------------------------------------
-- "got the string "10"; write 10 without quotes" for a number in quotes
local function got(v)
  local fix = type(v) == "string" and tonumber(v) and ("; write " .. v .. " without quotes") or ""
  return hints.describe(v) .. fix
end

local function check_count(what, v, min)
  if type(v) ~= "number" or v % 1 ~= 0 or v < (min or 1) then
    error(string.format("%s: expected an integer >= %d, got %s", what, min or 1, got(v)), 3)
  end
  return v
end

-- stride, padding, groups and pooling windows run as C ints: refuse what does not fit
-- (padding = 2^40 used to act as 0, stride = 2^32+1 as 1)
local C_INT_MAX = 2147483647
local function check_c_int(what, v, min)
  if type(v) ~= "number" or v % 1 ~= 0 or v < min or v > C_INT_MAX then
    -- level 4: past init and Module:new (nn.Conv2d(...) tail-calls new), at the learner's line
    error(string.format("%s: expected an integer in %d..%d, got %s", what, min, C_INT_MAX,
                        math.type(v) == "float" and v % 1 == 0 and string.format("%.0f", v)
                        or type(v) == "number" and tostring(v) or got(v)), 4)
  end
  return math.tointeger(v)
end

-- who (optional): the layer named in an allocation error instead of tensor.empty; the
-- error points at the learner's line (new_tensor <- const_tensor <- init <- new <- caller)
local function new_tensor(sizes, opts, who)
  if not who then return tensor.empty(sizes, {device = opts and opts.device}) end
  local ok, t = pcall(function() return tensor.empty(sizes, {device = opts and opts.device}) end)
  if not ok then error((tostring(t):gsub("^.-tensor%.empty: ", who .. ": ", 1)), 5) end
  return t
end

-- U(-1/sqrt(fan_in), 1/sqrt(fan_in)), PyTorch's default for Linear/Conv
local function kaiming_param(sizes, fan_in, opts)
  local t = new_tensor(sizes, opts)
  F.kaiming_uniform_(t, fan_in)
  return t:requires_grad(true)
end

local function const_tensor(sizes, value, opts, trainable, who)
  local t = new_tensor(sizes, opts, who):fill(value)
  if trainable then t:requires_grad(true) end
  return t
end

local function leaf(name, forward, extra)
  local cls = Module:extend(name)
  cls.forward = forward
  if extra then cls.extra_repr = extra end
  return cls
end

-- ---- layers ---------------------------------------------------------------------------
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
  e = e:gsub("^repl/lua/[%w_]+%.lua:%d+: ", "")
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

-- ---- attention ----------------------------------------------------------------------
local function check_tokens(name, x, d)
  if x:dim() ~= 3 or x:size(3) ~= d then
    local hint = x:dim() == 2 and "; add a batch dim with x:unsqueeze(1)" or ""
    error(string.format("%s: expects [B,T,%d] (batch first), got %s%s", name, d, shape_str(x), hint), 3)
  end
end

-- (B,T,d) -> (B,heads,T,d/heads)
local function split_heads(x, heads)
  local B, T, d = x:size(1), x:size(2), x:size(3)
  return x:reshape(B, T, heads, d // heads):transpose(2, 3)
end

-- (d, heads) of an attention layer: positive, and d splits evenly into the heads
local function check_heads(name, d, heads)
  check_count(name .. "(d, heads): d", d)
  check_count(name .. "(d, heads): heads", heads)
  if d % heads ~= 0 then error(string.format("%s(%d, %d): d must be divisible by heads", name, d, heads), 3) end
  return d, heads
end

local function merge_heads(x)
  local B, h, T, dh = x:size(1), x:size(2), x:size(3), x:size(4)
  return x:transpose(2, 3):reshape(B, T, h * dh)
end

-- Parameters named like PyTorch's nn.MultiheadAttention (in_proj_weight [3d,d],
-- in_proj_bias, out_proj), batch first: forward(q[, k[, v]][, {causal=true}]).
local MHA = Module:extend("MultiheadAttention")
nn.MultiheadAttention = MHA
function MHA:init(d, heads, opts)
  opts = opts or {}
  self.embed_dim, self.num_heads = check_heads("nn.MultiheadAttention", d, heads)
  self.in_proj_weight = new_tensor({3 * d, d}, opts)
  F.xavier_uniform_(self.in_proj_weight, d, 3 * d)
  self.in_proj_weight:requires_grad(true)
  if opts.bias ~= false then self.in_proj_bias = const_tensor({3 * d}, 0, opts, true) end
  self.out_proj = Linear(d, d, opts)
  if opts.bias ~= false then tensor.no_grad(function() self.out_proj.bias:zero() end) end
end
function MHA:forward(q, k, v, opts)
  if type(k) == "table" and not is_tensor(k) then opts, k, v = k, nil, nil end
  if type(v) == "table" and not is_tensor(v) then opts, v = v, nil end
  k = k or q
  v = v or k
  local d, name = self.embed_dim, "nn.MultiheadAttention(" .. self.embed_dim .. ", " .. self.num_heads .. ")"
  check_tokens(name, q, d); check_tokens(name, k, d); check_tokens(name, v, d)
  local W, b = self.in_proj_weight, self.in_proj_bias
  local function proj(x, i)
    return F.linear(x, W:narrow(1, (i - 1) * d + 1, d), b and b:narrow(1, (i - 1) * d + 1, d))
  end
  local qh = split_heads(proj(q, 1), self.num_heads)
  local kh = split_heads(proj(k, 2), self.num_heads)
  local vh = split_heads(proj(v, 3), self.num_heads)
  local o = F.scaled_dot_attention(qh, kh, vh, opts and opts.causal)
  return self.out_proj(merge_heads(o))
end
function MHA:extra_repr() return string.format("d=%d, heads=%d", self.embed_dim, self.num_heads) end
-- in-projections plus the attention itself (out_proj counts as its own row)
function MHA:mult_adds(out, q, k)
  k = (is_tensor(k) and k) or q
  local B, T, S, d = q:size(1), q:size(2), k:size(2), self.embed_dim
  return B * T * d * d + 2 * B * S * d * d + F.attention_macs(B * self.num_heads, T, S, d // self.num_heads,
                                                             d // self.num_heads)
end

-- Cross-covariance attention (XCiT): the attention map is (d/heads)^2 per head.
local XCA = Module:extend("XCA")
nn.XCA = XCA
function XCA:init(d, heads, opts)
  opts = opts or {}
  self.dim, self.num_heads = check_heads("nn.XCA", d, heads)
  self.qkv = Linear(d, 3 * d, {bias = opts.qkv_bias or false, device = opts.device})
  self.temperature = const_tensor({heads, 1, 1}, 1, opts, true)
  self.proj = Linear(d, d, opts)
end
function XCA:forward(x)
  check_tokens("nn.XCA(" .. self.dim .. ", " .. self.num_heads .. ")", x, self.dim)
  local B, N, C, h = x:size(1), x:size(2), x:size(3), self.num_heads
  local qkv = self.qkv(x):reshape(B, N, 3, h, C // h):permute(3, 1, 4, 2, 5)    -- (3,B,h,N,c)
  local o = F.xca(qkv[1], qkv[2], qkv[3], self.temperature)                     -- (B,h,N,c)
  return self.proj(merge_heads(o))
end
function XCA:extra_repr() return string.format("d=%d, heads=%d", self.dim, self.num_heads) end
function XCA:mult_adds(out, x)
  local B, N, c = x:size(1), x:size(2), self.dim // self.num_heads
  return F.attention_macs(B * self.num_heads, c, c, N, N)        -- qᵀk and attn·vᵀ: linear in N
end

-- Perceiver cross-attention: learned latents (N,d) query the inputs (B,M,d):
-- out = latents + MHA(LN(latents), LN(x), LN(x)) -> (B,N,d); cost O(M·N), not O(M²).
local CrossAttention = Module:extend("CrossAttention")
nn.CrossAttention = CrossAttention
function CrossAttention:init(d, n_latents, heads, opts)
  opts = opts or {}
  self.dim = check_count("nn.CrossAttention(d, latents, heads): d", d)
  self.n_latents = check_count("nn.CrossAttention(d, latents, heads): latents", n_latents)
  self.latents = new_tensor({n_latents, d}, opts)
  F.normal_(self.latents, 0, 0.02)
  self.latents:requires_grad(true)
  self.norm_q = LayerNorm(d, opts)
  self.norm_kv = LayerNorm(d, opts)
  self.attn = MHA(d, heads or 1, opts)
end
function CrossAttention:forward(x)
  check_tokens("nn.CrossAttention(" .. self.dim .. ", " .. self.n_latents .. ")", x, self.dim)
  local lat = self.latents:unsqueeze(1):expand(x:size(1), self.n_latents, self.dim)
  local kv = self.norm_kv(x)
  return lat + self.attn(self.norm_q(lat), kv, kv)
end
function CrossAttention:extra_repr() return string.format("d=%d, latents=%d", self.dim, self.n_latents) end

-- ---- functional ---------------------------------------------------------------------
-- The C functions themselves, so their errors point at the caller's line.
nn.pos_sincos_2d = F.pos_sincos_2d                 -- (h, w, d[, {device=}])
nn.fourier_features = F.fourier_features           -- (x, bands, max_freq)
nn.scaled_dot_attention = F.scaled_dot_attention   -- (q, k, v[, {causal=true}])
-- losses take a reduction as "mean" | "sum" | "none" or {reduction = ...}
nn.mse_loss = F.mse_loss
nn.cross_entropy = F.cross_entropy                 -- labels are 1-based class indices (floats)
nn.bce_with_logits = F.bce_with_logits

nn.init = {
  uniform_ = function(t, lo, hi) F.uniform_(t, lo, hi); return t end,
  normal_ = function(t, mean, std) F.normal_(t, mean or 0, std or 1); return t end,
  kaiming_uniform_ = function(t, fan_in) F.kaiming_uniform_(t, fan_in); return t end,
  xavier_uniform_ = function(t, fan_in, fan_out) F.xavier_uniform_(t, fan_in, fan_out); return t end,
  zeros_ = function(t) return tensor.no_grad(function() return t:zero() end) end,
  ones_ = function(t) return tensor.no_grad(function() return t:fill(1) end) end,
}

-- ---- summary --------------------------------------------------------------------------
local function first_tensor(v)
  if is_tensor(v) then return v end
  if type(v) == "table" then
    for _, x in ipairs(v) do
      local t = first_tensor(x)
      if t then return t end
    end
  end
end

-- sizes in the summary's units: the table and its one-line form say the same (1.60 KB)
local function bytes_str(b)
  for _, u in ipairs({{1e12, "TB"}, {1e9, "GB"}, {1e6, "MB"}, {1e3, "KB"}}) do
    if b >= u[1] then return string.format("%.2f %s", b / u[1], u[2]) end
  end
  return string.format("%d B", b)
end

-- The table prints itself; the returned value then shows as one line, so the REPL
-- does not echo every row a second time.
local summary_mt = {__tostring = function(res)
  return string.format("[summary: %s params (%s trainable), %s mult-adds, %s]", fmt_int(res.total_params),
                       fmt_int(res.trainable_params), fmt_int(res.mult_adds), bytes_str(res.total_bytes))
end}

local function print_summary(res)
  local rows = {{"Layer (type)", "Output shape", "Param #", "Mult-adds", "Trainable"}}
  for _, r in ipairs(res.rows) do
    local label = string.rep("  ", r.depth) .. r.class .. (r.name ~= "" and (" (" .. r.name .. ")") or "")
    rows[#rows + 1] = {label, r.shape and ("[" .. table.concat(r.shape, ",") .. "]") or "--",
                       r.params > 0 and fmt_int(r.params) or "--",
                       r.mult_adds > 0 and fmt_int(r.mult_adds) or "--", r.trainable}
  end
  local widths = {}
  for _, row in ipairs(rows) do
    for i, cell in ipairs(row) do widths[i] = math.max(widths[i] or 0, utf8.len(cell) or #cell) end
  end
  local function line(row)
    local cells = {}
    for i, cell in ipairs(row) do
      local pad = string.rep(" ", widths[i] - (utf8.len(cell) or #cell))
      cells[i] = (i == 1 or i == 2) and (cell .. pad) or (pad .. cell)
    end
    return table.concat(cells, "  ")
  end
  local total_w = 0
  for _, w in ipairs(widths) do total_w = total_w + w + 2 end
  local rule = string.rep("=", total_w - 2)
  local out = {rule, line(rows[1]), rule}
  for i = 2, #rows do out[#out + 1] = line(rows[i]) end
  local mb = bytes_str
  out[#out + 1] = rule
  out[#out + 1] = "Total params: " .. fmt_int(res.total_params)
  out[#out + 1] = "Trainable params: " .. fmt_int(res.trainable_params)
  out[#out + 1] = "Non-trainable params: " .. fmt_int(res.total_params - res.trainable_params)
  out[#out + 1] = "Total mult-adds: " .. fmt_int(res.mult_adds)
  out[#out + 1] = rule
  out[#out + 1] = "Input size: " .. mb(res.input_bytes)
  out[#out + 1] = "Forward/backward pass size: " .. mb(res.activation_bytes)
  out[#out + 1] = "Params size: " .. mb(res.param_bytes)
  out[#out + 1] = "Estimated total size: " .. mb(res.total_bytes)
  if res.meta_peak_bytes then
    -- every intermediate of the forward (attention maps too), as run on the meta device
    out[#out + 1] = "Forward peak (all intermediates, measured on meta): " .. mb(res.meta_peak_bytes)
  end
  out[#out + 1] = rule
  print(table.concat(out, "\n"))
end

-- nn.summary(model, shape_or_tensor[, {print=false}]) -> {rows=..., totals...}
-- With a shape the model runs on the meta device: parameters are swapped for meta
-- copies for the call, so nothing is allocated and nothing is computed.
function nn.summary(model, input, opts)
  opts = opts or {}
  if not is_module(model) then error("nn.summary: the first argument must be a module", 2) end
  local names = {}
  for name, m in model:named_modules() do names[m] = name end
  local restore = function() end
  local x = input
  if not is_tensor(input) then
    if type(input) ~= "table" and type(input) ~= "userdata" then
      error("nn.summary(model, input): give an input tensor or a shape such as {64, 784}", 2)
    end
    restore = model:_swap_to("meta")
    x = tensor.empty(input, {device = "meta"})
  end
  local rows, depth = {}, 0
  local prev_hook = nn._hook
  local modes = {}
  for _, m in model:named_modules() do modes[m] = m.training end
  model:eval()                           -- no running-stat updates or dropout draws from a summary
  nn._hook = function(m, ...)
    local row = {name = names[m] or "?", class = m.__name, depth = depth, module = m}
    rows[#rows + 1] = row
    depth = depth + 1
    local out = m:forward(...)
    depth = depth - 1
    local t = first_tensor(out)
    if t then
      row.shape = {}
      for i = 1, t:dim() do row.shape[i] = t:size(i) end
      row.out_numel = t:numel()
    end
    row.mult_adds = t and m:mult_adds(t, ...) or 0
    return out
  end
  tensor.reset_peak()
  local meta_before = tensor.memory_estimate().meta   -- meta tensors the caller still holds
  -- on meta the graph is kept (it costs nothing), so the peak counts what a real
  -- forward would hold for backward, attention maps included
  local on_meta = x:device() == "meta"
  local ok, err = pcall(function()
    if on_meta then return model(x) end
    return tensor.no_grad(function() return model(x) end)
  end)
  nn._hook = prev_hook
  local mem = tensor.memory_estimate()
  restore()
  for m, mode in pairs(modes) do rawset(m, "training", mode) end
  if not ok then error(err, 0) end

  local res = {rows = {}, mult_adds = 0, input_bytes = x:numel() * 4,
               meta_peak_bytes = on_meta and (mem.meta_peak - meta_before) or nil}
  res.total_params = model:num_params()
  res.trainable_params = res.total_params       -- parameters are what requires grad
  local act = 0
  for i, r in ipairs(rows) do
    local has_children = rows[i + 1] and rows[i + 1].depth > r.depth
    local total = r.module:num_params()          -- recursive, like torchinfo's container rows
    local trainable = total > 0 and "true" or "--"
    res.rows[i] = {name = r.name, class = r.class, depth = r.depth, shape = r.shape, params = total,
                   mult_adds = r.mult_adds, trainable = trainable, output_numel = r.out_numel}
    res.mult_adds = res.mult_adds + r.mult_adds
    if not has_children and r.out_numel then act = act + r.out_numel end
  end
  res.param_bytes = res.total_params * 4
  res.activation_bytes = act * 4 * 2      -- each output and its gradient
  res.total_bytes = res.input_bytes + res.param_bytes + res.activation_bytes
  if opts.print ~= false then print_summary(res) end
  return setmetatable(res, summary_mt)
end

return nn
