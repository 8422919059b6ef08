-- watch.lua - the Lua half of zero-code watching (the C half: repl/dash/watch.c).
-- While a dashboard is open, optim._watch runs every optimizer step and nn._watch
-- notes each module's first input, so any training loop fills the panels by itself:
-- the optimizer's module names the parameters (fc1.weight, 3.weight), its 2-D weights
-- go to the similarity panel (most telling first), its first forward to the shapes
-- panel. Explicit dash.* calls win: dash._watch/_model stand aside when the script
-- gave its own.
local W = {}

local seen = setmetatable({}, {__mode = "k"})   -- module -> shape of its first input
local cur_sig

local function note_call(m, x)
  if seen[m] == nil then seen[m] = tensor.is_tensor(x) and x:shape():totable() or false end
end

-- The module an optimizer trains: the one it was given, else the largest module seen
-- running that holds its first parameter.
local function model_of(opt)
  if opt.module then return opt.module end
  local first, best, nbest = opt.params[1], nil, -1
  for m in pairs(seen) do
    local n, has = 0, false
    for _, p in m:named_parameters() do
      n = n + 1
      if p == first then has = true end
    end
    if has and n > nbest then best, nbest = m, n end
  end
  return best
end

local function names_of(opt, model)
  local by = {}
  if model then for name, p in model:named_parameters() do by[p] = name end end
  local names = {}
  for i, p in ipairs(opt.params) do names[i] = by[p] or ("param" .. i) end
  return names
end

-- 2-D (or conv) weights with at least two rows; rows of one number (cosine is +-1)
-- and maps too big to show whole come last, then fewer rows first: the narrowest
-- layer is where a bottleneck or the class templates are.
local function watch_order(names, params)
  local c = {}
  for i, p in ipairs(params) do
    if p:dim() >= 2 and p:size(1) >= 2 and p:device() ~= "meta" then
      local rows = p:size(1)
      local cols = p:numel() // rows
      c[#c + 1] = {name = names[i], p = p, rows = rows, i = i,
                   score = (cols >= 2 and 0 or 2) + (rows <= 1024 and 0 or 1)}
    end
  end
  table.sort(c, function(a, b)
    if a.score ~= b.score then return a.score < b.score end
    if a.rows ~= b.rows then return a.rows < b.rows end
    return a.i < b.i
  end)
  return c
end

local function count_params(params)
  local n = 0
  for _, p in ipairs(params) do n = n + p:numel() end
  return n
end

local function begin(opt)
  local model = model_of(opt)
  local names = names_of(opt, model)
  local parts = {}
  for i, p in ipairs(opt.params) do parts[i] = names[i] .. tostring(p:shape()) end
  -- the same model and settings again (another seed of one experiment): one run
  local sig = table.concat(parts, ";") .. "|" .. tostring(opt.name) .. "|" .. tostring(opt.lr)
  local new_run = sig ~= cur_sig or dash.stopped()
  cur_sig = sig
  if new_run then
    dash._run(nil, {
      optimizer = tostring(opt),
      seed = tensor.initial_seed(),
      model = {name = model and model.__name or "params", params = count_params(opt.params)},
    })
  end
  dash._bind(names, opt.params)
  -- the first forward is what the shapes panel needed: stop looking at every module
  -- call until a new module is made (Module:new re-arms it)
  nn._watch = nil
  local order = watch_order(names, opt.params)
  for k = 1, math.min(#order, 6) do dash._watch(order[k].name, order[k].p, k == 1) end
  if new_run and model and seen[model] then pcall(dash._model, model, seen[model]) end
end

-- Optimizer:step goes through dash._step (watch.c) while a dashboard is open; it calls
-- W.begin(opt) when an optimizer steps for the first time (or after its run ended).
W.begin = begin

function W.attach()
  seen = setmetatable({}, {__mode = "k"})
  cur_sig = nil
  nn._watch = note_call
  nn._rearm = function() nn._watch = note_call end
  optim._watch = dash._step
end

function W.detach()
  nn._watch, nn._rearm, optim._watch = nil, nil, nil
  cur_sig = nil
end

return W
