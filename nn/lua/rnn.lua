-- rnn.lua - RNN, LSTM, GRU and their cells, with PyTorch's parameter names
-- (weight_ih_l0, weight_hh_l0, bias_ih_l0, bias_hh_l0, ...), shapes and gate order
-- (LSTM i,f,g,o; GRU r,z,n), so a PyTorch state_dict loads as it is. Each step is tensor
-- ops; the input projection of all time steps is one GEMM per layer.
local nn, F = nn, nn.F
local U = require("nn.util")
local check = require("nn.check")
local shape_str, check_count, kaiming_param, is_tensor = U.shape_str, U.check_count, U.kaiming_param, U.is_tensor
local Module = nn.Module

-- one step of each kind: xp = W_ih x + b_ih (B, gates*H), h (B,H) [, c] -> h' [, c']
local function gate(t, k, H) return t:narrow(2, k * H + 1, H) end

local steps = {
  RNN = function(xp, h, _, w_hh, b_hh, H, relu)
    local z = xp + F.linear(h, w_hh, b_hh)
    return relu and z:relu() or z:tanh()
  end,
  LSTM = function(xp, h, c, w_hh, b_hh, H)
    local g = xp + F.linear(h, w_hh, b_hh)
    local i, f, gg, o = gate(g, 0, H):sigmoid(), gate(g, 1, H):sigmoid(), gate(g, 2, H):tanh(), gate(g, 3, H):sigmoid()
    local c2 = f * c + i * gg
    return o * c2:tanh(), c2
  end,
  GRU = function(xp, h, _, w_hh, b_hh, H)
    local hp = F.linear(h, w_hh, b_hh)
    local r = (gate(xp, 0, H) + gate(hp, 0, H)):sigmoid()
    local z = (gate(xp, 1, H) + gate(hp, 1, H)):sigmoid()
    local n = (gate(xp, 2, H) + r * gate(hp, 2, H)):tanh()
    return (1 - z) * n + z * h
  end,
}
local GATES = {RNN = 1, LSTM = 4, GRU = 3}

local function check_nonlinearity(name, v)
  if v ~= nil and v ~= "tanh" and v ~= "relu" then
    error(string.format("nn.%s: nonlinearity is \"tanh\" or \"relu\", got %s", name, check.describe(v)), 4)
  end
  return v == "relu"
end

-- a state of shape want (a table of sizes) or an error naming the layer and the fix
local function check_state(name, what, t, want)
  local ok = is_tensor(t) and t:dim() == #want
  for i = 1, #want do ok = ok and t:size(i) == want[i] end
  if not ok then
    error(string.format("%s: %s must be [%s], got %s", name, what, table.concat(want, ","),
                        is_tensor(t) and shape_str(t) or check.describe(t)), 4)
  end
  return t
end

