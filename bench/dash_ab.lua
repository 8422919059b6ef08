-- dash_ab.lua - what watching costs a training step, measured in one process: the
-- bottleneck step (Linear(1,32)->Linear(32,C)->Linear(C,1), Adam, 100 samples) with no
-- dashboard, then with one open that watches by itself (no dash.* call in the loop:
-- each opt:step() logs step/loss/lr to the panels and metrics.jsonl, statistics are
-- sampled) and redraws a 100x30 frame as often as a terminal would get one. The two
-- alternate, 12 rounds, and each keeps its best round (the machine may be shared).
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
local best = {}
train(32)                                  -- warm-up: OpenBLAS, allocator
for round = 1, 12 do
  local C = ({8, 32, 128})[round % 3 + 1]
  best[C] = best[C] or {bare = math.huge, watched = math.huge, bare_setup = math.huge, setup = math.huge}
  local b, bs = train(C)
  local w, ws = train(C, true)
  best[C].bare, best[C].bare_setup = math.min(best[C].bare, b), math.min(best[C].bare_setup, bs)
  best[C].watched, best[C].setup = math.min(best[C].watched, w), math.min(best[C].setup, ws)
end
local sb, sw, ss = 0, 0, 0
for _, C in ipairs{8, 32, 128} do
  sb, sw, ss = sb + best[C].bare, sw + best[C].watched, ss + best[C].setup - best[C].bare_setup
end
print("bare_step", sb / 3)
print("watched_step", sw / 3)
print("dash_overhead_pct", (sw / sb - 1) * 100)
print("run_setup", ss / 3)
