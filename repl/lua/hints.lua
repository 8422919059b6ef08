-- hints.lua - teaching messages for the Lua mistakes newcomers make (package.loaded.hints).
--   hints.describe(v)                 a value as a learner reads it: the string "10", a tensor [2,3]
--   hints.closest(name, names)        the nearest names by edit distance (case first), or nil
--   hints.did_you_mean(name, names)   "; did you mean X?" or ""
--   hints.explain(msg, chunk)         the message handler's rewrite of a raw Lua error, or nil:
--       a.sum(2)          -> a.sum(2): did you mean a:sum(2)? methods are called with a colon ...
--       tensor.randm(2,3) -> tensor.randm is not a function; did you mean tensor.randn?
--       bad argument ...  -> the same, with the value that was given
-- explain reads the stack as the error left it (it runs as, or inside, the message handler) and
-- the learner's source line: the chunk typed at the prompt (chunk) or the script file.
-- The value and name helpers live in nn/lua/check.lua (nn, optim and data use them too).
local M = {}
-- the libraries as they were at start-up: a learner's `tensor = 5` must not break the hints
local tensor = tensor
local check = require("nn.check")
for _, k in ipairs({"describe", "distance", "aliases", "closest", "did_you_mean", "check_options"}) do
  M[k] = check[k]
end

