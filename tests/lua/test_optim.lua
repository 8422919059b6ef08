-- test_optim.lua - 5 steps of SGD (momentum, dampening, weight decay, nesterov),
-- Adam and AdamW on a fixed least-squares problem equal PyTorch's numbers, and the
-- LR schedules match torch.optim.lr_scheduler.
local here = arg and arg[0] and arg[0]:match("^(.*)/[^/]*$") or "tests/lua"
local T = dofile(here .. "/tap.lua")
local fx = T.fx

local X, Y = fx("optim", "x"), fx("optim", "y")

local configs = {
  {"sgd", function(p) return optim.SGD(p, {lr = 0.1, momentum = 0.9, weight_decay = 0.01, dampening = 0.1}) end},
  {"sgd_nesterov", function(p) return optim.SGD(p, {lr = 0.05, momentum = 0.9, nesterov = true}) end},
  {"sgd_plain", function(p) return optim.SGD(p, {lr = 0.1}) end},
  {"adam", function(p)
    return optim.Adam(p, {lr = 0.05, betas = {0.8, 0.99}, eps = 1e-6, weight_decay = 0.05}) end},
  {"adamw", function(p) return optim.AdamW(p, {lr = 0.05}) end},
}

for _, c in ipairs(configs) do
  local name, make = c[1], c[2]
  T.check(name, function()
    -- params given as a module for Adam-likes and as a list for SGD: both are accepted
    local m = nn.Linear(4, 3)
    tensor.no_grad(function() m.weight:copy(fx("optim", "w0")); m.bias:copy(fx("optim", "b0")) end)
    local opt = make(name:find("adam") and m or {m.weight, m.bias})
    local losses = {}
    for i = 1, 5 do
      opt:zero_grad()
      local loss = nn.mse_loss(m(X), Y)
      losses[i] = loss:item()
      loss:backward()
      opt:step()
    end
    local expected = fx("optim_" .. name, "losses")
    local worst = 0
    for i = 1, 5 do worst = math.max(worst, math.abs(losses[i] - expected[i]:item())) end
    T.ok(worst < 1e-5, name .. ": the 5 losses equal PyTorch's", worst)
    T.close(name .. ": weight after 5 steps", m.weight, fx("optim_" .. name, "w"))
    T.close(name .. ": bias after 5 steps", m.bias, fx("optim_" .. name, "b"))
  end)
end

T.check("zero_grad and params without grads", function()
  local a, b = tensor.ones(2):requires_grad(true), tensor.ones(2):requires_grad(true)
  local opt = optim.SGD({a, b}, {lr = 1, momentum = 0.9})
  ;(a * 3):sum():backward()
  opt:step()                                  -- b has no grad: skipped, like PyTorch
  T.close("a stepped by lr * grad", a, tensor.tensor({-2, -2}))
  T.close("b without a grad is unchanged", b, tensor.ones(2))
  opt:zero_grad()
  T.ok(a.grad == nil, "zero_grad drops the gradients")
end)

-- optim.lua steps every parameter in one C call (nn.F.adam_steps / sgd_steps): a parameter's
-- state starts at its own first step with a gradient, as PyTorch's per-parameter state does
T.check("a parameter's first step is the first one with a gradient (one call for all)", function()
  local a, b = tensor.ones(2):requires_grad(true), tensor.ones(2):requires_grad(true)
  local opt = optim.Adam({a, b}, {lr = 0.1})
  ;(a * 3):sum():backward()
  opt:step()
  T.ok(opt.state.step[1] == 1 and opt.state.step[2] == nil and opt.state.exp_avg[2] == nil,
       "after step 1 only a has state", tostring(opt.state.step[2]))
  opt:zero_grad()
  ;((a + b) * 3):sum():backward()
  opt:step()
  T.eq(opt.state.step[1], 2, "a: step 2")
  T.eq(opt.state.step[2], 1, "b: its first step")
  -- Adam's first step moves by lr * g / (|g| + eps): b = 1 - 0.1 (a step-2 count would give 1 - 0.0744)
  T.close("b moved as a first Adam step", b, tensor.tensor({0.9, 0.9}), 1e-6)
  local c, d = tensor.ones(2):requires_grad(true), tensor.ones(2):requires_grad(true)
  local sgd = optim.SGD({c, d}, {lr = 0.1, momentum = 0.9})
  ;(c * 2):sum():backward()
  sgd:step()
  sgd:zero_grad()
  ;((c + d) * 2):sum():backward()
  sgd:step()
  -- c: buffer 2, then 0.9*2 + 2 = 3.8 -> 1 - 0.2 - 0.38; d: first step, buffer = g = 2 -> 1 - 0.2
  T.close("SGD c after two momentum steps", c, tensor.tensor({0.42, 0.42}), 1e-6)
  T.close("SGD d: its first step copies the gradient into its buffer", d, tensor.tensor({0.8, 0.8}), 1e-6)
  T.ok(sgd.state.first[1] == false and sgd.state.first[2] == false and sgd.state.momentum_buffer[2] ~= nil,
       "both have stepped and d has its buffer")
end)

