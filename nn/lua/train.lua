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

-- On the CPU an item() costs nothing, and each step's loss is read at once (today's
-- behaviour). On a GPU, loss:item() after every step would make the host wait for the
-- device every step: the launch queue drains and a small model runs at launch latency.
-- There the values stay on the device (detached, no copy) and are read in one copy every
-- M.read_every values and at the epoch's end (a sync point: errors the GPU found, such as
-- a bad label, are reported there). The sums are then made in Lua, in step order, with
-- the CPU path's own expressions, so both paths give the same numbers. M.deferred = true
-- forces the GPU path on any device (tests/lua/test_train.lua), false the CPU path.
M.read_every = 256
M.deferred = nil   -- nil: by the device of the values

local function is_deferred(t)
  if M.deferred ~= nil then return M.deferred end
  return t:device() ~= "cpu"
end

-- A sum of scalar tensors, each times a weight (a number, or nil for 1): read now, or
-- kept on the device and read in batches. s.value() reads what is left, returns the sum.
local function summer()
  local s = {sum = 0}
  local pending, weights = {}, {}
  local function flush()
    if #pending == 0 then return end
    local v = tensor.cat(pending, 1):cpu():tolist()
    for i = 1, #v do
      local w = weights[i]
      s.sum = s.sum + (w and v[i] * w or v[i])
    end
    pending, weights = {}, {}
  end
  function s.add(t, w)
    if not is_deferred(t) then
      s.sum = s.sum + (w and t:item() * w or t:item())
      return
    end
    local n = #pending + 1
    pending[n], weights[n] = t:detach():reshape(1), w or false
    if n >= M.read_every then flush() end
  end
  function s.value()
    flush()
    return s.sum
  end
  return s
end

-- nn.accuracy(out, yb) as a tensor (the same ops, not read): its mean on the device
local function accuracy_tensor(out, yb)
  if not tensor.is_tensor(yb) or out:dim() ~= 2 or yb:dim() ~= 1 or yb:size(1) ~= out:size(1) then
    return tensor.tensor(nn.accuracy(out, yb))   -- raises nn.accuracy's own message
  end
  return out:argmax(2):eq(yb):mean()
end

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
  local total, correct, n = summer(), summer(), test.x:size(1)
  local is_ce = loss_fn == nn.cross_entropy
  tensor.no_grad(function()
    for xb, yb in data.loader(test.x, test.y, {batch_size = batch}) do
      local out = model(xb)
      total.add(loss_fn(out, yb), xb:size(1))
      if is_ce then
        if is_deferred(out) then correct.add(accuracy_tensor(out, yb), xb:size(1))
        else correct.sum = correct.sum + nn.accuracy(out, yb) * xb:size(1) end
      end
    end
  end)
  model:train()
  return total.value() / n, is_ce and correct.value() / n or nil
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
      local sum, count = summer(), 0
      for xb, yb in loader do
        opt:zero_grad()
        local loss = loss_fn(model(xb), yb)
        loss:backward()
        opt:step()
        sum.add(loss)                    -- read now (CPU) or in batches (GPU): summer()
        count, hist.steps = count + 1, hist.steps + 1
        if use_dash and dash.stopped() then hist.stopped = true; break end
      end
      hist.loss[epoch] = sum.value() / math.max(count, 1)
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