-- every string key of v a learner can reach: own keys, the __index chain, tensor methods
function M.names_of(v)
  local seen, out = {}, {}
  local function add_table(t)
    for k in next, t do
      if type(k) == "string" and k:sub(1, 1) ~= "_" and not seen[k] then
        seen[k] = true
        out[#out + 1] = k
      end
    end
  end
  for _ = 1, 8 do
    if type(v) == "table" then add_table(v) end
    local mt = debug.getmetatable(v)
    if not mt then break end
    local idx = rawget(mt, "__index")
    if type(idx) == "function" then        -- tensors: the methods table is upvalue 1
      local _, up = debug.getupvalue(idx, 1)
      if type(up) == "table" then add_table(up) end
      if tensor and tensor.is_tensor(v) then for _, k in ipairs({"grad", "is_leaf"}) do
        if not seen[k] then seen[k] = true; out[#out + 1] = k end
      end end
      break
    end
    if type(idx) ~= "table" then break end
    v = idx
  end
  table.sort(out)
  return out
end

-- ---- the learner's line ------------------------------------------------------------------
local file_cache = {}        -- script path -> its text
local function source_line(info, chunk)
  local src, n = info.source, info.currentline
  if not n or n < 1 then return nil end
  local text
  if (src == "=stdin" or src == "=(command line)") and chunk then text = chunk
  elseif src:sub(1, 1) == "@" then
    text = file_cache[src]
    if not text then
      local f = io.open(src:sub(2), "r")
      if not f then return nil end
      text = f:read("a") or ""
      f:close()
      file_cache[src] = text      -- a loop that catches errors reads the file once
    end
  else return nil end
  local i = 0
  for line in (text .. "\n"):gmatch("([^\n]*)\n") do
    i = i + 1
    if i == n then return line end
  end
end

-- the value of a dotted name ("m", "self.net") as the frame at level sees it
local function resolve(level, path, func)
  local first, rest = path:match("^([%a_][%w_]*)(.*)$")
  if not first then return false end
  local found, val = false, nil
  for i = 1, level and 250 or 0 do
    local name, v = debug.getlocal(level, i)
    if not name then break end
    if name == first then found, val = true, v end
  end
  if not found and func then
    for i = 1, 250 do
      local name, v = debug.getupvalue(func, i)
      if not name then break end
      if name == first then found, val = true, v; break end
    end
  end
  if not found then
    val = _G[first]
    found = val ~= nil
  end
  if not found then return false end
  for part in rest:gmatch("%.([%a_][%w_]*)") do
    local ok, v = pcall(function() return val[part] end)
    if not ok then return false end
    val = v
  end
  return true, val
end

local function escape(s) return (s:gsub("[%^%$%(%)%%%.%[%]%*%+%-%?]", "%%%0")) end

local function is_library(v)
  for _, lib in ipairs({"tensor", "nn", "optim", "data", "help", "dash", "sys"}) do
    if rawequal(_G[lib], v) then return lib end
  end
end

-- nnlab's own Lua (nn/lua/*.lua, repl/lua/*.lua, compiled in): library code, not the learner's
function M.is_nnlab_source(src)
  return src:find("^@?nn/lua/") ~= nil or src:find("^@?repl/lua/") ~= nil
end

-- the frames from the error up: {info, level}, the first learner's frame index
local function frames()
  local out, user = {}, nil
  for level = 3, 60 do     -- 1 is frames, 2 explain
    local info = debug.getinfo(level, "Slnft")
    if not info then break end
    out[#out + 1] = {info = info, level = level}
    if not user and info.what ~= "C" and info.currentline and info.currentline > 0
       and not M.is_nnlab_source(info.source) and not info.source:find("tap%.lua$")
       and info.func ~= M.explain then
      user = #out
    end
  end
  return out, user
end

-- a.sum(2) where a:sum(2) was meant: the function called with '.' is a method of the
-- receiver (found through its metatable) and did not get the receiver as self.
-- callee: the frame the learner's line called; level: the learner's frame (nil when the
-- call was a tail call, `return m.parameters()`, and only globals can be read).
local function dot_for_colon(callee, u, line)
  local name = callee.info.name
  if callee.info.namewhat == "method" then return nil end
  local pat = "([%a_][%w_%.]*)%.(" .. (name and escape(name) or "[%a_][%w_]*") .. ")%s*(%b())"
  for recv, fname, args in line:gmatch(pat) do
    local ok, v = resolve(u and u.level + 1, recv, u and u.info.func)
    if ok and v ~= nil and not is_library(v) then
      local got_ok, f = pcall(function() return v[fname] end)
      local own = type(v) == "table" and rawget(v, fname) ~= nil
      if got_ok and rawequal(f, callee.info.func) and not own then
        local _, first = debug.getlocal(callee.level, 1)
        if not rawequal(first, v) then
          local inner = args:sub(2, -2)
          local spread = inner:match("^%s*$") and recv or (recv .. ", " .. inner)
          return string.format("%s.%s%s: did you mean %s:%s%s? methods are called with a colon "
                               .. "(%s:%s%s is %s.%s(%s))", recv, fname, args, recv, fname,
                               args, recv, fname, args, recv, fname, spread)
        end
      end
    end
  end
end

-- tensor.randm(2,3), nn.Relu(), a:tranpose(1, 2), prnt(x)
local function unknown_name(msg, fr, user, line)
  local what, kind, key = msg:match("attempt to (%a+) a nil value %((%a+) '([^']+)'%)")
  if not key or (what ~= "call" and what ~= "index") then return nil end
  if kind == "global" then
    local names = {}
    for k in pairs(_G) do if type(k) == "string" and k:sub(1, 1) ~= "_" then names[#names + 1] = k end end
    local keyword = ({None = "nil", True = "true", False = "false"})[key]
    if keyword then return string.format("%s is not defined: Lua writes it %s", key, keyword) end
    if key == "len" then return "len is not defined: Lua's length operator is #: #t for a table, x:size(1) for a tensor" end
    local hint = M.did_you_mean(key, names)
    return string.format("%s is not defined%s", key, hint ~= "" and hint or
                         (what == "call" and " (it is nil: no function has that name)" or " (it is nil)"))
  end
  if kind ~= "field" and kind ~= "method" then return nil end
  local sep = kind == "method" and ":" or "."
  local u = fr[user]
  local recv, v
  if line and u then
    for r in line:gmatch("([%a_][%w_%.]*)" .. escape(sep .. key) .. "[^%w_]") do
      local ok, val = resolve(u.level + 1, r, u.info.func)
      if ok and val ~= nil then recv, v = r, val; break end
    end
    if not recv then
      local r = (line .. " "):match("([%a_][%w_%.]*)" .. escape(sep .. key) .. "[^%w_]")
      if r then recv = r end
    end
  end
  if not recv and kind == "field" then return nil end   -- `a[1].y()`: Lua's message says as much
  local names = v ~= nil and M.names_of(v) or nil
  if names then
    for _, n in ipairs(names) do
      if n == key then                 -- the field exists and is nil right now
        if key == "grad" and tensor.is_tensor(v) then
          return string.format("%s.grad is nil: a tensor has a gradient after backward() ran on a result of it, "
                               .. "and only if it requires grad (%s:requires_grad(true))", recv or "x", recv or "x")
        end
        return nil
      end
    end
  end
  if not names then           -- unknown receiver: what tensors and modules have
    names = M.names_of(tensor.zeros(0))
    if nn and nn.Module then for _, k in ipairs(M.names_of(nn.Module)) do names[#names + 1] = k end end
  end
  local label = (recv or (kind == "method" and "x" or "?")) .. sep .. key
  local hint = M.did_you_mean(key, names, (recv or (kind == "method" and "x" or "")) .. sep)
  local lib = v ~= nil and is_library(v)
  local noun = what == "call" and "is not a function" or "is nil, so it cannot be indexed"
  if kind == "method" and what == "call" then noun = "is not a method" end
  if hint == "" then
    if lib then hint = string.format(" (help(%s) lists what it has)", lib)
    elseif v ~= nil and tensor.is_tensor(v) then hint = " (help(x) with a tensor x lists its methods)"
    elseif v ~= nil and type(v) == "table" and rawget(v, "_keys") then
      hint = " (a module's methods: forward, parameters, train, eval, zero_grad, ... )"
    end
  end
  if kind == "method" and v ~= nil and tensor.is_tensor(v) then noun = "is not a tensor method" end
  return label .. " " .. noun .. hint
end

-- bad argument #2 to 'sum' (number expected, got string) -> ... got the string "a"
local function bad_argument(msg, fr)
  local pre, n, fname, want, got = msg:match("^(.-)bad argument #(%d+) to '([^']+)' %((%a+) expected, got (%a[%a ]*)%)")
  if not n then return nil end
  for i = 1, math.min(#fr, 4) do
    local f = fr[i]
    if f.info.what == "C" and f.info.name == fname then
      local idx = tonumber(n) + (f.info.namewhat == "method" and 1 or 0)
      local name, v = debug.getlocal(f.level, idx)
      if name or got == "no value" then
        local desc = (got == "no value" or not name) and "nothing" or M.describe(v)
        if got ~= "no value" and type(v) ~= got and not (got == "light userdata") then desc = "a " .. got end
        local call = (f.info.namewhat == "method" and "x:" or "") .. fname
        local fix = ""
        if want == "number" and type(v) == "string" and tonumber(v) then
          fix = string.format(" (write %s without quotes, or tonumber(%q))", v, v)
        end
        return string.format("%s%s: argument #%s must be a %s, got %s%s", pre, call, n, want, desc, fix)
      end
    end
  end
end

-- nil_note(code): typed `nn.Relu` (an expression that is a missing field of a library or
-- value) -> "nn has no Relu; did you mean nn.ReLU?", else nil
function M.nil_note(code)
  local path, sep, key = code:match("^%s*([%a_][%w_%.]*)([%.:])([%a_][%w_]*)%s*$")
  if not path then return nil end
  local ok, v = resolve(nil, path)
  if not ok or v == nil then return nil end
  local names = M.names_of(v)
  local hint = M.did_you_mean(key, names, path .. sep)
  if hint == "" then return nil end
  return string.format("%s has no %s%s", path, key, hint)
end

function M.explain(msg, chunk)
  if type(msg) ~= "string" or msg:find("interrupted$") then return nil end
  local fr, user = frames()
  local line = user and source_line(fr[user].info, chunk)
  local out
  if user and line and fr[user - 1] and fr[user - 1].info.namewhat == "field" then
    out = dot_for_colon(fr[user - 1], fr[user], line)
  end
  if not out and chunk then
    -- `return m.parameters()` at the prompt is a tail call: the chunk's frame is gone
    for i = 1, #fr do
      if fr[i].info.istailcall then
        local nxt = fr[i + 1]
        if not nxt or nxt.info.what == "C" then out = dot_for_colon(fr[i], nil, chunk) end
        break
      end
    end
  end
  out = out or unknown_name(msg, fr, user, line)
  out = out or bad_argument(msg, fr)
  if out and not out:find("^[^ ]*:%d+: ") then
    local pos = msg:match("^([^ ]*:%d+: )")       -- keep the position the original had
    if pos and M.is_nnlab_source(pos) then pos = nil end   -- nnlab's own line says nothing
    if not pos and user and fr[user].info.source:sub(1, 1) == "@" then   -- or name the script's line
      pos = fr[user].info.short_src .. ":" .. fr[user].info.currentline .. ": "
    end
    if pos then out = pos .. out end
  end
  return out
end

return M
