-- optim.lua - SGD, Adam, AdamW, RMSprop, Adagrad, LR schedules and gradient clipping
-- (nn.utils.clip_grad_norm_ / clip_grad_value_). The updates are PyTorch's exact rules:
-- SGD, Adam and AdamW run fused in C, one call per step for all parameters (nn.F.sgd_steps /
-- adam_steps -> tensor_*_step_multi: one launch on the GPU) on p.grad,
-- RMSprop and Adagrad are tensor ops under no_grad (a handful of passes per parameter).
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

-- Every optimizer steps through here: with a dashboard open, optim._watch (watch.lua:
-- dash._step) runs the update and sees each step without the script saying anything.
-- Optimizers define _update; SGD, Adam and AdamW (_fused) are seen from inside their one
-- C call instead (the hook's own call into C and back cost a small step ~0.5%).
function Optimizer:step()
  local w = optim._watch
  if w and not self._fused then return w(self) end
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
  for _, k in ipairs{"momentum", "dampening", "weight_decay", "alpha", "lr_decay", "initial_accumulator_value"} do
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
  -- one C call for all parameters (lua_optim.c keeps the momentum buffers in self.state)
  function self:_update()
    F.sgd_steps(self.params, self.state, self.lr, d.momentum, d.dampening, d.weight_decay, d.nesterov, self)
  end
  self._fused = true
  return self
end

local function adam(name, decoupled, default_wd)
  return function(params, opts)
    local self = new_optimizer(name, params, opts,
                               {lr = 1e-3, betas = {0.9, 0.999}, eps = 1e-8, weight_decay = default_wd})
    local d = self.defaults
    -- one C call for all parameters (lua_optim.c keeps exp_avg, exp_avg_sq and the step
    -- counts in self.state, made on each parameter's first step)
    function self:_update()
      F.adam_steps(self.params, self.state, self.lr, d.betas[1], d.betas[2], d.eps, d.weight_decay, decoupled, self)
    end
    self._fused = true
    return self
  end
end

-- optim.Adam(params, {lr=1e-3, betas={0.9,0.999}, eps=1e-8, weight_decay=0}) (L2 in the gradient)
optim.Adam = adam("Adam", false, 0)
-- optim.AdamW: decoupled weight decay, default 1e-2
optim.AdamW = adam("AdamW", true, 1e-2)

-- p minus lr * step, written into p (a parameter: outside autograd)
local function gradient(p, wd)
  local g = p.grad
  if wd ~= 0 then g = g + p * wd end
  return g
end

-- optim.RMSprop(params, {lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0, centered=false})
--   v = alpha v + (1 - alpha) g^2; centered: also m = alpha m + (1 - alpha) g, v - m^2 in the root;
--   step = g / (sqrt(v) + eps), through a momentum buffer when momentum > 0 (PyTorch's rule)
function optim.RMSprop(params, opts)
  local self = new_optimizer("RMSprop", params, opts, {lr = 1e-2, alpha = 0.99, eps = 1e-8, weight_decay = 0,
                                                       momentum = 0, centered = false})
  local d = self.defaults
  if d.alpha > 1 then error("optim.RMSprop: alpha must be in [0, 1], got " .. show(d.alpha), 2) end
  function self:_update()
    tensor.no_grad(function()
      for i, p in ipairs(self.params) do
        if F.has_grad(p) then
          local st = self.state[i]
          if not st then
            st = {step = 0, square_avg = zeros_like(p)}
            self.state[i] = st
          end
          st.step = st.step + 1
          local g = gradient(p, d.weight_decay)
          st.square_avg = st.square_avg * d.alpha + g * g * (1 - d.alpha)
          local avg
          if d.centered then
            st.grad_avg = (st.grad_avg or zeros_like(p)) * d.alpha + g * (1 - d.alpha)
            avg = (st.square_avg - st.grad_avg * st.grad_avg):sqrt() + d.eps
          else
            avg = st.square_avg:sqrt() + d.eps
          end
          if d.momentum > 0 then
            st.momentum_buffer = (st.momentum_buffer or zeros_like(p)) * d.momentum + g / avg
            p:copy(p - st.momentum_buffer * self.lr)
          else
            p:copy(p - g / avg * self.lr)
          end
        end
      end
    end)
  end
  return self
end

-- optim.Adagrad(params, {lr=1e-2, lr_decay=0, weight_decay=0, initial_accumulator_value=0, eps=1e-10})
--   s += g^2; p -= lr / (1 + (t - 1) lr_decay) * g / (sqrt(s) + eps)
function optim.Adagrad(params, opts)
  local self = new_optimizer("Adagrad", params, opts, {lr = 1e-2, lr_decay = 0, weight_decay = 0,
                                                       initial_accumulator_value = 0, eps = 1e-10})
  local d = self.defaults
  function self:_update()
    tensor.no_grad(function()
      for i, p in ipairs(self.params) do
        if F.has_grad(p) then
          local st = self.state[i]
          if not st then
            st = {step = 0, sum = zeros_like(p) + d.initial_accumulator_value}
            self.state[i] = st
          end
          st.step = st.step + 1
          local g = gradient(p, d.weight_decay)
          local clr = self.lr / (1 + (st.step - 1) * d.lr_decay)
          st.sum = st.sum + g * g
          p:copy(p - g / (st.sum:sqrt() + d.eps) * clr)
        end
      end
    end)
  end
  return self
end

-- ---- LR schedules: call sched:step() once per epoch (OneCycleLR: once per batch), after
-- opt:step(). Each sets opt.lr from a closed form of the step count, like PyTorch's.
local Scheduler = {}
Scheduler.__index = Scheduler
function Scheduler:step()
  self.last_epoch = self.last_epoch + 1
  self.optimizer.lr = self:lr_at(self.last_epoch)
  return self.optimizer.lr
end
function Scheduler:get_last_lr() return self.optimizer.lr end
function Scheduler:__tostring()
  return string.format("optim.%s(step %d, lr=%g)", self.name, self.last_epoch, self.optimizer.lr)
end

local function scheduler(name, opt, lr_at)
  if type(opt) ~= "table" or getmetatable(opt) ~= Optimizer then
    error(string.format("optim.%s: the first argument is the optimizer, e.g. optim.%s(opt, ...); got %s", name,
                        name, require("nn.check").describe(opt)), 3)
  end
  local self = setmetatable({name = name, optimizer = opt, base_lr = opt.lr, last_epoch = 0, lr_at = lr_at}, Scheduler)
  opt.lr = self:lr_at(0)       -- LinearLR and OneCycleLR start below the base lr, as in PyTorch
  return self
end

-- lr = base * gamma^floor(epoch / step_size)
function optim.StepLR(opt, step_size, gamma)
  gamma = gamma or 0.1
  if type(step_size) ~= "number" or step_size < 1 then error("optim.StepLR(opt, step_size, gamma): step_size >= 1", 2) end
  return scheduler("StepLR", opt, function(self, e) return self.base_lr * gamma ^ (e // step_size) end)
end

-- lr = eta_min + (base - eta_min) * (1 + cos(pi * epoch / T_max)) / 2
function optim.CosineAnnealingLR(opt, T_max, eta_min)
  eta_min = eta_min or 0
  if type(T_max) ~= "number" or T_max <= 0 then error("optim.CosineAnnealingLR(opt, T_max, eta_min): T_max > 0", 2) end
  return scheduler("CosineAnnealingLR", opt, function(self, e)
    return eta_min + (self.base_lr - eta_min) * (1 + math.cos(math.pi * e / T_max)) / 2
  end)
end

-- lr = base * gamma^(number of milestones <= epoch)
function optim.MultiStepLR(opt, milestones, gamma)
  gamma = gamma or 0.1
  if type(milestones) ~= "table" or #milestones == 0 then
    error("optim.MultiStepLR(opt, milestones, gamma): milestones is a list of epochs, e.g. {30, 80}", 2)
  end
  for i, m in ipairs(milestones) do
    if type(m) ~= "number" or m < 1 or (i > 1 and m < milestones[i - 1]) then
      error("optim.MultiStepLR: milestones must be increasing epochs >= 1, got {" .. table.concat(milestones, ", ")
            .. "}", 2)
    end
  end
  return scheduler("MultiStepLR", opt, function(self, e)
    local n = 0
    for _, m in ipairs(milestones) do if e >= m then n = n + 1 end end
    return self.base_lr * gamma ^ n
  end)
end

-- Linear warm-up (or decay): the factor goes from start_factor to end_factor over total_iters
-- steps, then stays: optim.LinearLR(opt, {start_factor=1/3, end_factor=1, total_iters=5})
function optim.LinearLR(opt, opts)
  require("nn.check").check_options("optim.LinearLR", opts, {"start_factor", "end_factor", "total_iters"}, 2)
  opts = opts or {}
  local s, e, n = opts.start_factor or 1 / 3, opts.end_factor or 1, opts.total_iters or 5
  if type(s) ~= "number" or s <= 0 or s > 1 or type(e) ~= "number" or e < 0 or e > 1 then
    error(string.format("optim.LinearLR: start_factor must be in (0, 1] and end_factor in [0, 1], got %s and %s",
                        tostring(s), tostring(e)), 2)
  end
  if type(n) ~= "number" or n < 1 or n % 1 ~= 0 then error("optim.LinearLR: total_iters must be an integer >= 1", 2) end
  return scheduler("LinearLR", opt, function(self, t)
    return self.base_lr * (s + (e - s) * math.min(t, n) / n)
  end)
end

-- The one-cycle policy (Smith): lr rises from max_lr/div_factor to max_lr over pct_start of
-- total_steps, then anneals to max_lr/div_factor/final_div_factor; momentum (SGD, RMSprop)
-- or beta1 (Adam) cycles the other way between max_momentum and base_momentum. Step it once
-- per batch. optim.OneCycleLR(opt, max_lr, {total_steps= | epochs=, steps_per_epoch=, ...})
function optim.OneCycleLR(opt, max_lr, opts)
  local what = "optim.OneCycleLR"
  require("nn.check").check_options(what, opts, {"total_steps", "epochs", "steps_per_epoch", "pct_start",
    "anneal_strategy", "div_factor", "final_div_factor", "three_phase", "cycle_momentum", "base_momentum",
    "max_momentum"}, 2)
  opts = opts or {}
  if type(max_lr) ~= "number" or not finite(max_lr) or max_lr <= 0 then
    error(what .. "(opt, max_lr, opts): max_lr must be a number > 0, got " .. require("nn.check").describe(max_lr), 2)
  end
  local total = opts.total_steps or (opts.epochs and opts.steps_per_epoch and opts.epochs * opts.steps_per_epoch)
  if type(total) ~= "number" or total < 1 or total % 1 ~= 0 then
    error(what .. ": give total_steps (an integer >= 1), or epochs and steps_per_epoch", 2)
  end
  local pct = opts.pct_start or 0.3
  if type(pct) ~= "number" or pct < 0 or pct > 1 then error(what .. ": pct_start must be in [0, 1]", 2) end
  local strategy = opts.anneal_strategy or "cos"
  local anneal
  if strategy == "cos" then
    anneal = function(a, b, f) return b + (a - b) / 2 * (math.cos(math.pi * f) + 1) end
  elseif strategy == "linear" then
    anneal = function(a, b, f) return (b - a) * f + a end
  else
    error(what .. ": anneal_strategy is \"cos\" or \"linear\", got " .. require("nn.check").describe(strategy), 2)
  end
  local initial = max_lr / (opts.div_factor or 25)
  local min_lr = initial / (opts.final_div_factor or 1e4)
  local base_m, max_m = opts.base_momentum or 0.85, opts.max_momentum or 0.95
  local phases
  if opts.three_phase then
    phases = {{pct * total - 1, initial, max_lr, max_m, base_m}, {2 * pct * total - 2, max_lr, initial, base_m, max_m},
              {total - 1, initial, min_lr, max_m, max_m}}
  else
    phases = {{pct * total - 1, initial, max_lr, max_m, base_m}, {total - 1, max_lr, min_lr, base_m, max_m}}
  end
  local d = opt.defaults
  local set_momentum
  if opts.cycle_momentum ~= false then
    if d.betas then
      set_momentum = function(m) d.betas = {m, d.betas[2]} end
    elseif d.momentum ~= nil then
      set_momentum = function(m) d.momentum = m end
    else
      error(string.format("%s: optim.%s has no momentum or beta1 to cycle; pass {cycle_momentum = false}", what,
                          opt.name), 2)
    end
  end
  -- the (lr, momentum) of step t, from the phase it falls in
  local function at(t)
    local start = 0
    for i, ph in ipairs(phases) do
      if t <= ph[1] or i == #phases then
        local f = (t - start) / (ph[1] - start)
        return anneal(ph[2], ph[3], f), anneal(ph[4], ph[5], f)
      end
      start = ph[1]
    end
  end
  local sched = scheduler("OneCycleLR", opt, function(self, t)
    if t > total then
      error(string.format("%s: stepped %d times but total_steps is %d; make total_steps cover every batch of "
                          .. "every epoch", what, t, total), 3)
    end
    local lr, m = at(t)
    if set_momentum then set_momentum(m) end
    return lr
  end)
  sched.base_lr, sched.total_steps = initial, total
  return sched
end

-- ---- gradient clipping: nn.utils.clip_grad_norm_ / clip_grad_value_ ----------------------
nn.utils = nn.utils or {}

local function grads_of(what, params)
  local list = {}
  for _, p in ipairs(param_list(what, params)) do if F.has_grad(p) then list[#list + 1] = p end end
  return list
end

-- Scales every p.grad by max_norm / (total + 1e-6) when the norm of all the gradients
-- together (as one vector) is above max_norm; returns that total norm (a number).
-- norm_type: 2 (default), any p >= 1, or math.huge / "inf" for the largest |g|.
function nn.utils.clip_grad_norm_(params, max_norm, norm_type, error_if_nonfinite)
  local what = "nn.utils.clip_grad_norm_"
  if type(max_norm) ~= "number" or max_norm ~= max_norm or max_norm < 0 then
    error(what .. "(params, max_norm[, norm_type]): max_norm must be a number >= 0, got "
          .. require("nn.check").describe(max_norm), 2)
  end
  norm_type = norm_type or 2
  if norm_type == "inf" then norm_type = math.huge end
  if type(norm_type) ~= "number" or not (norm_type > 0) then
    error(what .. ": norm_type is a number > 0 (2 for L2) or \"inf\", got " .. tostring(norm_type), 2)
  end
  local list = grads_of(what, params)
  local total = 0
  tensor.no_grad(function()
    for _, p in ipairs(list) do
      local g = p.grad
      if norm_type == math.huge then total = math.max(total, g:abs():max():item())
      elseif norm_type == 2 then total = total + g:norm():item() ^ 2
      else total = total + g:abs():pow(norm_type):sum():item() end
    end
    if norm_type ~= math.huge then total = total ^ (1 / norm_type) end
    if error_if_nonfinite and not finite(total) then
      error(string.format("%s: the total norm of the gradients is %s; the loss or a layer produced it (try "
                          .. "tensor.detect_anomaly(true))", what, show(total)), 3)
    end
    local coef = math.min(max_norm / (total + 1e-6), 1)
    if coef < 1 then
      for _, p in ipairs(list) do p.grad:copy(p.grad * coef) end
    end
  end)
  return total
end

-- Clamps every p.grad to [-clip_value, clip_value] in place.
function nn.utils.clip_grad_value_(params, clip_value)
  local what = "nn.utils.clip_grad_value_"
  if type(clip_value) ~= "number" or clip_value ~= clip_value or clip_value < 0 then
    error(what .. "(params, clip_value): clip_value must be a number >= 0, got "
          .. require("nn.check").describe(clip_value), 2)
  end
  tensor.no_grad(function()
    for _, p in ipairs(grads_of(what, params)) do p.grad:copy(p.grad:clamp(-clip_value, clip_value)) end
  end)
end

return optim
