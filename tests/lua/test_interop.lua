-- test_interop.lua - PyTorch state_dicts both ways. PyTorch -> nnlab: the files in
-- tests/fixtures/layers/interop (made by tests/fixtures/torch_interop.py: a conv net as
-- nn.Sequential with BatchNorm, and an LSTM model) load into the same architectures and
-- give PyTorch's outputs. nnlab -> PyTorch: m:save(path, {format="pytorch"}) and
-- /usr/bin/python3's torch loads it with load_state_dict(strict=True) (skipped without torch).
local here = arg and arg[0] and arg[0]:match("^(.*)/[^/]*$") or "tests/lua"
local T = dofile(here .. "/tap.lua")
local R = dofile(here .. "/../fixtures/layers/ref.lua")(T)
local dir = R.dir .. "/interop"

local function conv_net()
  return nn.Sequential(nn.Conv2d(1, 4, 3, {padding = 1}), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2),
                       nn.Conv2d(4, 8, 3), nn.ReLU(), nn.Flatten(), nn.Linear(8 * 2 * 2, 5))
end
local LSTMNet = nn.Module:extend("LSTMNet")
function LSTMNet:init()
  self.lstm = nn.LSTM(6, 5, {num_layers = 2, batch_first = true})
  self.head = nn.Sequential(nn.Linear(5, 8), nn.Tanh(), nn.Linear(8, 3))
end
function LSTMNet:forward(x)
  local out = self.lstm(x)
  return self.head(out:select(2, out:size(2)))
end
local models = {conv = conv_net, lstm = LSTMNet}

-- ---- PyTorch -> nnlab ---------------------------------------------------------------------
for _, name in ipairs({"conv", "lstm"}) do
  R.check(name .. ": a PyTorch state_dict loads", function()
    local m = models[name]()
    local _, info = m:load(dir .. "/" .. name .. ".safetensors", {verbose = false})
    m:eval()
    local io = tensor.load(dir .. "/" .. name .. "_io.safetensors")
    R.close(name .. ": nnlab computes PyTorch's output from PyTorch's weights", m(io.x), io.y)
    if name == "conv" then
      T.eq(info.mapped["0.weight"], "1.weight", "conv: 0.weight is read as 1.weight")
      T.eq(info.mapped["7.bias"], "8.bias", "conv: indices after ReLU/pool layers shift too (7 -> 8)")
      T.eq(info.ignored, {"1.num_batches_tracked"}, "conv: num_batches_tracked is ignored")
    else
      T.eq(info.mapped["lstm.weight_ih_l0"], nil, "lstm: weight_ih_l0 keeps its name")
      T.eq(info.mapped["head.2.weight"], "head.3.weight", "lstm: a nested Sequential shifts")
    end
  end)
end

