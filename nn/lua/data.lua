-- data.lua - data sets and mini-batches (the global `data`).
--   data.idx(path, [{device=d}])    an IDX file as a float32 tensor, raw values (C, lua_io.c)
--   data.fashion_mnist([{limit=N, test_limit=M, device=d}]) -> train, test
--       each {x=[N,784] in [0,1], y=[N] labels 1..10, n=N, classes={names}}
--   data.loader(x, [y], [{batch_size=128, shuffle=false, drop_last=false, seed=n}])
--       for xb, yb in loader do ... end   (each `for` is one epoch; batches are copies)
--       loader:len() / #loader            batches per epoch
local M = {}

local FASHION_DIR = "/usr/share/datasets/fashion-mnist/"
M.fashion_mnist_classes = {
  "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
  "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
}

local function readable(path)
  local f = io.open(path, "rb")
  if f then f:close() end
  return f ~= nil
end

local function check_count(op, name, v)
  if v ~= nil and (math.type(v) ~= "integer" and not (type(v) == "number" and v == math.floor(v))
                   or v < 1) then
    error(op .. ": " .. name .. " must be a positive integer, got " .. tostring(v), 3)
  end
  return v and math.tointeger(v)
end

-- One split: images [N,28,28] 0..255 -> x [N,784] in [0,1]; labels 0..9 -> y 1..10
-- (1-based like every index in nnlab's Lua API, so y works with cross_entropy and argmax).
local function fashion_split(prefix, limit, device)
  local x = M.idx(FASHION_DIR .. prefix .. "-images-idx3-ubyte.gz", {device = device})
  local y = M.idx(FASHION_DIR .. prefix .. "-labels-idx1-ubyte.gz", {device = device})
  local n = x:size(1)
  if y:size(1) ~= n then
    error(("data.fashion_mnist: %s has %d images but %d labels"):format(prefix, n, y:size(1)), 3)
  end
  if limit and limit < n then
    x, y, n = x:narrow(1, 1, limit), y:narrow(1, 1, limit), limit
  end
  -- /255 in place, a block of rows at a time: x / 255 whole would hold a second copy of
  -- the training set (188 MB) at the peak
  x = x:reshape(n, 784)
  for i = 1, n, 4096 do
    local v = x:narrow(1, i, math.min(4096, n - i + 1))
    v:copy(v / 255)
  end
  return {x = x, y = y + 1, n = n, classes = M.fashion_mnist_classes}
end

function M.fashion_mnist(opts)
  require("nn.check").check_options("data.fashion_mnist", opts, {"limit", "test_limit", "device"}, 2)
  opts = opts or {}
  local limit = check_count("data.fashion_mnist", "limit", opts.limit)
  local test_limit = check_count("data.fashion_mnist", "test_limit", opts.test_limit) or limit
  for _, f in ipairs({"train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
                      "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"}) do
    if not readable(FASHION_DIR .. f) then
      error("data.fashion_mnist: " .. FASHION_DIR .. f .. " not found; install the data set with:\n" ..
            "  sudo apt-get install dataset-fashion-mnist", 2)
    end
  end
  return fashion_split("train", limit, opts.device), fashion_split("t10k", test_limit, opts.device)
end

-- ---- mini-batches ---------------------------------------------------------------------

-- splitmix64 on Lua's wrapping 64-bit integers: the same shuffle on every machine,
-- independent of (and not disturbing) the tensor RNG stream.
local function uniform_ints(seed)
  local s = seed
  return function(k)   -- an integer in [1, k]
    s = s + 0x9E3779B97F4A7C15
    local z = s
    z = (z ~ (z >> 30)) * 0xBF58476D1CE4E5B9
    z = (z ~ (z >> 27)) * 0x94D049BB133111EB
    z = z ~ (z >> 31)
    return (z >> 11) % k + 1
  end
end

local Loader = {}
Loader.__index = Loader

function Loader:len()
  if self.drop_last then return self.n // self.batch_size end
  return (self.n + self.batch_size - 1) // self.batch_size
end
Loader.__len = Loader.len

function Loader:__tostring()
  return ("data.loader: %d samples, batch_size %d, %d batches%s"):format(
    self.n, self.batch_size, self:len(), self.shuffle and ", shuffled" or "")
end

-- Order of the next epoch as a tensor of 1-based indices.
function Loader:_new_epoch()
  self.epoch = self.epoch + 1
  local perm = {}
  for i = 1, self.n do perm[i] = i end
  if self.shuffle then   -- Fisher-Yates
    local rand = uniform_ints(self.seed + self.epoch * 1000003)
    for i = self.n, 2, -1 do
      local j = rand(i)
      perm[i], perm[j] = perm[j], perm[i]
    end
  end
  self.order = self.n > 0 and tensor.tensor(perm, {device = self.x:device()}) or nil
  self.pos = 1
end

-- The generic `for` calls the loader with the previous batch; nil means a new loop.
function Loader:__call(_, prev)
  if prev == nil then
    self:_new_epoch()
    -- the loader a training loop runs (not an evaluation under no_grad): the dashboard
    -- logs its epoch with the steps
    if tensor.is_grad_enabled() and dash and dash._epoch then dash._epoch(self.epoch) end
  end
  local left = self.n - self.pos + 1
  local b = math.min(self.batch_size, left)
  if left <= 0 or (self.drop_last and b < self.batch_size) then return nil end
  local idx = self.order:narrow(1, self.pos, b)
  self.pos = self.pos + b
  local xb = self.x:index_select(1, idx)
  if self.y then return xb, self.y:index_select(1, idx) end
  return xb
end

function M.loader(x, y, opts)
  if not tensor.is_tensor(x) then
    error("data.loader(x, [y], [opts]): x must be a tensor, got a " .. type(x), 2)
  end
  if opts == nil and type(y) == "table" and not tensor.is_tensor(y) then y, opts = nil, y end
  require("nn.check").check_options("data.loader", opts, {"batch_size", "shuffle", "drop_last", "seed"}, 2)
  opts = opts or {}
  if x:dim() == 0 then error("data.loader: x is 0-d; it needs a first (sample) dim", 2) end
  local n = x:size(1)
  if y ~= nil then
    if not tensor.is_tensor(y) then error("data.loader: y must be a tensor, got a " .. type(y), 2) end
    if y:dim() == 0 or y:size(1) ~= n then
      error(("data.loader: x has %d samples (dim 1) but y has %s"):format(
        n, y:dim() == 0 and "none (0-d)" or tostring(y:size(1))), 2)
    end
  end
  local bs = check_count("data.loader", "batch_size", opts.batch_size) or 128
  local seed = opts.seed
  if seed == nil then   -- follow tensor.manual_seed, like PyTorch's default generator
    seed = math.floor(tensor.rand(1):item() * 2147483647)
  elseif math.type(seed) ~= "integer" then
    seed = math.tointeger(seed) or error("data.loader: seed must be an integer, got " .. tostring(seed), 2)
  end
  return setmetatable({
    x = x, y = y, n = n, batch_size = bs, shuffle = opts.shuffle == true,
    drop_last = opts.drop_last == true, seed = seed, epoch = 0, pos = 1,
  }, Loader)
end

return M
