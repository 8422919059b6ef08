-- bottleneck.lua - the bottleneck experiment as a benchmark: 3 widths x 100
-- full-batch Adam epochs on Linear(1,32)->Linear(32,C)->Linear(C,1). Prints per-step time.
--   nnlab bench/bottleneck.lua [dash|plain] [repeats=1]
--   "dash": the dashboard open and watching by itself (no dash.* call in the loop: each
--   opt:step() logs step, loss, lr and sampled gradient statistics, and writes the run
--   folder), rendering a 100x30 frame at the rate a terminal would get (20/s, backing off
--   to 0.5% of the time, as lua_dash.c does), to measure its cost; repeats > 1 runs the experiment again so
--   that a percent-level difference stands above the noise
local with_dash = arg and arg[1] == "dash"
local repeats = tonumber(arg and arg[2]) or 1
local x = tensor.arange(0, 100):view(100, 1)
if with_dash then dash.open{plain = true, every = 1e12} end
local steps, t0, last_frame, interval = 0, sys.clock(), 0, 0.05
-- widths outside, repeats inside, as scripts/bottleneck.lua orders widths and seeds: with
-- the dashboard each width is one run (a new run's folder costs ~1-2 ms, reported apart)
for _, c in ipairs({8, 32, 128}) do
for _ = 1, repeats do
  tensor.manual_seed(10000)
  local model = nn.Sequential(nn.Linear(1, 32), nn.Linear(32, c), nn.Linear(c, 1))
  local opt = optim.Adam(model:parameters(), {lr = 1e-3})
  local loss
  for epoch = 1, 100 do
    opt:zero_grad()
    loss = nn.mse_loss(model(x), x)
    loss:backward()
    opt:step()
    steps = steps + 1
    if with_dash then
      local now = sys.clock()
      if now - last_frame >= interval then
        dash._frame(100, 30)
        local cost = sys.clock() - now
        last_frame, interval = sys.clock(), math.max(0.05, 200 * cost)
      end
    end
  end
  if not with_dash and repeats == 1 then print(string.format("C=%d loss %.4f", c, loss:item())) end
end
end
if with_dash then dash.close() end
print("bottleneck_step", (sys.clock() - t0) / steps)
