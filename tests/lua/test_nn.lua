-- test_nn.lua - every layer and loss against PyTorch (tests/fixtures/nn, made by
-- tests/fixtures/make_nn_fixtures.py): outputs and input/weight gradients to 1e-4
-- relative, plus a finite-difference check; then module behaviour and errors.
local here = arg and arg[0] and arg[0]:match("^(.*)/[^/]*$") or "tests/lua"
local T = dofile(here .. "/tap.lua")
local fx = T.fx

-- Loads case inputs (requiring grad), runs make(inputs) -> out, compares the output
-- and the grads of loss = sum(out * r), and finite-differences the first input.
local function case(name, inputs, make, opts)
  opts = opts or {}
  T.check(name, function()
    local xs = {}
    for i, nm in ipairs(inputs) do xs[i] = fx(name, nm):requires_grad(true) end
    local out = make(table.unpack(xs))
    T.close(name .. ": output", out, fx(name, opts.out or "out"), opts.tol)
    local r = fx(name, "r")
    local loss = (out * r):sum()
    loss:backward()
    for i, nm in ipairs(inputs) do
      if not (opts.no_grad and opts.no_grad[nm]) then
        T.close(name .. ": grad " .. nm, xs[i].grad, fx(name, "g_" .. nm), opts.tol)
      end
      xs[i].grad = nil
    end
    if not opts.no_fd then
      T.gradcheck(name, function() return (make(table.unpack(xs)) * r):sum() end, xs[1], opts.fd)
    end
  end)
end

-- a module whose parameters are copied from fixtures: {["weight"] = "w", ...}
local function load_params(m, casename, map)
  for pname, fname in pairs(map) do
    local holder, key = m, pname
    for part in pname:gmatch("([^.]+)%.") do holder = holder[part] end
    key = pname:match("([^.]+)$")
    tensor.no_grad(function() holder[key]:copy(fx(casename, fname)) end)   -- a parameter: outside autograd
  end
  return m
end

-- ---- layers, functional and as modules ----------------------------------------------
case("linear", {"x", "w", "b"}, function(x, w, b) return nn.F.linear(x, w, b) end)
T.check("nn.Linear module", function()
  local m = load_params(nn.Linear(5, 4), "linear", {weight = "w", bias = "b"})
  T.close("nn.Linear module: output", m(fx("linear", "x")), fx("linear", "out"))
  local x = fx("linear", "x"):requires_grad(true)
  ;(m(x) * fx("linear", "r")):sum():backward()
  T.close("nn.Linear module: weight grad", m.weight.grad, fx("linear", "g_w"))
  T.close("nn.Linear module: bias grad", m.bias.grad, fx("linear", "g_b"))
end)

case("conv2d", {"x", "w", "b"}, function(x, w, b) return nn.F.conv2d(x, w, b, 2, 1, 1) end)
case("conv2d_dw", {"x", "w", "b"}, function(x, w, b) return nn.F.conv2d(x, w, b, 1, 1, 4) end)
T.check("nn.Conv2d module", function()
  local m = load_params(nn.Conv2d(3, 4, 3, {stride = 2, padding = 1}), "conv2d", {weight = "w", bias = "b"})
  T.close("nn.Conv2d module: output", m(fx("conv2d", "x")), fx("conv2d", "out"))
  local dw = load_params(nn.Conv2d(4, 4, 3, {padding = 1, groups = 4}), "conv2d_dw", {weight = "w", bias = "b"})
  T.close("nn.Conv2d depthwise module: output", dw(fx("conv2d_dw", "x")), fx("conv2d_dw", "out"))
end)
case("max_pool2d", {"x"}, function(x) return nn.MaxPool2d(2)(x) end)
case("avg_pool2d", {"x"}, function(x) return nn.AvgPool2d(3, {stride = 2, padding = 1})(x) end)

