-- test_optim2.lua - RMSprop, Adagrad, the schedules (StepLR, MultiStepLR, LinearLR warm-up,
-- OneCycleLR with its momentum cycling) and gradient clipping: 25 steps of a least-squares
-- problem against PyTorch's trajectories (tests/fixtures/layers/optim.safetensors, made by
-- tests/fixtures/make_layer_fixtures.py): every loss, every lr, the final weights.
local here = arg and arg[0] and arg[0]:match("^(.*)/[^/]*$") or "tests/lua"
local T = dofile(here .. "/tap.lua")
local R = dofile(here .. "/../fixtures/layers/ref.lua")(T)
local function fx(case, name) return R.fx("optim", case, name) end
local X, Y = fx("problem", "x"), fx("problem", "y")
local STEPS = 25

local function sgd(m) return optim.SGD(m, {lr = 0.1, momentum = 0.9}) end
local configs = {
  rmsprop = {function(m) return optim.RMSprop(m, {lr = 0.01, alpha = 0.9, eps = 1e-6, momentum = 0.5, centered = true,
                                                  weight_decay = 0.01}) end},
  rmsprop_plain = {function(m) return optim.RMSprop(m:parameters(), {lr = 0.01}) end},
  adagrad = {function(m) return optim.Adagrad(m, {lr = 0.1, lr_decay = 0.01, weight_decay = 0.01,
                                                  initial_accumulator_value = 0.1, eps = 1e-10}) end},
  adagrad_plain = {function(m) return optim.Adagrad(m) end},
  steplr = {sgd, function(o) return optim.StepLR(o, 5, 0.5) end},
  multisteplr = {sgd, function(o) return optim.MultiStepLR(o, {3, 10, 18}, 0.3) end},
  linearlr = {sgd, function(o) return optim.LinearLR(o, {start_factor = 0.25, total_iters = 6}) end},
  onecycle = {sgd, function(o) return optim.OneCycleLR(o, 0.2, {total_steps = STEPS}) end},
  onecycle_adam = {function(m) return optim.Adam(m, {lr = 0.01}) end, function(o)
    return optim.OneCycleLR(o, 0.05, {total_steps = STEPS, pct_start = 0.25, anneal_strategy = "linear",
                                      div_factor = 10, final_div_factor = 100}) end},
  clip_norm = {sgd, nil, function(m) return nn.utils.clip_grad_norm_(m, 0.3) end},
  clip_norm_inf = {sgd, nil, function(m) return nn.utils.clip_grad_norm_(m:parameters(), 0.2, "inf") end},
  clip_norm_1 = {sgd, nil, function(m) return nn.utils.clip_grad_norm_(m, 0.5, 1) end},
  clip_value = {sgd, nil, function(m) nn.utils.clip_grad_value_(m, 0.05); return 0 end},
}
local names = {}
for k in pairs(configs) do names[#names + 1] = k end
table.sort(names)

for _, name in ipairs(names) do
  local make_opt, make_sched, clip = table.unpack(configs[name])
  R.check(name, function()
    local m = nn.Linear(4, 3)
    tensor.no_grad(function() m.weight:copy(fx("problem", "w0")); m.bias:copy(fx("problem", "b0")) end)
    local opt = make_opt(m)
    local sched = make_sched and make_sched(opt)
    local losses, lrs, norms = {}, {}, {}
    for i = 1, STEPS do
      opt:zero_grad()
      local loss = nn.mse_loss(m(X), Y)
      losses[i] = loss:item()
      loss:backward()
      if clip then norms[i] = clip(m) end
      lrs[i] = opt.lr
      opt:step()
      if sched then sched:step() end
    end
    R.close_list(name .. ": the 25 losses equal PyTorch's", losses, fx(name, "losses"), 2e-5)
    R.close_list(name .. ": the lr at each step", lrs, fx(name, "lrs"), 1e-6)
    if clip then R.close_list(name .. ": the total gradient norms", norms, fx(name, "norms"), 1e-5) end
    R.close(name .. ": weight after 25 steps", m.weight, fx(name, "w"), 2e-5)
    R.close(name .. ": bias after 25 steps", m.bias, fx(name, "b"), 2e-5)
  end)
end

-- ---- settings and errors ----------------------------------------------------------------
local p = tensor.ones(2):requires_grad(true)
T.errors_like(function() optim.RMSprop({p}, {lr = 0.1, alpha = 2}) end, "alpha must be in %[0, 1%]", "RMSprop alpha checked")
T.errors_like(function() optim.RMSprop({p}, {centred = true}) end, "did you mean centered", "RMSprop options checked")
T.errors_like(function() optim.Adagrad({p}, {lr_decay = -1}) end, "lr_decay must be a finite number >= 0",
              "Adagrad lr_decay checked")
T.errors_like(function() optim.OneCycleLR(optim.Adagrad({p}), 0.1, {total_steps = 10}) end,
              "optim.Adagrad has no momentum or beta1 to cycle; pass {cycle_momentum = false}",
              "OneCycleLR explains an optimizer without momentum")
T.errors_like(function() optim.OneCycleLR(optim.SGD({p}), 0.1) end, "give total_steps", "OneCycleLR needs total_steps")
T.errors_like(function()
  local s = optim.OneCycleLR(optim.SGD({p}), 0.1, {total_steps = 2})
  for _ = 1, 3 do s:step() end
end, "stepped 3 times but total_steps is 2", "OneCycleLR refuses to step past total_steps")
T.errors_like(function() optim.LinearLR(optim.SGD({p}), {total_iter = 3}) end, "did you mean", "LinearLR options checked")
T.errors_like(function() optim.StepLR(p, 3) end, "optim.StepLR: the first argument is the optimizer",
              "schedules name their optimizer argument")
T.errors_like(function() nn.utils.clip_grad_norm_({p}, -1) end, "max_norm must be a number >= 0",
              "clip_grad_norm_ checks max_norm")
R.check("OneCycleLR with epochs and steps_per_epoch", function()
  local o = optim.SGD({p}, {lr = 1})
  local s = optim.OneCycleLR(o, 0.1, {epochs = 2, steps_per_epoch = 5, cycle_momentum = false})
  T.ok(s.total_steps == 10 and math.abs(o.lr - 0.1 / 25) < 1e-12, "OneCycleLR starts at max_lr / div_factor")
end)
R.check("clip_grad_norm_ error_if_nonfinite", function()
  local q = tensor.ones(2):requires_grad(true)
  ;(q * (0 / 0)):sum():backward()
  T.errors_like(function() nn.utils.clip_grad_norm_({q}, 1, 2, true) end, "total norm of the gradients is nan",
                "a NaN norm is an error when asked")
end)
T.diag(string.format("worst relative error vs PyTorch: %.3g", R.worst))
T.done()
