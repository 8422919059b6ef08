-- test_losses.lua - nll_loss, l1, smooth_l1, huber, kl_div and bce_with_logits with
-- pos_weight against PyTorch (tests/fixtures/layers/losses.safetensors, made by
-- tests/fixtures/make_layer_fixtures.py): outputs and input gradients to 1e-5 relative,
-- finite differences, and option errors.
local here = arg and arg[0] and arg[0]:match("^(.*)/[^/]*$") or "tests/lua"
local T = dofile(here .. "/tap.lua")
local R = dofile(here .. "/../fixtures/layers/ref.lua")(T)
local function fx(case, name) return R.fx("losses", case, name) end

-- loss(inputs...) against CASE.out, grads of sum(out * r) against CASE.g_<input>, then
-- finite differences on the first input
local function case(name, inputs, make, opts)
  opts = opts or {}
  R.check(name, function()
    local xs = {}
    for i, nm in ipairs(inputs) do xs[i] = fx(name, nm):requires_grad(true) end
    local out = make(table.unpack(xs))
    R.close(name .. ": output", out, fx(name, "out"), opts.tol)
    local r = fx(name, "r")
    ;(out * r):sum():backward()
    for i, nm in ipairs(inputs) do
      R.close(name .. ": grad " .. nm, xs[i].grad, fx(name, "g_" .. nm), opts.tol)
      xs[i].grad = nil
    end
    R.gradcheck(name, function() return (make(table.unpack(xs)) * r):sum() end, xs[1], opts.fd)
  end)
end

for _, red in ipairs({"mean", "sum", "none"}) do
  case("nll_" .. red, {"x"}, function(x) return nn.nll_loss(x, fx("nll_" .. red, "labels"), red) end)
  case("l1_" .. red, {"a", "b"}, function(a, b) return nn.l1_loss(a, b, {reduction = red}) end)
  case("smooth_l1_" .. red, {"a", "b"}, function(a, b) return nn.smooth_l1_loss(a, b, {reduction = red, beta = 0.5}) end)
  case("huber_" .. red, {"a", "b"}, function(a, b) return nn.huber_loss(a, b, {reduction = red, delta = 1.5}) end)
  local c = "bce_pw_" .. red
  case(c, {"x"}, function(x)
    return nn.bce_with_logits(x, fx(c, "t"), {reduction = red, pos_weight = fx(c, "pw"), weight = fx(c, "w")})
  end)
end
case("nll_weight", {"x"}, function(x) return nn.nll_loss(x, fx("nll_weight", "labels"), {weight = fx("nll_weight", "w")}) end)
case("smooth_l1_beta0", {"a", "b"}, function(a, b) return nn.smooth_l1_loss(a, b, {beta = 0}) end)
for _, red in ipairs({"mean", "sum", "none", "batchmean"}) do
  case("kl_" .. red, {"x"}, function(x) return nn.kl_div(x, fx("kl_" .. red, "t"), {reduction = red}) end)
end
case("kl_logt", {"x"}, function(x) return nn.kl_div(x, fx("kl_logt", "t"), {reduction = "batchmean", log_target = true}) end)

-- ---- errors name the loss and the valid options ------------------------------------------
local a, b = tensor.randn(3, 2), tensor.randn(3, 2)
T.errors_like(function() nn.smooth_l1_loss(a, b, {betta = 1}) end,
              "nn.smooth_l1_loss: unknown option 'betta' %(did you mean beta%? options: reduction, beta%)",
              "smooth_l1_loss: a misspelt option names the valid ones")
T.errors_like(function() nn.huber_loss(a, b, {reduction = "avg"}) end, 'reduction the string "avg"',
              "huber_loss: an unknown reduction is named")
T.errors_like(function() nn.kl_div(a, b, {log_targets = true}) end, "did you mean log_target", "kl_div: options checked")
T.errors_like(function() nn.l1_loss(a, tensor.randn(6)) end, "nn.l1_loss: input %[3,2%] and target %[6%] differ in shape",
              "l1_loss: a shape mismatch names both shapes")
T.errors_like(function() nn.nll_loss(a:log_softmax(2), tensor.tensor({1, 3, 2})) end,
              "nn.nll_loss: label 3 at position 2", "nll_loss: labels are checked 1-based")
T.errors_like(function() nn.nll_loss(a, b, {smoothing = 0.1}) end, "nn.nll_loss: unknown option 'smoothing'",
              "nll_loss: options checked")
T.errors_like(function() nn.bce_with_logits(a, b, {pos_weigth = 2}) end, "did you mean pos_weight",
              "bce_with_logits: options checked")
T.diag(string.format("worst relative error vs PyTorch: %.3g", R.worst))
T.done()
