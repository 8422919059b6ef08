-- check.lua - argument checks and their wording, shared by nn, optim and data (package
-- "nn.check"; the REPL's hints.lua builds on it):
--   check.describe(v)                 a value as a learner reads it: the string "10", a tensor [2,3]
--   check.closest(name, names)        the nearest names by edit distance (case first), or nil
--   check.did_you_mean(name, names)   "; did you mean X?" or ""
--   check.check_options(what, opts, valid[, level])   unknown keys, naming the valid ones
local M = {}
-- the library as it was at load time: a learner's `tensor = 5` must not break the checks
local tensor = tensor

-- ---- values and names -------------------------------------------------------------------
function M.describe(v)
  local t = type(v)
  if t == "string" then
    local s = #v > 40 and (v:sub(1, 37) .. "...") or v
    return string.format("the string %q", s):gsub("\\\n", "\\n")
  elseif t == "number" then
    return "the number " .. (math.type(v) == "float" and v % 1 == 0 and v == v and math.abs(v) < 1e15
                             and string.format("%.1f", v) or tostring(v))
  elseif t == "nil" then return "nil"
  elseif t == "boolean" then return "the boolean " .. tostring(v)
  elseif t == "function" then return "a function"
  elseif tensor and tensor.is_tensor(v) then
    local parts = {}
    for i = 1, v:dim() do parts[i] = tostring(v:size(i)) end
    return "a tensor [" .. table.concat(parts, ",") .. "]"
  elseif t == "table" and rawget(v, "_keys") and getmetatable(v) then
    return "a module " .. tostring(rawget(getmetatable(v), "__name") or "nn.Module")
  elseif t == "table" and getmetatable(v) and rawget(getmetatable(v), "__call") and rawget(v, "__name") then
    return "the class nn." .. tostring(v.__name) .. " (call it to make a module)"
  end
  return "a " .. t
end

-- Damerau-Levenshtein distance (a swap of neighbours counts once)
local function distance(a, b)
  local la, lb = #a, #b
  if math.abs(la - lb) > 3 then return 99 end
  local d = {}
  for i = 0, la do d[i] = {[0] = i} end
  for j = 0, lb do d[0][j] = j end
  for i = 1, la do
    for j = 1, lb do
      local cost = a:byte(i) == b:byte(j) and 0 or 1
      local v = math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
      if i > 1 and j > 1 and a:byte(i) == b:byte(j - 1) and a:byte(i - 1) == b:byte(j) then
        v = math.min(v, d[i - 2][j - 2] + 1)
      end
      d[i][j] = v
    end
  end
  return d[la][lb]
end
M.distance = distance

-- What PyTorch (and other habits) call things nnlab names differently.
M.aliases = {
  learning_rate = "lr", lr_rate = "lr", rate = "lr", beta = "betas", beta1 = "betas", beta2 = "betas",
  epsilon = "eps", wd = "weight_decay", decay = "weight_decay", l2 = "weight_decay",
  batchsize = "batch_size", bs = "batch_size", randint = "rand", mm = "matmul", dot = "matmul",
  bmm = "matmul", numpy = "tolist", unsqueeze_ = "unsqueeze", cross_entropy_loss = "cross_entropy",
  CrossEntropyLoss = "cross_entropy", MSELoss = "mse_loss", BCEWithLogitsLoss = "bce_with_logits",
  torch = "tensor", len = "#", None = "nil", True = "true", False = "false", concat = "cat", concatenate = "cat", zeros_like = "zeros", ones_like = "ones", shape_ = "shape",
}

-- closest(name, names) -> list of the best names (one usually), or nil when none is close
function M.closest(name, names)
  if type(name) ~= "string" or name == "" then return nil end
  local lname = name:lower()
  local best, best_key = {}, nil
  local alias = M.aliases[name]
  for _, cand in ipairs(names) do
    if type(cand) == "string" and cand ~= name then
      local d = cand == alias and 0 or (cand:lower() == lname and 0 or distance(lname, cand:lower()))
      if d > 0 and (#name < 3 or #cand < 3) then d = 99 end   -- a.b is not a.t
      local key = d * 100 + math.abs(#cand - #name)
      if d <= math.max(1, math.min(3, #name // 3)) and (not best_key or key <= best_key) then
        if best_key and key < best_key then best = {} end
        best_key = key
        best[#best + 1] = cand
      end
    end
  end
  if #best == 0 then return nil end
  table.sort(best)
  return best
end

function M.did_you_mean(name, names, prefix)
  local best = M.closest(name, names)
  if not best then return "" end
  prefix = prefix or ""
  for i, b in ipairs(best) do best[i] = prefix .. b end
  if #best > 3 then best = {best[1], best[2], best[3]} end
  return "; did you mean " .. table.concat(best, " or ") .. "?"
end

-- check_options(what, opts, valid[, level]): raises for a key of opts not in valid (a list),
-- naming the closest valid one and all of them:
--   optim.Adam: unknown option 'learning_rate' (did you mean lr? options: lr, betas, eps, weight_decay)
function M.check_options(what, opts, valid, level)
  if opts == nil then return end
  if type(opts) ~= "table" then
    error(string.format("%s: options must be a table like {%s = ...}, got %s", what, valid[1], M.describe(opts)),
          (level or 2) + 1)
  end
  local set = {}
  for _, k in ipairs(valid) do set[k] = true end
  for k in pairs(opts) do
    if not set[k] then
      local best = type(k) == "string" and M.closest(k, valid)
      error(string.format("%s: unknown option '%s' (%soptions: %s)", what, tostring(k),
                          best and ("did you mean " .. table.concat(best, " or ") .. "? ") or "",
                          table.concat(valid, ", ")), (level or 2) + 1)
    end
  end
end

return M
