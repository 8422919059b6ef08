-- test_anomaly.lua - tensor.detect_anomaly(true): a non-finite gradient stops backward
-- with the pass number (the training step), the op and the layer it ran in.
package.path = "tests/lua/?.lua;" .. package.path
local T = require("tap")

local Sqrt = nn.Module:extend("SqrtLayer")
function Sqrt:forward(x) return x:abs():sqrt() end      -- d sqrt(|x|) at 0 is Inf

tensor.detect_anomaly(true)
local m = nn.Sequential(nn.Linear(1, 4), Sqrt(), nn.Linear(4, 1))
local opt = optim.SGD(m, {lr = 0.01})
local x = tensor.randn(16, 1)
local err
for step = 1, 6 do
  if step == 4 then   -- the sqrt sees exact zeros (parameters are written outside autograd)
    tensor.no_grad(function() m[1].weight:zero(); m[1].bias:zero() end)
  end
  opt:zero_grad()
  local ok, e = pcall(function() nn.mse_loss(m(x), x):backward() end)
  if not ok then err = e; break end
  opt:step()
end
T.ok(err ~= nil, "a non-finite gradient stops training")
err = err or ""
T.ok(err:find("backward pass 4", 1, true), "the message names the pass (step 4)", err)
T.ok(err:find("sqrt", 1, true), "the message names the op", err)
T.ok(err:find("inside SqrtLayer", 1, true), "the message names the layer", err)
T.ok(err:find("NaN or Inf", 1, true), "the message says what went wrong", err)
tensor.detect_anomaly(false)
local y = nn.mse_loss(m(x), x)
T.ok(pcall(function() y:backward() end), "without anomaly detection the same backward runs (and yields NaN grads)")
T.done_testing()