local function recurrent(kind)
  local cls = Module:extend(kind)
  local G = GATES[kind]
  local valid = {"num_layers", "bias", "batch_first", "dropout", "device"}
  if kind == "RNN" then valid[#valid + 1] = "nonlinearity" end
  function cls:init(input_size, hidden_size, opts)
    local what = "nn." .. kind .. "(input_size, hidden_size)"
    check.check_options("nn." .. kind, opts, valid, 3)
    opts = opts or {}
    self.input_size = check_count(what .. ": input_size", input_size)
    self.hidden_size = check_count(what .. ": hidden_size", hidden_size)
    self.num_layers = check_count("nn." .. kind .. ": num_layers", opts.num_layers or 1)
    self.batch_first = opts.batch_first and true or false
    self.dropout = opts.dropout or 0
    if type(self.dropout) ~= "number" or not (self.dropout >= 0 and self.dropout < 1) then
      error("nn." .. kind .. ": dropout is a probability in [0, 1), got " .. check.describe(opts.dropout), 3)
    end
    self.relu = check_nonlinearity(kind, opts.nonlinearity)
    self.has_bias = opts.bias ~= false
    local H = hidden_size
    -- registration order = PyTorch's, so state dicts list the same keys in the same order
    for l = 0, self.num_layers - 1 do
      local fan = l == 0 and input_size or H
      self["weight_ih_l" .. l] = kaiming_param({G * H, fan}, H, opts)     -- U(-1/sqrt(H), 1/sqrt(H))
      self["weight_hh_l" .. l] = kaiming_param({G * H, H}, H, opts)
      if self.has_bias then
        self["bias_ih_l" .. l] = kaiming_param({G * H}, H, opts)
        self["bias_hh_l" .. l] = kaiming_param({G * H}, H, opts)
      end
    end
  end

  -- x [T,B,in] ([B,T,in] with batch_first, [T,in] unbatched); hx: h0 [layers,B,H]
  -- (LSTM: {h0, c0}) or nil for zeros. Returns out [T,B,H] (batch_first: [B,T,H]) and
  -- h_n [layers,B,H] (LSTM: {h_n, c_n}), as PyTorch.
  function cls:forward(x, hx)
    local H, L = self.hidden_size, self.num_layers
    local name = string.format("nn.%s(%d, %d)", kind, self.input_size, H)
    if not is_tensor(x) or (x:dim() ~= 3 and x:dim() ~= 2) or x:size(x:dim()) ~= self.input_size then
      error(string.format("%s: expects %s (or [T,%d] unbatched), got %s", name,
                          self.batch_first and ("[B,T," .. self.input_size .. "] (batch_first)")
                          or ("[T,B," .. self.input_size .. "] (time first; batch_first=true for [B,T,in])"),
                          self.input_size, is_tensor(x) and shape_str(x) or check.describe(x)), 2)
    end
    local unbatched = x:dim() == 2
    if unbatched then x = x:unsqueeze(2)
    elseif self.batch_first then x = x:transpose(1, 2) end
    local T, B = x:size(1), x:size(2)
    local h0, c0
    local want = unbatched and {L, H} or {L, B, H}
    if kind == "LSTM" and hx ~= nil then
      if type(hx) ~= "table" or is_tensor(hx) then
        error(name .. ": the state is a pair {h0, c0} (each [" .. table.concat(want, ",") .. "])", 2)
      end
      h0, c0 = check_state(name, "h0", hx[1], want), check_state(name, "c0", hx[2], want)
    elseif hx ~= nil then
      h0 = check_state(name, "h0", hx, want)
    end
    if unbatched then
      h0 = h0 and h0:unsqueeze(2)
      c0 = c0 and c0:unsqueeze(2)
    end
    local zeros = function() return tensor.zeros({B, H}, {device = x:device()}) end
    local step = steps[kind]
    local input, hn, cn = x, {}, {}
    for l = 0, L - 1 do
      local w_hh, b_hh = self["weight_hh_l" .. l], self["bias_hh_l" .. l]
      local xp = F.linear(input, self["weight_ih_l" .. l], self["bias_ih_l" .. l])     -- [T,B,G*H]
      local h = h0 and h0[l + 1] or zeros()
      local c = kind == "LSTM" and (c0 and c0[l + 1] or zeros()) or nil
      local outs = {}
      for t = 1, T do
        h, c = step(xp[t], h, c, w_hh, b_hh, H, self.relu)
        outs[t] = h
      end
      input = tensor.stack(outs, 1)
      if self.dropout > 0 and l < L - 1 then input = F.dropout(input, self.dropout, self.training) end
      hn[l + 1], cn[l + 1] = h, c
    end
    local out, h_n = input, tensor.stack(hn, 1)
    local c_n = kind == "LSTM" and tensor.stack(cn, 1) or nil
    if unbatched then
      out, h_n = out:squeeze(2), h_n:squeeze(2)
      c_n = c_n and c_n:squeeze(2)
    elseif self.batch_first then
      out = out:transpose(1, 2)
    end
    if kind == "LSTM" then return out, {h_n, c_n} end
    return out, h_n
  end

  function cls:extra_repr()
    local s = string.format("%d, %d", self.input_size, self.hidden_size)
    if self.num_layers ~= 1 then s = s .. ", num_layers=" .. self.num_layers end
    if self.batch_first then s = s .. ", batch_first=true" end
    if not self.has_bias then s = s .. ", bias=false" end
    if self.relu then s = s .. ", nonlinearity=relu" end
    if self.dropout > 0 then s = s .. ", dropout=" .. self.dropout end
    return s
  end

  -- per time step and sample: the input and hidden projections of every layer
  function cls:mult_adds(out, x)
    local steps_n = x:numel() // self.input_size
    local total, H = 0, self.hidden_size
    for l = 0, self.num_layers - 1 do
      total = total + steps_n * G * H * ((l == 0 and self.input_size or H) + H)
    end
    return total
  end
  return cls
end

nn.RNN = recurrent("RNN")
nn.LSTM = recurrent("LSTM")
nn.GRU = recurrent("GRU")

-- Cells: one step; parameters weight_ih, weight_hh, bias_ih, bias_hh as PyTorch's.
-- RNNCell/GRUCell: cell(x [B,in], h [B,H] or nil) -> h'; LSTMCell: cell(x, {h, c}) -> h', c'.
local function cell(kind)
  local name = kind .. "Cell"
  local cls = Module:extend(name)
  local G = GATES[kind]
  function cls:init(input_size, hidden_size, opts)
    local what = "nn." .. name .. "(input_size, hidden_size)"
    check.check_options("nn." .. name, opts, kind == "RNN" and {"bias", "nonlinearity", "device"} or {"bias", "device"}, 3)
    opts = opts or {}
    self.input_size = check_count(what .. ": input_size", input_size)
    self.hidden_size = check_count(what .. ": hidden_size", hidden_size)
    self.relu = check_nonlinearity(name, opts.nonlinearity)
    local H = hidden_size
    self.weight_ih = kaiming_param({G * H, input_size}, H, opts)
    self.weight_hh = kaiming_param({G * H, H}, H, opts)
    if opts.bias ~= false then
      self.bias_ih = kaiming_param({G * H}, H, opts)
      self.bias_hh = kaiming_param({G * H}, H, opts)
    end
  end
  function cls:forward(x, hx)
    local H = self.hidden_size
    local label = string.format("nn.%s(%d, %d)", name, self.input_size, H)
    if not is_tensor(x) or (x:dim() ~= 2 and x:dim() ~= 1) or x:size(x:dim()) ~= self.input_size then
      error(string.format("%s: expects [B,%d] (or [%d]), got %s", label, self.input_size, self.input_size,
                          is_tensor(x) and shape_str(x) or check.describe(x)), 2)
    end
    local unbatched = x:dim() == 1
    if unbatched then x = x:unsqueeze(1) end
    local B = x:size(1)
    local want = unbatched and {H} or {B, H}
    local h, c
    if kind == "LSTM" and hx ~= nil then
      if type(hx) ~= "table" or is_tensor(hx) then error(label .. ": the state is a pair {h, c}", 2) end
      h, c = check_state(label, "h", hx[1], want), check_state(label, "c", hx[2], want)
    elseif hx ~= nil then
      h = check_state(label, "h", hx, want)
    end
    local zeros = function() return tensor.zeros({B, H}, {device = x:device()}) end
    h = h and (unbatched and h:unsqueeze(1) or h) or zeros()
    if kind == "LSTM" then c = c and (unbatched and c:unsqueeze(1) or c) or zeros() end
    local xp = F.linear(x, self.weight_ih, self.bias_ih)
    local h2, c2 = steps[kind](xp, h, c, self.weight_hh, self.bias_hh, H, self.relu)
    if unbatched then
      h2 = h2:squeeze(1)
      c2 = c2 and c2:squeeze(1)
    end
    if kind == "LSTM" then return h2, c2 end
    return h2
  end
  function cls:extra_repr()
    return string.format("%d, %d%s%s", self.input_size, self.hidden_size, self.bias_ih and "" or ", bias=false",
                         self.relu and ", nonlinearity=relu" or "")
  end
  function cls:mult_adds(out, x)
    return (x:numel() // self.input_size) * G * self.hidden_size * (self.input_size + self.hidden_size)
  end
  return cls
end

nn.RNNCell = cell("RNN")
nn.LSTMCell = cell("LSTM")
nn.GRUCell = cell("GRU")

return nn
