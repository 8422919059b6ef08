-- test_gpu_train.lua - train{}'s GPU path (nn/lua/train.lua): the per-step losses and the
-- test loss/accuracy stay on the device and are read in batches (every train.read_every
-- values and at the epoch's end) instead of one item() a step. Its logic is device-
-- agnostic, so here it runs on the CPU (train.deferred = true) and must give exactly the
-- CPU path's per-epoch numbers; with a GPU, the CUDA run must agree within rounding.
package.path = "tests/lua/?.lua;" .. package.path
local T = require("tap")

-- three clusters, cross-entropy (test loss and accuracy), and a regression (mse)
local function cluster_data()
  tensor.manual_seed(3)
  local C = tensor.tensor{{4, 0}, {-4, 0}, {0, 4}}
  local xs, ys = {}, {}
  for i = 1, 600 do
    local k = (i % 3) + 1
    xs[i] = (C[k] + tensor.randn(2) * 1.5):tolist()
    ys[i] = k
  end
  return {x = tensor.tensor(xs), y = tensor.tensor(ys)}
end

local function run(device, deferred, read_every, kind)
  train.deferred, train.read_every = deferred, read_every or 256
  local d = cluster_data()
  tensor.manual_seed(11)
  local m, h
  local ok, err = pcall(function()
    if kind == "mse" then
      m = nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 1)):to(device)
      local x = d.x:to(device)
      local y = (d.x[{{}, {1}}] * 0.5 - d.x[{{}, {2}}]):to(device)
      h = train{model = m, data = {x = x, y = y}, test = {x = x, y = y}, epochs = 3, batch_size = 64,
                seed = 5, verbose = false}
    else
      m = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 3)):to(device)
      local x, y = d.x:to(device), d.y:to(device)
      h = train{model = m, data = {x = x, y = y}, test = {x = x, y = y}, loss = nn.cross_entropy, epochs = 3,
                batch_size = 64, seed = 5, lr = 1e-2, verbose = false}
    end
  end)
  train.deferred, train.read_every = nil, 256
  if not ok then error(err, 0) end
  return h
end

local function same(name, a, b)
  local good = #a.loss == #b.loss and a.steps == b.steps
  for e = 1, #a.loss do
    good = good and a.loss[e] == b.loss[e] and a.test_loss[e] == b.test_loss[e] and a.acc[e] == b.acc[e]
  end
  T.ok(good, name, string.format("epoch 1: loss %s vs %s, test loss %s vs %s, acc %s vs %s",
                                 tostring(a.loss[1]), tostring(b.loss[1]), tostring(a.test_loss[1]),
                                 tostring(b.test_loss[1]), tostring(a.acc[1]), tostring(b.acc[1])))
end

for _, kind in ipairs({"cross_entropy", "mse"}) do
  local want = run("cpu", false, nil, kind)
  T.ok(#want.loss == 3 and want.steps == 30 and want.test_loss[3] ~= nil, kind .. ": the CPU path trains 3 epochs of 10 steps")
  -- 3: a read every 3 values (10 steps an epoch: partial batches at the epoch's end)
  for _, every in ipairs({256, 3, 1}) do
    same(string.format("%s: the deferred (GPU) path, read every %d, gives the CPU path's numbers exactly", kind, every),
         run("cpu", true, every, kind), want)
  end
end
T.ok(train.deferred == nil and train.read_every == 256, "the switches are put back")

-- a bad label on the deferred path: raised at the epoch's read (on a GPU: found by the
-- device, reported at that sync), naming cross-entropy
train.deferred = true
local ok, err = pcall(train, {model = nn.Linear(2, 3), data = {x = tensor.randn(8, 2), y = tensor.tensor({1, 2, 3, 4, 1, 2, 3, 1})},
                              loss = nn.cross_entropy, epochs = 1, verbose = false})
train.deferred = nil
T.ok(not ok and tostring(err):find("cross_entropy", 1, true) ~= nil and tostring(err):find("label 4", 1, true) ~= nil,
     "a bad label on the deferred path raises naming cross_entropy and the label", tostring(err))

local avail, why = tensor.cuda_available()
if not avail then
  T.skip("train{} on cuda gives the CPU's per-epoch numbers within rounding", tostring(why or "no CUDA device found"))
else
  for _, kind in ipairs({"cross_entropy", "mse"}) do
    local want, got = run("cpu", nil, nil, kind), run("cuda", nil, nil, kind)
    local worst = 0
    for e = 1, #want.loss do
      for _, f in ipairs({"loss", "test_loss", "acc"}) do
        if want[f][e] then
          worst = math.max(worst, math.abs(got[f][e] - want[f][e]) / math.max(math.abs(want[f][e]), 1e-2))
        end
      end
    end
    T.ok(worst < 1e-3 and got.steps == want.steps,
         kind .. ": train{} on cuda gives the CPU's per-epoch numbers within rounding",
         string.format("largest relative difference %.3g", worst))
  end
end
T.done_testing()
