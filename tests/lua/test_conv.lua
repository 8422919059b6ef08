-- test_conv.lua - conv2d forward and both gradients by finite differences, with groups,
-- depthwise (and a channel multiplier), stride, padding, bias or none, 1x1, a floor
-- that drops the last window, and a non-contiguous input. `make check` runs it twice:
-- on the default route (oneDNN where libdnnl is installed) and with NNLAB_CONV=im2col
-- (the fallback and the reference), along with the PyTorch fixtures of test_ops_torch.lua
-- and test_nn.lua. conv2d is linear in x and in w, so a central difference is exact up to
-- float rounding: a wrong index anywhere shows as an O(1) error.
local dir = debug.getinfo(1, "S").source:match("^@(.*)/") or "."
local t = dofile(dir .. "/tap.lua")
local F = nn.F
t.diag("route: " .. (os.getenv("NNLAB_CONV") or "default (oneDNN when available)"))

-- d sum(f(...) * R) / d arg[k] at up to `probes` elements, numerically and by backward
local function gradcheck(name, f, args)
  for _, a in ipairs(args) do a:requires_grad() end
  local out = f(table.unpack(args))
  tensor.manual_seed(11)
  local R = tensor.randn(out:shape())
  ;(out * R):sum():backward()
  local worst, where = 0, ""
  for k, a in ipairs(args) do
    local flat, g = a:detach():view(-1), a.grad:contiguous():view(-1)
    local n = flat:numel()
    local step = math.max(1, n // 23)
    for i = 1, n, step do
      local v = flat[i]:item()
      local e = 0.5
      flat[i] = v + e
      local up = tensor.no_grad(function() return (f(table.unpack(args)) * R):sum():item() end)
      flat[i] = v - e
      local down = tensor.no_grad(function() return (f(table.unpack(args)) * R):sum():item() end)
      flat[i] = v
      local num, ana = (up - down) / (2 * e), g[i]:item()
      local err = math.abs(num - ana) / math.max(1, math.abs(num))
      if err > worst then worst, where = err, string.format("arg %d element %d: numeric %g, backward %g", k, i, num, ana) end
    end
  end
  t.ok(worst < 2e-3, "gradcheck conv2d " .. name, where)
end

-- naive reference: y[b,o,i,j] = bias[o] + sum over c, ki, kj of x[b, g*Cg+c, i*s-p+ki, j*s-p+kj] w[o,c,ki,kj]
local function reference(x, w, b, s, p, g)
  local B, H, W = x:size(1), x:size(3), x:size(4)
  local O, Cg, kh, kw = w:size(1), w:size(2), w:size(3), w:size(4)
  local oh, ow = (H + 2 * p - kh) // s + 1, (W + 2 * p - kw) // s + 1
  local X, Wt, Bv = x:tolist(), w:tolist(), b and b:tolist()
  local Y = {}
  for bi = 1, B do
    Y[bi] = {}
    for o = 1, O do
      Y[bi][o] = {}
      local grp = (o - 1) // (O // g)
      for i = 1, oh do
        Y[bi][o][i] = {}
        for j = 1, ow do
          local acc = Bv and Bv[o] or 0
          for c = 1, Cg do
            for ki = 1, kh do
              for kj = 1, kw do
                local iy, ix = (i - 1) * s - p + ki, (j - 1) * s - p + kj
                if iy >= 1 and iy <= H and ix >= 1 and ix <= W then
                  acc = acc + X[bi][grp * Cg + c][iy][ix] * Wt[o][c][ki][kj]
                end
              end
            end
          end
          Y[bi][o][i][j] = acc
        end
      end
    end
  end
  return tensor(Y)
end

local cases = {
  -- name, x shape, w shape, bias, stride, padding, groups
  {"3x3 stride 2 pad 1 groups 2 bias", {2, 4, 7, 6}, {6, 2, 3, 3}, true, 2, 1, 2},
  {"depthwise 3x3 pad 1", {2, 4, 6, 6}, {4, 1, 3, 3}, true, 1, 1, 4},
  {"depthwise multiplier 2, 2x2", {1, 3, 5, 5}, {6, 1, 2, 2}, false, 1, 0, 3},
  {"5x5 stride 3 pad 2 no bias", {2, 2, 9, 8}, {3, 2, 5, 5}, false, 3, 2, 1},
  {"1x1 stride 2", {2, 5, 6, 6}, {4, 5, 1, 1}, true, 2, 0, 1},
  {"floor drops the last row and column (stride 2, no pad)", {1, 2, 6, 6}, {3, 2, 3, 3}, true, 2, 0, 1},
  {"one input channel, 32 filters, pad 1 (a CNN's first layer)", {3, 1, 8, 8}, {8, 1, 3, 3}, true, 1, 1, 1},
}
for _, c in ipairs(cases) do
  local name, xs, ws, has_b, s, p, g = table.unpack(c)
  tensor.manual_seed(#name)
  local x, w = tensor.randn(table.unpack(xs)), tensor.randn(table.unpack(ws))
  local b = has_b and tensor.randn(ws[1]) or nil
  local y = F.conv2d(x, w, b, s, p, g)
  t.is_close(y, reference(x, w, b, s, p, g), 1e-4, "conv2d " .. name .. ": forward equals the naive sum")
  gradcheck(name, function(x_, w_, b_) return F.conv2d(x_, w_, b_, s, p, g) end, {x, w, b})
end

-- a permuted (channels-last storage) input
do
  tensor.manual_seed(3)
  local xl = tensor.randn(2, 6, 5, 4)              -- (B,H,W,C)
  local x = xl:permute(1, 4, 2, 3)                 -- (B,C,H,W), not contiguous
  local w = tensor.randn(3, 4, 3, 3)
  local y = F.conv2d(x, w, nil, 1, 1, 1)
  t.is_close(y, reference(x:contiguous(), w, nil, 1, 1, 1), 1e-4, "conv2d of a permuted input")
  gradcheck("of a permuted input", function(x_, w_) return F.conv2d(x_:permute(1, 4, 2, 3), w_, nil, 1, 1, 1) end,
            {xl, w})
end

-- an nn.Conv2d trains: a few SGD steps lower the loss on either route
do
  tensor.manual_seed(4)
  local m = nn.Sequential(nn.Conv2d(2, 4, 3, {padding = 1}), nn.ReLU(), nn.Conv2d(4, 1, 3, {stride = 2}))
  local x, yt = tensor.randn(8, 2, 9, 9), tensor.randn(8, 1, 4, 4)
  local opt = optim.SGD(m:parameters(), {lr = 0.05})
  local first, last
  for i = 1, 20 do
    opt:zero_grad()
    local l = nn.mse_loss(m(x), yt)
    l:backward()
    opt:step()
    if i == 1 then first = l:item() end
    last = l:item()
  end
  t.ok(last < first, string.format("nn.Conv2d trains: loss %.4f -> %.4f", first, last))
end

t.done_testing()
