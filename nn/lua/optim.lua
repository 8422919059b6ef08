-- optim.lua - SGD, Adam, AdamW and LR schedules. The updates are PyTorch's exact
-- rules, run fused in C (nn.F.sgd_step / adam_step -> tensor_*_step) on p.grad.
local optim = {}
local F = nn.F

local function param_list(what, params)
  if type(params) == "table" and rawget(params, "_keys") and params.parameters then
    return params:parameters()
  end
  if tensor.is_tensor(params) then return {params} end
  if type(params) ~= "table" then
    error(what .. ": give a module or a list of parameter tensors, got " .. type(params), 3)
  end
  for i, p in ipairs(params) do
    if not tensor.is_tensor(p) then error(string.format("%s: params[%d] is a %s, not a tensor", what, i, type(p)), 3) end
    if not F.requires_grad(p) then
      error(string.format("%s: params[%d] does not require grad; call p:requires_grad(true) first", what, i), 3)
    end
  end
  if #params == 0 then error(what .. ": the parameter list is empty", 3) end
  return params
end

local function zeros_like(p) return tensor.zeros(p:shape(), {device = p:device()}) end

local Optimizer = {}
Optimizer.__index = Optimizer

-- Every optimizer steps through here: with a dashboard open, optim._watch (watch.lua)
-- sees each step without the script saying anything. Optimizers define _update.
function Optimizer:step()
  local w = optim._watch
  if w then return w(self) end
  return self:_update()
end

function Optimizer:zero_grad()
  for _, p in ipairs(self.params) do p:zero_grad() end
end

