-- functional.lua - the functional API (positional encodings, attention, losses) and
-- nn.init, straight from nn.F (nn/*.c) so errors point at the caller's line.
local nn, F = nn, nn.F

-- The C functions themselves, so their errors point at the caller's line.
nn.pos_sincos_2d = F.pos_sincos_2d                 -- (h, w, d[, {device=}])
nn.fourier_features = F.fourier_features           -- (x, bands, max_freq)
nn.scaled_dot_attention = F.scaled_dot_attention   -- (q, k, v[, {causal=true}])
-- losses take a reduction as "mean" | "sum" | "none" or {reduction = ...}
nn.mse_loss = F.mse_loss
nn.cross_entropy = F.cross_entropy                 -- labels are 1-based class indices (floats)
nn.nll_loss = F.nll_loss                           -- (log_probs, labels 1-based[, {reduction=, weight=}])

-- ---- losses composed from tensor ops (exact, and autograd derives the backward) --------
local check = require("nn.check")
local U = require("nn.util")
local is_tensor, shape_str = U.is_tensor, U.shape_str
local REDUCTIONS = {mean = true, sum = true, none = true}

-- opts: nil, a reduction string or a table; returns the table of options (reduction filled)
local function loss_opts(what, opts, valid, extra_reductions)
  if type(opts) == "string" then opts = {reduction = opts} end
  check.check_options(what, opts, valid, 3)
  opts = opts or {}
  local r = opts.reduction or "mean"
  if not (REDUCTIONS[r] or (extra_reductions and extra_reductions[r])) then
    local names = {'"mean"', '"sum"', '"none"'}
    for k in pairs(extra_reductions or {}) do names[#names + 1] = '"' .. k .. '"' end
    error(string.format("%s: reduction %s: use %s", what, check.describe(r), table.concat(names, ", ")), 3)
  end
  return opts, r
end

-- both tensors of one shape: broadcasting a [N] target against [N,1] predictions is a bug
local function check_pair(what, a, an, b, bn)
  if not is_tensor(a) or not is_tensor(b) then
    error(string.format("%s(%s, %s): expected two tensors, got %s and %s", what, an, bn, check.describe(a),
                        check.describe(b)), 3)
  end
  if a:shape() ~= b:shape() then
    local hint = a:numel() == b:numel() and ("same number of values: reshape one, e.g. " .. bn .. ":view(" .. an
                                             .. ":shape())") or "give both the same shape"
    error(string.format("%s: %s %s and %s %s differ in shape; %s", what, an, shape_str(a), bn, shape_str(b), hint), 3)
  end
end

local function reduce(loss, r)
  if r == "sum" then return loss:sum() elseif r == "mean" then return loss:mean() end
  return loss
end

local function check_number(what, name, v, min)
  if type(v) ~= "number" or v ~= v or v < min then
    error(string.format("%s: %s must be a number >= %g, got %s", what, name, min, check.describe(v)), 3)
  end
  return v
end

-- nn.l1_loss(input, target[, reduction | {reduction=}]) = |input - target|
function nn.l1_loss(input, target, opts)
  local _, r = loss_opts("nn.l1_loss", opts, {"reduction"})
  check_pair("nn.l1_loss", input, "input", target, "target")
  return reduce((input - target):abs(), r)
end

-- |d| < beta: 0.5 d^2 / beta, else |d| - 0.5 beta (beta = 0 is the L1 loss)
local function smooth_l1(what, input, target, beta, scale, r)
  check_pair(what, input, "input", target, "target")
  local d = input - target
  local a = d:abs()
  if beta == 0 then return reduce(a * scale, r) end
  local small = a:lt(beta)                        -- 1/0, no gradient of its own
  local loss = small * (d * d * (0.5 / beta)) + (1 - small) * (a - 0.5 * beta)
  return reduce(scale == 1 and loss or loss * scale, r)
end

-- nn.smooth_l1_loss(input, target[, {reduction=, beta=1}])
function nn.smooth_l1_loss(input, target, opts)
  local o, r = loss_opts("nn.smooth_l1_loss", opts, {"reduction", "beta"})
  local beta = check_number("nn.smooth_l1_loss", "beta", o.beta == nil and 1 or o.beta, 0)
  return smooth_l1("nn.smooth_l1_loss", input, target, beta, 1, r)
end

-- nn.huber_loss(input, target[, {reduction=, delta=1}]) = delta * smooth_l1(beta = delta)
function nn.huber_loss(input, target, opts)
  local o, r = loss_opts("nn.huber_loss", opts, {"reduction", "delta"})
  local delta = check_number("nn.huber_loss", "delta", o.delta == nil and 1 or o.delta, 0)
  if delta == 0 then error("nn.huber_loss: delta must be > 0, got 0", 2) end
  return smooth_l1("nn.huber_loss", input, target, delta, delta, r)
end

-- nn.kl_div(input, target[, {reduction="mean", log_target=false}]): PyTorch's convention,
-- input holds log-probabilities: target * (log target - input), 0 where target = 0.
-- "batchmean" divides the sum by the batch size (dim 1): the true KL divergence.
function nn.kl_div(input, target, opts)
  local o, r = loss_opts("nn.kl_div", opts, {"reduction", "log_target"}, {batchmean = true})
  check_pair("nn.kl_div", input, "input", target, "target")
  local loss
  if o.log_target then
    loss = target:exp() * (target - input)
  else
    -- target * log(target) is 0 at target = 0 (xlogy); the clamp keeps log finite there
    loss = target * (target:clamp(1e-38, nil):log() - input)
  end
  if r == "batchmean" then
    return loss:sum() / (input:dim() > 0 and input:size(1) or 1)
  end
  return reduce(loss, r)
end

-- nn.bce_with_logits(logits, target[, reduction | {reduction=, weight=, pos_weight=}]):
-- pos_weight (broadcast over the last dim, one per class) scales the positive term:
-- (1 - y) x + (1 + (pw - 1) y) softplus(-x), softplus(-x) = relu(-x) + log(1 + exp(-|x|)).
function nn.bce_with_logits(x, y, opts)
  local o, r = loss_opts("nn.bce_with_logits", opts, {"reduction", "weight", "pos_weight"})
  if o.pos_weight == nil and o.weight == nil then return F.bce_with_logits(x, y, r) end
  check_pair("nn.bce_with_logits", x, "logits", y, "target")
  local sp = (-x):relu() + ((-x:abs()):exp() + 1):log()      -- softplus(-x), never overflows
  local loss
  if o.pos_weight ~= nil then
    local pw = o.pos_weight
    if not is_tensor(pw) and type(pw) ~= "number" then
      error("nn.bce_with_logits: pos_weight must be a tensor (one per class) or a number, got "
            .. check.describe(pw), 2)
    end
    loss = (1 - y) * x + (y * (pw - 1) + 1) * sp
  else
    loss = (1 - y) * x + sp
  end
  if o.weight ~= nil then loss = loss * o.weight end
  return reduce(loss, r)
end

-- nn.accuracy(logits [N,C], labels [N]) -> the fraction of rows whose largest logit is
-- the (1-based) label; nn.accuracy(model, x, y[, {batch_size=1000}]) runs the model over x
-- in eval mode, without grad, in batches, and puts its mode back.
function nn.accuracy(a, b, c, opts)
  if tensor.is_tensor(a) then
    if not tensor.is_tensor(b) or a:dim() ~= 2 or b:dim() ~= 1 or b:size(1) ~= a:size(1) then
      error(string.format("nn.accuracy(logits, labels): expects logits [N,C] and labels [N], got %s and %s",
                          check.describe(a), check.describe(b)), 2)
    end
    return tensor.no_grad(function() return a:argmax(2):eq(b):mean():item() end)
  end
  if type(a) ~= "table" or not a.parameters or not tensor.is_tensor(b) or not tensor.is_tensor(c) then
    error("nn.accuracy: give (logits, labels) or (model, x, y), got " .. check.describe(a) .. ", "
          .. check.describe(b) .. ", " .. check.describe(c), 2)
  end
  check.check_options("nn.accuracy", opts, {"batch_size"}, 2)
  local was = a.training
  a:eval()
  local correct, n = 0, b:size(1)
  local ok, err = pcall(tensor.no_grad, function()
    for xb, yb in data.loader(b, c, {batch_size = opts and opts.batch_size or 1000}) do
      correct = correct + a(xb):argmax(2):eq(yb):sum():item()
    end
  end)
  a:train(was)
  if not ok then error(err, 0) end
  return n > 0 and correct / n or 0
end

nn.init = {
  uniform_ = function(t, lo, hi) F.uniform_(t, lo, hi); return t end,
  normal_ = function(t, mean, std) F.normal_(t, mean or 0, std or 1); return t end,
  kaiming_uniform_ = function(t, fan_in) F.kaiming_uniform_(t, fan_in); return t end,
  xavier_uniform_ = function(t, fan_in, fan_out) F.xavier_uniform_(t, fan_in, fan_out); return t end,
  zeros_ = function(t) return tensor.no_grad(function() return t:zero() end) end,
  ones_ = function(t) return tensor.no_grad(function() return t:fill(1) end) end,
}

