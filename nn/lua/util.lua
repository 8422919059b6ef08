-- util.lua - small helpers shared by the nn modules (package "nn.util"): type tests,
-- argument checks that word their errors for a learner, and parameter allocation.
local F = nn.F
local check = require("nn.check")
local U = {}

local function is_tensor(v) return tensor.is_tensor(v) end

local function is_module(v)
  return type(v) == "table" and rawget(v, "_keys") ~= nil and getmetatable(v) ~= nil
end

local function fmt_int(n)
  local s = tostring(math.floor(n))
  local neg = s:sub(1, 1) == "-"
  if neg then s = s:sub(2) end
  s = s:reverse():gsub("(%d%d%d)", "%1,"):reverse():gsub("^,", "")
  return (neg and "-" or "") .. s
end

local function shape_str(t)
  local parts = {}
  for i = 1, t:dim() do parts[i] = tostring(t:size(i)) end
  return "[" .. table.concat(parts, ",") .. "]"
end

-- "got the string "10"; write 10 without quotes" for a number in quotes
local function got(v)
  local fix = type(v) == "string" and tonumber(v) and ("; write " .. v .. " without quotes") or ""
  return check.describe(v) .. fix
end

local function check_count(what, v, min)
  if type(v) ~= "number" or v % 1 ~= 0 or v < (min or 1) then
    error(string.format("%s: expected an integer >= %d, got %s", what, min or 1, got(v)), 3)
  end
  return v
end

-- stride, padding, groups and pooling windows run as C ints: refuse what does not fit
-- (padding = 2^40 used to act as 0, stride = 2^32+1 as 1)
local C_INT_MAX = 2147483647
local function check_c_int(what, v, min)
  if type(v) ~= "number" or v % 1 ~= 0 or v < min or v > C_INT_MAX then
    -- level 4: past init and Module:new (nn.Conv2d(...) tail-calls new), at the learner's line
    error(string.format("%s: expected an integer in %d..%d, got %s", what, min, C_INT_MAX,
                        math.type(v) == "float" and v % 1 == 0 and string.format("%.0f", v)
                        or type(v) == "number" and tostring(v) or got(v)), 4)
  end
  return math.tointeger(v)
end

-- who (optional): the layer named in an allocation error instead of tensor.empty; the
-- error points at the learner's line (new_tensor <- const_tensor <- init <- new <- caller)
local function new_tensor(sizes, opts, who)
  if not who then return tensor.empty(sizes, {device = opts and opts.device}) end
  local ok, t = pcall(function() return tensor.empty(sizes, {device = opts and opts.device}) end)
  if not ok then error((tostring(t):gsub("^.-tensor%.empty: ", who .. ": ", 1)), 5) end
  return t
end

-- U(-1/sqrt(fan_in), 1/sqrt(fan_in)), PyTorch's default for Linear/Conv
local function kaiming_param(sizes, fan_in, opts)
  local t = new_tensor(sizes, opts)
  F.kaiming_uniform_(t, fan_in)
  return t:requires_grad(true)
end

local function const_tensor(sizes, value, opts, trainable, who)
  local t = new_tensor(sizes, opts, who):fill(value)
  if trainable then t:requires_grad(true) end
  return t
end

U.is_tensor = is_tensor
U.is_module = is_module
U.fmt_int = fmt_int
U.shape_str = shape_str
U.got = got
U.check_count = check_count
U.check_c_int = check_c_int
U.new_tensor = new_tensor
U.kaiming_param = kaiming_param
U.const_tensor = const_tensor

return U