for _, bn in ipairs({{"batch_norm1d", nn.BatchNorm1d, 4}, {"batch_norm2d", nn.BatchNorm2d, 3}}) do
  local name, cls, C = bn[1], bn[2], bn[3]
  T.check(name, function()
    local m = load_params(cls(C), name, {weight = "w", bias = "b", running_mean = "rm0", running_var = "rv0"})
    local x = fx(name, "x"):requires_grad(true)
    local out = m(x)
    T.close(name .. ": training output", out, fx(name, "out"))
    ;(out * fx(name, "r")):sum():backward()
    T.close(name .. ": grad x", x.grad, fx(name, "g_x"))
    T.close(name .. ": grad weight", m.weight.grad, fx(name, "g_w"))
    T.close(name .. ": grad bias", m.bias.grad, fx(name, "g_b"))
    T.close(name .. ": running_mean (momentum 0.1)", m.running_mean, fx(name, "rm"))
    T.close(name .. ": running_var (unbiased)", m.running_var, fx(name, "rv"))
    m:eval()
    T.close(name .. ": eval output uses running stats", m(fx(name, "x")), fx(name, "out_eval"))
    m:train()
    local r = fx(name, "r")
    T.gradcheck(name, function() return (m(x) * r):sum() end, x, {tol = 3e-2})
  end)
end

case("layer_norm", {"x", "w", "b"}, function(x, w, b) return nn.F.layer_norm(x, 1, w, b, 1e-5) end)
T.check("nn.LayerNorm module", function()
  local m = load_params(nn.LayerNorm(6), "layer_norm", {weight = "w", bias = "b"})
  T.close("nn.LayerNorm module: output", m(fx("layer_norm", "x")), fx("layer_norm", "out"))
end)

case("embedding", {"w"}, function(w) return nn.F.embedding(w, fx("embedding", "ids")) end, {no_fd = true})
T.check("nn.Embedding module", function()
  local m = load_params(nn.Embedding(10, 4), "embedding", {weight = "w"})
  T.close("nn.Embedding module: output (1-based ids)", m(fx("embedding", "ids")), fx("embedding", "out"))
  T.raises("nn.Embedding: id 0 is an error", function() m(tensor.tensor({1, 0})) end, "1-based")
end)

case("relu", {"x"}, function(x) return nn.ReLU()(x) end)
case("gelu", {"x"}, function(x) return nn.GELU()(x) end)
case("tanh", {"x"}, function(x) return nn.Tanh()(x) end)
case("sigmoid", {"x"}, function(x) return nn.Sigmoid()(x) end)

-- ---- losses ----------------------------------------------------------------------------
for _, red in ipairs({"mean", "sum", "none"}) do
  case("mse_" .. red, {"a", "b"}, function(a, b) return nn.mse_loss(a, b, {reduction = red}) end)
  case("ce_" .. red, {"x"}, function(x) return nn.cross_entropy(x, fx("ce_" .. red, "labels"), red) end)
  case("bce_" .. red, {"x"},
       function(x) return nn.bce_with_logits(x, fx("bce_" .. red, "target"), {reduction = red}) end)
end
T.raises("cross_entropy: label 0 names the position and the 1-based range", function()
  nn.cross_entropy(tensor.zeros(6, 10), tensor.tensor({1, 2, 3, 4, 0, 6}))
end, "label 0 at position 5: labels are 1-based classes 1..10")
T.raises("cross_entropy: label > C", function()
  nn.cross_entropy(tensor.zeros(2, 10), tensor.tensor({11, 2}))
end, "label 11 at position 1")
T.raises("cross_entropy: one-hot labels get a hint", function()
  nn.cross_entropy(tensor.zeros(2, 3), tensor.zeros(2, 3))
end, "one-hot")
T.raises("mse_loss: shapes must match", function() nn.mse_loss(tensor.zeros(4, 1), tensor.zeros(4)) end,
         "differ in shape")

