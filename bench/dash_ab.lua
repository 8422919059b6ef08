-- dash_ab.lua - what watching costs a training step: the bottleneck step
-- (Linear(1,32)->Linear(32,C)->Linear(C,1), Adam, 100 samples) watched by an open
-- dashboard by itself (no dash.* call in the loop: each opt:step() logs step/loss/lr to
-- the panels and metrics.jsonl, statistics are sampled) and redrawing a 100x30 frame as
-- often as a terminal gets one, against the same steps unwatched.
--
-- Watched and bare steps alternate in blocks of 4-12 in one process (dash._pause_watch:
-- a bare step has no hook and backward is not noted, as with the dashboard closed).
-- This VM's step time drifts by 1.6x over seconds and it stalls for 1-20 ms a few
-- times a second; runs of 3000 steps each way, alternated, swung from -5% to +4%
-- between runs. Short blocks cancel the drift; their lengths are random because with
-- blocks of exactly 8 a periodic cost of the loop (the GC's young steps) fell on one
-- side, the same -2% or +4% at the same place in every run. Steps over 2 ms (the
-- stalls: nothing the dashboard does here takes 1 ms, a frame ~0.2 ms) are left out on
-- both sides and counted. The overhead is the median over 3 rounds of C = 8, 32, 128.
-- A run's first two steps (naming the parameters, the run folder, the model summary)
-- and its close are a cost once a run: timed apart, as run_setup.
--   nnlab bench/dash_ab.lua [steps per run = 8000]
local steps = tonumber(arg and arg[1]) or 8000
local x = tensor.arange(0, 100):view(100, 1)
local clock = sys.clock
local STALL = 2e-3

local function make(C)
  tensor.manual_seed(10000)
  local model = nn.Sequential(nn.Linear(1, 32), nn.Linear(32, C), nn.Linear(C, 1))
  return model, optim.Adam(model:parameters(), {lr = 1e-3})
end
local function step(model, opt)
  opt:zero_grad()
  nn.mse_loss(model(x), x):backward()
  opt:step()
end

-- -> watched/bare time a step, bare seconds a step, stalls left out (watched, bare)
local function alternate(C)
  local model, opt = make(C)
  dash.open{plain = true, every = 1e12, name = "bench"}
  step(model, opt)
  step(model, opt)
  local tw, tb, nw, nb, sw, sb = 0, 0, 0, 0, 0, 0
  -- redraws paced as lua_dash.c paces them (<= 20/s, <= 0.25% of the time), on the
  -- watched steps' clock
  local wclock, last, interval = 0, 0, 0.05
  math.randomseed(C)
  local watched, left = false, 0
  for i = 0, steps - 1 do
    if left == 0 then
      watched, left = not watched, math.random(4, 12)
      dash._pause_watch(not watched)
    end
    left = left - 1
    local t0 = clock()
    step(model, opt)
    if watched and i % 16 == 0 then
      local now = wclock + (clock() - t0)
      if now - last >= interval then
        local c0 = clock()
        dash._frame(100, 30)
        local cost = clock() - c0
        last, interval = now + cost, math.max(0.05, 400 * cost)
      end
    end
    local dt = clock() - t0
    if watched then
      wclock = wclock + dt
      if dt > STALL then sw = sw + 1 else tw, nw = tw + dt, nw + 1 end
    elseif dt > STALL then
      sb = sb + 1
    else
      tb, nb = tb + dt, nb + 1
    end
  end
  dash._pause_watch(false)
  dash.close()
  return (tw / nw) / (tb / nb), tb / nb, sw, sb
end

-- -> seconds of a watched run's open, first two steps and close, less two bare steps
local function setup_cost(C)
  local model, opt = make(C)
  local t0 = clock()
  step(model, opt)
  step(model, opt)
  local bare = clock() - t0
  model, opt = make(C)
  t0 = clock()
  dash.open{plain = true, every = 1e12, name = "bench"}
  step(model, opt)
  step(model, opt)
  dash.close()
  return clock() - t0 - bare
end

local function median(t) table.sort(t); return t[(#t + 1) // 2] end
local ratios, bares, setups, stalls_w, stalls_b = {}, {}, {}, 0, 0
setup_cost(32)                               -- warm-up: OpenBLAS, allocator
for round = 1, 3 do
  for _, C in ipairs{8, 32, 128} do
    local r, b, sw, sb = alternate(C)
    ratios[#ratios + 1], bares[#bares + 1] = r, b
    stalls_w, stalls_b = stalls_w + sw, stalls_b + sb
    setups[#setups + 1] = setup_cost(C)
  end
end
local r = median(ratios)
print("bare_step", median(bares))
print("watched_step", median(bares) * r)
print("dash_overhead_pct", (r - 1) * 100)
print("stalls_left_out", string.format("%d watched, %d bare of %d each", stalls_w, stalls_b, 9 * steps // 2))
print("run_setup", median(setups))
