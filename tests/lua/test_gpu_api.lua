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

-- ---- syncing ------------------------------------------------------------------------------------
ok(not raises(tensor.cuda_synchronize), "cuda_synchronize before any GPU use (or without one) is a no-op")

tap.done_testing()
