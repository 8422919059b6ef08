-- test_summary.lua - nn.summary's table and totals, the flatten-lesson parameter
-- counts, and the meta device: shapes and would-be bytes without allocating.
local here = arg and arg[0] and arg[0]:match("^(.*)/[^/]*$") or "tests/lua"
local T = dofile(here .. "/tap.lua")

T.check("MLP summary on a shape (meta)", function()
  tensor.manual_seed(0)
  local m = nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(),
                          nn.Linear(128, 10))
  local cpu_before = tensor.memory_estimate().cpu
  local s = nn.summary(m, {64, 1, 28, 28}, {print = false})
  T.ok(tensor.memory_estimate().cpu == cpu_before, "a shape summary allocates nothing on the cpu")
  T.ok(m[2].weight:device() == "cpu", "parameters are back on the cpu afterwards")
  local params = 784 * 256 + 256 + 256 * 128 + 128 + 128 * 10 + 10
  T.ok(s.total_params == params and s.trainable_params == params, "total params " .. params, s.total_params)
  T.ok(s.mult_adds == 64 * (784 * 256 + 256 * 128 + 128 * 10), "mult-adds of the three Linears", s.mult_adds)
  T.ok(#s.rows == 7 and s.rows[1].class == "Sequential" and s.rows[3].name == "2", "one row per call, nested names")
  T.ok(table.concat(s.rows[2].shape, ",") == "64,784" and table.concat(s.rows[7].shape, ",") == "64,10",
       "output shapes per row")
  T.ok(s.rows[3].params == 784 * 256 + 256 and s.rows[4].trainable == "--", "params and trainable per row")
  T.ok(s.param_bytes == params * 4, "params bytes")
  T.ok(s.activation_bytes == (64 * (784 + 256 + 256 + 128 + 128 + 10)) * 4 * 2, "forward+backward activations",
       s.activation_bytes)
  T.ok(s.total_bytes == s.input_bytes + s.param_bytes + s.activation_bytes and s.input_bytes == 64 * 784 * 4,
       "total = input + params + activations")
end)

T.check("summary keeps the model trainable and in its mode", function()
  local m = nn.Sequential(nn.Linear(4, 4), nn.Dropout(0.5), nn.Linear(4, 1))
  nn.summary(m, tensor.randn(3, 4), {print = false})
  T.ok(m[2].training == true, "training mode restored after the summary")
  local opt = optim.SGD(m, {lr = 0.1})
  local loss = nn.mse_loss(m(tensor.randn(3, 4)), tensor.zeros(3, 1))
  loss:backward()
  opt:step()
  T.ok(m[1].weight.grad ~= nil, "the model still trains")
end)

T.check("conv mult-adds", function()
  local s = nn.summary(nn.Sequential(nn.Conv2d(1, 8, 3, {padding = 1}), nn.MaxPool2d(2)), {2, 1, 28, 28},
                       {print = false})
  T.ok(s.mult_adds == 2 * 8 * 28 * 28 * 9, "Conv2d: numel(out) * C*k*k", s.mult_adds)
  T.ok(table.concat(s.rows[3].shape, ",") == "2,8,14,14", "MaxPool2d halves H and W")
end)

T.check("the printed table", function()
  local lines = {}
  local real_print = print
  print = function(s) lines[#lines + 1] = s end
  local ok, err = pcall(nn.summary, nn.Sequential(nn.Linear(784, 10)), {64, 784})
  print = real_print
  assert(ok, err)
  local text = table.concat(lines, "\n")
  T.ok(text:find("Linear (1)", 1, true) and text:find("[64,10]", 1, true) and text:find("7,850", 1, true) and
       text:find("Total params: 7,850", 1, true) and text:find("Estimated total size", 1, true),
       "layer, output shape, params with separators, totals and memory", text)
end)

-- LESSONS.md, flatten: the three routes' parameter counts, on meta so nothing is allocated
T.check("flatten lesson counts", function()
  local huge = nn.Linear(65536 * 64, 8, {bias = false, device = "meta"})
  T.ok(huge:num_params() == 33554432, "flatten + Linear(65536*64, 8): 33,554,432 weights", huge:num_params())
  local small = nn.Linear(64, 8, {bias = false})
  T.ok(small:num_params() == 512, "Linear(64, 8) shared over tokens: 512 weights", small:num_params())
  local s = nn.summary(small, {1, 65536, 64}, {print = false})
  T.ok(table.concat(s.rows[1].shape, ",") == "1,65536,8", "Linear(64,8) on [1,65536,64] gives [1,65536,8]")
  local sh = nn.summary(huge, {1, 65536 * 64}, {print = false})
  T.ok(sh.param_bytes == 33554432 * 4, "the huge route's weights alone are 134 MB", sh.param_bytes)
end)

-- LESSONS.md, perceiver: full self-attention over 224*224 pixels
T.check("Perceiver meta check", function()
  local M = 224 * 224
  tensor.reset_peak()
  local base = tensor.memory_estimate().meta_peak
  local t0 = os.clock()
  local q = tensor.empty({8, M, 64}, {device = "meta"})
  local scores = q:matmul(q:transpose(2, 3))
  local after_scores = tensor.memory_estimate().meta_peak
  local out = nn.scaled_dot_attention(q, q, q)
  local elapsed = os.clock() - t0
  local peak = tensor.memory_estimate().meta_peak
  T.ok(table.concat({scores:size(1), scores:size(2), scores:size(3)}, ",") == "8,50176,50176",
       "scores are [8,50176,50176]")
  T.ok(after_scores - base >= 8 * M * M * 4, string.format("the scores alone: %.4g bytes", after_scores - base))
  T.ok(peak >= 80.6e9, string.format("full attention on meta reports %.4g bytes (>= 80.6e9)", peak))
  T.ok(elapsed < 0.5, string.format("in %.1f ms", elapsed * 1000))
  T.ok(tensor.memory_estimate().cpu < 1e9 and out:device() == "meta", "without allocating")
  local xca = nn.summary(nn.XCA(64, 8), {8, M, 64}, {print = false})
  local mha = nn.summary(nn.MultiheadAttention(64, 8), {8, M, 64}, {print = false})
  T.ok(mha.meta_peak_bytes >= 8 * 8 * M * M * 4, string.format("MultiheadAttention(64, 8) summary: measured meta "
       .. "peak %.3g bytes covers the [8,8,50176,50176] maps", mha.meta_peak_bytes))
  T.ok(xca.meta_peak_bytes < 5e9, string.format("XCA's peak stays small (no N x N map): %.3g bytes", xca.meta_peak_bytes))
  T.ok(xca.mult_adds * 100 < mha.mult_adds, string.format("XCA's mult-adds (%.3g) are linear in N; "
       .. "self-attention's (%.3g) quadratic", xca.mult_adds, mha.mult_adds))
end)

T.done()
