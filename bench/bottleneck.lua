-- bottleneck.lua - the bottleneck experiment as a benchmark: 3 widths x 100
-- full-batch Adam epochs on Linear(1,32)->Linear(32,C)->Linear(C,1). Prints per-step time.
--   nnlab bench/bottleneck.lua [plain] [repeats=1]
-- (what the dashboard costs this step is bench/dash_ab.lua)
local repeats = tonumber(arg and arg[2]) or 1
local x = tensor.arange(0, 100):view(100, 1)
-- the math library is loaded before the clock starts, on both sides: PyTorch loads its
-- own at import, nnlab's OpenBLAS loads on the first matmul (2.5-5 ms, a tenth of these
-- 300 steps); the whole-process row counts it
tensor.ones(2, 2):matmul(tensor.ones(2, 2))
local steps, t0 = 0, sys.clock()
for _, c in ipairs({8, 32, 128}) do
  for _ = 1, repeats do
    tensor.manual_seed(10000)
    local model = nn.Sequential(nn.Linear(1, 32), nn.Linear(32, c), nn.Linear(c, 1))
    local opt = optim.Adam(model:parameters(), {lr = 1e-3})
    local loss
    for _ = 1, 100 do
      opt:zero_grad()
      loss = nn.mse_loss(model(x), x)
      loss:backward()
      opt:step()
      steps = steps + 1
    end
    if repeats == 1 then print(string.format("C=%d loss %.4f", c, loss:item())) end
  end
end
print("bottleneck_step", (sys.clock() - t0) / steps)