function Optimizer:__tostring()
  local keys = {}
  for k, v in pairs(self.defaults) do
    if type(v) == "table" then v = "{" .. table.concat(v, ", ") .. "}" end
    keys[#keys + 1] = k .. "=" .. tostring(v)
  end
  table.sort(keys)
  return string.format("optim.%s(%d params, lr=%g, %s)", self.name, #self.params, self.lr, table.concat(keys, ", "))
end

-- A NaN or infinite lr, a negative momentum or betas outside [0, 1) are accepted by the
-- update rules and wreck training without a word: refuse them here, as PyTorch does.
local function finite(v) return type(v) == "number" and v == v and v > -math.huge and v < math.huge end
local function show(v) return v ~= v and "nan" or tostring(v) end
local function check_settings(what, lr, d)
  local function bad(msg) error(what .. ": " .. msg, 5) end        -- at the line that made it
  if not finite(lr) or lr < 0 then bad("lr must be a finite number >= 0, got " .. show(lr)) end
  for _, k in ipairs{"momentum", "dampening", "weight_decay"} do
    local v = d[k]
    if v ~= nil and (not finite(v) or v < 0) then bad(k .. " must be a finite number >= 0, got " .. show(v)) end
  end
  if d.eps ~= nil and (not finite(d.eps) or d.eps <= 0) then bad("eps must be a finite number > 0, got " .. show(d.eps)) end
  if d.betas ~= nil then
    local b = d.betas
    if type(b) ~= "table" or #b ~= 2 then bad("betas must be two numbers {beta1, beta2}, e.g. {0.9, 0.999}") end
    for i = 1, 2 do
      if not finite(b[i]) or b[i] < 0 or b[i] >= 1 then
        bad(string.format("betas[%d] must be in [0, 1), got %s", i, show(b[i])))
      end
    end
  end
end

local function new_optimizer(name, params, opts, defaults)
  local valid = {"lr"}                 -- lr first, then the rest in alphabetical order
  for k in pairs(defaults) do if k ~= "lr" then valid[#valid + 1] = k end end
  table.sort(valid, function(a, b) return a ~= "lr" and b ~= "lr" and a < b or a == "lr" and b ~= "lr" end)
  require("nn.check").check_options("optim." .. name, opts, valid, 3)
  opts = opts or {}
  local self = setmetatable({name = name, params = param_list("optim." .. name, params), state = {},
                             defaults = {}}, Optimizer)
  -- the module, when given one: the dashboard names parameters by its paths
  if type(params) == "table" and rawget(params, "_keys") then self.module = params end
  for k, v in pairs(defaults) do
    local val = opts[k]
    if val == nil then val = v end
    self.defaults[k] = val
  end
  self.lr = opts.lr or defaults.lr
  self.defaults.lr = nil
  check_settings("optim." .. name, self.lr, self.defaults)
  return self
end

-- optim.SGD(params, {lr, momentum=0, dampening=0, weight_decay=0, nesterov=false})
function optim.SGD(params, opts)
  local self = new_optimizer("SGD", params, opts,
                             {lr = 1e-3, momentum = 0, dampening = 0, weight_decay = 0, nesterov = false})
  local d = self.defaults
  if d.nesterov and (d.momentum <= 0 or d.dampening ~= 0) then
    error("optim.SGD: nesterov needs momentum > 0 and dampening 0", 2)
  end
  function self:_update()
    for i, p in ipairs(self.params) do
      if F.has_grad(p) then
        local st = self.state[i]
        if not st then
          st = {first = true, buf = d.momentum ~= 0 and zeros_like(p) or nil}
          self.state[i] = st
        end
        F.sgd_step(p, st.buf, self.lr, d.momentum, d.dampening, d.weight_decay, d.nesterov, st.first)
        st.first = false
      end
    end
  end
  return self
end

local function adam(name, decoupled, default_wd)
  return function(params, opts)
    local self = new_optimizer(name, params, opts,
                               {lr = 1e-3, betas = {0.9, 0.999}, eps = 1e-8, weight_decay = default_wd})
    local d = self.defaults
    function self:_update()
      for i, p in ipairs(self.params) do
        if F.has_grad(p) then
          local st = self.state[i]
          if not st then
            st = {step = 0, exp_avg = zeros_like(p), exp_avg_sq = zeros_like(p)}
            self.state[i] = st
          end
          st.step = st.step + 1
          F.adam_step(p, st.exp_avg, st.exp_avg_sq, st.step, self.lr, d.betas[1], d.betas[2], d.eps,
                      d.weight_decay, decoupled)
        end
      end
    end
    return self
  end
end

-- optim.Adam(params, {lr=1e-3, betas={0.9,0.999}, eps=1e-8, weight_decay=0}) (L2 in the gradient)
optim.Adam = adam("Adam", false, 0)
-- optim.AdamW: decoupled weight decay, default 1e-2
optim.AdamW = adam("AdamW", true, 1e-2)

-- ---- LR schedules: call sched:step() once per epoch, after opt:step() ----------------
local Scheduler = {}
Scheduler.__index = Scheduler
function Scheduler:step()
  self.last_epoch = self.last_epoch + 1
  self.optimizer.lr = self:lr_at(self.last_epoch)
  return self.optimizer.lr
end
function Scheduler:get_last_lr() return self.optimizer.lr end

local function scheduler(opt, lr_at)
  if type(opt) ~= "table" or getmetatable(opt) ~= Optimizer then
    error("optim schedules take an optimizer, e.g. optim.StepLR(opt, 10, 0.1)", 3)
  end
  return setmetatable({optimizer = opt, base_lr = opt.lr, last_epoch = 0, lr_at = lr_at}, Scheduler)
end

-- lr = base * gamma^floor(epoch / step_size)
function optim.StepLR(opt, step_size, gamma)
  gamma = gamma or 0.1
  if type(step_size) ~= "number" or step_size < 1 then error("optim.StepLR(opt, step_size, gamma): step_size >= 1", 2) end
  return scheduler(opt, function(self, e) return self.base_lr * gamma ^ (e // step_size) end)
end

-- lr = eta_min + (base - eta_min) * (1 + cos(pi * epoch / T_max)) / 2
function optim.CosineAnnealingLR(opt, T_max, eta_min)
  eta_min = eta_min or 0
  if type(T_max) ~= "number" or T_max <= 0 then error("optim.CosineAnnealingLR(opt, T_max, eta_min): T_max > 0", 2) end
  return scheduler(opt, function(self, e)
    return eta_min + (self.base_lr - eta_min) * (1 + math.cos(math.pi * e / T_max)) / 2
  end)
end

return optim
