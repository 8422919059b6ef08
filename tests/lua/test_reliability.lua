-- test_reliability.lua - nothing a learner types can crash nnlab.
--
--  1. Every public function in tensor, nn (incl. nn.F, nn.init), optim, data and dash,
--     every tensor method and every module method, called with wrong argument types and
--     counts: each call either works or raises a Lua error with a message (a string
--     naming something), never crashes or aborts.
--  2. Dims out of range and dim 0, size products that overflow, labels out of range,
--     backward twice and on a non-scalar, NaN under tensor.detect_anomaly(true).
--  3. A 100,000-step small training loop keeps memory flat (tensor.memory_estimate().cpu
--     exactly, sys.rss_kb() within a margin). NNLAB_RELIABILITY_STEPS=N changes the
--     count; NNLAB_SANITIZED=1 (set by make asan-suite) skips the RSS margin, which
--     ASan's quarantine of freed memory makes meaningless.
local dir = debug.getinfo(1, "S").source:match("^@(.*)/") or "."
local t = dofile(dir .. "/tap.lua")

local sanitized = os.getenv("NNLAB_SANITIZED") == "1"
tensor.manual_seed(7)

-- ---- 1. every binding with wrong arguments -------------------------------------------------
local x = tensor.randn(2, 3)
local x3 = tensor.randn(2, 3, 4)
local meta = tensor.zeros(2, 3, {device = "meta"})
local empty = tensor.zeros(0)
local scalar = tensor(5)
local fn = function() end

-- Argument lists that are wrong for (almost) everything. A list is {n = count, ...} so
-- nil holes survive.
local function L(...) return table.pack(...) end
local bad_args = {
  L(), L(nil), L(nil, nil, nil), L("str"), L({}), L(true), L(fn), L(1e300), L(-1), L(0),
  L(0 / 0), L(math.huge), L(-math.huge), L(1.5), L(math.maxinteger), L(math.mininteger),
  L(x, "str"), L(x, {}), L(x, nil, "a"), L(x, x3), L(x, 0), L(x, 1e10), L(x, -100),
  L(x, 1.5), L(x, 0 / 0), L(x, true), L(x, fn), L("str", "str"), L(x, x, x, x, x, x),
  L({x, "a"}), L({1, 2}, {3}), L(empty), L(scalar), L(meta), L(meta, x), L(x, meta),
  L(scalar, scalar), L(empty, empty), L(x3, {device = "nowhere"}), L({device = 7}),
  L(x, math.maxinteger), L(x, math.mininteger), L(x, 1, 2, 3, 4, 5, 6, 7, 8, 9),
  L(setmetatable({}, {__index = function() error("boom from __index") end})),
}

-- Calls that would be slow or block rather than wrong: never made.
local skip_call = {
  ["data.fashion_mnist"] = true,   -- any call that happens to be valid loads 70,000 images
  ["dash.open"] = true,            -- opened and closed by the dash tests
}

local calls, raised, odd = 0, 0, {}
local trace = os.getenv("NNLAB_RELIABILITY_TRACE")   -- =1: each call to stderr before it runs
local function try(name, f, args)
  calls = calls + 1
  if trace then io.stderr:write(name, " arg list ", calls, "\n") end
  local ok, err = pcall(f, table.unpack(args, 1, args.n))
  if dash and dash.is_open and dash.is_open() then dash.close() end
  tensor.set_memory_limit(nil)   -- a tiny limit from the walk would fail every later call
  if ok then return end
  raised = raised + 1
  -- a message is a non-empty string (tostring of an error object is allowed)
  local msg = type(err) == "string" and err or (type(err) == "table" and tostring(err)) or nil
  if not msg or #msg == 0 then odd[#odd + 1] = name .. ": error value is a " .. type(err) end
end

