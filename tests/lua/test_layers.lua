-- test_layers.lua - Conv1d, ConvTranspose2d, AdaptiveAvgPool2d, GroupNorm, Upsample,
-- Softmax/LogSoftmax, RNN/LSTM/GRU and their cells, LeakyReLU/ELU/SiLU/Softplus/Hardtanh
-- against PyTorch (tests/fixtures/layers/{layers,activations}.safetensors, made by
-- tests/fixtures/make_layer_fixtures.py):
-- outputs, input and parameter gradients to 1e-5 relative, finite differences, PyTorch's
-- parameter names, nn.summary rows and printing.
local here = arg and arg[0] and arg[0]:match("^(.*)/[^/]*$") or "tests/lua"
local T = dofile(here .. "/tap.lua")
local R = dofile(here .. "/../fixtures/layers/ref.lua")(T)
local function fx(case, name) return R.fx("layers", case, name) end

-- copies fixture tensors into the module's parameters: {param = fixture name}
local function load_params(m, case, map)
  tensor.no_grad(function()
    for pname, fname in pairs(map) do m[pname]:copy(fx(case, fname)) end
  end)
  return m
end

-- m(x) vs CASE.out; grads of sum(out * r) for x and the params in map; finite differences
-- on x and on the first parameter listed in fd_param
local function layer_case(name, m, map, opts)
  opts = opts or {}
  R.check(name, function()
    load_params(m, name, map or {})
    local x = fx(name, "x"):requires_grad(true)
    local out = m(x)
    R.close(name .. ": output", out, fx(name, "out"), opts.tol)
    local r = fx(name, "r")
    ;(out * r):sum():backward()
    R.close(name .. ": grad x", x.grad, fx(name, "g_x"), opts.tol)
    for pname, fname in pairs(map or {}) do
      R.close(name .. ": grad " .. pname, m[pname].grad, fx(name, "g_" .. fname), opts.tol)
    end
    m:zero_grad()
    R.gradcheck(name .. " d/dx", function() return (m(x) * r):sum() end, x)
    if opts.fd_param then
      R.gradcheck(name .. " d/d" .. opts.fd_param, function() return (m(x) * r):sum() end, m[opts.fd_param])
    end
  end)
end

layer_case("conv1d", nn.Conv1d(3, 4, 3, {stride = 2, padding = 1}), {weight = "w", bias = "b"}, {fd_param = "weight"})
layer_case("conv1d_g", nn.Conv1d(4, 6, 3, {padding = 2, groups = 2}), {weight = "w", bias = "b"})
layer_case("convt2d", nn.ConvTranspose2d(3, 4, 3, {stride = 2, padding = 1, output_padding = 1}),
           {weight = "w", bias = "b"}, {fd_param = "weight"})
layer_case("convt2d_g", nn.ConvTranspose2d(4, 6, 2, {groups = 2}), {weight = "w", bias = "b"})
layer_case("convt2d_s3", nn.ConvTranspose2d(2, 3, 4, {stride = 3, padding = 2, bias = false}), {weight = "w"})
layer_case("adaptive_avg", nn.AdaptiveAvgPool2d({3, 4}))
layer_case("adaptive_avg1", nn.AdaptiveAvgPool2d(1))
-- PyTorch's case input is x + 1 (away from zero mean); the fixture stores x itself
R.check("group_norm", function()
  local m = load_params(nn.GroupNorm(3, 6), "group_norm", {weight = "w", bias = "b"})
  local x = fx("group_norm", "x"):requires_grad(true)
  local r = fx("group_norm", "r")
  local out = m(x + 1)
  R.close("group_norm: output", out, fx("group_norm", "out"))
  ;(out * r):sum():backward()
  R.close("group_norm: grad x", x.grad, fx("group_norm", "g_x"), 1e-4)
  R.close("group_norm: grad weight", m.weight.grad, fx("group_norm", "g_w"))
  R.close("group_norm: grad bias", m.bias.grad, fx("group_norm", "g_b"))
  R.gradcheck("group_norm d/dx", function() return (m(x + 1) * r):sum() end, x)
end)
layer_case("group_norm1d", nn.GroupNorm(2, 4, {affine = false}), nil, {tol = 1e-4})
layer_case("up_nearest", nn.Upsample(2))
layer_case("up_nearest_size", nn.Upsample({size = {5, 7}}))
layer_case("up_bilinear", nn.Upsample({scale_factor = 2, mode = "bilinear"}))
layer_case("up_bilinear_size", nn.Upsample({size = {5, 7}, mode = "bilinear"}))
layer_case("softmax", nn.Softmax(2))
layer_case("log_softmax", nn.LogSoftmax(2))

