-- perceiver: attention over 50176 pixels with latents
local L = dofile((arg and arg[0] and arg[0]:match("(.*/)") or "tutorials/") .. "lib/lesson.lua")
local lesson = L.new{name = "perceiver", title = {en = "attention on inputs too large for self-attention",
                                                  ko = "셀프 어텐션으로 감당 못 할 만큼 큰 입력 다루기"}}

lesson:say{
  en = [[The Perceiver feeds raw pixels to attention, with no patches and no convolution: an ImageNet image [B, 3, 224, 224] becomes [B, 3, 50176], M = 50176 "tokens" of 3 channels. Self-attention over them would be an M x M map. Let us first ask the meta device what that costs.]],
  ko = [[Perceiver는 패치도 합성곱도 없이 픽셀 값을 그대로 어텐션에 넣습니다: ImageNet 이미지 [B, 3, 224, 224]가 [B, 3, 50176], 즉 채널 3개짜리 "토큰" M = 50176개가 됩니다. 이들에 대한 셀프 어텐션은 M x M 맵입니다. 먼저 meta 장치에 그 비용을 물어봅시다.]],
}

lesson:code[[
B = 8
images = tensor.empty(B, 3, 224, 224, {device = "meta"})
-- [8,3,50176]: a view, no copy || [8,3,50176]: 복사 없는 뷰
pixels = images:view(B, 3, 224 * 224)
tokens = pixels:transpose(2, 3)                             -- [8,50176,3]
collectgarbage()
local base = tensor.memory_estimate().meta
-- [8,50176,50176]
scores = tokens:matmul(tokens:transpose(2, 3))
self_bytes = tensor.memory_estimate().meta - base
print("pixels" || "픽셀", pixels:shape(), " attention map" || " 어텐션 맵", scores:shape(),
      string.format(" %.1f GB", self_bytes / 1e9))
probs = scores:softmax(3)                   -- a second map || 두 번째 맵
two_maps = tensor.memory_estimate().meta - base
print(string.format("with its softmax: %.1f GB (an H200 has 141 GB)"
                    || "softmax까지: %.1f GB (H200은 141 GB)",
                    two_maps / 1e9))
]]
lesson:check(pixels:size(3) == 50176, {en = "224·224 = 50176 pixels per channel",
             ko = "채널마다 픽셀 224·224 = 50176개"})
lesson:check(self_bytes >= 8 * 50176 * 50176 * 4, {en = "the self-attention map alone needs >= 80.6 GB at B = 8",
             ko = "B = 8이면 셀프 어텐션 맵 하나에만 80.6 GB 이상이 든다"})

lesson:check(two_maps >= 2 * self_bytes and two_maps > 141e9,
             {en = "the map and its softmax take 161 GB: more than an H200's 141 GB",
              ko = "맵과 그 softmax가 161 GB: H200의 141 GB보다 크다"})

