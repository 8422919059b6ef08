-- test_train.lua - the train{...} loop: it learns, reports history, drives the
-- dashboard (plain mode without a terminal) and always closes it, and rejects bad calls.
package.path = "tests/lua/?.lua;" .. package.path
local T = require("tap")

tensor.manual_seed(1)
local X = tensor.randn(256, 1)
local Y = X * 3 + 1
local m = nn.Linear(1, 1)
local h = train{model = m, data = {x = X, y = Y}, epochs = 40, lr = 0.1, verbose = false}
T.ok(h.loss[40] < h.loss[1] / 50, "linear regression loss falls 50x (" .. h.loss[1] .. " -> " .. h.loss[40] .. ")")
T.is_close(m.weight:item(), 3, 0.05, "the weight learns the slope 3")
T.is_close(m.bias:item(), 1, 0.05, "the bias learns the intercept 1")
T.eq(h.steps, 40 * 2, "2 batches of 128 per epoch, 40 epochs")

-- classification with a test split: accuracy is reported per epoch
local C = tensor.tensor{{4, 0}, {-4, 0}, {0, 4}}
local xs, ys = {}, {}
for i = 1, 300 do
  local k = (i % 3) + 1
  xs[i] = (C[k] + tensor.randn(2) * 0.5):tolist()
  ys[i] = k
end
local data = {x = tensor.tensor(xs), y = tensor.tensor(ys)}
local hc = train{model = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 3)), data = data, test = data,
                 loss = nn.cross_entropy, epochs = 20, lr = 1e-2, verbose = false}
T.ok(hc.acc[20] > 0.9, "three separated clusters reach > 90% accuracy (" .. hc.acc[20] .. ")")

-- dashboard=true without a terminal: plain progress lines, and closed afterwards
local hd = train{model = nn.Linear(1, 1), data = {x = X, y = Y}, epochs = 2, dashboard = true, verbose = false}
T.eq(hd.steps, 4, "with the dashboard the loop still runs every step")
T.ok(not dash.is_open(), "the dashboard is closed after train returns")
T.errors_like(function()
  train{model = nn.Linear(2, 1), data = {x = X, y = Y}, dashboard = true, verbose = false}
end, "expects last dim 2", "a shape error inside train surfaces with the layer's message")
T.ok(not dash.is_open(), "the dashboard is closed after an error too")

T.errors_like(function() train{data = {x = X, y = Y}} end, "model = a module is required", "train without a model")
T.errors_like(function() train{model = m} end, "give data", "train without data")
T.done_testing()
