-- dash_overhead.lua: what the dashboard costs a training loop.
-- Run: ./nnlab bench/dash_overhead.lua [calls]
-- Measures dash.log per call (dash closed; plain mode between progress lines), one
-- full redraw (render of a 100x30 / 200x60 screen with a watched 128x32 weight), and
-- the slowdown of a small real training step that logs every step.
local N = tonumber(arg and arg[1]) or 1000000
local clock = os.clock

local function per_call(label, n, fn)
  local t0 = clock()
  fn(n)
  local us = (clock() - t0) / n * 1e6
  print(string.format("%-44s %9.3f us/call", label, us))
  return us
end

dash.reset()
local empty = per_call("empty Lua loop with a table literal", N, function(n)
  for i = 1, n do local t = {step = i, loss = 1 / i} end
end)
local closed = per_call("dash.log, dash closed", N, function(n)
  for i = 1, n do dash.log{step = i, loss = 1 / i} end
end)
dash.reset()
local full = per_call("dash.log{step,epoch,loss,test_loss,acc}", N, function(n)
  for i = 1, n do dash.log{step = i, epoch = 1, loss = 1 / i, test_loss = 2 / i, acc = 0.5} end
end)
dash.reset()
dash.open{plain = true, every = 1e12}          -- one line at the start, then none
local plain = per_call("dash.log, plain mode (no line due)", N, function(n)
  for i = 1, n do dash.log{step = i, loss = 1 / i} end
end)
per_call("dash.poll, plain mode", N, function(n) for i = 1, n do dash.poll() end end)
dash.close()

tensor.manual_seed(1)
dash.watch("W", tensor.randn(128, 32))
dash.model{{layer = "Linear(32,128)", shape = {100, 128}, params = 4224}}
dash.grads{{name = "fc", weight_norm = 1, grad_norm = 0.1, update_ratio = 1e-3}}
local r1 = per_call("redraw 100x30 (snapshot, 128x32 similarity)", 200, function(n)
  for i = 1, n do dash.snapshot(100, 30) end
end)
local r2 = per_call("redraw 200x60 (snapshot)", 200, function(n)
  for i = 1, n do dash.snapshot(200, 60) end
end)
print(string.format("redraws at 20/s cost %.2f%% of one core (100x30), %.2f%% (200x60)",
                    r1 * 20 / 1e4, r2 * 20 / 1e4))
print(string.format("dash.log beyond building its table: %.3f us (closed), %.3f us (plain)",
                    closed - empty, plain - empty))

-- a small real step (the bottleneck model, 100 samples) with and without dash.log
local x = tensor.arange(0, 100):view(100, 1):div(100)
local W1, W2, W3 = tensor.randn(32, 1):requires_grad(), tensor.randn(8, 32):requires_grad(),
                   tensor.randn(1, 8):requires_grad()
local sink
local function train(steps, mode)
  local t0 = clock()
  for i = 1, steps do
    local loss = ((x:matmul(W1:t()):matmul(W2:t()):matmul(W3:t()) - x) ^ 2):mean()
    loss:backward()
    tensor.no_grad(function()
      for _, W in ipairs{W1, W2, W3} do W:copy(W - W.grad * 1e-4); W:zero_grad() end
    end)
    local l = loss:item()
    if mode == "log" then dash.log{step = i, loss = l}
    elseif mode == "table" then sink = {step = i, loss = l} end   -- the table alone
  end
  return clock() - t0
end
-- alternate the variants and keep each one's best round: the machine is shared
dash.reset()
local steps, best = 2000, {}
train(200)
for _ = 1, 5 do
  for _, m in ipairs{"bare", "log", "table"} do best[m] = math.min(best[m] or math.huge, train(steps, m)) end
end
local us = function(m) return best[m] / steps * 1e6 end
print(string.format("training step: %.1f us bare, %.1f us with dash.log (%+.1f%%), %.1f us with only its table",
                    us("bare"), us("log"), (best.log - best.bare) / best.bare * 100, us("table")))
