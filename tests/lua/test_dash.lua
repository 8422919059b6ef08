-- test_dash.lua: the dashboard's panels through dash.snapshot(), no terminal needed.
-- Run: ./nnlab tests/lua/test_dash.lua   (prints TAP)
local T = dofile((arg and arg[0] and arg[0]:match("(.*/)") or "tests/lua/") .. "tap.lua")
local ok, has, lines, line_with = T.ok, T.has, T.lines, T.line_with
local function ulen(s) return utf8.len(s) or #s end

ok(type(dash) == "table", "dash is a global table")
ok(dash.is_open() == false, "dash is closed at start")

-- ---- weight similarity: rows 3 and 7 are the known closest pair ------------------
-- row i = i*{1, 2, -1, 0.5} (neighbours 1.125 apart); row 7 = row 3 + d, mean|d| = 0.0894
local rows = {}
for i = 1, 8 do rows[i] = {i, 2 * i, -i, 0.5 * i} end
rows[7] = {3 + 0.1, 6 - 0.1, -3 + 0.0576, 1.5 + 0.1}
local W = tensor.tensor(rows)
dash.watch("mid", W)
local s = dash.snapshot(100, 30)
has(s, "Weight similarity: mid [8x4]", "similarity panel names the weight and its shape")
has(s, "closest pair: rows 3,7  0.0894", "closest pair is rows 3,7 at 0.0894")
has(s, "at init:      rows 3,7  0.0894", "init control shows the same pair before training")
has(s, "█", "heatmap draws the closest pair in the darkest shade")
has(s, "far", "legend explains the shades")

-- change W in place: rows 1 and 2 become equal; the init control must not move
local rows2 = {}
for i = 1, 8 do rows2[i] = rows[i] end
rows2[2] = {1, 2, -1, 0.5}
W:copy(tensor.tensor(rows2))
s = dash.snapshot(100, 30)
has(s, "closest pair: rows 1,2  0", "live values are read at redraw: rows 1,2 now identical")
has(s, "at init:      rows 3,7  0.0894", "init control keeps the values at watch time")

dash.key("c")
ok(dash.view().cosine == true, "c toggles cosine")
s = dash.snapshot(100, 30)
has(s, "cosine of rows", "cosine mode is labelled")
has(s, "closest pair: rows 1,2  1", "identical rows have cosine 1")
dash.key("c")

-- a conv weight [O,C,k,k] is O rows of C*k*k
tensor.manual_seed(1)
dash.watch("conv", tensor.randn(6, 2, 3, 3))
has(dash.snapshot(100, 30), "conv [6x18]", "conv weight flattened to 6 rows of 18")
ok(dash.view().watch == "conv", "the newest watch is shown")
dash.key("tab")
ok(dash.view().watch == "mid", "tab cycles to the next watched weight")

-- many rows: block-averaged heatmap + top-5 list; check the pair against Lua
local big = tensor.randn(40, 16)
dash.watch("big", big)
local v = big:tolist()
local best, bi, bj = math.huge
for i = 1, 40 do
  for j = i + 1, 40 do
    local d = 0
    for k = 1, 16 do d = d + math.abs(v[i][k] - v[j][k]) end
    d = d / 16
    if d < best then best, bi, bj = d, i, j end
  end
end
s = dash.snapshot(120, 40)
has(s, "closest of ", "40 rows are shown as blocks (the closest pair of each)")
has(s, "closest pairs now", "top-5 list shown for many rows")
has(s, string.format("closest pair: rows %d,%d  %.4g", bi, bj, best), "closest pair matches a Lua brute force")
has(s, string.format("1. rows %d,%d", bi, bj), "top-5 list starts with that pair")
ok(select(2, s:gsub("%d%. rows", "")) == 5, "top-5 list has five entries")

local okw, err = pcall(dash.watch, "meta", tensor.zeros(4, 4, {device = "meta"}))
ok(not okw and tostring(err):find("meta", 1, true), "watching a meta tensor is a clear error", err)
ok(not pcall(dash.watch, "x", 5), "watching a number is an error")

