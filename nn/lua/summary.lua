-- summary.lua - nn.summary(model, input): torchinfo's table (layer, output shape, params,
-- mult-adds, trainable) and sizes, run on the meta device when given a shape.
local nn = nn
local U = require("nn.util")
local is_tensor, is_module, fmt_int = U.is_tensor, U.is_module, U.fmt_int

local function first_tensor(v)
  if is_tensor(v) then return v end
  if type(v) == "table" then
    for _, x in ipairs(v) do
      local t = first_tensor(x)
      if t then return t end
    end
  end
end

-- sizes in the summary's units: the table and its one-line form say the same (1.60 KB)
local function bytes_str(b)
  for _, u in ipairs({{1e12, "TB"}, {1e9, "GB"}, {1e6, "MB"}, {1e3, "KB"}}) do
    if b >= u[1] then return string.format("%.2f %s", b / u[1], u[2]) end
  end
  return string.format("%d B", b)
end

-- The table prints itself; the returned value then shows as one line, so the REPL
-- does not echo every row a second time.
local summary_mt = {__tostring = function(res)
  return string.format("[summary: %s params (%s trainable), %s mult-adds, %s]", fmt_int(res.total_params),
                       fmt_int(res.trainable_params), fmt_int(res.mult_adds), bytes_str(res.total_bytes))
end}

local function print_summary(res)
  local rows = {{"Layer (type)", "Output shape", "Param #", "Mult-adds", "Trainable"}}
  for _, r in ipairs(res.rows) do
    local label = string.rep("  ", r.depth) .. r.class .. (r.name ~= "" and (" (" .. r.name .. ")") or "")
    rows[#rows + 1] = {label, r.shape and ("[" .. table.concat(r.shape, ",") .. "]") or "--",
                       r.params > 0 and fmt_int(r.params) or "--",
                       r.mult_adds > 0 and fmt_int(r.mult_adds) or "--", r.trainable}
  end
  local widths = {}
  for _, row in ipairs(rows) do
    for i, cell in ipairs(row) do widths[i] = math.max(widths[i] or 0, utf8.len(cell) or #cell) end
  end
  local function line(row)
    local cells = {}
    for i, cell in ipairs(row) do
      local pad = string.rep(" ", widths[i] - (utf8.len(cell) or #cell))
      cells[i] = (i == 1 or i == 2) and (cell .. pad) or (pad .. cell)
    end
    return table.concat(cells, "  ")
  end
  local total_w = 0
  for _, w in ipairs(widths) do total_w = total_w + w + 2 end
  local rule = string.rep("=", total_w - 2)
  local out = {rule, line(rows[1]), rule}
  for i = 2, #rows do out[#out + 1] = line(rows[i]) end
  local mb = bytes_str
  out[#out + 1] = rule
  out[#out + 1] = "Total params: " .. fmt_int(res.total_params)
  out[#out + 1] = "Trainable params: " .. fmt_int(res.trainable_params)
  out[#out + 1] = "Non-trainable params: " .. fmt_int(res.total_params - res.trainable_params)
  out[#out + 1] = "Total mult-adds: " .. fmt_int(res.mult_adds)
  out[#out + 1] = rule
  out[#out + 1] = "Input size: " .. mb(res.input_bytes)
  out[#out + 1] = "Forward/backward pass size: " .. mb(res.activation_bytes)
  out[#out + 1] = "Params size: " .. mb(res.param_bytes)
  out[#out + 1] = "Estimated total size: " .. mb(res.total_bytes)
  if res.meta_peak_bytes then
    -- every intermediate of the forward (attention maps too), as run on the meta device
    out[#out + 1] = "Forward peak (all intermediates, measured on meta): " .. mb(res.meta_peak_bytes)
  end
  out[#out + 1] = rule
  print(table.concat(out, "\n"))
end

-- nn.summary(model, shape_or_tensor[, {print=false}]) -> {rows=..., totals...}
-- With a shape the model runs on the meta device: parameters are swapped for meta
-- copies for the call, so nothing is allocated and nothing is computed.
function nn.summary(model, input, opts)
  opts = opts or {}
  if not is_module(model) then error("nn.summary: the first argument must be a module", 2) end
  local names = {}
  for name, m in model:named_modules() do names[m] = name end
  local restore = function() end
  local x = input
  if not is_tensor(input) then
    if type(input) ~= "table" and type(input) ~= "userdata" then
      error("nn.summary(model, input): give an input tensor or a shape such as {64, 784}", 2)
    end
    restore = model:_swap_to("meta")
    x = tensor.empty(input, {device = "meta"})
  end
  local rows, depth = {}, 0
  local prev_hook = nn._hook
  local modes = {}
  for _, m in model:named_modules() do modes[m] = m.training end
  model:eval()                           -- no running-stat updates or dropout draws from a summary
  nn._hook = function(m, ...)
    local row = {name = names[m] or "?", class = m.__name, depth = depth, module = m}
    rows[#rows + 1] = row
    depth = depth + 1
    local res = table.pack(m:forward(...))    -- every result: an LSTM's state is its second
    local out = res[1]
    depth = depth - 1
    local t = first_tensor(out)
    if t then
      row.shape = {}
      for i = 1, t:dim() do row.shape[i] = t:size(i) end
      row.out_numel = t:numel()
    end
    row.mult_adds = t and m:mult_adds(t, ...) or 0
    return table.unpack(res, 1, res.n)
  end
  tensor.reset_peak()
  local meta_before = tensor.memory_estimate().meta   -- meta tensors the caller still holds
  -- on meta the graph is kept (it costs nothing), so the peak counts what a real
  -- forward would hold for backward, attention maps included
  local on_meta = x:device() == "meta"
  local ok, err = pcall(function()
    if on_meta then return model(x) end
    return tensor.no_grad(function() return model(x) end)
  end)
  nn._hook = prev_hook
  local mem = tensor.memory_estimate()
  restore()
  for m, mode in pairs(modes) do rawset(m, "training", mode) end
  if not ok then error(err, 0) end

  local res = {rows = {}, mult_adds = 0, input_bytes = x:numel() * 4,
               meta_peak_bytes = on_meta and (mem.meta_peak - meta_before) or nil}
  res.total_params = model:num_params()
  res.trainable_params = res.total_params       -- parameters are what requires grad
  local act = 0
  for i, r in ipairs(rows) do
    local has_children = rows[i + 1] and rows[i + 1].depth > r.depth
    local total = r.module:num_params()          -- recursive, like torchinfo's container rows
    local trainable = total > 0 and "true" or "--"
    res.rows[i] = {name = r.name, class = r.class, depth = r.depth, shape = r.shape, params = total,
                   mult_adds = r.mult_adds, trainable = trainable, output_numel = r.out_numel}
    res.mult_adds = res.mult_adds + r.mult_adds
    if not has_children and r.out_numel then act = act + r.out_numel end
  end
  res.param_bytes = res.total_params * 4
  res.activation_bytes = act * 4 * 2      -- each output and its gradient
  res.total_bytes = res.input_bytes + res.param_bytes + res.activation_bytes
  if opts.print ~= false then print_summary(res) end
  return setmetatable(res, summary_mt)
end