-- A parameter whose gradient stays zero (a dead ReLU unit) has its moments decay by beta
-- each step; below 1.2e-38 they would be denormal, which made each Adam step 4x slower.
-- The updates flush them to zero (tensor/cpu/optim.c, like torch.set_flush_denormal).
T.check("optimizer moments decay to zero, never to denormals", function()
  local p = tensor.ones(1):requires_grad(true)
  local opt = optim.Adam({p}, {lr = 1e-3})
  p.grad = tensor.ones(1)
  opt:step()
  p.grad = tensor.zeros(1)
  for _ = 2, 801 do opt:step() end
  local m800 = opt.state.exp_avg[1][1]:item()       -- 0.1 * 0.9^800 = 2.3e-38: still normal
  T.ok(math.abs(m800 / (0.1 * 0.9 ^ 800) - 1) < 1e-3, "exp_avg after 800 zero gradients is 0.1 * 0.9^800", m800)
  for _ = 802, 901 do opt:step() end
  T.eq(opt.state.exp_avg[1][1]:item(), 0.0, "exp_avg 100 steps later (0.1 * 0.9^900 = 6e-43) is 0, not a denormal")
  local v = opt.state.exp_avg_sq[1][1]:item()
  T.ok(v == 0 or v >= 1.1754944e-38, "exp_avg_sq is 0 or normal", v)
  local s = tensor.ones(1):requires_grad(true)
  local sgd = optim.SGD({s}, {lr = 1e-3, momentum = 0.9})
  s.grad = tensor.ones(1)
  sgd:step()
  s.grad = tensor.zeros(1)
  for _ = 2, 901 do sgd:step() end
  T.eq(sgd.state.momentum_buffer[1][1]:item(), 0.0, "SGD's momentum buffer 0.9^900 is 0, not a denormal")
end)

T.raises("optimizer rejects unknown options", function() optim.Adam({tensor.ones(1):requires_grad(true)}, {lr = 1, mom = 1}) end,
         "unknown option 'mom'")
T.raises("optimizer rejects tensors without grad", function() optim.SGD({tensor.ones(1)}, {lr = 1}) end,
         "requires_grad(true)")
T.check("AdamW defaults to weight_decay 1e-2", function()
  T.near("AdamW weight_decay", optim.AdamW({tensor.ones(1):requires_grad(true)}).defaults.weight_decay, 1e-2)
end)

for _, s in ipairs({{"step", function(o) return optim.StepLR(o, 3, 0.5) end},
                    {"cosine", function(o) return optim.CosineAnnealingLR(o, 10, 0.01) end}}) do
  T.check("lr " .. s[1], function()
    local opt = optim.SGD({tensor.zeros(1):requires_grad(true)}, {lr = 0.1})
    local sched = s[2](opt)
    local expected = fx("lr_" .. s[1], "lrs")
    local worst = 0
    for i = 1, 12 do
      sched:step()
      worst = math.max(worst, math.abs(opt.lr - expected[i]:item()))
    end
    T.ok(worst < 1e-6, "lr schedule " .. s[1] .. " equals PyTorch's over 12 epochs", worst)
  end)
end

-- settings that would wreck training silently are refused, naming the setting and the value
local lin = nn.Linear(2, 1)
for _, c in ipairs{
  {function() return optim.SGD(lin, {lr = 0 / 0}) end, "lr must be a finite number >= 0, got nan"},
  {function() return optim.SGD(lin, {lr = math.huge}) end, "lr must be a finite number >= 0, got inf"},
  {function() return optim.SGD(lin, {momentum = -1}) end, "momentum must be a finite number >= 0, got %-1"},
  {function() return optim.SGD(lin, {weight_decay = 0 / 0}) end, "weight_decay must be a finite number >= 0, got nan"},
  {function() return optim.Adam(lin, {betas = {2, -1}}) end, "betas%[1%] must be in %[0, 1%), got 2"},
  {function() return optim.Adam(lin, {betas = {0.9}}) end, "betas must be two numbers"},
  {function() return optim.AdamW(lin, {eps = -1}) end, "eps must be a finite number > 0, got %-1"},
} do
  local ok, err = pcall(c[1])
  T.ok(not ok and tostring(err):find(c[2]) ~= nil, "refused: " .. c[2]:gsub("%%", ""), err)
end
T.ok(pcall(optim.Adam, lin, {lr = 0, betas = {0, 0.5}, eps = 1e-12, weight_decay = 0}), "edge values that are valid pass")

T.done()
