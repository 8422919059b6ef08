-- test_help.lua - every public function has a help entry, and help finds entries by
-- value, by name and by bare name (TAP). run: ./nnlab tests/lua/test_help.lua
local here = arg and arg[0] and arg[0]:match("^(.*)/[^/]*$") or "tests/lua"
local T = dofile(here .. "/tap.lua")

-- name -> function for every public function: the libraries' fields, one level of
-- namespaces (nn.F, nn.init) and classes' methods (nn.Module:train), tensor methods.
local function public_functions()
  local found = {}
  local function walk(tbl, prefix, sep, depth)
    for k, v in pairs(tbl) do
      if type(k) == "string" and k:sub(1, 1) ~= "_" then
        local name = prefix .. sep .. k
        if type(v) == "function" then
          found[name] = v
        elseif type(v) == "table" and depth > 0 then
          local mt = getmetatable(v)
          local class = mt and mt.__call ~= nil
          found[name] = v
          walk(v, name, class and ":" or ".", depth - 1)
        end
      end
    end
  end
  for _, lib in ipairs({"tensor", "nn", "optim", "data", "dash", "sys"}) do
    if type(_G[lib]) == "table" then walk(_G[lib], lib, ".", 1) end
  end
  local x = tensor.zeros(1)
  local methods = {}
  for name, f in pairs(tensor) do
    if type(f) == "function" and x[name] == f then methods[name] = f end
  end
  walk(methods, "x", ":", 0)
  return found
end

local found = public_functions()
local names = {}
for name in pairs(found) do names[#names + 1] = name end
table.sort(names)

-- nn.Linear:forward and the other overrides of nn.Module's hooks are each class's own
-- implementation, documented once under nn.Module.
local overrides = {init = true, forward = true, extra_repr = true, mult_adds = true}
local function class_internal(name)
  local method = name:match("^nn%.%u%w*:([%w_]+)$")
  return method and overrides[method] and not name:match("^nn%.Module:")
end

local missing = {}
for _, name in ipairs(names) do
  if not class_internal(name) and not help.lookup(found[name]) then missing[#missing + 1] = name end
end
T.ok(#names > 150, "walked the public functions (" .. #names .. ")")
T.ok(#missing == 0, "every public function has a help entry",
     #missing > 0 and ("missing: " .. table.concat(missing, ", ")) or nil)

-- entries that name nothing real drift from the code: each must resolve to a value
local stale = {}
local prose = {["x.grad"] = 1, ["x.requires_grad_flag"] = 1, ["x.is_leaf"] = 1, ["opt:step"] = 1,
               ["opt:zero_grad"] = 1, ["sched:step"] = 1, ["sched:get_last_lr"] = 1, ["loader:len"] = 1, ["x[{...}]"] = 1, ["x[mask]"] = 1,
               ["help.lookup"] = 1, ["help.names"] = 1, ["help"] = 1, ["tutorials"] = 1, ["x"] = 1}
for _, name in ipairs(help.names()) do
  if not prose[name] then
    local v = _G
    for part in name:gsub("^x:", "tensor."):gmatch("[^.:]+") do v = type(v) == "table" and v[part] or nil end
    if v == nil then stale[#stale + 1] = name end
  end
end
T.ok(#stale == 0, "every help entry names an existing function",
     #stale > 0 and ("not found: " .. table.concat(stale, ", ")) or nil)

-- lookups
local name, sig, desc, example = help.lookup(tensor.randn)
T.eq(name, "tensor.randn", "by value: tensor.randn")
T.ok(sig:find("randn(", 1, true) and #desc > 0 and #example > 0, "an entry has signature, description, example")
T.eq((help.lookup("tensor.randn")), "tensor.randn", "by full name")
T.eq((help.lookup(tensor.exp)), "x:exp", "tensor.exp is the method x:exp")
T.eq((help.lookup("tensor.matmul")), "x:matmul", "tensor.NAME finds the method entry")
T.eq((help.lookup(nn.Linear)), "nn.Linear", "a class by value")
T.eq((help.lookup(nn.Linear(2, 3))), "nn.Linear", "a module instance finds its class")
T.eq((help.lookup(nn.Linear(2, 3).train)), "nn.Module:train", "an inherited method")
T.eq(help.lookup("no_such_function"), nil, "an unknown name gives nil")
T.eq(help.lookup(print), nil, "a function outside the libraries gives nil")

-- names are unique (the table would otherwise hide one of them)
local seen, dups = {}, {}
for _, n in ipairs(help.names()) do
  if seen[n] then dups[#dups + 1] = n end
  seen[n] = true
end
T.ok(#dups == 0, "entry names are unique", table.concat(dups, ", "))
T.done_testing()