-- ---- loss panel ----------------------------------------------------------------------
dash.key("--")                       -- ema down to 0.3 then 0: raw values
ok(dash.view().ema == 0, "- lowers the smoothing to 0")
dash.key("+")
ok(math.abs(dash.view().ema - 0.3) < 1e-9, "+ raises the smoothing")
dash.key("-")
for step = 1, 100 do
  local t = {step = step, epoch = (step - 1) // 10 + 1, loss = 10 ^ (-step / 50)}
  if step % 10 == 0 then t.test_loss = 1.5 * t.loss; t.acc = step / 100 end
  dash.log(t)
end
s = dash.snapshot(100, 30)
has(s, "Loss  ema 0.00", "loss panel title shows the smoothing")
has(s, "train 0.01 (min 0.01)", "last and min train loss in the legend")
has(s, "test 0.015", "last test loss printed")
has(s, "acc 1", "last accuracy printed")
has(s, "step 100", "x axis / status shows the last step")
has(s, "epoch 10", "status line shows the epoch")
has(dash.snapshot(120, 30), "q quit", "status line lists the keys")
ok(s:find("\xe2[\xa0-\xa3][\x80-\xbf]") ~= nil, "loss is drawn with braille dots")

local function ticks(snap)
  local t = {}
  for _, l in ipairs(lines(snap)) do
    local num = l:match("^│%s*([%d%.e%-+]+)┤")
    if num then t[#t + 1] = tonumber(num) end
  end
  return t
end
local lin = ticks(s)
ok(#lin == 5, "five y tick labels on the loss axis", table.concat(lin, " "))
ok(math.abs((lin[1] - lin[2]) - (lin[4] - lin[5])) < 0.01 * lin[1], "linear ticks are evenly spaced in value",
   table.concat(lin, " "))
dash.key("l")
s = dash.snapshot(100, 30)
has(s, "Loss (log)", "l switches the loss plot to log scale")
local lg = ticks(s)
ok(#lg == 5 and lg[3] ~= lin[3], "log scale changes the axis labels", table.concat(lg, " "))
ok(#lg == 5 and math.abs(lg[1] / lg[2] - lg[4] / lg[5]) < 0.02 * lg[1] / lg[2],
   "log ticks are evenly spaced in ratio", table.concat(lg, " "))
ok(#lg == 5 and math.abs(lg[5] - 0.01) < 1e-6, "log axis bottom is the minimum 0.01", table.concat(lg, " "))
dash.key("l")

-- ---- gradients -------------------------------------------------------------------------
dash.grads{
  {name = "fc1", weight_norm = 1.5, grad_norm = 0 / 0, update_ratio = 1e-3},
  {name = "fc2", weight_norm = 2, grad_norm = 1e-9, update_ratio = 1e-9},
  {name = "fc3", weight_norm = 3, grad_norm = 5e3, update_ratio = 2},
  {name = "fc4", weight_norm = 1, grad_norm = 0.25, update_ratio = 1e-3},
}
s = dash.snapshot(100, 30)
has(s, "Gradients", "gradients panel is drawn")
has(line_with(s, "fc1") or "", "!n", "NaN gradient is marked")
has(line_with(s, "fc2") or "", "!v", "vanishing gradient is marked (the loss is far from its floor)")
has(line_with(s, "fc3") or "", "!x", "exploding gradient is marked")
has(s, "!v vanishing  !x exploding  !n NaN/Inf", "the marks are explained")
local l4 = line_with(s, "fc4") or ""
ok(l4:find("0.25", 1, true) and not l4:find("!", 1, true), "healthy layer shows its norm and no mark", l4)

local p = tensor.ones(2, 2):requires_grad()
p:sum():backward()
dash.grads{{name = "p", param = p, lr = 0.1}}
l4 = line_with(dash.snapshot(100, 30), "│p ") or ""
ok(l4:find(" 2 ", 1, true) and l4:find("0.1", 1, true), "param= computes |W|=2, |g|=2, lr*|g|/|W|=0.1", l4)

-- ---- shapes ----------------------------------------------------------------------------
dash.model{name = "bottleneck", rows = {
  {layer = "Linear(1,32)", shape = {100, 32}, params = 64},
  {layer = "Linear(32,8)", shape = {100, 8}, params = 264},
  {layer = "Linear(8,1)", shape = {100, 1}, params = 9},
}}
s = dash.snapshot(100, 30)
has(s, "Shapes: bottleneck", "shapes panel titled with the model name")
has(line_with(s, "Linear(32,8)") or "", "[100,8]", "a row shows its output shape")
has(line_with(s, "Linear(32,8)") or "", "264", "a row shows its parameter count")
has(s, "total params 337", "total parameter count")
if nn and nn.summary then
  local m = nn.Sequential(nn.Linear(1, 32), nn.Linear(32, 8), nn.Linear(8, 1))
  dash.model(nn.summary(m, {100, 1}, {print = false}))
  s = dash.snapshot(100, 30)
  has(line_with(s, "Linear (2)") or "", "[100,8]", "nn.summary rows feed the shapes panel")
  has(s, "total params 337", "container rows are not counted twice")
end
dash.model{{"relu", "[100,8]", 0}}
has(dash.snapshot(100, 30), "relu", "positional rows are accepted")

-- ---- overlays and keys ---------------------------------------------------------------------
dash.key("?")
has(dash.snapshot(), "nnlab dashboard keys", "? shows the help overlay")
dash.key("x")
ok(not dash.snapshot():find("nnlab dashboard keys", 1, true), "any key closes the help")
dash.key("q")
has(dash.snapshot(), "stop training? y/n", "q asks before quitting")
ok(dash.key("n") == nil, "n keeps training")
ok(not dash.snapshot():find("stop training", 1, true), "the question goes away")
dash.key("p")
ok(dash.paused() == true, "p pauses")
ok(dash.poll() == nil, "poll does not block without a terminal")
dash.key("p")
ok(dash.paused() == false, "p resumes")
dash.key("q")
ok(dash.key("y") == "quit", "q then y quits")
ok(dash.poll() == "quit", "poll reports the quit")

-- ---- sizes: every line fits, nothing breaks at odd sizes --------------------------------------
for _, wh in ipairs{{80, 24}, {40, 12}, {20, 5}, {1, 1}, {200, 60}} do
  local snap = dash.snapshot(wh[1], wh[2])
  local ls, fits = lines(snap), true
  for _, l in ipairs(ls) do if ulen(l) > wh[1] then fits = false end end
  ok(#ls == wh[2] and fits, string.format("snapshot %dx%d has %d lines of <= %d columns", wh[1], wh[2], wh[2], wh[1]))
end
s = dash.snapshot(80, 24)
for _, title in ipairs{"Loss", "Weight similarity", "Shapes", "Gradients"} do
  has(s, title, "80x24 shows the " .. title .. " panel")
end
has(s, "closest pair: rows", "80x24 still names the closest pair")

-- ---- one-column weights: cosine is always +-1, so it is not offered --------------------------
dash.reset()
dash.watch("col", tensor.randn(5, 1))
dash.key("c")
ok(dash.view().cosine == false, "c does nothing for a weight with one column")
has(dash.snapshot(100, 30), "(1 column: no cosine)", "the panel says why")
has(dash.snapshot(100, 30), "· self", "the legend explains the blank diagonal cells")

-- ---- long runs: the whole history stays, merged ------------------------------------------------
dash.reset()
for step = 1, 10000 do dash.log{loss = 1 / step} end
ok(dash.view().logs == 10000, "10000 logs recorded")
s = dash.snapshot(100, 30)
has(s, "step 10000", "x axis reaches the last step")
has(s, "(min 1.0e-04)", "exact min survives merging")
has(s, "Loss (log)", "a loss falling by four decades is drawn on a log axis by itself")
local l1 = line_with(dash.snapshot(100, 30), "1.0e-04") or ""
dash.grads{{name = "fc", weight_norm = 1, grad_norm = 1e-12, update_ratio = 1e-12}}
ok(not (line_with(dash.snapshot(100, 30), "│fc ") or ""):find("!v", 1, true), "a converged model (loss 1e-4 of its first) is not flagged vanishing")
dash.key("l")
ok(dash.view().log_scale == false, "l turns the automatic log axis off")

-- ---- plain progress line without a terminal ----------------------------------------------------
local exe = "./nnlab"
if not io.open(exe, "rb") and arg and arg[-1] then exe = arg[-1] end
local f = io.open(exe, "rb")
if f then
  f:close()
  local code = "print(dash.open{every=10}); for i=1,25 do dash.log{loss=1/i} end; dash.close()"
  local pipe = io.popen(exe .. " -e '" .. code .. "' 2>&1 </dev/null")
  local out = pipe:read("a")
  pipe:close()
  has(out, "plain", "dash.open falls back to plain mode without a terminal")
  local function line(pat, name) ok(out:find("\n" .. pat .. "[ \n]") ~= nil, name, out) end
  line("step 1  loss 1", "first progress line")
  line("step 10  loss 0%.1", "progress line every 10 steps")
  line("step 20  loss 0%.05", "next progress line")
  line("step 25  loss 0%.04", "close prints where training ended")
  ok(not out:find("step 11 ", 1, true), "no line between multiples of every")
else
  T.skip("plain progress line", "no nnlab binary at " .. exe)
end

T.done_testing()
