-- lesson.lua - the small framework every tutorial uses (not a lesson itself).
--
--   local L = dofile((arg and arg[0] and arg[0]:match("(.*/)") or "tutorials/") .. "lib/lesson.lua")
--   local lesson = L.new{name = "flatten", title = {en = "...", ko = "..."}}
--   lesson:say{en = "prose", ko = "산문"}         -- paragraphs; blank line = new paragraph
--   lesson:code[[ x = tensor.randn(2, 3) ]]       -- shown, then run in the real globals
--   lesson:predict{question = {...}, answer = 6, explain = {...}}
--   lesson:check(cond, "what must hold")          -- --check: a failure exits non-zero
--   lesson:finish()
-- Code blocks see this table as the global `tut` (tut.time, tut.bytes, tut.int, tut.now).
--
-- Modes: --check in arg (or stdin not a terminal) runs straight through with no pauses;
-- otherwise it waits for Enter after each code block and asks the predictions.
-- Language: --lang ko in arg, or NNLAB_LANG=ko (also LANG=ko_*), else English.
local L = {}

local function args_have(flag)
  if type(arg) ~= "table" then return false end
  for i = 1, #arg do if arg[i] == flag then return true end end
  return false
end

local function arg_value(flag)
  if type(arg) ~= "table" then return nil end
  for i = 1, #arg do
    if arg[i] == flag then return arg[i + 1] end
    local v = arg[i]:match("^" .. flag:gsub("%-", "%%-") .. "=(.*)$")
    if v then return v end
  end
end

local function stdin_is_tty()
  -- no posix in plain Lua: ask a shell, which inherits our stdin
  local ok = os.execute("[ -t 0 ]")
  return ok == true or ok == 0
end

local function stdout_is_tty()
  local ok = os.execute("[ -t 1 ]")
  return ok == true or ok == 0
end

-- NNLAB_LESSON_INTERACTIVE=1 asks the questions even from a pipe (tests type the answers)
L.check_mode = args_have("--check") or os.getenv("NNLAB_CHECK") == "1"
               or (os.getenv("NNLAB_LESSON_INTERACTIVE") ~= "1" and not stdin_is_tty())
L.interactive = not L.check_mode
L.color = not L.check_mode and stdout_is_tty() and os.getenv("NO_COLOR") == nil
do
  local lang = arg_value("--lang") or os.getenv("NNLAB_LANG")
  if not lang then
    local sys = os.getenv("LC_ALL") or os.getenv("LANG") or ""
    if sys:match("^ko") then lang = "ko" end
  end
  L.lang = (lang and lang:match("^ko")) and "ko" or "en"
end

-- Wall-clock seconds (sys.clock is monotonic; os.clock would count CPU time of all threads).
function L.now() return sys.clock() end

-- Runs fn(...) and returns seconds taken, then fn's results.
function L.time(fn, ...)
  local t0 = L.now()
  local r = table.pack(fn(...))
  return L.now() - t0, table.unpack(r, 1, r.n)
end

-- "33554432" -> "33,554,432"
function L.int(n)
  local s = string.format("%.0f", n)
  local neg = s:sub(1, 1) == "-"
  if neg then s = s:sub(2) end
  s = s:reverse():gsub("(%d%d%d)", "%1,"):reverse():gsub("^,", "")
  return (neg and "-" or "") .. s
end

-- bytes as B / KB / MB / GB / TB (powers of 1000, as GPU spec sheets print them)
function L.bytes(b)
  local units = {"B", "KB", "MB", "GB", "TB", "PB"}
  local i = 1
  while b >= 1000 and i < #units do b = b / 1000; i = i + 1 end
  return string.format(i == 1 and "%.0f %s" or "%.1f %s", b, units[i])
end

-- "[1,65536,64]" from a tensor or a shape
function L.shape(x)
  if tensor.is_tensor(x) then x = x:shape() end
  return tostring(x)
end