-- ---- attention ---------------------------------------------------------------------------
case("sdpa", {"q", "k", "v"}, function(q, k, v) return nn.scaled_dot_attention(q, k, v) end)
case("sdpa_causal", {"q", "k", "v"}, function(q, k, v) return nn.scaled_dot_attention(q, k, v, {causal = true}) end)

T.check("nn.MultiheadAttention", function()
  local m = load_params(nn.MultiheadAttention(8, 2), "mha", {in_proj_weight = "in_proj_weight",
    in_proj_bias = "in_proj_bias", ["out_proj.weight"] = "out_proj_weight", ["out_proj.bias"] = "out_proj_bias"})
  local q, kv = fx("mha", "q"):requires_grad(true), fx("mha", "kv"):requires_grad(true)
  local o1, o2 = m(q), m(q, kv, kv)
  T.close("MHA self-attention output", o1, fx("mha", "out_self"))
  T.close("MHA cross-attention output", o2, fx("mha", "out_cross"))
  ;((o1 * fx("mha", "r_self")):sum() + (o2 * fx("mha", "r_cross")):sum()):backward()
  T.close("MHA grad q", q.grad, fx("mha", "g_q"))
  T.close("MHA grad kv", kv.grad, fx("mha", "g_kv"))
  T.close("MHA grad in_proj_weight", m.in_proj_weight.grad, fx("mha", "g_in_proj_weight"))
  T.close("MHA grad out_proj.weight", m.out_proj.weight.grad, fx("mha", "g_out_proj_weight"))
  local r = fx("mha", "r_cross")
  T.gradcheck("MHA input", function() return (m(q, kv, kv) * r):sum() end, kv)
end)

T.check("nn.XCA", function()
  local m = load_params(nn.XCA(8, 2), "xca", {["qkv.weight"] = "qkv_w", temperature = "temperature",
    ["proj.weight"] = "proj_w", ["proj.bias"] = "proj_b"})
  local x = fx("xca", "x"):requires_grad(true)
  local out = m(x)
  T.close("XCA output", out, fx("xca", "out"))
  local r = fx("xca", "r")
  ;(out * r):sum():backward()
  T.close("XCA grad x", x.grad, fx("xca", "g_x"))
  T.close("XCA grad temperature", m.temperature.grad, fx("xca", "g_temperature"))
  T.close("XCA grad qkv.weight", m.qkv.weight.grad, fx("xca", "g_qkv_w"))
  T.gradcheck("XCA input", function() return (m(x) * r):sum() end, x)
end)

T.check("nn.CrossAttention (Perceiver latents)", function()
  local m = load_params(nn.CrossAttention(8, 3, 2), "cross_attention", {latents = "latents",
    ["attn.in_proj_weight"] = "in_proj_weight", ["attn.in_proj_bias"] = "in_proj_bias",
    ["attn.out_proj.weight"] = "out_proj_weight", ["attn.out_proj.bias"] = "out_proj_bias"})
  local x = fx("cross_attention", "x"):requires_grad(true)
  local out = m(x)
  T.ok(T.shape_of(out) == "[2,3,8]", "CrossAttention maps [2,9,8] to the latents [2,3,8]", T.shape_of(out))
  T.close("CrossAttention output", out, fx("cross_attention", "out"))
  ;(out * fx("cross_attention", "r")):sum():backward()
  T.close("CrossAttention grad x", x.grad, fx("cross_attention", "g_x"))
  T.close("CrossAttention grad latents", m.latents.grad, fx("cross_attention", "g_latents"))
end)

-- ---- positional encodings ---------------------------------------------------------------
T.check("pos_sincos_2d", function()
  T.close("pos_sincos_2d(3, 4, 8)", nn.pos_sincos_2d(3, 4, 8), fx("pos_sincos_2d", "out"))
  T.raises("pos_sincos_2d: d must be divisible by 4", function() nn.pos_sincos_2d(2, 2, 6) end, "divisible by 4")
end)
case("fourier", {"x"}, function(x) return nn.fourier_features(x, 4, 10) end)

