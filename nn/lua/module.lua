-- module.lua - nn.Module: the module system. A module is a Lua table whose fields are
-- tensors (parameters when they require grad, buffers otherwise), child modules, or plain
-- tables of those. Fields are remembered in the order they were set, so names and
-- parameter order are stable ("1.weight", "encoder.fc.weight") like PyTorch's registration
-- order. Also: naming, devices, state dicts, save/load, printing.
local nn, F = nn, nn.F
local U = require("nn.util")
local is_tensor, is_module, fmt_int, shape_str = U.is_tensor, U.is_module, U.fmt_int, U.shape_str

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
  local ok, err = pcall(obj.init, obj, ...)
  if not ok then
    -- a check inside init names a line of nnlab's own files; the learner wants theirs
    -- (nested layers strip and re-raise once per level, ending at the outermost call)
    if type(err) == "string" then err = err:gsub("^nn/lua/[%w_]+%.lua:%d+: ", "") end
    error(err, 2)   -- class_call tail-calls new: level 2 is the constructor's caller
  end
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
-- happen, while the stack still shows them (nn._explain: the REPL's hints.explain); the
-- message then travels up as usual.
local function explained(e)
  if type(e) ~= "string" then return e end
  local ok, h = pcall(nn._explain or function(m) return m end, e)
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

-- ---- PyTorch interop: its nn.Sequential (and ModuleList) children are named 0, 1, 2, ...
-- where nnlab's are 1, 2, 3, ... ("0.weight" is nnlab's "1.weight"). A name is mapped
-- by walking it through the model: a numeric part shifts only where the model holds
-- numbered children, so "fc1.weight" or "weight_ih_l0" never change.
local function split_name(name)
  local parts = {}
  for part in name:gmatch("[^.]+") do parts[#parts + 1] = part end
  return parts
end

-- delta = 1: PyTorch -> nnlab; delta = -1: nnlab -> PyTorch. Inside a container with
-- numbered children (a Sequential, a list of layers) every numeric part shifts, whether
-- or not the model has that child, so a file of another architecture is reported in one
-- convention.
local function shift_name(model, name, delta)
  local parts, obj = split_name(name), model
  for i = 1, #parts - 1 do            -- the last part names the tensor itself
    local n = parts[i]:match("^%d+$") and tonumber(parts[i])
    if n and type(obj) == "table" and rawget(obj, 1) ~= nil then
      parts[i] = tostring(n + delta)
      obj = rawget(obj, delta > 0 and n + 1 or n)
    else
      obj = type(obj) == "table" and rawget(obj, parts[i]) or nil
    end
  end
  return table.concat(parts, ".")
end

-- A PyTorch file: some name has a part "0" where the model holds numbered children
-- (nnlab counts from 1, so its own files never do).
local function pytorch_numbered(model, sd)
  for name in pairs(sd) do
    if type(name) == "string" and shift_name(model, name, 1) ~= name then
      for _, part in ipairs(split_name(name)) do if part == "0" then return true end end
    end
  end
  return false
end

-- load_state_dict(sd[, what]) or load_state_dict(sd, {strict=true, verbose=true}):
-- accepts nnlab's names and PyTorch's (0-based Sequential indices, num_batches_tracked of
-- BatchNorm ignored); strict: every missing or unexpected key and every shape mismatch is
-- listed in one error. Returns self and a table {mapped = {[file name] = model name},
-- ignored = {...}}; prints what it mapped unless verbose = false.
function Module:load_state_dict(sd, what, opts)
  if type(what) == "table" then what, opts = nil, what end
  opts = opts or {}
  require("nn.check").check_options("load_state_dict", opts, {"strict", "verbose"}, 2)
  what = what or "load_state_dict"
  if type(sd) ~= "table" then
    error(what .. ": expected a table name -> tensor (a state_dict), got " .. require("nn.check").describe(sd), 2)
  end
  local strict = opts.strict ~= false
  local own, names = self:state_dict()
  local info = {mapped = {}, ignored = {}}
  -- PyTorch's names when a part is "0" in a numbered container, or when (a first layer
  -- without parameters, as in Sequential(ReLU, Linear)) only the shifted names fit
  local shift = pytorch_numbered(self, sd)
  if not shift then
    local direct, shifted, n = 0, 0, 0
    for name in pairs(sd) do
      n = n + 1
      if own[name] ~= nil then direct = direct + 1 end
      if type(name) == "string" and own[shift_name(self, name, 1)] ~= nil then shifted = shifted + 1 end
    end
    shift = direct < n and shifted == n and shifted == #names
  end
  local src = {}
  for name, t in pairs(sd) do
    local to = (shift and type(name) == "string") and shift_name(self, name, 1) or name
    if to ~= name then info.mapped[name] = to end
    -- PyTorch's BatchNorm counts its batches; nnlab has no such buffer (momentum is fixed)
    if own[to] == nil and type(to) == "string" and to:match("num_batches_tracked$") then
      info.ignored[#info.ignored + 1] = name
    else
      src[to] = t
    end
  end
  table.sort(info.ignored)
  local missing, extra, bad = {}, {}, {}
  for _, name in ipairs(names) do if src[name] == nil then missing[#missing + 1] = name end end
  for name in pairs(src) do if own[name] == nil then extra[#extra + 1] = tostring(name) end end
  table.sort(extra)
  for _, name in ipairs(names) do
    local dst, t = own[name], src[name]
    if t ~= nil and not is_tensor(t) then error(what .. ": " .. name .. " is a " .. type(t) .. ", not a tensor", 2) end
    if t ~= nil and shape_str(dst) ~= shape_str(t) then
      bad[#bad + 1] = string.format("%s has shape %s in the file but %s in the model", name, shape_str(t), shape_str(dst))
    end
  end
  local shifted = next(info.mapped) ~= nil
  if (strict and (#missing > 0 or #extra > 0)) or #bad > 0 then
    local msg = what .. ":"
    if shifted then msg = msg .. " (read as PyTorch's names: Sequential indices 0.. shifted to 1..)" end
    if strict and #missing > 0 then msg = msg .. " missing key(s) " .. table.concat(missing, ", ") .. ";" end
    if strict and #extra > 0 then msg = msg .. " unexpected key(s) " .. table.concat(extra, ", ") .. ";" end
    if #bad > 0 then msg = msg .. " " .. table.concat(bad, "; ") .. ";" end
    error(msg .. " the model has " .. table.concat(names, ", "), 2)
  end
  tensor.no_grad(function()   -- parameters are leaves that require grad: written outside autograd
    for _, name in ipairs(names) do
      local dst, t = own[name], src[name]
      if t ~= nil then
        if t:device() ~= dst:device() then t = t:to(dst:device()) end
        dst:copy(t)
      end
    end
  end)
  if opts.verbose ~= false and (shifted or #info.ignored > 0) then
    local pairs_list = {}
    for from, to in pairs(info.mapped) do pairs_list[#pairs_list + 1] = from .. " -> " .. to end
    table.sort(pairs_list)
    local shown = {}
    for i = 1, math.min(3, #pairs_list) do shown[i] = pairs_list[i] end
    -- one short line per fact, so a lesson's 80-column terminal shows it whole
    local lines = {(what:gsub("^load%('(.*)'%)$", function(p)
      return "load('" .. (#p > 40 and ("..." .. p:sub(-37)) or p) .. "')"
    end)) .. ": a PyTorch state_dict"}
    if shifted then
      lines[#lines + 1] = string.format("  %d name(s) mapped from 0-based Sequential indices:", #pairs_list)
      lines[#lines + 1] = "  " .. table.concat(shown, ", ") .. (#pairs_list > 3 and ", ..." or "")
    end
    if #info.ignored > 0 then
      lines[#lines + 1] = string.format("  ignored %s (nnlab's BatchNorm keeps no batch count)",
                                        table.concat(info.ignored, ", "))
    end
    print(table.concat(lines, "\n"))
  end
  if not strict then info.missing, info.unexpected = missing, extra end
  return self, info
end

-- The model's state_dict under PyTorch's names (0-based Sequential indices), for
-- model.load_state_dict(safetensors.torch.load_file(path)) on the PyTorch side.
function Module:pytorch_state_dict()
  local sd, names = self:state_dict()
  local out, order = {}, {}
  for i, name in ipairs(names) do
    local to = shift_name(self, name, -1)
    out[to], order[i] = sd[name], to
  end
  return out, order
end

-- m:save(path[, {format = "nnlab" | "pytorch"}]): safetensors; "pytorch" writes PyTorch's
-- names so torch's load_state_dict accepts the file as it is.
function Module:save(path, opts)
  require("nn.check").check_options("save", opts, {"format"}, 2)
  local format = opts and opts.format or "nnlab"
  if format ~= "nnlab" and format ~= "pytorch" then
    error("m:save(path, {format=}): format is \"nnlab\" (1-based names) or \"pytorch\" (0-based Sequential indices), "
          .. "got " .. require("nn.check").describe(format), 2)
  end
  tensor.save(path, format == "pytorch" and (self:pytorch_state_dict()) or (self:state_dict()))
  return self
end

-- m:load(path[, {strict=true, verbose=true}]): nnlab's files and PyTorch's (see load_state_dict)
function Module:load(path, opts)
  return self:load_state_dict(tensor.load(path), "load('" .. tostring(path) .. "')", opts)
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

return nn.Module
