-- fashion_cnn.lua - two conv + BatchNorm + pool blocks and a linear head, ~50K params, on
-- Fashion-MNIST (target >= 0.91 test acc).
--   nnlab scripts/fashion_cnn.lua [epochs=8] [limit] [batch=128]
-- The same model in PyTorch: /usr/bin/python3 bench/fashion_torch.py cnn
local dir = arg and arg[0] and arg[0]:match("^(.*)/[^/]*$") or "scripts"
local run = dofile(dir .. "/fashion_common.lua")

local Net = nn.Module:extend("FashionCNN")
function Net:init()
  self.features = nn.Sequential(
    nn.Conv2d(1, 32, 3, {padding = 1}), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),    -- [B,32,14,14]
    nn.Conv2d(32, 64, 3, {padding = 1}), nn.BatchNorm2d(64), nn.ReLU(), nn.MaxPool2d(2))   -- [B,64,7,7]
  self.head = nn.Sequential(nn.Flatten(), nn.Linear(64 * 7 * 7, 10))
end
function Net:forward(x)
  return self.head(self.features(x:view(-1, 1, 28, 28)))             -- rows of 784 pixels -> images
end

run("fashion_cnn", function() return Net() end, arg, 8)