-- ---- dropout ---------------------------------------------------------------------------------
T.check("nn.Dropout", function()
  tensor.manual_seed(3)
  local d, x = nn.Dropout(0.25), tensor.ones(100, 100)
  local y = d(x)
  local zeros = y:eq(0):sum():item()
  T.ok(zeros > 2250 and zeros < 2750, "Dropout(0.25) zeroes about a quarter", zeros)
  T.near("Dropout scales kept values by 1/(1-p)", y:max():item(), 1 / 0.75, 1e-6)
  d:eval()
  T.close("Dropout is the identity in eval mode", d(x), x)
end)

-- ---- modules ----------------------------------------------------------------------------------
T.check("user-defined module trains", function()
  tensor.manual_seed(7)
  local Net = nn.Module:extend("Net")
  function Net:init(h)
    self.encoder = nn.Sequential(nn.Linear(2, h), nn.Tanh())
    self.head = nn.Linear(h, 1)
    self.scale = tensor.ones(1):requires_grad(true)       -- a bare tensor field is a parameter
    self.blocks = {nn.Linear(h, h)}                        -- a plain list of modules is walked too
  end
  function Net:forward(x) return self.head(self.blocks[1](self.encoder(x))) * self.scale end
  local m = Net(8)
  local names = {}
  for n in m:named_parameters() do names[#names + 1] = n end
  T.ok(table.concat(names, " ") == "encoder.1.weight encoder.1.bias head.weight head.bias scale "
       .. "blocks.1.weight blocks.1.bias", "named_parameters: nested names in registration order",
       table.concat(names, " "))
  T.ok(m:num_params() == 2 * 8 + 8 + 8 + 1 + 1 + 64 + 8, "num_params counts every parameter once", m:num_params())
  T.ok(#m:children() == 3, "children: encoder, head and the listed block", #m:children())
  local x = tensor.rand(64, 2) * 2 - 1
  local y = (x:select(2, 1) * x:select(2, 2)):unsqueeze(2)
  local opt = optim.Adam(m, {lr = 0.02})
  local first, last
  for i = 1, 300 do
    opt:zero_grad()
    local loss = nn.mse_loss(m(x), y)
    loss:backward()
    opt:step()
    first = first or loss:item()
    last = loss:item()
  end
  T.ok(last < first * 0.2, string.format("loss falls from %.4f to %.4f", first, last))
  T.ok(m.scale.grad ~= nil, "the bare tensor field got a gradient")
  m:eval()
  T.ok(m.encoder[1].training == false and m.blocks[1].training == false, "eval() reaches every submodule")
  local s = tostring(m)
  T.ok(s:find("Net(", 1, true) and s:find("(encoder): Sequential(", 1, true) and
       s:find("(1): Linear(in=2, out=8, bias=true)", 1, true), "tostring is a readable tree", s)
end)

T.check("state_dict, save and load", function()
  tensor.manual_seed(1)
  local a = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Linear(4, 2))
  local sd, names = a:state_dict()
  T.ok(#names == 8 and sd["2.running_mean"] ~= nil, "state_dict holds parameters and buffers",
       table.concat(names, " "))
  local path = os.tmpname() .. ".safetensors"
  a:save(path)
  tensor.manual_seed(2)
  local b = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Linear(4, 2))
  b:load(path)
  local x = tensor.randn(5, 3)
  a:eval(); b:eval()
  T.close("a loaded model computes the same", b(x), a(x), 0)
  T.raises("load: a missing key is named",
           function() nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Linear(4, 2), nn.Linear(2, 2)):load(path) end,
           "missing key(s) 4.weight")
  T.raises("load: an extra key is named",
           function() nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4)):load(path) end, "unexpected key(s) 3.bias")
  T.raises("load: a wrong shape is named",
           function() nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Linear(4, 3)):load(path) end,
           "3.weight has shape [2,4] in the file but [3,4] in the model")
  os.remove(path)
end)

