-- perceiver: attention over 50176 pixels with learned latents, Fourier features and weight sharing
local L = dofile((arg and arg[0] and arg[0]:match("(.*/)") or "tutorials/") .. "lib/lesson.lua")
local lesson = L.new{name = "perceiver", title = {en = "attention on inputs too large for self-attention",
                                                  ko = "셀프 어텐션에는 너무 큰 입력에 어텐션 쓰기"}}

lesson:say{
  en = [[The Perceiver feeds raw pixels to attention, with no patches and no convolution: an ImageNet image [B, 3, 224, 224] becomes [B, 3, 50176], M = 50176 "tokens" of 3 channels. Self-attention over them would be an M x M map. Let us first ask the meta device what that costs.]],
  ko = [[Perceiver는 패치도 합성곱도 없이 원시 픽셀을 어텐션에 넣습니다: ImageNet 이미지 [B, 3, 224, 224]가 [B, 3, 50176], 즉 채널 3개짜리 "토큰" M = 50176개가 됩니다. 이들에 대한 셀프 어텐션은 M x M 맵입니다. 먼저 meta 장치에 그 비용을 물어봅시다.]],
}

lesson:code[[
B = 8
images = tensor.empty(B, 3, 224, 224, {device = "meta"})
pixels = images:view(B, 3, 224 * 224)                       -- [8,3,50176]: a view, no copy
tokens = pixels:transpose(2, 3)                             -- [8,50176,3]
collectgarbage()
local base = tensor.memory_estimate().meta
scores = tokens:matmul(tokens:transpose(2, 3))              -- [8,50176,50176]
self_bytes = tensor.memory_estimate().meta - base
print("pixels", pixels:shape(), " attention map", scores:shape(),
      string.format(" %.1f GB", self_bytes / 1e9))
]]
lesson:check(pixels:size(3) == 50176, "224·224 = 50176 pixels per channel")
lesson:check(self_bytes >= 8 * 50176 * 50176 * 4, "the self-attention map alone needs >= 80.6 GB at B = 8")

lesson:say{
  en = [[No GPU holds that, and the softmax and the backward pass each want another copy. The fix: a small learned LATENT array of N = 1024 vectors asks the questions (queries) and the pixels only answer (keys and values). Cross-attention is then N x M, not M x M: O(M·N) instead of O(M²). After that a deep transformer works on the latents alone, O(N²), independent of the image size.]],
  ko = [[그걸 담을 GPU는 없고, softmax와 역전파는 각각 사본을 하나씩 더 원합니다. 해결책: 학습되는 작은 잠재(LATENT) 배열, N = 1024개의 벡터가 질문(query)을 하고 픽셀은 대답(key, value)만 합니다. 그러면 교차 어텐션은 M x M이 아니라 N x M: O(M²) 대신 O(M·N). 그 뒤 깊은 트랜스포머는 잠재 배열만 다루므로 O(N²)이고 이미지 크기와 무관합니다.]],
}

lesson:predict{
  question = {en = "Cross-attention map [8, 1024, 50176] in float32: how many GB?",
              ko = "교차 어텐션 맵 [8, 1024, 50176]은 float32로 몇 GB일까요?"},
  answer = "1.6",
  explain = {en = "8 · 1024 · 50176 · 4 bytes = 1,644,167,168 bytes ≈ 1.6 GB: 49x smaller (50176 / 1024 = 49).",
             ko = "8 · 1024 · 50176 · 4 바이트 = 1,644,167,168 바이트 ≈ 1.6 GB: 49배 작습니다 (50176 / 1024 = 49)."},
}

lesson:code[[
cross = nn.CrossAttention(64, 1024, 1, {device = "meta"})   -- d = 64, 1024 latents, 1 head
inputs = tensor.empty(B, 50176, 64, {device = "meta"})      -- pixels embedded to d = 64
collectgarbage()
local base = tensor.memory_estimate().meta
tensor.reset_peak()
latents_out = tensor.no_grad(function() return cross(inputs) end)
cross_peak = tensor.memory_estimate().meta_peak - base
print("cross-attention:", inputs:shape(), "->", latents_out:shape(),
      string.format(" peak %.1f GB (forward)", cross_peak / 1e9))
]]
lesson:check(latents_out:shape() == tensor.empty(8, 1024, 64, {device = "meta"}):shape(),
             "1024 latents of d = 64 come out: [8,1024,64]")
lesson:check(cross_peak < self_bytes / 10, "cross-attention needs under a tenth of self-attention's memory")

lesson:say{
  en = [[Attention itself ignores where a pixel is, so the Perceiver concatenates (not adds) a position code to each pixel. For each coordinate x_d in [-1, 1] (row and column): sin(f_k·π·x_d) and cos(f_k·π·x_d) for `bands` frequencies f_k between 1 and μ/2 (μ = the maximum frequency), plus x_d itself. Two coordinates give 2·(2·bands + 1) = 4·bands + 2 channels; with RGB that is 4·bands + 5.]],
  ko = [[어텐션 자체는 픽셀이 어디 있는지 모르므로, Perceiver는 각 픽셀에 위치 코드를 더하지 않고 이어 붙입니다(concatenate). 각 좌표 x_d ∈ [-1, 1] (행과 열)에 대해 1과 μ/2 (μ = 최대 주파수) 사이의 `bands`개 주파수 f_k로 sin(f_k·π·x_d), cos(f_k·π·x_d), 그리고 x_d 자체. 좌표 두 개면 2·(2·bands + 1) = 4·bands + 2 채널, RGB를 더하면 4·bands + 5입니다.]],
}

