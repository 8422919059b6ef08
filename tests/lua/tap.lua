-- tap.lua - a tiny TAP producer for nnlab's Lua tests (run under `prove --exec ./nnlab`).
-- Load it from a test next to it:
--   local dir = debug.getinfo(1, "S").source:match("^@(.*)/") or "."
--   local t = dofile(dir .. "/tap.lua")
-- Functions: plan(n), ok(cond, name), eq(got, want, name), is_close(got, want, tol, name)
-- (numbers, nested tables or tensors), errors_like(fn, pattern, name), skip(name, why),
-- diag(msg), done_testing() / done() (done also exits 1 after a failure); for screens and
-- other text: lines(s), line_with(s, text) (the first line containing text, or nil),
-- has(s, text, name). For layers and PyTorch fixtures (name first, like the nn tests):
-- check(name, fn), raises(name, fn, plain), close(name, a, b, tol), near(name, a, b, tol),
-- gradcheck(name, loss_fn, x, opts), fx(case, name) (tests/fixtures/nn/CASE.NAME.npy),
-- shape_of(t). Failures print the values as diagnostics. The one harness of tests/lua.
local M = {}
local count, failed, planned = 0, 0, nil

local function report(pass, name, why)
  count = count + 1
  if not pass then failed = failed + 1 end
  io.write(pass and "ok " or "not ok ", count, " - ", (name or ""):gsub("\n", " "), "\n")
  if not pass then
    local where = debug.traceback("", 2):match("([^\n\t]*test_[^\n]*:%d+:)") or "?"
    io.write("#   failed at ", where, "\n")
    if why then io.write("#   ", tostring(why):gsub("\n", "\n#   "), "\n") end
  end
  return pass
end

function M.plan(n)
  planned = n
  io.write("1..", n, "\n")
end

function M.diag(msg) io.write("# ", tostring(msg):gsub("\n", "\n# "), "\n") end

function M.ok(cond, name, why) return report(not not cond, name, why) end