-- The text for the current language from a string or {en=, ko=}.
function L.text(t)
  if type(t) ~= "table" then return t == nil and "" or tostring(t) end
  -- every lesson text exists in both languages; --check proves it
  if L.check_mode and (t.en == nil or t.ko == nil) then
    error("lesson text missing its " .. (t.en == nil and "English" or "Korean") .. " version: "
          .. tostring(t.en or t.ko):sub(1, 60), 2)
  end
  return t[L.lang] or t.en or t.ko or ""
end

local function style(code, s)
  if not L.color then return s end
  return "\27[" .. code .. "m" .. s .. "\27[0m"
end

-- Display width: Hangul and other wide characters take two columns.
local function width(s)
  local w = 0
  for _, c in utf8.codes(s) do
    if (c >= 0x1100 and c <= 0x115F) or (c >= 0x2E80 and c <= 0xA4CF) or (c >= 0xAC00 and c <= 0xD7A3)
       or (c >= 0xF900 and c <= 0xFAFF) or (c >= 0xFF00 and c <= 0xFF60) then
      w = w + 2
    else
      w = w + 1
    end
  end
  return w
end

-- Wraps a paragraph at `cols`; lines that start with spaces or '|' are kept as they are.
local function wrap(text, cols)
  local out = {}
  for para in (text .. "\n\n"):gmatch("(.-)\n%s*\n") do
    para = para:gsub("^\n+", "")
    if para ~= "" then
      if para:match("^%s") or para:match("^|") or para:match("\n%s") or para:match("\n|") then
        out[#out + 1] = para                     -- preformatted (tables, formulas)
      else
        local line, lw, lines = "", 0, {}
        for word in para:gmatch("%S+") do
          local ww = width(word)
          if lw > 0 and lw + 1 + ww > cols then
            lines[#lines + 1] = line
            line, lw = word, ww
          else
            line = lw > 0 and (line .. " " .. word) or word
            lw = lw > 0 and (lw + 1 + ww) or ww
          end
        end
        if lw > 0 then lines[#lines + 1] = line end
        out[#out + 1] = table.concat(lines, "\n")
      end
    end
  end
  return table.concat(out, "\n\n")
end

local function wait_enter(prompt)
  if not L.interactive then return end
  io.write(style("2", prompt or (L.lang == "ko" and "  [Enter: 계속]" or "  [Enter to go on]")))
  io.flush()
  local line = io.read("l")
  if line == nil then L.interactive = false end   -- stdin closed: run on without pauses
end

-- A shown code line's comment may be written in both languages, "-- English || 한국어":
-- the learner sees the half for the current language (Lua ignores the whole comment).
function L.comment_text(line)
  local code, en, ko = line:match("^(.-%-%-%s*)(.-)%s*||%s*(.*)$")
  if not code then return line end
  return code .. (L.lang == "ko" and ko or en)
end

-- A string in a code block may be written in both languages, "label" || "라벨" (double
-- quotes, each string on one line; a pair that breaks before || becomes one line): the
-- block is shown and run with the one for the current language, so what it prints is in
-- the learner's language and the code they see is plain Lua they can type at the prompt.
function L.code_text(src)
  return (src:gsub('("[^"\n]*")%s*||%s*("[^"\n]*")', function(en, ko)
    return L.lang == "ko" and ko or en
  end))
end

-- Prints `text` wrapped to the terminal: the first line after `first`, the rest after
-- `rest` (the indent), so that no line is wider than 80 columns.
local function print_hanging(first, text, rest, colour)
  local body = wrap(text, 79 - width(first))
  local n = 0
  for line in (body .. "\n"):gmatch("(.-)\n") do
    n = n + 1
    print(style(colour, (n == 1 and first or rest) .. line))
  end
end

local Lesson = {}
Lesson.__index = Lesson

function L.new(o)
  local self = setmetatable({name = o.name or "lesson", title = o.title, t0 = L.now(), clock0 = os.clock(),
                             checks = 0, step = 0}, Lesson)
  L.current = self
  local title = L.text(o.title)
  local head = "== " .. self.name .. (title ~= "" and (": " .. title) or "") .. " =="
  print(style("1", head))
  if L.check_mode then
    print(L.lang == "ko" and "(점검 모드: 멈추지 않고 끝까지 실행하며 기대값을 확인합니다)"
                         or "(check mode: runs straight through and checks its expectations)")
  end
  print()
  return self
end

-- True in --check mode, so a lesson can use a smaller subset there (and say so).
-- the small data of --check; NNLAB_LESSON_QUICK=1 gives it to an interactive run too
-- (a slow laptop, or the end-to-end test that presses keys through a lesson)
function Lesson:quick() return L.check_mode or os.getenv("NNLAB_LESSON_QUICK") == "1" end

function Lesson:say(t)
  if self.after_check then print(); self.after_check = false end
  print(wrap(L.text(t), 78))
  print()
end

-- Shows the code, runs it in the real globals (so later code and the learner at the
-- prompt see what it defined), then pauses when interactive. Returns the chunk's results.
function Lesson:code(src, opts)
  opts = opts or {}
  self.step = self.step + 1
  src = L.code_text(src:gsub("^\n+", ""):gsub("%s+$", ""))
  if self.after_check then print(); self.after_check = false end
  for line in (src .. "\n"):gmatch("(.-)\n") do print(style("36", "  > " .. L.comment_text(line))) end
  local fn, err = load(src, "=" .. self.name .. ":code" .. self.step, "t", _G)
  if not fn then error(self.name .. ": code block " .. self.step .. " does not compile: " .. err, 0) end
  local stop = type(dash) == "table" and dash.STOP
  local res = table.pack(xpcall(fn, function(e)
    if e == stop then return e end               -- q, y on the dashboard: not a failure
    return debug.traceback(tostring(e), 2)
  end))
  if not res[1] and stop and res[2] == stop then
    if dash.is_open() then dash.close() end
    print(style("33", L.lang == "ko" and "(대시보드에서 학습을 멈췄습니다; 수업은 계속됩니다)"
                                      or "(training stopped from the dashboard; the lesson goes on)"))
    res = {true, n = 1}
  elseif not res[1] then
    error(self.name .. ": code block " .. self.step .. " failed: " .. tostring(res[2]), 0)
  end
  print()
  if not opts.no_wait then wait_enter() end
  return table.unpack(res, 2, res.n)
end

-- The numbers in a text, read two ways: commas as thousands separators where they sit
-- between groups of three digits ("33,554,432" -> 33554432), and commas as list
-- separators ("3,2" -> 3 2). Returns both lists (they are equal when no comma is ambiguous).
local function numbers_in(s)
  local function scan(t)
    local out = {}
    local i = 1
    while true do                    -- a number: digits, an optional fraction and exponent
      local a, b = t:find("%-?%d*%.?%d+", i)
      if not a then break end
      local e1, e2 = t:find("^[eE][-+]?%d+", b + 1)
      local n = t:sub(a, e2 or b)
      out[#out + 1] = {v = tonumber(n), text = n}
      i = (e2 or b) + 1
    end
    return out
  end
  local grouped = s
  repeat
    local before = grouped
    grouped = grouped:gsub("(%d),(%d%d%d)%f[^%d]", "%1%2")
  until grouped == before
  return scan(grouped), scan(s)
end

local function same_list(g, a)
  if #g ~= #a or #a == 0 then return false end
  for i = 1, #a do
    local av, gv = a[i].v, g[i].v
    -- an answer written with decimals accepts what rounds to it ("80.6" takes 80.56)
    local decimals = a[i].text:match("%.(%d+)$")
    local tol = decimals and 0.5 * 10 ^ -#decimals + 1e-12 or 1e-9 * math.max(1, math.abs(av))
    if math.abs(gv - av) > tol then return false end
  end
  return true
end

-- yes and no in both languages
local YES = {yes = true, y = true, ["예"] = true, ["네"] = true, ["응"] = true, ["그렇다"] = true,
             ["그래요"] = true, ["맞다"] = true, ["맞아요"] = true, ["맞습니다"] = true}
local NO = {no = true, n = true, ["아니오"] = true, ["아니요"] = true, ["아니"] = true,
            ["아뇨"] = true, ["아니다"] = true, ["아닙니다"] = true}

-- Does the learner's `given` match `answer` (a number, a string, or {en=, ko=}, whose
-- two versions are both accepted)? Numbers are compared as numbers, words around them
-- ignored ("63 updates", "63번", "1.6 GB"); shapes and lists number by number ("3,2" for
-- [3,2]); yes/no in English or Korean (예, 아니오). accept(given) -> bool adds more.
function L.same_answer(given, answer, accept)
  given = tostring(given):gsub("^%s+", ""):gsub("%s+$", "")
  if given == "" then return false end
  if accept and accept(given) then return true end
  local answers = {}
  if type(answer) == "table" then
    for _, k in ipairs{"en", "ko"} do if answer[k] then answers[#answers + 1] = tostring(answer[k]) end end
  else
    answers[1] = tostring(answer)
  end
  local norm = function(s) return (s:lower():gsub("[%s,%[%]%.!?]", "")) end
  local g1, g2 = numbers_in(given)
  for _, a in ipairs(answers) do
    local ka = norm(a)
    if YES[ka] or NO[ka] then
      local kg = norm(given)
      if (YES[ka] and YES[kg]) or (NO[ka] and NO[kg]) then return true end
    else
      local a1, a2 = numbers_in(a)
      if #a1 > 0 then
        if same_list(g1, a1) or same_list(g2, a2) or same_list(g1, a2) or same_list(g2, a1) then
          return true
        end
      elseif norm(given) == ka then
        return true
      end
    end
  end
  return false
end

-- Asks (interactive) or states (check mode) a question, then shows the answer and why.
function Lesson:predict(p)
  if self.after_check then print(); self.after_check = false end
  local q, a, why = L.text(p.question), p.answer, L.text(p.explain)
  if type(a) == "table" and not tensor.is_tensor(a) and (a.en or a.ko) then a = L.text(a) end
  local ask = L.lang == "ko" and "예측" or "Predict"
  print_hanging(ask .. ": ", q, string.rep(" ", width(ask) + 2), "33")
  if L.interactive then
    io.write(L.lang == "ko" and "  내 답> " or "  your answer> ")
    io.flush()
    local given = io.read("l")
    if given == nil then L.interactive = false
    elseif given ~= "" then
      local right = L.same_answer(given, p.answer, p.accept)
      print(right and (L.lang == "ko" and "  맞았습니다!" or "  Right!")
                  or (L.lang == "ko" and "  아쉽네요." or "  Not quite."))
    end
  end
  print_hanging(L.lang == "ko" and "  답: " or "  Answer: ", tostring(a), "    ", "32")
  if why ~= "" then print((wrap(why, 74):gsub("([^\n]+)", "    %1"))) end
  print()
end

-- An expectation. It prints "ok - what"; a failure raises an error (nnlab exits 1).
function Lesson:check(cond, what)
  self.checks = self.checks + 1
  what = L.text(what)
  if not cond then
    if L.interactive then
      -- a learner who stopped training early, or changed the code, goes on with the lesson
      print_hanging("  not ok - ", what, "           ", "33")
      self.after_check = true
      return
    end
    error(string.format("%s: check %d failed: %s", self.name, self.checks, what), 0)
  end
  print_hanging("  ok - ", what, "       ", "32")
  self.after_check = true
end

-- nnlab's own globals, which a lesson's code must not replace: the learner goes on
-- using them at the prompt (a lesson that defined `function train` broke train{}).
local BUILTINS = {}
for _, k in ipairs{"tensor", "nn", "optim", "data", "dash", "sys", "train", "help"} do
  if _G[k] ~= nil then BUILTINS[k] = _G[k] end
end

-- The progress file that `nnlab tutorial` reads to mark the finished lessons:
-- $XDG_DATA_HOME/nnlab/progress, else ~/.local/share/nnlab/progress (the XDG rule,
-- which repl/tutorials.c applies too: a relative XDG_DATA_HOME is ignored). nil: no home.
function L.progress_path()
  local xdg, home = os.getenv("XDG_DATA_HOME"), os.getenv("HOME")
  local base = (xdg and xdg:sub(1, 1) == "/") and xdg or (home and home ~= "" and home .. "/.local/share")
  if not base then return nil end
  return base .. "/nnlab/progress", base .. "/nnlab"
end

local function shell_quote(s) return "'" .. s:gsub("'", "'\\''") .. "'" end

-- Adds `name` to the progress file: read, then a temp file in the same directory
-- renamed over it, so a reader never sees half a file. Returns true when recorded;
-- false (and nothing raised) when the directory cannot be written.
function L.record_done(name)
  local path, dir = L.progress_path()
  if not path then return false end
  local names = {}
  local f = io.open(path, "r")
  if f then
    for line in f:lines() do
      if line == name then f:close(); return true end    -- already there
      if line ~= "" then names[#names + 1] = line end
    end
    f:close()
  end
  names[#names + 1] = name
  -- a name of its own per process (a table's address), for two lessons ending at once
  local tmp = path .. ".tmp-" .. tostring({}):gsub("^table: ", "")
  local out = io.open(tmp, "w")
  if not out then
    os.execute("mkdir -p " .. shell_quote(dir) .. " 2>/dev/null")
    out = io.open(tmp, "w")
  end
  if not out then return false end
  local ok = out:write(table.concat(names, "\n"), "\n")
  ok = out:close() and ok
  if ok and os.rename(tmp, path) then return true end
  os.remove(tmp)
  return false
end

function Lesson:finish()
  for k, v in pairs(BUILTINS) do
    if _G[k] ~= v then
      error(string.format("%s: the lesson replaced nnlab's global `%s`; give its own a new name",
                          self.name, k), 0)
    end
  end
  local dt = L.now() - self.t0
  if self.after_check then print() end
  print(style("1", string.format(
    L.lang == "ko" and "== %s 끝: 확인 %d개 통과, %.1f초 ==" or "== %s done: %d checks passed in %.1f s ==",
    self.name, self.checks, dt)))
  local recorded = L.record_done(self.name)
  if L.interactive then
    print(L.lang == "ko" and "정의된 전역 변수는 프롬프트에서 계속 써 볼 수 있습니다 (nnlab -i)."
                         or "The globals the lesson defined stay usable at the prompt (nnlab -i).")
    if not recorded then
      print(L.lang == "ko" and "(진도 파일에 기록하지 못했습니다: " .. tostring(L.progress_path()) .. ")"
                           or "(could not record the lesson as finished in " .. tostring(L.progress_path()) .. ")")
    end
  end
end

-- Is a dashboard worth opening? Only interactively on a terminal.
function L.use_dash()
  return L.interactive and type(dash) == "table" and dash.open ~= nil and stdout_is_tty()
end

-- Min over row pairs i<j of mean|W_i - W_j| for W [R,K]: value, i, j (1-based).
function L.closest_rows(W)
  return tensor.no_grad(function()
    W = W:detach()
    local R = W:size(1)
    local d = (W:unsqueeze(2) - W:unsqueeze(1)):abs():mean(3)       -- [R,R]
    -- mask the diagonal and the lower triangle with a large number
    local idx = tensor.arange(1, R + 1)
    local lower = idx:view(R, 1):ge(idx:view(1, R))                 -- 1 where i >= j
    d = d + lower * 1e9
    local flat = d:reshape(R * R)
    local k = flat:argmin():item()                                   -- 1-based
    local i, j = (k - 1) // R + 1, (k - 1) % R + 1
    return flat:min():item(), math.tointeger(i), math.tointeger(j)
  end)
end

-- code blocks run in the real globals, where the local L is not visible: they use `tut`
_G.tut = L
return L
