-- test_dash_watch.lua: zero-code watching, the run life cycle and the run folder,
-- through dash.snapshot() and the files (no terminal). Run: ./nnlab tests/lua/test_dash_watch.lua
local T = dofile((arg and arg[0] and arg[0]:match("(.*/)") or "tests/lua/") .. "tap.lua")
local ok, has = T.ok, T.has
local function line_with(s, text) return T.line_with(s, text) or "" end
local function read(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("a")
  f:close()
  return s
end

-- the runs of this test go to a folder of their own
local runs = os.tmpname()
os.remove(runs)
local exe = arg and arg[-1] or "./nnlab"
local function run_script(code, env)
  local path = os.tmpname()
  local f = assert(io.open(path, "w"))
  f:write(code)
  f:close()
  local p = io.popen(string.format("NNLAB_RUNS=%s %s %s %s 2>&1 </dev/null", runs, env or "", exe, path))
  local out = p:read("a")
  local _, _, rc = p:close()
  os.remove(path)
  return out, rc
end

-- ---- a plain loop with no dash.* call fills every panel -----------------------------------
local loop = [[
tensor.manual_seed(3)
local m = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 3))
local opt = optim.SGD(m, {lr = 0.05})
local x, y = tensor.randn(32, 4), tensor.randn(32, 3)
dash.open{plain = true, every = 1e9}
print("before training")
for i = 1, 120 do
  opt:zero_grad()
  local loss = nn.mse_loss(m(x), y)
  loss:backward()
  opt:step()
end
last = nn.mse_loss(m(x), y):item()
print("after training")
]]
dash.open{plain = true, every = 1e9}
local code = loop:gsub("dash.open%b{}\n", "")
local chunk = load(code:gsub("^", ""), "=loop")
chunk()
local s = dash.snapshot(120, 40)
ok(dash.view().logs == 120, "120 optimizer steps logged without a dash.log call", dash.view().logs)
has(s, "step 120", "the status line shows the last step")
has(s, "lr 0.05", "the learning rate is logged")
has(s, "Shapes: Sequential", "the shapes panel filled from the first forward pass")
has(line_with(s, "Linear (1)"), "[32,16]", "the first layer's output shape comes from the real batch")
has(s, "3.weight", "gradient rows are named by module path")
has(s, "Weight similarity: 3.weight [3x16]", "the similarity panel picked the narrowest 2-D weight")
local g = line_with(s, "1.weight ")
ok(g:match("1%.weight%s+[%d.e-]+%s+[%d.e-]+"), "1.weight has a gradient norm and an update ratio", g)
has(s, "Output", "the output panel is there")
dash.key("tab")
has(dash.snapshot(120, 40), "Weight similarity: 1.weight [16x4]", "tab cycles to the next weight")
dash.close()
ok(not dash.is_open(), "closed")

-- ---- explicit dash.* calls win ---------------------------------------------------------
dash.reset()
dash.open{plain = true, every = 1e9}
local W = tensor.randn(5, 3)
dash.watch("mine", W)
dash.model{name = "by hand", rows = {{layer = "L", shape = {1}, params = 1}}}
do
  local m = nn.Linear(3, 2)
  local opt = optim.Adam(m, {lr = 1e-2})
  local x = tensor.randn(8, 3)
  for i = 1, 10 do
    opt:zero_grad()
    local l = m(x):pow(2):mean()
    l:backward()
    opt:step()
    dash.log{step = 100 + i, loss = 42}
  end
end
s = dash.snapshot(120, 40)
has(s, "Weight similarity: mine [5x3]", "an explicit dash.watch is not replaced")
has(s, "Shapes: by hand", "an explicit dash.model is not replaced")
has(s, "step 110", "explicit dash.log steps are the ones shown")
ok(dash.view().logs == 10, "no automatic step on top of the script's own dash.log", dash.view().logs)
has(s, "train 42", "the script's loss is the one shown")
dash.close()

-- ---- each run starts clean ---------------------------------------------------------------
dash.reset()
dash.open{plain = true, every = 1e9}
local function fit(scale, steps)
  local m = nn.Linear(2, 1)
  local opt = optim.SGD(m, {lr = 0.01 * scale})
  local x = tensor.randn(16, 2)
  local y = x:sum(2):view(16, 1) * scale
  for _ = 1, steps do
    opt:zero_grad()
    local l = nn.mse_loss(m(x), y)
    l:backward()
    opt:step()
  end
end
tensor.manual_seed(1)
fit(0.001, 50)                 -- tiny losses
local first_min = dash.snapshot(120, 40):match("%(min ([^)]+)%)")
dash.log{acc = 0.5}
fit(1000, 5)                   -- another lr: a new run, with losses a million times larger
s = dash.snapshot(120, 40)
local second_min = s:match("%(min ([^)]+)%)")
ok(first_min and second_min and tonumber(second_min) > 1000 * tonumber(first_min),
   "the second run's minimum is its own, not the first run's", tostring(first_min) .. " " .. tostring(second_min))