T.check("init follows PyTorch's defaults", function()
  tensor.manual_seed(0)
  local m = nn.Linear(400, 300)
  local bound = 1 / math.sqrt(400)
  local wmax = m.weight:abs():max():item()
  T.ok(wmax <= bound and wmax > 0.99 * bound, "Linear weight ~ U(-1/sqrt(in), 1/sqrt(in))", wmax)
  T.ok(m.bias:abs():max():item() <= bound, "Linear bias within the same bound")
  local std = m.weight:std():item()
  T.near("Linear weight std = bound/sqrt(3)", std, bound / math.sqrt(3), 0.02)
  tensor.manual_seed(0)
  local w1 = nn.Linear(400, 300).weight:sum():item()
  tensor.manual_seed(0)
  T.ok(nn.Linear(400, 300).weight:sum():item() == w1, "the seed drives init")
  local c = nn.Conv2d(3, 8, 5)
  T.ok(c.weight:abs():max():item() <= 1 / math.sqrt(75), "Conv2d bound uses fan_in = C*k*k")
end)

-- ---- teaching errors ---------------------------------------------------------------------
T.raises("Linear: forgot to flatten", function() nn.Linear(784, 10)(tensor.zeros(64, 1, 28, 28)) end,
         "nn.Linear(784->10): expects last dim 784, got [64,1,28,28]; did you forget x:flatten(2)?")
T.raises("Conv2d: missing batch dim", function() nn.Conv2d(1, 4, 3)(tensor.zeros(1, 28, 28)) end, "unsqueeze")
T.raises("Conv2d: channel mismatch", function() nn.Conv2d(3, 4, 3)(tensor.zeros(2, 1, 8, 8)) end,
         "expects 3 input channels")
T.raises("Sequential: class instead of instance", function() nn.Sequential(nn.ReLU) end, "nn.ReLU()")
T.raises("MultiheadAttention: d divisible by heads", function() nn.MultiheadAttention(10, 3) end, "divisible")

-- ---- meta device ---------------------------------------------------------------------------
T.check("layers run on meta", function()
  local m = nn.Sequential(nn.Conv2d(3, 8, 3, {padding = 1}), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Flatten(), nn.Linear(8 * 112 * 112, 10)):to("meta")
  local y = m(tensor.empty({4, 3, 224, 224}, {device = "meta"}))
  T.ok(T.shape_of(y) == "[4,10]" and y:device() == "meta", "a CNN on meta gives [4,10]", T.shape_of(y))
  local loss = nn.cross_entropy(y, tensor.empty({4}, {device = "meta"}))
  loss:backward()
  T.ok(m[1].weight.grad ~= nil and m[1].weight.grad:device() == "meta", "backward runs on meta too")
end)

-- stride, padding, groups and kernel sizes run as C ints: a value that does not fit is an
-- error naming it, never cut (padding = 2^40 acted as 0, stride = 2^32+1 as 1)
for _, c in ipairs{
  {"Conv2d padding=2^40", function() nn.Conv2d(1, 1, 3, {padding = 2^40}) end, "padding"},
  {"Conv2d stride=2^32+1", function() nn.Conv2d(1, 1, 3, {stride = 2^32 + 1}) end, "stride"},
  {"Conv2d padding=2^31", function() nn.Conv2d(1, 1, 3, {padding = 2^31}) end, "padding"},
  {"Conv2d groups=0", function() nn.Conv2d(2, 2, 3, {groups = 0}) end, "groups: expected an integer in 1"},
  {"MaxPool2d stride=2^32+1", function() nn.MaxPool2d(2, {stride = 2^32 + 1}) end, "stride"},
  {"AvgPool2d padding=2^31", function() nn.AvgPool2d(2, {padding = 2^31}) end, "padding"},
  {"F.conv2d padding=2^40", function() nn.F.conv2d(tensor.randn(1, 1, 4, 4), tensor.randn(1, 1, 3, 3), nil, 1, 2^40) end, "padding = 1099511627776"},
  {"F.conv2d stride=2^32+1", function() nn.F.conv2d(tensor.randn(1, 1, 4, 4), tensor.randn(1, 1, 3, 3), nil, 2^32 + 1) end, "stride = 4294967297"},
  {"F.max_pool2d stride=2^32+1", function() nn.F.max_pool2d(tensor.randn(1, 1, 4, 4), 2, 2^32 + 1) end, "stride = 4294967297"},
  {"F.max_pool2d k=2^32+2", function() nn.F.max_pool2d(tensor.randn(1, 1, 4, 4), 2^32 + 2) end, "kernel size"},
  -- fits an int, but the output (2^32 x 2^32 windows) wrapped int64 into a [1,1,2^32,0] result
  {"F.conv2d padding=2^31-1", function() nn.F.conv2d(tensor.randn(1, 1, 4, 4), tensor.randn(1, 1, 3, 3), nil, 1, 2^31 - 1) end, "too large"},
} do
  T.raises(c[1] .. " is refused", c[2], c[3])
