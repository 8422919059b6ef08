-- fashion_mlp.lua - a 784-256-128-10 ReLU MLP on Fashion-MNIST (target >= 0.88 test acc).
--   nnlab scripts/fashion_mlp.lua [epochs=10] [limit] [batch=128]
-- The same model in PyTorch: /usr/bin/python3 bench/fashion_torch.py mlp
local dir = arg and arg[0] and arg[0]:match("^(.*)/[^/]*$") or "scripts"
local run = dofile(dir .. "/fashion_common.lua")
run("fashion_mlp", function()
  return nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(), nn.Linear(128, 10))
end, arg, 10)
