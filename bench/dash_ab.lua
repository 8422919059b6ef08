-- dash_ab.lua - what watching costs a training step, measured in one process: the
-- bottleneck step (Linear(1,32)->Linear(32,C)->Linear(C,1), Adam, 100 samples) with no
-- dashboard, then with one open that watches by itself (no dash.* call in the loop:
-- each opt:step() logs step/loss/lr to the panels and metrics.jsonl, statistics are
-- sampled) and redraws a 100x30 frame as often as a terminal would get one. The two
-- alternate, 24 rounds over C = 8, 32, 128.
-- A run's first two steps (naming the parameters, the run folder, the model summary, the
-- held-back first line) and the close are a cost once a run: timed apart, as run_setup.
--   nnlab bench/dash_ab.lua [steps per round = 3000]
local steps = tonumber(arg and arg[1]) or 3000
local x = tensor.arange(0, 100):view(100, 1)
local function step(model, opt)
  opt:zero_grad()
  nn.mse_loss(model(x), x):backward()
  opt:step()
end
-- -> seconds a step (steps 3..), seconds of the run's first two steps plus open and close
local function train(C, watched)
  tensor.manual_seed(10000)
  local model = nn.Sequential(nn.Linear(1, 32), nn.Linear(32, C), nn.Linear(C, 1))
  local opt = optim.Adam(model:parameters(), {lr = 1e-3})
  local s0 = sys.clock()
  if watched then dash.open{plain = true, every = 1e12, name = "bench"} end
  step(model, opt)
  step(model, opt)
  local setup = sys.clock() - s0
  local t0, last, interval = sys.clock(), 0, 0.05
  for i = 3, steps do
    step(model, opt)
    -- lua_dash.c's pacing: <= 20/s, <= 0.25% of the time; the clock is read every 16th
    -- step (lua_dash.c reads the one the step logged; a sys.clock() a step here cost 0.15%)
    if watched and i % 16 == 0 then
      local now = sys.clock()
      if now - last >= interval then
        dash._frame(100, 30)
        local cost = sys.clock() - now
        last, interval = sys.clock(), math.max(0.05, 400 * cost)
      end
    end
  end
  local per_step = (sys.clock() - t0) / (steps - 2)
  if watched then
    local c0 = sys.clock()
    dash.close()
    setup = setup + sys.clock() - c0
  end
  return per_step, setup
end
-- Each round runs bare then watched, back to back on the same machine state; the overhead
-- is the median of the rounds' watched/bare ratios (a best-of-rounds on each side swung
-- from -1% to +5% between runs on a shared machine), the step times their medians.
local function median(t) table.sort(t); return t[(#t + 1) // 2] end
local ratios, bares, watcheds, setups = {}, {}, {}, {}
train(32)                                  -- warm-up: OpenBLAS, allocator
for round = 1, 24 do
  local C = ({8, 32, 128})[round % 3 + 1]
  local b, bs = train(C)
  local w, ws = train(C, true)
  ratios[#ratios + 1] = w / b
  bares[#bares + 1], watcheds[#watcheds + 1], setups[#setups + 1] = b, w, ws - bs
end
print("bare_step", median(bares))
print("watched_step", median(watcheds))
print("dash_overhead_pct", (median(ratios) - 1) * 100)
print("run_setup", median(setups))