end
T.check("a huge padded pooling window loops over its pixels, not its padding", function()
  local x = tensor.randn(1, 1, 4, 4):requires_grad()
  local t0 = os.clock()
  local y = nn.F.avg_pool2d(x, 2^20, 1, 2^19)     -- 5x5 windows that each hold the whole image
  y:sum():backward()
  T.ok(os.clock() - t0 < 1, "2^20-pixel windows: forward and backward in well under a second")
  T.near("each window is sum(x)/2^40 (padding counted, as PyTorch)", y[1][1][3][3]:item() * 2^40, x:sum():item(), 1e-5)
  T.near("each pixel's gradient is 25/2^40", x.grad[1][1][2][2]:item() * 2^40, 25, 1e-6)
end)

-- pooling an empty image plane: PyTorch refuses it (max_pool2d returned uninitialised memory)
T.raises("max_pool2d of a [1,1,0,0] plane with padding is refused", function()
  nn.F.max_pool2d(tensor.zeros(1, 1, 0, 0), 2, 2, 1) end, "only the batch dim may be 0")
T.raises("avg_pool2d of a [1,1,0,3] plane too", function() nn.F.avg_pool2d(tensor.zeros(1, 1, 0, 3), 2, 2, 1) end, "empty dim 3")
T.ok(nn.F.max_pool2d(tensor.zeros(0, 1, 2, 2), 2):shape() == tensor.zeros(0, 1, 1, 1):shape(), "an empty batch still pools")