has(s, "step 5 ", "the second run counts its own steps")
ok(not s:find("acc 0.5", 1, true), "the first run's accuracy is gone")
dash.close()

-- ---- the run folder ------------------------------------------------------------------------
local out, rc = run_script(loop .. "dash.close()\nprint('done', last)\n")
ok(rc == 0, "the script ran", out)
local pos = {}
for _, w in ipairs{"before training", "after training", "step 120", "done"} do pos[#pos + 1] = out:find(w, 1, true) or -1 end
ok(pos[1] > 0 and pos[1] < pos[2] and pos[2] < pos[4], "prints come out in order", out)
local ls = io.popen("ls " .. runs):read("a")
local dir = ls:match("(%d+%-%d+%-[%w_.-]+)")
ok(dir ~= nil, "a run folder runs/<time>-<name> was made", ls)
dir = runs .. "/" .. (dir or "?")
local meta = read(dir .. "/meta.json") or ""
has(meta, '"status":\t"finished"', "meta.json says finished")
has(meta, '"steps":\t120', "meta.json counts the steps")
has(meta, '"optimizer":\t"optim.SGD(', "meta.json names the optimizer")
has(meta, '"seed":\t3', "meta.json records the seed")
has(meta, '"script":', "meta.json records the script")
has(meta, '"summary":', "meta.json keeps the model summary")
local metrics = read(dir .. "/metrics.jsonl") or ""
local n, bad, grads = 0, 0, 0
for l in metrics:gmatch("[^\n]+") do
  n = n + 1
  if not l:match('^{"step":%d+,"time":[%d.e-]+.*}$') then bad = bad + 1 end
  if l:find('"grad_norm":{', 1, true) then grads = grads + 1 end
end
ok(n == 120 and bad == 0, "metrics.jsonl has one well-formed line per step", n .. " lines, " .. bad .. " bad")
ok(grads >= 1, "gradient statistics were sampled into metrics.jsonl", grads)
-- at most 4 samples a second of training (watch.c): a fast loop is not sampled every step
local t_last = tonumber(metrics:match('.*"time":([%d.e-]+)')) or 0
ok(grads <= 4 * t_last + 2, "gradient statistics are sampled at most 4 times a second",
   grads .. " samples in " .. t_last .. " s")
has(metrics, '{"step":120,', "the last step is on record")
local log = read(dir .. "/output.log") or ""
has(log, "before training", "output.log has what the script printed")
has(log, "after training", "output.log has the late prints too")

-- ---- a data.loader's epoch goes with the steps it runs (no dash.* call) ---------------------
do
  local ls0 = io.popen("ls " .. runs):read("a")
  local out2, rc2 = run_script([[
tensor.manual_seed(4)
local m = nn.Linear(3, 1)
local opt = optim.SGD(m, {lr = 0.01})
local x, y = tensor.randn(12, 3), tensor.randn(12, 1)
local loader = data.loader(x, y, {batch_size = 4})
local evals = data.loader(x, y, {batch_size = 12})
dash.open{plain = true, every = 1e9, name = "epochs"}
for epoch = 1, 2 do
  for xb, yb in loader do
    opt:zero_grad()
    nn.mse_loss(m(xb), yb):backward()
    opt:step()
  end
  tensor.no_grad(function() for xb in evals do local _ = m(xb) end end)   -- not the training loader
end
dash.close()
]])
  ok(rc2 == 0, "a loader loop under the dashboard ran", out2)
  local ls1 = io.popen("ls " .. runs):read("a")
  local newdir
  for d in ls1:gmatch("[^\n]+") do if not ls0:find(d, 1, true) and d:find("epochs", 1, true) then newdir = d end end
  local mt = newdir and read(runs .. "/" .. newdir .. "/metrics.jsonl") or ""
  local epochs = {}
  for l in mt:gmatch("[^\n]+") do epochs[#epochs + 1] = tonumber(l:match('"epoch":(%d+)')) or -1 end
  ok(#epochs == 6 and epochs[1] == 1 and epochs[3] == 1 and epochs[4] == 2 and epochs[6] == 2,
     "each step's line carries its loader epoch: 1,1,1 then 2,2,2", table.concat(epochs, ","))
end

-- ---- metrics.jsonl numbers: 8 significant digits, whatever the magnitude (runlog.c's put_g) ----
do
  local ls0 = io.popen("ls " .. runs):read("a")
  local out3, rc3 = run_script([[
local vals = {0.1, 0.5, 1.5, 123.456, 99999999.5, 0.999999995, 1e-5, 1.25e-6, 3.3e-11, 7e22, 2.5e-300, 4e-310}
local seed = 7
for i = #vals + 1, 400 do
  seed = (seed * 1103515245 + 12345) % 2147483648
  local mant = 1 + (seed % 100000) / 100000
  vals[i] = mant * 10 ^ ((seed // 100000) % 61 - 30)
end
dash.open{plain = true, every = 1e9, name = "numbers"}
for i, v in ipairs(vals) do dash.log{step = i, loss = v} end
dash.close()
local f = io.open(os.getenv("NNLAB_RUNS") .. "/numbers.txt", "w")
for _, v in ipairs(vals) do f:write(string.format("%.17g\n", v)) end
f:close()
]])
  ok(rc3 == 0, "a run of logged numbers", out3)
  local ls1 = io.popen("ls " .. runs):read("a")
  local newdir
  for d in ls1:gmatch("[^\n]+") do if not ls0:find(d, 1, true) and d:match("^%d+%-%d+%-numbers$") then newdir = d end end
  local mt = newdir and read(runs .. "/" .. newdir .. "/metrics.jsonl") or ""
  local want = {}
  for l in (read(runs .. "/numbers.txt") or ""):gmatch("[^\n]+") do want[#want + 1] = tonumber(l) end
  local got, worst, where = {}, 0, ""
  for l in mt:gmatch("[^\n]+") do got[#got + 1] = tonumber(l:match('"loss":([^,}]+)')) end
  for i, w in ipairs(want) do
    local g = got[i] or 0 / 0
    local rel = math.abs(g - w) / w
    if not (rel <= worst) then worst, where = rel, string.format("%.17g written as %s", w, tostring(got[i])) end
  end
  ok(#got == #want and #want == 400 and worst <= 5e-8, "every logged number reads back to 8 significant digits",
     #got .. " of " .. #want .. ", worst " .. worst .. " at " .. where)
end

-- ---- q, y: the loop stops with one line, train{} returns its history ---------------------------
out, rc = run_script([[
local m = nn.Linear(2, 1)
local opt = optim.SGD(m, {lr = 0.01})
local x, y = tensor.randn(8, 2), tensor.randn(8, 1)
dash.open{plain = true, every = 1e9}
for i = 1, 1000 do
  if i == 10 then dash.key("qy") end
  opt:zero_grad()
  nn.mse_loss(m(x), y):backward()
  opt:step()
end
print("not reached")
]])
ok(rc == 0, "q, y in a loop that never looks ends the script with status 0", out)
has(out, "training stopped from the dashboard (q, y)", "it says so in one line")
ok(not out:find("traceback", 1, true) and not out:find("not reached", 1, true), "no traceback, the loop stopped", out)

out, rc = run_script([[
local x = tensor.randn(64, 2)
local h = train{model = nn.Linear(2, 1), data = {x = x, y = x:sum(2):view(64, 1)}, epochs = 50, batch_size = 8,
                dashboard = true, verbose = false, opt = nil}
print("steps", h.steps, "stopped", h.stopped)
]], "")
-- no terminal: train{} never waits; q,y is pressed from inside through dash.key below
ok(rc == 0 and out:find("stopped\tnil", 1, true), "train{} with dashboard=true and no terminal returns", out)
out, rc = run_script([[
local x = tensor.randn(64, 2)
local m = nn.Linear(2, 1)
local opt = optim.SGD(m, {lr = 0.01})
local step = opt.step
local n = 0
opt.step = function(self) n = n + 1; if n == 20 then dash.key("qy") end; return step(self) end
local h = train{model = m, opt = opt, data = {x = x, y = x:sum(2):view(64, 1)}, epochs = 50, batch_size = 8,
                dashboard = true, verbose = false}
print("steps", h.steps, "stopped", h.stopped)
]])
ok(rc == 0 and out:find("stopped\ttrue", 1, true), "q, y during train{} returns the history marked stopped", out)
local steps = tonumber(out:match("steps\t(%d+)"))
ok(steps and steps >= 19 and steps <= 21, "it stopped right after q, y", out)

-- ---- sampling: a cheap sample beside a slow step is still not taken every step --------------
-- (the 0.2% budget alone would sample each of these 2 ms steps; 4 a second is the cap)
out, rc = run_script([[
local w = tensor.ones(4):requires_grad(true)
local opt = optim.SGD({w}, {lr = 0.01})
dash.open{plain = true, every = 1e9, name = "slow"}
local t0 = sys.clock()
for i = 1, 150 do
  opt:zero_grad()
  local t = sys.clock()
  while sys.clock() - t < 2e-3 do end
  (w * w):sum():backward()
  opt:step()
end
print("dir", dash.run_dir(), "seconds", sys.clock() - t0)
dash.close()
]])
local sdir, secs = out:match("dir\t(%S+)\tseconds\t([%d.e-]+)")
local sm = sdir and read(sdir .. "/metrics.jsonl") or ""
local slines, sgrads = 0, 0
for l in sm:gmatch("[^\n]+") do
  slines = slines + 1
  if l:find('"grad_norm":{', 1, true) then sgrads = sgrads + 1 end
end
ok(rc == 0 and slines == 150, "the slow loop's 150 steps are on record", out)
ok(sgrads >= 1 and sgrads <= 4 * (tonumber(secs) or 0) + 2, "its statistics are sampled at most 4 times a second",
   sgrads .. " samples in " .. tostring(secs) .. " s")

os.execute("rm -rf " .. runs)
T.done_testing()
