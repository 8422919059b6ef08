-- xca_vs_attention.lua - time and memory of self-attention vs XCA as the token count grows.
--   nnlab scripts/xca_vs_attention.lua [N list=64,256,1024,2048,4096] [d=64] [heads=4] [B=1] [device=cpu]
-- For each N: milliseconds per forward and per forward+backward of nn.MultiheadAttention(d, heads)
-- and nn.XCA(d, heads) on [B,N,d] (wall clock, best of a few runs), and the peak memory of
-- a forward pass measured on the meta device (so large N costs nothing to ask about).
local function usage(msg)
  io.stderr:write("xca_vs_attention.lua: " .. msg .. "\nusage: nnlab scripts/xca_vs_attention.lua " ..
                  "[N list, e.g. 64,256,1024] [d] [heads] [B] [cpu|cuda]\n")
  os.exit(2)
end
local Ns = {}
for s in (arg[1] or "64,256,1024,2048,4096"):gmatch("[^,]+") do
  Ns[#Ns + 1] = math.tointeger(tonumber(s)) or usage("bad N '" .. s .. "'")
end
local d = math.tointeger(tonumber(arg[2] or 64)) or usage("d must be an integer")
local heads = math.tointeger(tonumber(arg[3] or 4)) or usage("heads must be an integer")
local B = math.tointeger(tonumber(arg[4] or 1)) or usage("B must be an integer")
local device = arg[5] or "cpu"
if d % heads ~= 0 then usage("heads must divide d") end

-- wall clock: date(1) gives nanoseconds; nnlab's Lua has only os.clock (CPU time)
local function now()
  local p = io.popen("date +%s.%N 2>/dev/null")
  local v = p and tonumber(p:read("l"))
  if p then p:close() end
  return v or os.clock()
end

-- best of `tries` timings of `reps` calls of fn
local function bench(fn, budget)
  fn()                                                 -- warm up
  local t0 = now(); fn()
  local one = math.max(now() - t0, 1e-6)
  local reps = math.max(1, math.min(50, math.floor(budget / one)))
  local best = math.huge
  for _ = 1, 3 do
    local t = now()
    for _ = 1, reps do fn() end
    best = math.min(best, (now() - t) / reps)
  end
  return best
end

local function peak_bytes(model, N)
  collectgarbage()
  local x = tensor.empty(B, N, d, {device = "meta"})
  local base = tensor.memory_estimate().meta
  tensor.reset_peak()
  tensor.no_grad(function() return model(x) end)
  return tensor.memory_estimate().meta_peak - base
end

local function mb(b) return string.format("%.1f", b / 1e6) end

tensor.manual_seed(0)
local mha, xca = nn.MultiheadAttention(d, heads), nn.XCA(d, heads)
local meta_mha, meta_xca = nn.MultiheadAttention(d, heads, {device = "meta"}), nn.XCA(d, heads, {device = "meta"})
if device ~= "cpu" then mha:to(device); xca:to(device) end

print(string.format("self-attention vs XCA: B=%d, d=%d, heads=%d, device %s (ms per call; MB peak forward)",
                    B, d, heads, device))
print("      N    attn fwd   XCA fwd    attn f+b   XCA f+b     attn MB      XCA MB")
local rows = {}
for _, N in ipairs(Ns) do
  local x = tensor.randn(B, N, d, {device = device})
  local xg = x:clone():requires_grad(true)
  local row = {}
  for i, m in ipairs{mha, xca} do
    -- :item() reads a result back, so the time includes finishing the work on a GPU
    row[i] = bench(function() tensor.no_grad(function() return m(x):sum():item() end) end, 0.3)
    row[i + 2] = bench(function()
      local y = m(xg)
      y:sum():backward()
      xg.grad:sum():item()
      m:zero_grad()
      xg:zero_grad()
    end, 0.3)
  end
  local ma, mx = peak_bytes(meta_mha, N), peak_bytes(meta_xca, N)
  rows[#rows + 1] = {N = N, attn = row[1], xca = row[2]}
  print(string.format("%7d  %9.2f  %9.2f  %9.2f  %9.2f  %10s  %10s", N, row[1] * 1e3, row[2] * 1e3,
                      row[3] * 1e3, row[4] * 1e3, mb(ma), mb(mx)))
  collectgarbage()
end
-- the smallest N from which XCA's forward is faster at every larger N measured
local crossover
for i = #rows, 1, -1 do
  if rows[i].attn > rows[i].xca then crossover = rows[i].N else break end
end
print("forward crossover (XCA faster from): " .. (crossover and ("N = " .. crossover) or "not in this range"))