R.check("the load says what it mapped", function()
  local out = {}
  local old = print
  print = function(...) out[#out + 1] = table.concat({...}, " ") end    -- luacheck: ignore
  local ok, err = pcall(function() conv_net():load(dir .. "/conv.safetensors") end)
  print = old                                                               -- luacheck: ignore
  T.ok(ok, "load succeeds", err)
  T.has(out[1] or "", "a PyTorch state_dict\n  11 name(s) mapped from 0-based Sequential indices:\n  0.bias -> 1.bias",
        "the note names the mapping")
  T.has(out[1] or "", "ignored 1.num_batches_tracked", "and the ignored keys")
end)

T.errors_like(function()
  nn.Sequential(nn.Conv2d(1, 4, 3, {padding = 1}), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(4, 8, 3), nn.ReLU(),
                nn.Flatten(), nn.Linear(32, 6)):load(dir .. "/conv.safetensors", {verbose = false})
end, "missing key%(s%) 4%.weight, 4%.bias, 7%.weight, 7%.bias; unexpected key%(s%) 2%.bias, 2%.running_mean, "
  .. "2%.running_var, 2%.weight, 5%.bias, 5%.weight, 8%.bias, 8%.weight;",
  "a different architecture lists every missing and unexpected key")
T.errors_like(function()
  nn.Sequential(nn.Conv2d(1, 4, 3, {padding = 1}), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(4, 8, 3),
                nn.ReLU(), nn.Flatten(), nn.Linear(32, 6)):load(dir .. "/conv.safetensors", {verbose = false})
end, "8%.weight has shape %[5,32%] in the file but %[6,32%] in the model; 8%.bias has shape %[5%] in the file but %[6%]",
  "every shape mismatch is listed")
R.check("strict = false loads what matches", function()
  local m = nn.Sequential(nn.Conv2d(1, 4, 3, {padding = 1}))
  local _, info = m:load(dir .. "/conv.safetensors", {strict = false, verbose = false})
  T.ok(#info.unexpected == 8 and #info.missing == 0, "the unexpected keys are reported, not raised")
  R.close("the first conv's weight is PyTorch's", m[1].weight, tensor.load(dir .. "/conv.safetensors")["0.weight"])
end)
R.check("a first layer without parameters: only the shifted names fit", function()
  local src = nn.Sequential(nn.ReLU(), nn.Linear(3, 2))
  local sd = {["1.weight"] = src[2].weight:detach(), ["1.bias"] = src[2].bias:detach()}   -- PyTorch's names
  local m = nn.Sequential(nn.ReLU(), nn.Linear(3, 2))
  local _, info = m:load_state_dict(sd, {verbose = false})
  T.eq(info.mapped["1.weight"], "2.weight", "1.weight (PyTorch) is 2.weight (nnlab)")
  R.close("the weight arrived", m[2].weight, src[2].weight, 0)
end)
T.errors_like(function() conv_net():save("/tmp/x.safetensors", {format = "torch"}) end,
              'format is "nnlab" %(1%-based names%) or "pytorch"', "save names its formats")
R.check("nnlab's own files keep 1-based names", function()
  local m = conv_net()
  local path = os.tmpname() .. ".safetensors"
  m:save(path)
  T.ok(tensor.load(path)["1.weight"] ~= nil, "format nnlab: 1.weight")
  m:save(path, {format = "pytorch"})
  local sd = tensor.load(path)
  T.ok(sd["0.weight"] ~= nil and sd["7.bias"] ~= nil and sd["1.running_var"] ~= nil and sd["8.bias"] == nil,
       "format pytorch: 0.weight ... 7.bias")
  local back = conv_net()
  back:load(path, {verbose = false})
  local x = tensor.randn(2, 1, 8, 8)
  m:eval(); back:eval()
  R.close("a pytorch-format file loads back into nnlab", back(x), m(x), 0)
  os.remove(path)
end)

-- ---- nnlab -> PyTorch: a real round trip through /usr/bin/python3 -------------------------
local py = "/usr/bin/python3"
if not os.execute(py .. " -c 'import torch' >/dev/null 2>&1") then
  T.skip("nnlab -> PyTorch round trip", "no torch for " .. py .. " (apt-get install python3-torch)")
else
  R.check("nnlab -> PyTorch round trip", function()
    local tmp = os.tmpname()
    os.remove(tmp)
    assert(os.execute("mkdir -p " .. tmp))
    tensor.manual_seed(3)
    for name, shape in pairs({conv = {2, 1, 8, 8}, lstm = {3, 7, 6}}) do
      local m = models[name]()
      if name == "conv" then
        tensor.no_grad(function() m[2].running_mean:copy(tensor.randn(4) * 0.3); m[2].running_var:fill(1.7) end)
      end
      m:eval()
      local x = tensor.randn(shape)
      m:save(tmp .. "/" .. name .. "_nnlab.safetensors", {format = "pytorch"})
      tensor.save(tmp .. "/" .. name .. "_nnlab_io.safetensors", {x = x, y = m(x)})
    end
    local p = io.popen(py .. " " .. R.dir .. "/../torch_interop.py check " .. tmp .. " 2>&1")
    local out = p:read("a")
    local ok = p:close()
    T.ok(ok, "PyTorch's load_state_dict(strict=True) takes nnlab's files and computes nnlab's outputs", out)
    T.has(out, "conv: ok strict load", "the conv net (Sequential with BatchNorm)")
    T.has(out, "lstm: ok strict load", "the LSTM model (weight_ih_l0 ..., nested Sequential head)")
    os.execute("rm -rf " .. tmp)
  end)
end
T.diag(string.format("worst relative error vs PyTorch: %.3g", R.worst))
T.done()
