-- test_gpu_api.lua: the GPU-facing API that works without a GPU: matmul precision,
-- device names cuda:N, tensor.cuda_devices(), tensor.cuda_synchronize(). Runs on the
-- CPU (the parity suite, test_gpu_parity.lua, covers what needs a GPU).
-- Run: ./nnlab tests/lua/test_gpu_api.lua   (prints TAP)
local dir = debug.getinfo(1, "S").source:match("^@(.*)/") or "."
local tap = dofile(dir .. "/tap.lua")
local ok = tap.ok
local function raises(fn, ...) local good, err = pcall(fn, ...); return not good, tostring(err) end

-- ---- matmul precision (PyTorch's set_float32_matmul_precision) --------------------------------
ok(tensor.get_matmul_precision() == "highest", "the default matmul precision is highest (full float32)",
   tensor.get_matmul_precision())
tensor.set_matmul_precision("high")
ok(tensor.get_matmul_precision() == "high", "set_matmul_precision(\"high\") sticks")
local a, b = tensor.randn(8, 5), tensor.randn(5, 3)
local want = a:matmul(b)
ok((a:matmul(b) - want):abs():max():item() == 0, "the CPU multiplies in float32 whatever the setting")
tensor.set_matmul_precision("highest")
ok(tensor.get_matmul_precision() == "highest", "and back to highest")
local bad, err = raises(tensor.set_matmul_precision, "fast")
ok(bad and err:find("tensor.set_matmul_precision", 1, true) and err:find("'fast'", 1, true)
   and err:find('"highest"', 1, true) and err:find('"high"', 1, true),
   "a bad precision names the op, the value and the valid ones", err)
ok(tensor.get_matmul_precision() == "highest", "and leaves the setting as it was")
bad, err = raises(tensor.set_matmul_precision)
ok(bad, "a missing precision is an error", err)

-- ---- device names cuda:N ----------------------------------------------------------------------
for _, name in ipairs({"cuda:x", "cuda:-1", "cuda:", "cuda:1.5", "cuda:01x"}) do
  local bad, err = raises(tensor.zeros, 2, {device = name})
  ok(bad and err:find("unknown device '" .. name .. "'", 1, true) and err:find("cuda:N", 1, true),
     name .. " is refused, saying how a GPU is named", err)
end
bad, err = raises(function() return tensor.ones(2):to("cuda:-1") end)
ok(bad and err:find("unknown device 'cuda:-1'", 1, true), "x:to(\"cuda:-1\") too", err)
local avail = tensor.cuda_available()
bad, err = raises(tensor.zeros, 2, {device = "cuda:0"})
ok(avail or (bad and not err:find("unknown device", 1, true)), "cuda:0 is a device name (fails here only for want of a GPU)", err)
bad, err = raises(tensor.zeros, 2, {device = "tpu"})
ok(bad and err:find("unknown device 'tpu'", 1, true), "other unknown names still fail as before", err)

-- ---- the machine's GPUs -------------------------------------------------------------------------
local list, why = tensor.cuda_devices()
ok(type(list) == "table", "cuda_devices returns a list", type(list))
ok(#list > 0 or (type(why) == "string" and #why > 0), "a list of GPUs, or an empty one and the reason", tostring(why))
for _, g in ipairs(list) do
  ok(g.device == "cuda:" .. g.index and type(g.name) == "string", "each names itself as cuda:N: " .. g.device)
end

-- ---- multi-tensor optimizer steps: on the CPU they take the parameters one by one ---------------
local function params(seed)
  tensor.manual_seed(seed)
  local ps = {tensor.randn(4, 3):requires_grad(true), tensor.randn(5):requires_grad(true),
              tensor.randn(2, 2):requires_grad(true)}
  local loss = (ps[1] * ps[1]):sum() + ps[2]:exp():sum()   -- ps[3] gets no gradient
  loss:backward()
  return ps
end
local one, many = params(7), params(7)
local m1, v1, m2, v2 = {}, {}, {}, {}
for i, p in ipairs(one) do
  m1[i], v1[i] = tensor.zeros(p:shape()), tensor.zeros(p:shape())
  m2[i], v2[i] = tensor.zeros(p:shape()), tensor.zeros(p:shape())
end
for i, p in ipairs(one) do nn.F.adam_step(p, m1[i], v1[i], 1, 0.01, 0.9, 0.999, 1e-8, 0.1, true) end
tensor._adam_step_multi(many, m2, v2, {1, 1, 1}, 0.01, 0.9, 0.999, 1e-8, 0.1, true)
local same = true
for i = 1, 3 do same = same and (one[i]:detach() - many[i]:detach()):abs():max():item() == 0 end
ok(same, "_adam_step_multi equals adam_step per parameter (and skips one without a gradient)")
one, many = params(8), params(8)
local b1, b2 = {}, {}
for i, p in ipairs(one) do b1[i], b2[i] = tensor.zeros(p:shape()), tensor.zeros(p:shape()) end
for i, p in ipairs(one) do nn.F.sgd_step(p, b1[i], 0.1, 0.9, 0, 0.01, false, true) end
tensor._sgd_step_multi(many, b2, {true, true, true}, 0.1, 0.9, 0, 0.01, false)
same = true
for i = 1, 3 do same = same and (one[i]:detach() - many[i]:detach()):abs():max():item() == 0 end
ok(same, "_sgd_step_multi equals sgd_step per parameter")
bad, err = raises(tensor._sgd_step_multi, params(9), nil, {true, true, true}, 0.1, 0.9, 0, 0, false)
ok(bad and err:find("momentum", 1, true), "momentum without buffers is refused", err)

-- ---- syncing ------------------------------------------------------------------------------------
ok(not raises(tensor.cuda_synchronize), "cuda_synchronize before any GPU use (or without one) is a no-op")

tap.done_testing()