-- functions of a table (recursing one level into sub-tables such as nn.F and nn.init),
-- and callable class tables (nn.Linear(...))
local function callables(prefix, tbl, out, depth)
  local keys = {}
  for k in pairs(tbl) do if type(k) == "string" then keys[#keys + 1] = k end end
  table.sort(keys)
  for _, k in ipairs(keys) do
    local v, name = tbl[k], prefix .. "." .. k
    local mt = type(v) == "table" and getmetatable(v)
    if type(v) == "function" then out[#out + 1] = {name, v}
    elseif mt and mt.__call then out[#out + 1] = {name, function(...) return v(...) end}
    elseif type(v) == "table" and depth < 1 and k ~= "fashion_mnist_classes" then callables(name, v, out, depth + 1) end
  end
  return out
end

local targets = {}
for _, lib in ipairs{"tensor", "nn", "optim", "data", "dash"} do
  if type(_G[lib]) == "table" then callables(lib, _G[lib], targets, 0) end
end
-- tensor methods on a live tensor (x:method(bad...)) and on a meta / 0-d / empty one
local method_names = {}
for name, f in pairs(tensor) do
  if type(f) == "function" and x[name] == f then method_names[#method_names + 1] = name end
end
table.sort(method_names)
for _, recv in ipairs{{"x", x}, {"meta", meta}, {"scalar", scalar}, {"empty", empty}} do
  for _, m in ipairs(method_names) do
    targets[#targets + 1] = {recv[1] .. ":" .. m, function(...) return recv[2][m](recv[2], ...) end}
  end
end
-- module methods: one instance of each layer with small valid sizes
local instances = {
  Linear = {3, 2}, Conv2d = {1, 2, 3}, BatchNorm1d = {3}, BatchNorm2d = {3}, LayerNorm = {3},
  Embedding = {5, 3}, MultiheadAttention = {4, 2}, XCA = {4, 2}, CrossAttention = {4, 2, 2},
  ReLU = {}, GELU = {}, Tanh = {}, Sigmoid = {}, Identity = {}, Dropout = {0.5}, Flatten = {},
  MaxPool2d = {2}, AvgPool2d = {2}, Sequential = {},
}
local mod_names = {}
for k in pairs(instances) do mod_names[#mod_names + 1] = k end
table.sort(mod_names)
local made = 0
for _, cls in ipairs(mod_names) do
  local ok, m = pcall(function() return nn[cls](table.unpack(instances[cls])) end)
  if ok and type(m) == "table" then
    made = made + 1
    local seen = {}
    local c = getmetatable(m)
    while c do
      for k, f in pairs(c) do
        if type(f) == "function" and type(k) == "string" and not seen[k] and k ~= "__gc"
           and k ~= "__index" and k ~= "__newindex" and k ~= "new" and k ~= "extend"
           and k ~= "init" then   -- init re-runs the constructor (covered by the class calls)
          seen[k] = true
          targets[#targets + 1] = {"nn." .. cls .. ":" .. k, function(...) return f(m, ...) end}
        end
      end
      local mt = getmetatable(c)
      c = mt and type(mt.__index) == "table" and mt.__index or nil
    end
  else
    t.diag("could not make nn." .. cls .. ": " .. tostring(m))
  end
end
t.ok(made == #mod_names, "an instance of each of the " .. #mod_names .. " layer classes")
-- an optimizer and a loader
local lin = nn.Linear(3, 2)
local opt = optim.SGD(lin:parameters(), {lr = 0.1})
for _, k in ipairs{"step", "zero_grad"} do
  if opt[k] then targets[#targets + 1] = {"optim.SGD:" .. k, function(...) return opt[k](opt, ...) end} end
end

-- Functions that write a file take a path first: the walk would create files named
-- "-1", "str"... in the working directory. They get the bad arguments after a path in
-- a scratch directory instead.
local scratch = os.tmpname()
os.remove(scratch)
local function writes_files(name) return name:match("[.:]save$") or name:match("[.:]save_npy$") end

local nfn = 0
for _, tg in ipairs(targets) do
  if writes_files(tg[1]) then
    local f = tg[2]
    tg[2] = function(...) return f(scratch, ...) end
  end
  if not skip_call[tg[1]] then
    nfn = nfn + 1
    for _, args in ipairs(bad_args) do try(tg[1], tg[2], args) end
  end
end
os.remove(scratch)
t.diag(("%d functions x %d argument lists = %d calls, %d raised errors"):format(nfn, #bad_args, calls, raised))
t.ok(nfn > 250, "walked " .. nfn .. " functions and methods (tensor, nn, optim, data, dash)")
t.ok(calls == nfn * #bad_args, "the process survived all " .. calls .. " calls")
t.ok(#odd == 0, "every raised error carries a message", table.concat(odd, "\n"))
-- tables still usable after all of that
t.eq((tensor.ones(2, 2) + 1):sum():item(), 8, "tensor ops still work after the bad calls")

-- ---- 2. specific cases -----------------------------------------------------------------------
-- allocations count what is already live: each of BatchNorm1d's four buffers passed a
-- one-tensor size check alone and nn.BatchNorm1d(2147483648) met the OOM killer. Here a
-- 64 MB budget stands in for the machine's memory (the default is what it has free).
do
  collectgarbage()
  local live = tensor.memory_estimate().cpu
  tensor.set_memory_limit(live + 64 * 2^20)
  local ok, err = pcall(nn.BatchNorm1d, 2^23)     -- four 32 MB buffers
  tensor.set_memory_limit(nil)
  t.ok(not ok and tostring(err):find("^[%w/_.]*:?%d*:? ?nn.BatchNorm1d%(8388608%): out of memory") and tostring(err):find("already hold"),
       "buffers that fit one by one but not together are refused, naming the layer and what is held", err)
  collectgarbage()
  t.ok(pcall(nn.BatchNorm1d, 2^23), "without the limit the same layer is made")
end

-- metamethods are plain functions a script can fetch and call with any value: each
-- checks that its userdata is its own (__gc(io.stdout) used to crash)
do
  local foreign = {io.stdout, io.stderr, {}, "str", 1, true, fn, x:shape(), nil}
  local n = 0
  for _, mt in ipairs{getmetatable(x), getmetatable(x:shape())} do
    for k, f in pairs(mt) do
      if type(f) == "function" then
        for i = 1, #foreign + 1 do
          for _, second in ipairs{1, "grad", "sum", x} do
            n = n + 1
            pcall(f, foreign[i], second, 1)
          end
        end
      end
    end
  end
  local gc, y = getmetatable(x).__gc, tensor.ones(3)
  gc(y); gc(y)                                 -- freed twice: the second does nothing
  local ok, err = pcall(function() return y:sum() end)
  t.ok(n > 100 and not ok and tostring(err):match("already freed"),
       "metamethods called on " .. n .. " foreign values survive; a freed tensor says so", err)
  local f = io.tmpfile()
  local file_mt = debug.getmetatable(f)
  debug.setmetatable(f, getmetatable(x))        -- a FILE* dressed as a tensor
  ok, err = pcall(function() return f:sum() end)
  debug.setmetatable(f, file_mt)
  f:close()
  t.ok(not ok and tostring(err):match("x:sum: called on a userdata, not a tensor"), "a foreign userdata with the tensor metatable is refused", err)
end

-- dims out of range and dim 0, on every dim-taking op, positive and negative
for _, c in ipairs{
  {"sum", function(d) return x3:sum(d) end, 0}, {"softmax", function(d) return x3:softmax(d) end, 0},
  {"transpose", function(d) return x3:transpose(1, d) end, 0}, {"unsqueeze", function(d) return x3:unsqueeze(d) end, 1},
  {"select", function(d) return x3:select(d, 1) end, 0}, {"narrow", function(d) return x3:narrow(d, 1, 1) end, 0},
  {"cat", function(d) return tensor.cat({x3, x3}, d) end, 0}, {"stack", function(d) return tensor.stack({x3, x3}, d) end, 1},
  {"argmax", function(d) return x3:argmax(d) end, 0}, {"var", function(d) return x3:var(d) end, 0},
  {"gather", function(d) return x3:gather(d, tensor.ones(1, 1, 1)) end, 0},
  {"flatten", function(d) return x3:flatten(d) end, 0}, {"size", function(d) return x3:size(d) end, 0},
} do
  local n = 3 + c[3]
  for _, d in ipairs{0, n + 1, -(n + 1), 1000, -1000, math.maxinteger, math.mininteger} do
    t.errors_like(function() return c[2](d) end, c[1] .. ".*dim", ("%s: dim %d is refused, naming the op"):format(c[1], d))
  end
end

-- size products that overflow int64 (and sizes no machine holds)
local big = 2 ^ 62 // 1
for _, c in ipairs{
  {"zeros", function() return tensor.zeros(big, big) end},
  {"ones", function() return tensor.ones(2 ^ 31 // 1, 2 ^ 31 // 1, 2 ^ 31 // 1) end},
  {"full", function() return tensor.full({big, 4}, 1) end},
  {"randn meta", function() return tensor.randn(big, big, {device = "meta"}) end},
  {"empty", function() return tensor.empty(65536, 65536, 65536, 65536) end},
  {"eye", function() return tensor.eye(2 ^ 40 // 1) end},
  {"view", function() return x:view(big, big) end},
  {"expand", function() return tensor.ones(1, 1):expand(big, big) end},
  {"reshape", function() return x:reshape(-1, big) end},
  {"arange", function() return tensor.arange(0, 1e300, 1e-300) end},
  {"linspace", function() return tensor.linspace(0, 1, math.maxinteger) end},
} do
  local okc, err = pcall(c[2])
  t.ok(not okc and type(err) == "string" and #err > 0, c[1] .. ": an impossible size is refused with a message", err)
end
local okc, err = pcall(tensor.zeros, 1000000, 1000000)
t.ok(not okc and err:find("out of memory") and err:find("GB"),
  "a 10^12-element tensor: out-of-memory error that names the size", err)

-- an IDX header whose sizes pass the reader's byte bound but not tensor_empty's
-- (found by fuzz_idx): the error should still name data.idx and the file
do
  local path = os.tmpname()
  local f = assert(io.open(path, "wb"))
  f:write("\0\0\8\5", "\0\0\0\8", "\5\0\0\0", "\0\1\2\3", "\0\1\0\0", "\0\0\0\0")
  f:close()
  local oki, e = pcall(data.idx, path)
  os.remove(path)
  t.ok(not oki and tostring(e):find("data.idx: " .. path, 1, true),
    "data.idx: a header with [8,83886080,66051,65536,0] fails naming data.idx and the file", e)
end

-- size arithmetic on huge integers must not overflow (UB) in the cost helpers
do
  local okm, r = pcall(nn.F.attention_macs, 4, 3, 3, 2 ^ 62 // 1, 2 ^ 62 // 1)
  t.ok(not okm or math.type(r) == "integer", "nn.F.attention_macs with 2^62-sized dims returns or raises", r)
end

-- labels out of range
local logits = tensor.randn(4, 3)
for _, labels in ipairs{{1, 2, 3, 4}, {0, 1, 2, 3}, {-1, 1, 1, 1}, {1.5, 1, 1, 1}, {0 / 0, 1, 1, 1}, {1e30, 1, 1, 1}} do
  local okl, e = pcall(nn.cross_entropy, logits, tensor(labels))
  t.ok(not okl and type(e) == "string" and e:find("cross_entropy"),
    "cross_entropy with labels {" .. table.concat(labels, ",") .. "} is refused, naming cross_entropy", e)
end
local emb = nn.Embedding(5, 3)
for _, ids in ipairs{{0}, {6}, {-1}, {2.5}} do
  t.errors_like(function() return emb(tensor(ids)) end, "mbedding", "Embedding with id " .. ids[1] .. " is refused")
end
t.errors_like(function() return logits:gather(2, tensor{{4}, {1}, {1}, {1}}) end, "gather", "gather index past the end")

-- backward twice, on a non-scalar, on something without a graph
do
  local w = tensor.randn(3, 2):requires_grad()
  local loss = (x:matmul(w)):pow(2):sum()
  loss:backward()
  local g1 = w.grad:clone()
  local ok2, e2 = pcall(loss.backward, loss)
  t.ok(not ok2 and e2:find("backward"), "backward twice is refused with a message naming backward", e2)
  t.is_close(w.grad, g1, 0, "a refused second backward leaves the gradient as it was")
  t.errors_like(function() x:matmul(w):backward() end, "backward.*scalar", "backward on a non-scalar asks for a scalar")
  t.errors_like(function() tensor.ones(1):sum():backward() end, "backward", "backward with no graph is refused")
  t.errors_like(function() x:matmul(w):backward(tensor.ones(5)) end, "backward", "backward with a grad of the wrong shape")
end

-- NaN in a loss with anomaly detection names the op
do
  local was = tensor.detect_anomaly()
  tensor.detect_anomaly(true)
  local a = tensor{-1, 4}:requires_grad()
  local okn, en = pcall(function() a:sqrt():sum():backward() end)
  t.ok(not okn and en:find("NaN") and en:find("sqrt"), "detect_anomaly: a NaN gradient names sqrt", en)
  local b = tensor{0, 1}:requires_grad()
  okn, en = pcall(function() b:log():mean():backward() end)
  t.ok(not okn and en:find("log"), "detect_anomaly: log(0) names log", en)
  tensor.detect_anomaly(was)
  t.eq(tensor.detect_anomaly(), was, "detect_anomaly is restored")
end

-- the state is not broken by any of it
t.ok(tensor.no_grad(function() return true end), "no_grad still works")
local w2 = tensor.ones(2):requires_grad()
;(w2 * 3):sum():backward()
t.eq(w2.grad, {3, 3}, "a fresh backward works after the failures")

-- a size error names the function that was called, not the tensor.empty behind it
for _, c in ipairs{{"zeros", tensor.zeros}, {"ones", tensor.ones}, {"randn", tensor.randn}, {"rand", tensor.rand}} do
  local ok, err = pcall(c[2], 2^40, 2^40)
  t.ok(not ok and tostring(err):find("^tensor%." .. c[1] .. ": "), "tensor." .. c[1] .. " names itself in a size error", err)
end
do
  local ok, err = pcall(nn.BatchNorm1d, 2^62)
  t.ok(not ok and tostring(err):find("nn.BatchNorm1d%(4611686018427387904%): "), "nn.BatchNorm1d names itself", err)
end

-- an empty tensor with huge other dims: its strides would overflow int64 (the fuzzer's find)
do
  local ok1, e1 = pcall(function() return tensor.zeros(0):view(0, 2^62, 4) end)
  local ok2, e2 = pcall(tensor.zeros, 0, 2^62, 4)
  t.ok(not ok1 and not ok2 and tostring(e1):find("overflow") and tostring(e2):find("overflow"),
       "empty shapes whose other dims overflow int64 are refused", tostring(e1) .. " / " .. tostring(e2))
end

-- ---- 3. memory stays flat over a long training loop -------------------------------------------
do
  local steps = tonumber(os.getenv("NNLAB_RELIABILITY_STEPS")) or 100000
  local model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 1))
  local o = optim.SGD(model:parameters(), {lr = 0.01, momentum = 0.9})
  local xb, yb = tensor.randn(8, 4), tensor.randn(8, 1)
  local function step()
    o:zero_grad()
    local loss = nn.mse_loss(model(xb), yb)
    loss:backward()
    o:step()
    return loss
  end
  for _ = 1, 1000 do step() end          -- warm up: free lists, optimizer state, GC pace
  collectgarbage(); collectgarbage()
  local mem0, rss0 = tensor.memory_estimate().cpu, sys.rss_kb()
  local t0 = sys.clock()
  local last
  for _ = 1, steps do last = step() end
  local secs = sys.clock() - t0
  last = last:item()
  collectgarbage(); collectgarbage()
  local mem1, rss1 = tensor.memory_estimate().cpu, sys.rss_kb()
  t.diag(("%d steps in %.1f s; tensor bytes %d -> %d; RSS %d -> %d kB"):format(steps, secs, mem0, mem1, rss0, rss1))
  t.ok(last == last, "the loop trained (final loss " .. last .. ")")
  t.eq(mem1, mem0, "tensor.memory_estimate().cpu is the same after " .. steps .. " steps")
  if sanitized then
    t.skip("RSS flat", "sanitizer build: ASan's quarantine holds freed memory")
  else
    t.ok(rss1 - rss0 < 4096, ("RSS grew by %d kB over %d steps (margin 4 MB)"):format(rss1 - rss0, steps))
  end
end

t.done_testing()
