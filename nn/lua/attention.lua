-- attention.lua - MultiheadAttention (PyTorch's parameter names), XCA (cross-covariance
-- attention, XCiT) and CrossAttention with learned latents (Perceiver).
local nn, F = nn, nn.F
local U = require("nn.util")
local is_tensor, shape_str, got, check_count, new_tensor, const_tensor =
  U.is_tensor, U.shape_str, U.got, U.check_count, U.new_tensor, U.const_tensor
local Module, Linear, LayerNorm = nn.Module, nn.Linear, nn.LayerNorm
local check = require("nn.check")

local function check_tokens(name, x, d)
  if x:dim() ~= 3 or x:size(3) ~= d then
    local hint = x:dim() == 2 and "; add a batch dim with x:unsqueeze(1)" or ""
    error(string.format("%s: expects [B,T,%d] (batch first), got %s%s", name, d, shape_str(x), hint), 3)
  end
end

-- (B,T,d) -> (B,heads,T,d/heads)
local function split_heads(x, heads)
  local B, T, d = x:size(1), x:size(2), x:size(3)
  return x:reshape(B, T, heads, d // heads):transpose(2, 3)
end

-- one fused projection (B,T,3d) -> q, k, v, each (B,heads,T,d/heads) as split_heads gives
local function split_qkv(y, heads)
  local B, T, d = y:size(1), y:size(2), y:size(3) // 3
  local t = y:reshape(B, T, 3, heads, d // heads):permute(3, 1, 4, 2, 5)
  return t[1], t[2], t[3]
end

-- What MultiheadAttention and XCA check first: their options, and (d, heads) positive with
-- d splitting evenly into the heads. -> opts or {}
local function attention_args(name, d, heads, opts, allowed)
  check.check_options(name, opts, allowed, 3)
  check_count(name .. "(d, heads): d", d)
  check_count(name .. "(d, heads): heads", heads)
  if d % heads ~= 0 then error(string.format("%s(%d, %d): d must be divisible by heads", name, d, heads), 3) end
  return opts or {}
end

local function heads_repr(d, heads) return string.format("d=%d, heads=%d", d, heads) end

local function merge_heads(x)
  local B, h, T, dh = x:size(1), x:size(2), x:size(3), x:size(4)
  return x:transpose(2, 3):reshape(B, T, h * dh)
end

-- Parameters named like PyTorch's nn.MultiheadAttention (in_proj_weight [3d,d],
-- in_proj_bias, out_proj), batch first: forward(q[, k[, v]][, {causal=true}]).
local MHA = Module:extend("MultiheadAttention")
nn.MultiheadAttention = MHA
function MHA:init(d, heads, opts)
  opts = attention_args("nn.MultiheadAttention", d, heads, opts, {"bias", "device"})
  self.embed_dim, self.num_heads = d, heads
  self.in_proj_weight = new_tensor({3 * d, d}, opts)
  F.xavier_uniform_(self.in_proj_weight, d, 3 * d)
  self.in_proj_weight:requires_grad(true)
  if opts.bias ~= false then self.in_proj_bias = const_tensor({3 * d}, 0, opts, true) end
  self.out_proj = Linear(d, d, opts)
  if opts.bias ~= false then tensor.no_grad(function() self.out_proj.bias:zero() end) end
end
function MHA:forward(q, k, v, opts)
  if type(k) == "table" and not is_tensor(k) then opts, k, v = k, nil, nil end
  if type(v) == "table" and not is_tensor(v) then opts, v = v, nil end
  k = k or q
  v = v or k
  local d, name = self.embed_dim, "nn.MultiheadAttention(" .. self.embed_dim .. ", " .. self.num_heads .. ")"
  check_tokens(name, q, d); check_tokens(name, k, d); check_tokens(name, v, d)
  local W, b = self.in_proj_weight, self.in_proj_bias
  local qh, kh, vh
  if rawequal(k, q) and rawequal(v, q) then   -- self-attention: one GEMM for all three, as XCA
    qh, kh, vh = split_qkv(F.linear(q, W, b), self.num_heads)
  else
    local function proj(x, i)
      return split_heads(F.linear(x, W:narrow(1, (i - 1) * d + 1, d), b and b:narrow(1, (i - 1) * d + 1, d)),
                         self.num_heads)
    end
    qh, kh, vh = proj(q, 1), proj(k, 2), proj(v, 3)
  end
  local o = F.scaled_dot_attention(qh, kh, vh, opts and opts.causal)
  return self.out_proj(merge_heads(o))
end
function MHA:extra_repr() return heads_repr(self.embed_dim, self.num_heads) end
-- in-projections plus the attention itself (out_proj counts as its own row)
function MHA:mult_adds(out, q, k)
  k = (is_tensor(k) and k) or q
  local B, T, S, d = q:size(1), q:size(2), k:size(2), self.embed_dim
  return B * T * d * d + 2 * B * S * d * d + F.attention_macs(B * self.num_heads, T, S, d // self.num_heads,
                                                             d // self.num_heads)
end

-- Cross-covariance attention (XCiT): the attention map is (d/heads)^2 per head.
local XCA = Module:extend("XCA")
nn.XCA = XCA
function XCA:init(d, heads, opts)
  opts = attention_args("nn.XCA", d, heads, opts, {"qkv_bias", "device"})
  self.dim, self.num_heads = d, heads
  self.qkv = Linear(d, 3 * d, {bias = opts.qkv_bias or false, device = opts.device})
  self.temperature = const_tensor({heads, 1, 1}, 1, opts, true)
  self.proj = Linear(d, d, opts)
end
function XCA:forward(x)
  check_tokens("nn.XCA(" .. self.dim .. ", " .. self.num_heads .. ")", x, self.dim)
  local q, k, v = split_qkv(self.qkv(x), self.num_heads)                        -- (B,h,N,c) each
  local o = F.xca(q, k, v, self.temperature)                                    -- (B,h,N,c)
  return self.proj(merge_heads(o))
end
function XCA:extra_repr() return heads_repr(self.dim, self.num_heads) end
function XCA:mult_adds(out, x)
  local B, N, c = x:size(1), x:size(2), self.dim // self.num_heads
  return F.attention_macs(B * self.num_heads, c, c, N, N)        -- qᵀk and attn·vᵀ: linear in N
end

-- Perceiver cross-attention: learned latents (N,d) query the inputs (B,M,d):
-- out = latents + MHA(LN(latents), LN(x), LN(x)) -> (B,N,d); cost O(M·N), not O(M²).
local CrossAttention = Module:extend("CrossAttention")
nn.CrossAttention = CrossAttention
function CrossAttention:init(d, n_latents, heads, opts)
  check.check_options("nn.CrossAttention", opts, {"device"}, 3)
  opts = opts or {}
  self.dim = check_count("nn.CrossAttention(d, latents, heads): d", d)
  self.n_latents = check_count("nn.CrossAttention(d, latents, heads): latents", n_latents)
  self.latents = new_tensor({n_latents, d}, opts)
  F.normal_(self.latents, 0, 0.02)
  self.latents:requires_grad(true)
  self.norm_q = LayerNorm(d, opts)
  self.norm_kv = LayerNorm(d, opts)
  self.attn = MHA(d, heads or 1, opts)
end
function CrossAttention:forward(x)
  check_tokens("nn.CrossAttention(" .. self.dim .. ", " .. self.n_latents .. ")", x, self.dim)
  local lat = self.latents:unsqueeze(1):expand(x:size(1), self.n_latents, self.dim)
  local kv = self.norm_kv(x)
  return lat + self.attn(self.norm_q(lat), kv, kv)
end
function CrossAttention:extra_repr() return string.format("d=%d, latents=%d", self.dim, self.n_latents) end