lesson:say{
  en = [[One map is 80.6 GB; with the softmax's map of the same size it is 161 GB, and training needs a third for the gradient: about 3 x 80.6 = 242 GB for one attention layer. An H200 (141 GB) cannot hold two of them, nor can an "80 GB" card (80 GiB = 85.9e9 bytes) hold even one with room to spare. The map grows with the batch and with the fourth power of the image side. The fix: a small learned LATENT array of N = 1024 vectors asks the questions (queries) and the pixels only answer (keys and values). Cross-attention is then N x M, not M x M: O(M·N) instead of O(M²). After that a deep transformer works on the latents alone, O(N²), independent of the image size.]],
  ko = [[맵 하나가 80.6 GB이고, 같은 크기의 softmax 맵까지 더하면 161 GB입니다. 학습에는 기울기를 담을 세 번째도 필요해서 어텐션 층 하나에 약 3 x 80.6 = 242 GB가 듭니다. H200 (141 GB)에는 맵 두 개도 들어가지 않고, "80 GB" 카드 (80 GiB = 85.9e9 바이트)는 하나만 담아도 남는 자리가 거의 없습니다. 맵은 배치에 비례하고, 이미지 한 변의 네제곱으로 커집니다. 해결책은 학습되는 작은 잠재(latent) 배열입니다: 벡터 N = 1024개가 쿼리(query)가 되고, 픽셀은 키(key)와 값(value)만 내놓습니다. 그러면 교차 어텐션 맵은 M x M이 아니라 N x M이고, 비용은 O(M²) 대신 O(M·N)입니다. 그 뒤 깊은 트랜스포머는 잠재 배열만 다루므로 O(N²)이고 이미지 크기와 무관합니다.]],
}

lesson:predict{
  question = {en = "Cross-attention map [8, 1024, 50176] in float32: how many GB?",
              ko = "교차 어텐션 맵 [8, 1024, 50176]은 float32로 몇 GB일까요?"},
  answer = "1.6",
  explain = {en = "8 · 1024 · 50176 · 4 bytes = 1,644,167,168 bytes ≈ 1.6 GB: 49x smaller (50176 / 1024 = 49).",
             ko = "8 · 1024 · 50176 · 4 바이트 = 1,644,167,168 바이트 ≈ 1.6 GB: 49배 작습니다 (50176 / 1024 = 49)."},
}

lesson:code[[
-- d = 64, 1024 latents, 1 head || d = 64, 잠재 벡터 1024개, 헤드 1개
cross = nn.CrossAttention(64, 1024, 1, {device = "meta"})
-- pixels embedded to d = 64 || 픽셀을 d = 64로 임베딩
inputs = tensor.empty(B, 50176, 64, {device = "meta"})
collectgarbage()
local base = tensor.memory_estimate().meta
tensor.reset_peak()
latents_out = tensor.no_grad(function() return cross(inputs) end)
cross_peak = tensor.memory_estimate().meta_peak - base
print(string.format("cross-attention: %s -> %s, peak %.1f GB (forward)"
                    || "교차 어텐션: %s -> %s, 최대 %.1f GB (순전파)",
                    tut.shape(inputs), tut.shape(latents_out),
                    cross_peak / 1e9))
]]
lesson:check(latents_out:shape() == tensor.empty(8, 1024, 64, {device = "meta"}):shape(),
             {en = "1024 latents of d = 64 come out: [8,1024,64]",
             ko = "d = 64짜리 잠재 벡터 1024개가 나온다: [8,1024,64]"})
lesson:check(cross_peak < self_bytes / 10, {en = "cross-attention needs under a tenth of self-attention's memory",
             ko = "교차 어텐션은 셀프 어텐션 메모리의 10분의 1도 안 쓴다"})

lesson:say{
  en = [[Attention itself ignores where a pixel is, so the Perceiver concatenates (not adds) a position code to each pixel. For each coordinate x_d in [-1, 1] (row and column): sin(f_k·π·x_d) and cos(f_k·π·x_d) for `bands` frequencies f_k between 1 and μ/2 (μ = the maximum frequency, here the 224 pixels of a side), plus x_d itself. Two coordinates give 2·(2·bands + 1) = 4·bands + 2 channels; with RGB that is 4·bands + 5.

How are the f_k spaced? The paper (and the post this lesson follows) says "log-linearly": evenly on a log scale, as many bands per octave. DeepMind's released code spaces them linearly, evenly from 1 to μ/2, and which one the paper meant was disputed (lucidrains/perceiver-pytorch issues #5 and #52). nn.fourier_features spaces them linearly, like the released code that produced the paper's results. Below we write both in a few lines of Lua and compare.]],
  ko = [[어텐션 자체는 픽셀이 어디 있는지 모르므로, Perceiver는 각 픽셀에 위치 코드를 더하지 않고 이어 붙입니다(concatenate). 각 좌표 x_d ∈ [-1, 1] (행과 열)마다 1과 μ/2 사이의 주파수 f_k `bands`개로 sin(f_k·π·x_d)와 cos(f_k·π·x_d)를 만들고, x_d 자체도 넣습니다 (μ는 최대 주파수로, 여기서는 한 변의 픽셀 수 224). 좌표가 두 개이니 2·(2·bands + 1) = 4·bands + 2 채널이고, RGB까지 붙이면 4·bands + 5 채널입니다.

f_k의 간격은 어떻게 잡을까요? 논문(과 이 레슨이 따르는 글)은 "log-linear"라고 합니다: 로그 눈금에서 고르게, 즉 옥타브마다 같은 개수. 그런데 DeepMind가 공개한 코드는 1부터 μ/2까지 선형으로 고르게 잡고, 논문이 어느 쪽을 뜻했는지는 논쟁이 있었습니다 (lucidrains/perceiver-pytorch 이슈 #5, #52). nn.fourier_features는 논문의 결과를 낸 공개 코드처럼 선형 간격을 씁니다. 아래에서 두 가지를 Lua 몇 줄로 직접 쓰고 비교합니다.]],
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
local rows, cols = lin:view(H, 1):expand(H, H), lin:view(1, H):expand(H, H)
coords = tensor.stack({rows, cols}, 3):reshape(H * H, 2)
-- [50176,2] -> [50176,258]
pos = nn.fourier_features(coords, 64, 224)
-- one real image-sized input || 이미지 크기의 진짜 입력 하나
image = tensor.rand(1, 3, H, H)
rgb = image:view(1, 3, H * H):transpose(2, 3)               -- [1,50176,3]
features = tensor.cat({rgb, pos:unsqueeze(1)}, 3)           -- [1,50176,261]
print("coords " || "좌표 " .. tut.shape(coords)
      .. "  fourier " .. tut.shape(pos)
      .. "  with RGB " || "  RGB 포함 " .. tut.shape(features))
]]
lesson:check(pos:size(2) == 4 * 64 + 2 and features:size(3) == 4 * 64 + 5, {en = "4·bands+2 = 258 and 4·bands+5 = 261 channels",
             ko = "채널 수는 4·bands+2 = 258, 4·bands+5 = 261"})

lesson:code[[
-- frequencies from 1 to μ/2, spaced linearly or log-linearly || 1부터 μ/2까지의 주파수, 선형 또는 로그 선형 간격
function bands_of(n, max_freq, spacing)
  if spacing == "log" then                          -- evenly on a log scale || 로그 눈금에서 고르게
    return tensor.linspace(0, math.log(max_freq / 2), n):exp()
  end
  -- evenly: the released code || 고르게: 공개 코드
  return tensor.linspace(1, max_freq / 2, n)
end
-- the layout of nn.fourier_features: [sin, cos, x] || nn.fourier_features와 같은 배치
function fourier(x, n, max_freq, spacing)
  local f = bands_of(n, max_freq, spacing) * math.pi
  local xf = x:unsqueeze(-1) * f                    -- [M,2,n]
  xf = xf:reshape(x:size(1), x:size(2) * n)         -- [M,2n]
  return tensor.cat({xf:sin(), xf:cos(), x}, 2)     -- [M,4n+2]
end
lin_f, log_f = bands_of(64, 224, "linear"), bands_of(64, 224, "log")
for _, r in ipairs{{"linear" || "선형   ", lin_f}, {"log" || "로그   ", log_f}} do
  local f = r[2]
  print(string.format("%-7s f_1..f_4 = %.2f %.2f %.2f %.2f ... f_64 = %.1f",
                      r[1], f[1]:item(), f[2]:item(), f[3]:item(),
                      f[4]:item(), f[64]:item()))
end
low_lin = lin_f:lt(8):sum():item()   -- below 8 periods per image || 이미지당 8주기 미만
low_log = log_f:lt(8):sum():item()
print("bands below f = 8:  linear" || "f < 8인 대역 수:  선형", low_lin,
      "  log-linear" || "  로그 선형", low_log)
ff_err = (fourier(coords, 64, 224, "linear") - pos):abs():max():item()
pos_log = fourier(coords, 64, 224, "log")
print("linear vs nn.fourier_features: max difference"
      || "선형 버전 vs nn.fourier_features: 최대 차이", ff_err)
print("log-linear features:" || "로그 선형 특징:", pos_log:shape())
]]
lesson:check(ff_err < 1e-4, {en = "nn.fourier_features spaces its bands linearly (our linear version matches it)",
             ko = "nn.fourier_features는 선형 간격이다 (직접 쓴 선형 버전과 일치한다)"})
lesson:check(pos_log:size(2) == 258 and low_log > 4 * low_lin,
             {en = "log-linear gives the same 258 channels, with far more bands at low frequencies",
              ko = "로그 선형도 채널은 똑같이 258개이고, 낮은 주파수에 대역이 훨씬 많다"})

lesson:say{
  en = [[Linear spacing puts almost all bands at fine detail (only 4 of the 64 have fewer than 8 periods across the image, against 28 of 64 log-linearly); log-linear spends as many bands on coarse position as on fine. With log-linear features in your own model, use fourier(coords, 64, 224, "log") in place of nn.fourier_features.]],
  ko = [[선형 간격은 대역을 거의 다 세밀한 쪽에 둡니다 (이미지 전체에서 8주기가 안 되는 대역이 64개 중 4개뿐이고, 로그 선형은 28개). 로그 선형은 대략적인 위치와 세밀한 위치에 대역을 고르게 나눕니다. 직접 만드는 모델에서 로그 선형 특징을 쓰려면 nn.fourier_features 대신 fourier(coords, 64, 224, "log")를 쓰면 됩니다.]],
}

lesson:say{
  en = [[The Perceiver repeats "cross-attend to the input, then self-attend among the latents" several times, and the repeats can SHARE their weights: the same block applied again and again. Fewer parameters, less overfitting, and the same compute. A module used twice is counted once.]],
  ko = [[Perceiver는 "입력에 교차 어텐션, 그다음 잠재 배열끼리 셀프 어텐션"을 여러 번 반복하고, 반복끼리 가중치를 "공유"할 수 있습니다: 같은 블록을 되풀이해 적용하는 셈입니다. 파라미터가 적고 과적합이 덜하며, 계산량은 같습니다. 두 번 쓰인 모듈은 한 번만 셉니다.]],
}

lesson:code[[
Block = nn.Module:extend("PerceiverBlock")
function Block:init(d, heads)
  self.norm_q, self.norm_kv = nn.LayerNorm(d), nn.LayerNorm(d)
  self.cross = nn.MultiheadAttention(d, 1)
  self.norm_s = nn.LayerNorm(d)
  self.self_attn = nn.MultiheadAttention(d, heads)
end
function Block:forward(lat, x)
  local kv = self.norm_kv(x)
  -- latents query the input: N x M || 잠재 배열이 입력에 질의: N x M
  lat = lat + self.cross(self.norm_q(lat), kv, kv)
  local h = self.norm_s(lat)
  -- latents among themselves: N x N || 잠재 배열끼리: N x N
  return lat + self.self_attn(h, h, h)
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
-- feats [B,M,261]
function Perceiver:forward(feats)
  local x = self.embed(feats)
  local n, d = self.latents:size(1), self.latents:size(2)
  local lat = self.latents:unsqueeze(1):expand(x:size(1), n, d)
  for _, blk in ipairs(self.blocks) do lat = blk(lat, x) end
  return self.head(lat:mean(2))
end

shared_model = Perceiver(64, 32, 8, true)
separate_model = Perceiver(64, 32, 8, false)
n_shared = shared_model:num_params()
n_separate = separate_model:num_params()
print("8 repeats, shared weights:" || "8번 반복, 가중치 공유:", tut.int(n_shared),
      "  separate weights:" || "  따로:", tut.int(n_separate))
-- 4096 of the pixels, to run it for real here || 여기서 실제로 돌려 보려고 픽셀 4096개만
small = features:narrow(2, 1, 4096)
print("forward:" || "순전파:", small:shape(), "->",
      tensor.no_grad(function() return shared_model(small) end):shape())
]]
local blk = separate_model.blocks[1]:num_params()
lesson:check(n_separate - n_shared == 7 * blk, {en = "unsharing adds exactly 7 more copies of one block's parameters",
             ko = "공유를 풀면 블록 하나의 파라미터가 정확히 7벌 더 생긴다"})

lesson:say{
  en = [[Because nothing in the Perceiver assumes a grid, it stays strong on ImageNet with the pixels shuffled by one fixed permutation (the position features travel with each pixel), where a CNN falls apart; and the same architecture takes audio, video and point clouds.]],
  ko = [[Perceiver에는 격자를 가정하는 부분이 없어서, 픽셀을 하나의 고정된 순열로 섞은 ImageNet에서도 여전히 강합니다 (위치 특징이 각 픽셀에 붙어 함께 움직이기 때문). CNN은 여기서 무너집니다. 같은 구조로 오디오, 비디오, 포인트 클라우드도 다룹니다.]],
}

lesson:finish()
