-- bottleneck.lua - the bottleneck experiment with its init control, from the command line.
--   nnlab scripts/bottleneck.lua [C=8,32,128] [seeds=20] [epochs=100] [first_seed=10000]
-- Model Linear(1,32) -> Linear(32,C) -> Linear(C,1) (no activation) learns y = x on
-- x = 0..99 with Adam lr 1e-3, full batch, MSE. For the middle weight (C rows of 32) it
-- reports min over row pairs i<j of mean|W_i - W_j| before training (the control) and
-- after, averaged over seeds first_seed .. first_seed+seeds-1.
local function usage(msg)
  io.stderr:write("bottleneck.lua: " .. msg .. "\n" ..
    "usage: nnlab scripts/bottleneck.lua [C list, e.g. 8,32,128] [seeds] [epochs] [first_seed]\n")
  os.exit(2)
end

local Cs = {}
for c in (arg[1] or "8,32,128"):gmatch("[^,]+") do
  local v = math.tointeger(tonumber(c))
  if not v or v < 2 then usage("C must be integers >= 2, got '" .. c .. "'") end
  Cs[#Cs + 1] = v
end
local seeds = math.tointeger(tonumber(arg[2] or 20)) or usage("seeds must be an integer")
local epochs = math.tointeger(tonumber(arg[3] or 100)) or usage("epochs must be an integer")
local first = math.tointeger(tonumber(arg[4] or 10000)) or usage("first_seed must be an integer")
if seeds < 1 or epochs < 0 then usage("seeds >= 1 and epochs >= 0") end

-- min over i<j of mean|W_i - W_j| for W [C,K]
local function closest(W)
  local C = W:size(1)
  local d = (W:unsqueeze(2) - W:unsqueeze(1)):abs():mean(3)
  local idx = tensor.arange(1, C + 1)
  d = d + idx:view(C, 1):ge(idx:view(1, C)) * 1e9
  return d:reshape(C * C):min():item()
end

local function run(C, seed)
  tensor.manual_seed(seed)
  local model = nn.Sequential(nn.Linear(1, 32), nn.Linear(32, C), nn.Linear(C, 1))
  local x = tensor.arange(0, 100):view(100, 1)
  local init = closest(model[2].weight:detach())
  local opt = optim.Adam(model, {lr = 1e-3})
  local loss = 0 / 0
  for _ = 1, epochs do
    opt:zero_grad()
    local l = nn.mse_loss(model(x), x)
    l:backward()
    opt:step()
    loss = l:item()
  end
  return loss, init, closest(model[2].weight:detach())
end

print(string.format("bottleneck: %d seed(s) from %d, %d epochs, Adam lr 1e-3", seeds, first, epochs))
print("    C    pairs   loss (mean)   min at init   min trained   trained-init      sd(trained)")
local t0 = os.clock()
for _, C in ipairs(Cs) do
  local sl, si, st, st2 = 0, 0, 0, 0
  for s = first, first + seeds - 1 do
    local loss, init, trained = run(C, s)
    sl, si, st, st2 = sl + loss, si + init, st + trained, st2 + trained * trained
  end
  local n = seeds
  local sd = n > 1 and math.sqrt(math.max(0, (st2 - st * st / n) / (n - 1))) or 0
  print(string.format("%5d %8d   %11.4f   %11.4f   %11.4f   %+12.4f   %14.4f", C, C * (C - 1) // 2, sl / n,
                      si / n, st / n, (st - si) / n, sd))
end
print(string.format("(%.2f s CPU)", os.clock() - t0))