-- ---- recurrent layers: PyTorch's parameter names load as they are ---------------------
local function param_names(case, m)
  local sd = {}
  for name in m:named_parameters() do sd[name] = fx(case, name) end
  return sd
end

-- out, state = m(x, hx): loss = sum(out * r) + sum(h_n * rh0) [+ sum(c_n * rh1)]
local function rnn_case(name, m, hx_count, lstm)
  R.check(name, function()
    m:load_state_dict(param_names(name, m))
    local x = fx(name, "x"):requires_grad(true)
    local hx
    if hx_count == 1 then hx = fx(name, "hx0") elseif hx_count == 2 then hx = {fx(name, "hx0"), fx(name, "hx1")} end
    local r, rh0 = fx(name, "r"), fx(name, "rh0")
    local rh1 = lstm and fx(name, "rh1")
    local function loss()
      local out, st = m(x, hx)
      local h, c = st, nil
      if lstm then h, c = st[1], st[2] end
      local l = (out * r):sum() + (h * rh0):sum()
      if c then l = l + (c * rh1):sum() end
      return l, out, h, c
    end
    local l, out, h, c = loss()
    R.close(name .. ": output", out, fx(name, "out"))
    R.close(name .. ": h_n", h, fx(name, "h0"))
    if lstm then R.close(name .. ": c_n", c, fx(name, "h1")) end
    l:backward()
    R.close(name .. ": grad x", x.grad, fx(name, "g_x"))
    for pname, p in m:named_parameters() do R.close(name .. ": grad " .. pname, p.grad, fx(name, "g_" .. pname)) end
    m:zero_grad()
    R.gradcheck(name .. " d/dx", function() return (loss()) end, x)
    R.gradcheck(name .. " d/dweight_hh_l0", function() return (loss()) end, m.weight_hh_l0)
  end)
end

rnn_case("rnn", nn.RNN(5, 4, {num_layers = 2}), 1)
rnn_case("rnn_relu", nn.RNN(5, 4, {nonlinearity = "relu", batch_first = true}), 0)
rnn_case("lstm", nn.LSTM(5, 4, {num_layers = 2, batch_first = true}), 2, true)
rnn_case("lstm_nobias", nn.LSTM(3, 2, {bias = false}), 0, true)
rnn_case("gru", nn.GRU(5, 4, {num_layers = 2}), 1)

local function cell_case(name, m, lstm)
  R.check(name, function()
    m:load_state_dict(param_names(name, m))
    local x = fx(name, "x"):requires_grad(true)
    local hx = lstm and {fx(name, "hx0"), fx(name, "hx1")} or fx(name, "hx0")
    local rh0, rh1 = fx(name, "rh0"), lstm and fx(name, "rh1")
    local function loss()
      local h, c = m(x, hx)
      local l = (h * rh0):sum()
      if lstm then l = l + (c * rh1):sum() end
      return l, h, c
    end
    local l, h, c = loss()
    R.close(name .. ": h", h, fx(name, "h0"))
    if lstm then R.close(name .. ": c", c, fx(name, "h1")) end
    l:backward()
    R.close(name .. ": grad x", x.grad, fx(name, "g_x"))
    for pname, p in m:named_parameters() do R.close(name .. ": grad " .. pname, p.grad, fx(name, "g_" .. pname)) end
    m:zero_grad()
    R.gradcheck(name .. " d/dx", function() return (loss()) end, x)
  end)
end
cell_case("rnncell", nn.RNNCell(5, 4))
cell_case("lstmcell", nn.LSTMCell(5, 4), true)
cell_case("grucell", nn.GRUCell(5, 4))