-- a weight shared by two layers stays shared when the model moves (it became 2 parameters)
T.check("Module:to keeps a shared weight shared", function()
  local a, b = nn.Linear(3, 3), nn.Linear(3, 3)
  b.weight = a.weight
  local m = nn.Sequential(a, b)
  local before = #m:parameters()
  m:to("meta")
  T.ok(before == 3 and #m:parameters() == 3 and m[1].weight == m[2].weight, "3 parameters before and after :to, one weight")
end)
for _, p in ipairs{1.5, -1, 0 / 0, "a"} do
  T.raises("nn.Dropout(" .. tostring(p) .. ") is refused", function() nn.Dropout(p) end, "in [0, 1]")
end
T.ok(nn.Dropout().p == 0.5 and nn.Dropout(1).p == 1, "nn.Dropout: default 0.5, and 1 is allowed")

-- cross_entropy's weight and label_smoothing, with PyTorch's values (torch 1.13,
-- F.cross_entropy on the same logits; labels 0-based there); both were silently ignored
T.check("cross_entropy weight and label_smoothing match PyTorch", function()
  local x = tensor{{1, 2, 3}, {0.5, -1, 2}, {0, 0, 1}}
  local y, w = tensor{1, 3, 2}, tensor{1, 2, 0.5}
  local cases = {
    {{}, 1.400120735168457}, {{label_smoothing = 0.1}, 1.405676245689392}, {{weight = w}, 1.6089003086090088},
    {{weight = w, label_smoothing = 0.2}, 1.6433348655700684},
    {{weight = w, label_smoothing = 0.2, reduction = "sum"}, 5.751672267913818},
  }
  for _, c in ipairs(cases) do
    local keys = {}
    for k, v in pairs(c[1]) do keys[#keys + 1] = k .. "=" .. (k == "weight" and "w" or tostring(v)) end
    table.sort(keys)
    T.near("cross_entropy {" .. table.concat(keys, ", ") .. "}", nn.cross_entropy(x, y, c[1]):item(), c[2], 1e-5)
  end
  T.close("cross_entropy {weight, label_smoothing=0.3, reduction=none}",
          nn.cross_entropy(x, y, {weight = w, label_smoothing = 0.3, reduction = "none"}),
          tensor{2.2279860973358154, 0.9189179539680481, 2.6650283336639404}, 1e-5)
  local xl = tensor.randn(4, 5):requires_grad()
  local yl, wl = tensor{1, 5, 2, 2}, tensor{1, 0.5, 2, 1, 3}
  T.gradcheck("cross_entropy with weight and label_smoothing", function()
    return nn.cross_entropy(xl, yl, {weight = wl, label_smoothing = 0.2}) end, xl)
end)
T.raises("a misspelt cross_entropy option is an error naming the valid ones",
         function() nn.cross_entropy(tensor.randn(2, 3), tensor{1, 2}, {label_smooth = 0.1}) end,
         "unknown option 'label_smooth' (did you mean label_smoothing? options: reduction, weight, label_smoothing)")
-- nn.accuracy: the fraction of rows whose largest logit is the label
T.near("nn.accuracy(logits, labels)", nn.accuracy(tensor{{0.1, 2, 0}, {3, 1, 0}, {0, 0, 5}, {1, 0, 0}},
                                                  tensor{2, 1, 1, 1}), 0.75)
do
  local m = nn.Sequential(nn.Linear(3, 3), nn.Dropout(0.5))
  local x, y = tensor.randn(10, 3), tensor{1, 2, 3, 1, 2, 3, 1, 2, 3, 1}
  local want = nn.accuracy(m:eval()(x), y)
  m:train()
  T.near("nn.accuracy(model, x, y) evaluates in eval mode, in batches", nn.accuracy(m, x, y, {batch_size = 3}), want)
  T.ok(m.training, "and gives the model its training mode back")
end
T.raises("nn.accuracy names its arguments", function() nn.accuracy(tensor.ones(3), tensor.ones(3)) end,
         "expects logits [N,C] and labels [N]")
T.raises("layer options are checked too", function() nn.Linear(3, 4, {bais = false}) end,
         "nn.Linear: unknown option 'bais' (did you mean bias? options: bias, device)")
T.raises("and pooling's", function() nn.MaxPool2d(2, {strid = 1}) end, "did you mean stride?")
T.raises("mse_loss options too", function() nn.mse_loss(tensor.ones(2), tensor.ones(2), {reduce = "sum"}) end,
         "unknown option 'reduce'")
T.raises("label_smoothing outside [0, 1]", function()
  nn.cross_entropy(tensor.randn(2, 3), tensor{1, 2}, {label_smoothing = 1.5}) end, "must be in [0, 1]")

-- a check inside a constructor names the learner's line, not a line of nn/lua/*.lua
-- (nested: CrossAttention builds a MultiheadAttention whose check fails)
for _, case in ipairs{{"Linear", function() local m = nn.Linear(0, 3); return m end},
                      {"MultiheadAttention", function() local m = nn.CrossAttention(8, 4, 3); return m end}} do
  local ok, err = pcall(case[2])
  T.ok(not ok and tostring(err):find("^[^:]*test_nn%.lua:%d+: nn%." .. case[1]) ~= nil,
       "a constructor error points at the caller's line: " .. case[1], err)
end

T.done()