lesson:predict{
  question = {en = "With 64 bands, how many channels per pixel after concatenating RGB?",
              ko = "bands가 64일 때 RGB를 이어 붙이면 픽셀마다 채널이 몇 개일까요?"},
  answer = 261,
  explain = {en = "4·64 + 2 = 258 position channels + 3 colours = 261.", ko = "위치 채널 4·64 + 2 = 258 + 색 3 = 261."},
}

lesson:code[[
H = 224
local lin = tensor.linspace(-1, 1, H)
coords = tensor.stack({lin:view(H, 1):expand(H, H), lin:view(1, H):expand(H, H)}, 3):reshape(H * H, 2)
pos = nn.fourier_features(coords, 64, 224)                  -- [50176,2] -> [50176,258]
image = tensor.rand(1, 3, H, H)                             -- one real image-sized input
rgb = image:view(1, 3, H * H):transpose(2, 3)               -- [1,50176,3]
features = tensor.cat({rgb, pos:unsqueeze(1)}, 3)           -- [1,50176,261]
print("coords", coords:shape(), " fourier", pos:shape(), " with RGB", features:shape())
]]
lesson:check(pos:size(2) == 4 * 64 + 2 and features:size(3) == 4 * 64 + 5, "4·bands+2 = 258 and 4·bands+5 = 261 channels")

lesson:say{
  en = [[The Perceiver repeats "cross-attend to the input, then self-attend among the latents" several times, and the repeats can SHARE their weights: the same block applied again and again. Fewer parameters, less overfitting, and the same compute. A module used twice is counted once.]],
  ko = [[Perceiver는 "입력에 교차 어텐션, 그다음 잠재 배열끼리 셀프 어텐션"을 여러 번 반복하고, 반복끼리 가중치를 "공유"할 수 있습니다: 같은 블록을 계속 다시 적용하는 것. 파라미터가 적고 과적합이 덜하며, 계산량은 같습니다. 두 번 쓰인 모듈은 한 번만 셉니다.]],
}

lesson:code[[
Block = nn.Module:extend("PerceiverBlock")
function Block:init(d, heads)
  self.norm_q, self.norm_kv, self.cross = nn.LayerNorm(d), nn.LayerNorm(d), nn.MultiheadAttention(d, 1)
  self.norm_s, self.self_attn = nn.LayerNorm(d), nn.MultiheadAttention(d, heads)
end
function Block:forward(lat, x)
  local kv = self.norm_kv(x)
  lat = lat + self.cross(self.norm_q(lat), kv, kv)          -- latents query the input: N x M
  local h = self.norm_s(lat)
  return lat + self.self_attn(h, h, h)                      -- latents among themselves: N x N
end

Perceiver = nn.Module:extend("Perceiver")
function Perceiver:init(d, n_latents, repeats, share)
  self.embed = nn.Linear(261, d)
  self.latents = (tensor.randn(n_latents, d) * 0.02):requires_grad(true)
  self.blocks = {}
  local shared = Block(d, 4)
  for r = 1, repeats do self.blocks[r] = share and shared or Block(d, 4) end
  self.head = nn.Linear(d, 10)
end
function Perceiver:forward(feats)                           -- feats [B,M,261]
  local x = self.embed(feats)
  local lat = self.latents:unsqueeze(1):expand(x:size(1), self.latents:size(1), self.latents:size(2))
  for _, blk in ipairs(self.blocks) do lat = blk(lat, x) end
  return self.head(lat:mean(2))
end

shared_model = Perceiver(64, 32, 8, true)
separate_model = Perceiver(64, 32, 8, false)
n_shared, n_separate = shared_model:num_params(), separate_model:num_params()
print("8 repeats, shared weights:", tut.int(n_shared), "  separate weights:", tut.int(n_separate))
small = features:narrow(2, 1, 4096)                         -- 4096 of the pixels, to run it for real here
print("forward:", small:shape(), "->", tensor.no_grad(function() return shared_model(small) end):shape())
]]
local blk = separate_model.blocks[1]:num_params()
lesson:check(n_separate - n_shared == 7 * blk, "unsharing adds exactly 7 more copies of one block's parameters")

lesson:say{
  en = [[Because nothing in the Perceiver assumes a grid, it stays strong on ImageNet with the pixels shuffled by one fixed permutation (the position features travel with each pixel), where a CNN falls apart; and the same architecture takes audio, video and point clouds.]],
  ko = [[Perceiver에는 격자를 가정하는 부분이 없어서, 픽셀을 하나의 고정된 순열로 섞은 ImageNet에서도 여전히 강합니다 (위치 특징이 각 픽셀과 함께 다니기 때문). CNN은 여기서 무너집니다. 같은 구조로 오디오, 비디오, 포인트 클라우드도 다룹니다.]],
}

lesson:finish()
