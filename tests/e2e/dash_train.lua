-- dash_train.lua: a small training loop that drives the dashboard, for tests/e2e/dash.sh.
-- Linear(1,32) -> Linear(32,8) -> Linear(8,1) learning y = x (the bottleneck lesson's
-- model), plain SGD written with tensor ops so it depends only on the tensor API.
-- Runs until q,y in the dashboard, Ctrl-C, or `max_seconds` (arg 1, default 60).
local max_seconds = tonumber(arg and arg[1]) or 60
if not dash.is_open() then dash.open() end
tensor.manual_seed(10000)

local x = tensor.arange(0, 100):view(100, 1):div(100)
local function param(o, i)
  local bound = 1 / math.sqrt(i)
  return (tensor.rand(o, i) * (2 * bound) - bound):requires_grad()
end
local W1, W2, W3 = param(32, 1), param(8, 32), param(1, 8)
dash.watch("mid", W2)
dash.watch("first", W1)
dash.key("tab")                                   -- show "mid" first
dash.model{name = "bottleneck", rows = {
  {layer = "Linear(1,32)", shape = {100, 32}, params = 32},
  {layer = "Linear(32,8)", shape = {100, 8}, params = 256},
  {layer = "Linear(8,1)", shape = {100, 1}, params = 8},
}}

local lr, t0, step = 0.01, os.time(), 0
while os.time() - t0 < max_seconds do
  step = step + 1
  local y = x:matmul(W1:t()):matmul(W2:t()):matmul(W3:t())
  local loss = ((y - x) ^ 2):mean()
  loss:backward()
  if step % 20 == 0 then
    dash.grads{{name = "fc1", param = W1, lr = lr}, {name = "fc2", param = W2, lr = lr},
               {name = "fc3", param = W3, lr = lr}}
  end
  tensor.no_grad(function()
    for _, W in ipairs{W1, W2, W3} do
      W:copy(W - W.grad * lr)
      W:zero_grad()
    end
  end)
  local t = {step = step, epoch = step // 100 + 1, loss = loss:item()}
  if step % 50 == 0 then t.test_loss = loss:item() * 1.1 end
  if dash.log(t) == "quit" or dash.poll() == "quit" then break end
end
dash.close()
print("trained " .. step .. " steps")
