-- functional.lua - the functional API (positional encodings, attention, losses) and
-- nn.init, straight from nn.F (nn/*.c) so errors point at the caller's line.
local nn, F = nn, nn.F

-- The C functions themselves, so their errors point at the caller's line.
nn.pos_sincos_2d = F.pos_sincos_2d                 -- (h, w, d[, {device=}])
nn.fourier_features = F.fourier_features           -- (x, bands, max_freq)
nn.scaled_dot_attention = F.scaled_dot_attention   -- (q, k, v[, {causal=true}])
-- losses take a reduction as "mean" | "sum" | "none" or {reduction = ...}
nn.mse_loss = F.mse_loss
nn.cross_entropy = F.cross_entropy                 -- labels are 1-based class indices (floats)
nn.bce_with_logits = F.bce_with_logits

nn.init = {
  uniform_ = function(t, lo, hi) F.uniform_(t, lo, hi); return t end,
  normal_ = function(t, mean, std) F.normal_(t, mean or 0, std or 1); return t end,
  kaiming_uniform_ = function(t, fan_in) F.kaiming_uniform_(t, fan_in); return t end,
  xavier_uniform_ = function(t, fan_in, fan_out) F.xavier_uniform_(t, fan_in, fan_out); return t end,
  zeros_ = function(t) return tensor.no_grad(function() return t:zero() end) end,
  ones_ = function(t) return tensor.no_grad(function() return t:fill(1) end) end,
}