-- ---- names, shapes, summary, printing -------------------------------------------------
R.check("PyTorch's parameter names and order", function()
  local names = {}
  for n in nn.LSTM(3, 2, {num_layers = 2}):named_parameters() do names[#names + 1] = n end
  T.eq(names, {"weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0", "weight_ih_l1", "weight_hh_l1",
               "bias_ih_l1", "bias_hh_l1"}, "LSTM parameters in PyTorch's order")
  T.eq(nn.GRU(3, 2).weight_ih_l0:size(1), 6, "GRU stacks 3 gates")
end)
R.check("unbatched and batch_first shapes", function()
  local out, h = nn.RNN(3, 2, {num_layers = 2})(tensor.randn(5, 3))
  T.eq({out:size(1), out:size(2), h:size(1), h:size(2)}, {5, 2, 2, 2}, "unbatched [T,in] -> [T,H], h [layers,H]")
  local o2, st = nn.LSTM(3, 2, {batch_first = true})(tensor.randn(4, 5, 3))
  T.eq({o2:size(1), o2:size(2), o2:size(3), st[2]:size(2)}, {4, 5, 2, 4}, "batch_first output [B,T,H], c_n [1,B,H]")
end)
R.check("nn.summary rows with mult-adds", function()
  local net = nn.Sequential(nn.Conv1d(3, 8, 3, {padding = 1}), nn.GroupNorm(2, 8), nn.Softmax(2))
  local s = nn.summary(net, {2, 3, 16}, {print = false})
  T.eq(s.rows[2].shape, {2, 8, 16}, "Conv1d output shape on meta")
  T.eq(s.rows[2].mult_adds, 2 * 8 * 16 * 3 * 3, "Conv1d mult-adds = out * in * k")
  local up = nn.Sequential(nn.ConvTranspose2d(4, 2, 3, {stride = 2, padding = 1, output_padding = 1}),
                           nn.Upsample({scale_factor = 2, mode = "bilinear"}), nn.AdaptiveAvgPool2d(5))
  local s2 = nn.summary(up, {1, 4, 8, 8}, {print = false})
  T.eq(s2.rows[2].shape, {1, 2, 16, 16}, "ConvTranspose2d output shape")
  T.eq(s2.rows[2].mult_adds, 4 * 8 * 8 * 2 * 9, "ConvTranspose2d mult-adds = in * out * kh * kw")
  T.eq(s2.rows[3].shape, {1, 2, 32, 32}, "Upsample output shape")
  T.eq(s2.rows[4].shape, {1, 2, 5, 5}, "AdaptiveAvgPool2d output shape")
  local Net = nn.Module:extend("Seq2One")
  function Net:init() self.lstm = nn.LSTM(6, 5, {num_layers = 2, batch_first = true}); self.fc = nn.Linear(5, 1) end
  function Net:forward(x)
    local out, st = self.lstm(x)
    return self.fc(st[1][2])
  end
  local s3 = nn.summary(Net(), {4, 7, 6}, {print = false})
  T.eq(s3.rows[2].class, "LSTM", "the LSTM has a row")
  T.eq(s3.rows[2].mult_adds, 4 * 7 * 4 * 5 * ((6 + 5) + (5 + 5)), "LSTM mult-adds: every step of both layers")
  T.eq(s3.rows[3].shape, {4, 1}, "the second result of a layer (the LSTM state) survives the summary")
end)
R.check("printing via extra_repr", function()
  T.eq(tostring(nn.LSTM(5, 4, {num_layers = 2, batch_first = true})), "LSTM(5, 4, num_layers=2, batch_first=true)",
       "LSTM prints its settings")
  T.eq(tostring(nn.ConvTranspose2d(3, 4, 3, {stride = 2})), "ConvTranspose2d(3, 4, k=3x3, stride=2)", "ConvTranspose2d")
  T.eq(tostring(nn.GroupNorm(2, 8)), "GroupNorm(2, 8, eps=1e-05)", "GroupNorm")
  T.eq(tostring(nn.Upsample({scale_factor = 2, mode = "bilinear"})), "Upsample(scale_factor=2, mode=bilinear)", "Upsample")
  T.eq(tostring(nn.Softmax(2)), "Softmax(dim=2)", "Softmax")
  T.eq(tostring(nn.GRUCell(3, 2)), "GRUCell(3, 2)", "GRUCell")
end)

-- ---- activation modules on the tensor library's elementwise ops ------------------------
local function act_case(name, m)
  R.check(name, function()
    local x = R.fx("activations", name, "x"):requires_grad(true)
    local r = R.fx("activations", name, "r")
    local out = m(x)
    R.close(name .. ": output", out, R.fx("activations", name, "out"))
    ;(out * r):sum():backward()
    R.close(name .. ": grad x", x.grad, R.fx("activations", name, "g_x"))
    R.gradcheck(name .. " d/dx", function() return (m(x) * r):sum() end, x)
  end)
end
act_case("leaky_relu", nn.LeakyReLU(0.2))
act_case("leaky_relu_default", nn.LeakyReLU())
act_case("elu", nn.ELU(0.7))
act_case("elu_default", nn.ELU())
act_case("silu", nn.SiLU())
act_case("softplus", nn.Softplus(2, 3))
act_case("softplus_default", nn.Softplus())
act_case("hardtanh", nn.Hardtanh(-0.5, 1.5))
act_case("hardtanh_default", nn.Hardtanh())
R.check("activation modules print their settings", function()
  T.eq(tostring(nn.LeakyReLU(0.2)), "LeakyReLU(negative_slope=0.2)", "LeakyReLU")
  T.eq(tostring(nn.Softplus()), "Softplus(beta=1, threshold=20)", "Softplus")
  T.eq(tostring(nn.Hardtanh(-2, 2)), "Hardtanh(min_val=-2, max_val=2)", "Hardtanh")
  T.eq(tostring(nn.SiLU()), "SiLU()", "SiLU")
end)
T.errors_like(function() nn.LeakyReLU("0.1") end, 'nn.LeakyReLU%(negative_slope%): negative_slope must be a finite '
              .. 'number, got the string "0.1"', "LeakyReLU checks its slope")
T.errors_like(function() nn.Hardtanh(1, -1) end, "min_val 1 is above max_val %-1", "Hardtanh checks its range")
T.errors_like(function() nn.SiLU(1) end, "nn.SiLU%(%): takes 0 argument%(s%), got 1", "SiLU takes no arguments")

-- ---- errors name the layer, the shapes and the fix -------------------------------------
T.errors_like(function() nn.Conv1d(3, 4, 3)(tensor.randn(2, 5, 3)) end,
              "nn.Conv1d%(3, 4, k=3%): expects %[B,3,L%].-got %[2,5,3%]; channels look last", "Conv1d input error")
T.errors_like(function() nn.LSTM(5, 4)(tensor.randn(6, 3, 4)) end,
              "nn.LSTM%(5, 4%): expects %[T,B,5%] %(time first; batch_first=true for %[B,T,in%]%)", "LSTM input error")
T.errors_like(function() nn.LSTM(5, 4)(tensor.randn(6, 3, 5), tensor.zeros(1, 3, 4)) end,
              "the state is a pair {h0, c0}", "LSTM state error")
T.errors_like(function() nn.GRU(5, 4)(tensor.randn(6, 3, 5), tensor.zeros(2, 3, 4)) end,
              "h0 must be %[1,3,4%], got %[2,3,4%]", "GRU h0 shape error")
T.errors_like(function() nn.LSTM(5, 4, {batchfirst = true}) end, "did you mean batch_first", "RNN options checked")
T.errors_like(function() nn.GroupNorm(4, 6) end, "nn.GroupNorm%(4, 6%): groups must divide the channels", "GroupNorm groups")
T.errors_like(function() nn.ConvTranspose2d(2, 2, 3, {stride = 2, output_padding = 2}) end,
              "output_padding=2 must be smaller than stride=2", "ConvTranspose2d output_padding")
T.errors_like(function() nn.Upsample({scale_factr = 2}) end, "did you mean scale_factor", "Upsample options checked")
T.errors_like(function() nn.AdaptiveAvgPool2d(8)(tensor.randn(1, 1, 4, 4)) end, "smaller than the output",
              "AdaptiveAvgPool2d too small")
T.diag(string.format("worst relative error vs PyTorch: %.3g", R.worst))
T.done()
