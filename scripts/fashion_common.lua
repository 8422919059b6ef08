-- fashion_common.lua - the training loop shared by fashion_mlp.lua and fashion_cnn.lua:
--   dofile("scripts/fashion_common.lua")(name, make_model, arg, default_epochs)
-- args: [epochs] [limit=all training images] [batch=128]; Adam lr 1e-3 annealed to 0
-- over the run (cosine), cross-entropy.
local now = (sys and sys.clock) or os.clock

local function accuracy(model, split) return nn.accuracy(model, split.x, split.y) end

return function(name, make_model, args, default_epochs)
  local epochs = tonumber(args and args[1]) or default_epochs or 5
  local limit = tonumber(args and args[2])
  local batch = tonumber(args and args[3]) or 128
  tensor.manual_seed(0)
  local train, test = data.fashion_mnist({limit = limit and math.tointeger(limit), test_limit = 10000})
  local model = make_model()
  print(model)
  print(string.format("%s: %d params, %d training images, batch %d, Adam lr 1e-3 (cosine)", name, model:num_params(),
                      train.n, batch))
  local opt = optim.Adam(model, {lr = 1e-3})
  local schedule = optim.CosineAnnealingLR(opt, epochs)   -- large steps first, fine ones last
  local loader = data.loader(train.x, train.y, {batch_size = batch, shuffle = true, seed = 0})
  local acc, times = 0, {}
  for epoch = 1, epochs do
    local t0, total, steps = now(), 0, 0
    for xb, yb in loader do
      opt:zero_grad()
      local loss = nn.cross_entropy(model(xb), yb)
      loss:backward()
      opt:step()
      total, steps = total + loss:item(), steps + 1
    end
    local secs = now() - t0
    schedule:step()
    times[#times + 1] = secs
    acc = accuracy(model, test)
    print(string.format("epoch %d  loss %.4f  test acc %.4f  %.2f s/epoch", epoch, total / steps, acc, secs))
  end
  table.sort(times)
  print(string.format("%s: final test acc %.4f, median %.2f s/epoch", name, acc, times[(#times + 1) // 2]))
  return acc
end