function M.lines(s)
  local t = {}
  for l in (s .. "\n"):gmatch("(.-)\n") do t[#t + 1] = l end
  return t
end

function M.line_with(s, text)
  for _, l in ipairs(M.lines(s)) do if l:find(text, 1, true) then return l end end
end

-- s contains text (plain, not a pattern); on failure the whole of s is the diagnostic
function M.has(s, text, name) return report(s:find(text, 1, true) ~= nil, name, s) end

function M.skip(name, why)
  count = count + 1
  io.write("ok ", count, " - ", name or "", " # SKIP ", why or "", "\n")
end

local function show(v)
  if type(v) ~= "table" then return tostring(v) end
  local parts = {}
  for i = 1, #v do parts[i] = show(v[i]) end
  return "{" .. table.concat(parts, ", ") .. "}"
end
M.show = show

local function deep_eq(a, b)
  if type(a) ~= "table" or type(b) ~= "table" then return a == b end
  if #a ~= #b then return false end
  for k, v in pairs(a) do if not deep_eq(v, b[k]) then return false end end
  for k in pairs(b) do if a[k] == nil then return false end end
  return true
end

-- tensors compare by values and shape; everything else by deep equality
function M.eq(got, want, name)
  if tensor and tensor.is_tensor(got) then got = got:tolist() end
  if tensor and tensor.is_tensor(want) then want = want:tolist() end
  return report(deep_eq(got, want), name, "got:  " .. show(got) .. "\nwant: " .. show(want))
end

-- the largest |a - b| over matching leaves, or nil and why when structures differ
local function max_diff(a, b)
  if type(a) == "number" and type(b) == "number" then
    if a ~= a and b ~= b then return 0 end                  -- nan == nan here
    if a == b then return 0 end                             -- also inf == inf
    return math.abs(a - b)
  end
  if type(a) ~= "table" or type(b) ~= "table" then return nil, "types differ" end
  if #a ~= #b then return nil, "lengths differ (" .. #a .. " vs " .. #b .. ")" end
  local m = 0
  for i = 1, #a do
    local d, why = max_diff(a[i], b[i])
    if not d then return nil, why end
    if d > m or d ~= d then m = d end
  end
  return m
end

-- got/want: numbers, nested tables or tensors (a tensor's shape must match a tensor's)
function M.is_close(got, want, tol, name)
  tol = tol or 1e-5
  if tensor and tensor.is_tensor(got) and tensor.is_tensor(want) and got:shape() ~= want:shape() then
    return report(false, name, "shapes differ: " .. tostring(got:shape()) .. " vs " .. tostring(want:shape()))
  end
  if tensor and tensor.is_tensor(got) then got = got:tolist() end
  if tensor and tensor.is_tensor(want) then want = want:tolist() end
  local d, why = max_diff(got, want)
  local pass = d ~= nil and d <= tol
  return report(pass, name, (why and why .. "\n" or "") .. "max |diff| = " .. tostring(d) .. " (tol " .. tol .. ")" ..
    "\ngot:  " .. show(got):sub(1, 400) .. "\nwant: " .. show(want):sub(1, 400))
end

-- fn must raise an error whose message matches the Lua pattern
function M.errors_like(fn, pattern, name)
  local okc, err = pcall(fn)
  if okc then return report(false, name, "no error raised (expected /" .. pattern .. "/)") end
  err = tostring(err)
  return report(err:find(pattern) ~= nil, name, "error: " .. err .. "\nexpected to match: " .. pattern)
end

-- ---- layers against PyTorch fixtures (test_nn, test_optim, test_summary) ----
M.dir = (debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "tests/lua") .. "/../fixtures/nn"

-- runs fn; a Lua error fails the test with its message
function M.check(name, fn)
  local okc, err = pcall(fn)
  if not okc then report(false, name, err) end
  return okc
end

-- fails when fn does not raise, or raises without `plain` (plain text) in the message
function M.raises(name, fn, plain)
  local okc, err = pcall(fn)
  report(not okc and (not plain or tostring(err):find(plain, 1, true) ~= nil), name,
         okc and "no error raised" or ("message: " .. tostring(err)))
  return err
end

-- fixture CASE.NAME.npy as a tensor
function M.fx(case, name) return tensor.load_npy(M.dir .. "/" .. case .. "." .. name .. ".npy") end

function M.shape_of(t)
  local s = {}
  for i = 1, t:dim() do s[i] = t:size(i) end
  return "[" .. table.concat(s, ",") .. "]"
end

-- max |a - b| / max(max |b|, 1e-3) <= tol (default 1e-4), shapes equal
function M.close(name, a, b, tol)
  tol = tol or 1e-4
  if a == nil or b == nil then return report(false, name, "missing tensor") end
  if M.shape_of(a) ~= M.shape_of(b) then
    return report(false, name, "shape " .. M.shape_of(a) .. " vs expected " .. M.shape_of(b))
  end
  a, b = a:detach():cpu(), b:detach():cpu()
  local err = (a - b):abs():max():item()
  local scale = math.max(b:abs():max():item(), 1e-3)
  return report(err / scale <= tol, name, string.format("max abs err %.3g, scale %.3g, rel %.3g > %g", err, scale,
                                                         err / scale, tol))
end

function M.near(name, a, b, tol)
  return report(math.abs(a - b) <= (tol or 1e-6) * math.max(1, math.abs(b)), name,
                string.format("got %.10g, expected %.10g", a, b))
end

-- Central-difference check of d loss / d x at a few elements of x (a contiguous
-- leaf): loss_fn() -> scalar tensor. float32: eps 1e-2, tolerance 2e-2 relative.
function M.gradcheck(name, loss_fn, x, opts)
  opts = opts or {}
  local eps, tol, n_points = opts.eps or 1e-2, opts.tol or 2e-2, opts.count or 6
  x.grad = nil
  loss_fn():backward()
  local g = x.grad:view(-1)
  local flat = x:view(-1)
  local n = flat:numel()
  local worst, where = 0, nil
  tensor.no_grad(function()
    for j = 1, n_points do
      local i = ((j * 7919) % n) + 1               -- spread over the tensor, deterministic
      local v = flat[i]:item()
      flat[i] = v + eps
      local lp = loss_fn():item()
      flat[i] = v - eps
      local lm = loss_fn():item()
      flat[i] = v
      local fd, an = (lp - lm) / (2 * eps), g[i]:item()
      local err = math.abs(fd - an) / (math.abs(an) + 0.1)
      if err > worst then worst, where = err, string.format("at %d: numeric %.6g, analytic %.6g", i, fd, an) end
    end
  end)
  x.grad = nil
  return report(worst <= tol, name .. " (finite differences)", where)
end

function M.done_testing()
  if not planned then io.write("1..", count, "\n") end
  if planned and planned ~= count then
    io.write("# planned ", planned, " tests but ran ", count, "\n")
  end
  if failed > 0 then io.write("# failed ", failed, " of ", count, "\n") end
  return failed == 0
end

function M.done()
  if not M.done_testing() then os.exit(1) end
end

return M
