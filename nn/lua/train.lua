-- train.lua - the global train{...}: a whole training loop in one call, for lessons and
-- quick experiments. Everything it does is plain nn/optim/data code a learner can copy.
--
--   history = train{model = m, data = {x = X, y = Y},      -- or loader = data.loader(...)
--                   loss = nn.cross_entropy,                 -- default: nn.mse_loss
--                   opt = optim.Adam(m, {lr = 1e-3}),        -- default: Adam, lr 1e-3
--                   epochs = 5, batch_size = 128, shuffle = true,
--                   test = {x = Xt, y = Yt},                 -- accuracy (classes) or test loss
--                   dashboard = true}                        -- live panels while it runs
--   history.loss[epoch], history.test_loss[epoch], history.acc[epoch], history.steps
local M = {}

local function check(opts)
  if type(opts) ~= "table" then error("train{...}: give one table, e.g. train{model = m, data = {x = X, y = Y}}", 3) end
  if type(opts.model) ~= "table" or not opts.model.parameters then
    error("train{...}: model = a module is required (e.g. model = nn.Linear(4, 1))", 3)
  end
  if not opts.loader and not (type(opts.data) == "table" and tensor.is_tensor(opts.data.x)) then
    error("train{...}: give data = {x = inputs, y = targets} or loader = data.loader(x, y, {...})", 3)
  end
end

-- test loss, and accuracy when the loss is cross-entropy (labels 1..C)
local function evaluate(model, loss_fn, test, batch)
  model:eval()
  local total, correct, n = 0, 0, test.x:size(1)
  tensor.no_grad(function()
    for xb, yb in data.loader(test.x, test.y, {batch_size = batch}) do
      local out = model(xb)
      total = total + loss_fn(out, yb):item() * xb:size(1)
      if loss_fn == nn.cross_entropy then correct = correct + nn.accuracy(out, yb) * xb:size(1) end
    end
  end)
  model:train()
  return total / n, loss_fn == nn.cross_entropy and correct / n or nil
end

local function run(opts)
  local model, loss_fn = opts.model, opts.loss or nn.mse_loss
  local opt = opts.opt or optim.Adam(model, {lr = opts.lr or 1e-3})
  local batch = opts.batch_size or 128
  local loader = opts.loader or data.loader(opts.data.x, opts.data.y,
                                            {batch_size = batch, shuffle = opts.shuffle ~= false, seed = opts.seed})
  local hist = {loss = {}, test_loss = {}, acc = {}, steps = 0}
  local use_dash = opts.dashboard and dash.is_open()
  if use_dash then
    -- a run of its own; the optimizer's steps and the model's first forward fill the panels
    dash._run(opts.name or "train", {settings = {epochs = opts.epochs or 1, batch_size = batch,
      loss = loss_fn == nn.cross_entropy and "cross_entropy" or loss_fn == nn.mse_loss and "mse_loss" or "custom"}})
  end
  local t0 = sys.clock()
  local ok, err = pcall(function()
    for epoch = 1, opts.epochs or 1 do
      local sum, count = 0, 0
      for xb, yb in loader do
        opt:zero_grad()
        local loss = loss_fn(model(xb), yb)
        loss:backward()
        opt:step()
        local l = loss:item()
        sum, count, hist.steps = sum + l, count + 1, hist.steps + 1
        if use_dash and dash.stopped() then hist.stopped = true; break end
      end
      hist.loss[epoch] = sum / math.max(count, 1)
      local line = string.format("epoch %d  loss %.4f", epoch, hist.loss[epoch])
      if opts.test then                  -- also after q, y: the history says where it got to
        hist.test_loss[epoch], hist.acc[epoch] = evaluate(model, loss_fn, opts.test, 1000)
        line = line .. string.format("  test loss %.4f", hist.test_loss[epoch])
        if hist.acc[epoch] then line = line .. string.format("  test acc %.4f", hist.acc[epoch]) end
        if use_dash then dash.log{epoch = epoch, test_loss = hist.test_loss[epoch], acc = hist.acc[epoch]} end
      end
      -- with a dashboard the line goes to its log and comes out when it closes
      if opts.verbose ~= false then print(line .. string.format("  %.1f s", sys.clock() - t0)) end
      if hist.stopped then break end
    end
  end)
  if not ok then
    if type(err) == "table" and err.dash_stop then hist.stopped = true
    else
      if use_dash then dash._end("failed") end
      error(err, 0)
    end
  end
  if hist.stopped and opts.verbose ~= false then
    print(string.format("stopped from the dashboard after %d steps", hist.steps))
  end
  if use_dash then dash._end(hist.stopped and "stopped" or "finished") end
  return hist
end

return setmetatable(M, {__call = function(_, opts)
  check(opts)
  if not opts.dashboard then return run(opts) end
  -- a dashboard train{} opened is closed by it (on a terminal after q: the finished
  -- curve stays up to be read); one already open stays open for what comes next
  local opened = not dash.is_open()
  if opened then dash.open() end
  local ok, res = pcall(run, opts)
  if opened then dash.close() end
  if not ok then error(res, 0) end
  return res
end})
