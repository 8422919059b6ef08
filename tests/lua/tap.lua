-- tap.lua - a tiny TAP producer for nnlab's Lua tests (run under `prove --exec ./nnlab`).
-- Load it from a test next to it:
--   local dir = debug.getinfo(1, "S").source:match("^@(.*)/") or "."
--   local t = dofile(dir .. "/tap.lua")
-- Functions: plan(n), ok(cond, name), eq(got, want, name), is_close(got, want, tol, name)
-- (numbers, nested tables or tensors), errors_like(fn, pattern, name), skip(name, why),
-- diag(msg), done_testing(); for screens and other text: lines(s), line_with(s, text) (the
-- first line containing text, or nil), has(s, text, name). Failures print the values as
-- diagnostics.
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

function M.done_testing()
  if not planned then io.write("1..", count, "\n") end
  if planned and planned ~= count then
    io.write("# planned ", planned, " tests but ran ", count, "\n")
  end
  if failed > 0 then io.write("# failed ", failed, " of ", count, "\n") end
  return failed == 0
end

return M
