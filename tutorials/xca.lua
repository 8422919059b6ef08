-- xca: cross-covariance attention; N x N vs d x d maps, time and memory as N grows, the LPI block
local L = dofile((arg and arg[0] and arg[0]:match("(.*/)") or "tutorials/") .. "lib/lesson.lua")
local lesson = L.new{name = "xca", title = {en = "cross-covariance attention (XCiT)",
                                            ko = "교차 공분산 어텐션 (XCiT)"}}

lesson:say{
  en = [[Self-attention compares every token with every token: Q Kᵀ is N x N. Double the image side and N grows 4x, the attention map 16x. That is what limits the resolution a ViT can take.

XCA (from XCiT) transposes the question: instead of "which tokens look alike", ask "which channels vary together across the tokens". Kᵀ Q is d x d per head, whatever N is, so cost and memory grow linearly with N. Two details keep it stable: q and k are L2-normalised along the token dimension, and a learnable temperature per head scales the d x d map before the softmax.]],
  ko = [[셀프 어텐션은 모든 토큰을 모든 토큰과 비교합니다: Q Kᵀ는 N x N입니다. 이미지 한 변을 두 배로 하면 N은 4배, 어텐션 맵은 16배가 됩니다. 이것이 ViT가 받을 수 있는 해상도를 제한합니다.

XCA (XCiT에서 나옴)는 질문을 뒤집습니다: "어떤 토큰끼리 닮았나" 대신 "어떤 채널들이 토큰 전체에 걸쳐 함께 변하나"를 묻습니다. Kᵀ Q는 N과 상관없이 헤드마다 d x d이므로 비용과 메모리가 N에 선형으로 늘어납니다. 안정화 장치 두 가지: q와 k를 토큰 차원을 따라 L2 정규화하고, 헤드마다 학습되는 온도(temperature)로 d x d 맵을 softmax 전에 스케일합니다.]],
}

lesson:predict{
  question = {en = "N = 3136 tokens (56x56), 4 heads of c = 16 channels. How many numbers in one head's attention map, for self-attention and for XCA?",
              ko = "토큰 N = 3136 (56x56), 채널 c = 16짜리 헤드 4개. 헤드 하나의 어텐션 맵에 숫자가 몇 개일까요? 셀프 어텐션과 XCA 각각."},
  answer = "9834496 and 256",
  explain = {en = "Self-attention: N² = 3136² = 9,834,496. XCA: c² = 16² = 256, and it stays 256 at any N.",
             ko = "셀프 어텐션: N² = 3136² = 9,834,496. XCA: c² = 16² = 256이고, N이 얼마든 256입니다."},
}

lesson:code[[
tensor.manual_seed(0)
N, c = 10, 4                                      -- one head, written out by hand
q, k, v = tensor.randn(N, c), tensor.randn(N, c), tensor.randn(N, c)
function l2_tokens(t) return t / (t ^ 2):sum(1, true):sqrt() end   -- unit length along N
tau = 1.5                                         -- the learnable temperature
A = (l2_tokens(q):t():matmul(l2_tokens(k)) * tau):softmax(2)        -- [c,N]x[N,c] -> [c,c]
out = v:matmul(A:t())                             -- [N,c]: each token's channels remixed by A
print("attention map", A:shape(), " output", out:shape())
ref = nn.F.xca(q:view(1, 1, N, c), k:view(1, 1, N, c), v:view(1, 1, N, c), tensor.full({1, 1, 1}, tau))
xca_err = (ref:view(N, c) - out):abs():max():item()
print("matches nn.F.xca (the op inside nn.XCA): max difference", xca_err)
]]
lesson:check(A:shape() == tensor.empty(4, 4):shape(), {en = "the XCA map is c x c = [4,4]",
             ko = "XCA 맵은 c x c = [4,4]다"})
lesson:check(xca_err < 1e-5, {en = "the hand-written XCA equals nn.F.xca",
             ko = "손으로 쓴 XCA가 nn.F.xca와 같다"})

lesson:say{
  en = [[Memory, measured on the meta device (no allocation, so N = 50176, a 224x224 image at one token per pixel, is safe to ask about): the peak bytes of one forward pass of nn.MultiheadAttention(64, 4) and nn.XCA(64, 4) on [1, N, 64].]],
  ko = [[메모리를 meta 장치에서 잽니다 (할당하지 않으므로 N = 50176, 즉 224x224 이미지를 픽셀마다 토큰 하나로 만든 경우도 안전하게 물어볼 수 있습니다): [1, N, 64]에 대한 nn.MultiheadAttention(64, 4)와 nn.XCA(64, 4) 순전파 한 번의 최대 바이트.]],
}

lesson:code[[
function peak_bytes(model, N, d)
  collectgarbage()
  local x = tensor.empty(1, N, d, {device = "meta"})
  local base = tensor.memory_estimate().meta
  tensor.reset_peak()
  tensor.no_grad(function() return model(x) end)
  return tensor.memory_estimate().meta_peak - base
end
meta_mha = nn.MultiheadAttention(64, 4, {device = "meta"})
meta_xca = nn.XCA(64, 4, {device = "meta"})
mem = {}
print("      N     self-attention          XCA")
for _, N in ipairs{196, 784, 3136, 12544, 50176} do
  mem[N] = {mha = peak_bytes(meta_mha, N, 64), xca = peak_bytes(meta_xca, N, 64)}
  print(string.format("%7d   %16s   %10s", N, tut.bytes(mem[N].mha), tut.bytes(mem[N].xca)))
end
]]
local r_x = mem[50176].xca / mem[12544].xca
local r_a = mem[50176].mha / mem[12544].mha
lesson:check(r_x > 3.5 and r_x < 4.5, string.format(
  "XCA memory grows linearly: 4x the tokens -> %.2fx the bytes", r_x))
lesson:check(r_a > 14 and r_a < 17, string.format(
  "self-attention memory grows quadratically: 4x the tokens -> %.2fx the bytes", r_a))
lesson:check(mem[50176].mha > 40e9, {en = "self-attention over 50176 tokens needs > 40 GB even for one image",
             ko = "토큰 50176개의 셀프 어텐션은 이미지 한 장에도 40 GB가 넘게 든다"})

local quick = lesson:quick()
_G.TIME_NS = quick and {8, 16, 64, 256, 1024} or {8, 16, 64, 256, 1024, 2048, 4096}
lesson:say{
  en = [[Time, measured for real on this CPU (forward pass only, d = 64, 4 heads)]] ..
       (quick and [[; --check mode stops at N = 1024 to stay fast.]] or "."),
  ko = [[시간, 이 CPU에서 실제로 잽니다 (순전파만, d = 64, 헤드 4개)]] ..
       (quick and [[; --check 모드는 빨리 끝나도록 N = 1024에서 멈춥니다.]] or "."),
}

lesson:code[[
tensor.manual_seed(0)
cpu_mha, cpu_xca = nn.MultiheadAttention(64, 4), nn.XCA(64, 4)
times = {}
print("      N   self-attn ms     XCA ms    mult-adds attn / XCA")
for _, N in ipairs(TIME_NS) do
  local x = tensor.randn(1, N, 64)
  local reps = math.max(1, 1024 // N)
  local function t(m) return tut.time(function() tensor.no_grad(function() for _ = 1, reps do m(x) end end) end) / reps end
  t(cpu_mha); t(cpu_xca)                                        -- warm up
  local ta, tx = t(cpu_mha), t(cpu_xca)
  local ma = nn.summary(cpu_mha, {1, N, 64}, {print = false}).mult_adds
  local mx = nn.summary(cpu_xca, {1, N, 64}, {print = false}).mult_adds
  times[#times + 1] = {N = N, attn = ta, xca = tx, ma = ma, mx = mx}
  print(string.format("%7d   %12.2f   %8.2f    %s / %s", N, ta * 1e3, tx * 1e3, tut.int(ma), tut.int(mx)))
end
for i = #times, 1, -1 do                        -- smallest N from which XCA stays faster
  if times[i].attn > times[i].xca then crossover = times[i].N else break end
end
print("measured crossover: XCA is faster from N =", crossover)
]]
local last = times[#times]
lesson:check(last.ma > last.mx, {en = "at the largest N, self-attention needs more mult-adds than XCA",
             ko = "가장 큰 N에서 셀프 어텐션의 mult-add가 XCA보다 많다"})
lesson:check(crossover ~= nil, {en = "XCA becomes faster than self-attention within the measured range",
             ko = "잰 범위 안에서 XCA가 셀프 어텐션보다 빨라진다"})

lesson:say{
  en = [[In mult-adds the crossover is where N² c passes N c², i.e. N > c = d/heads: almost immediately. (Both models also pay the same q, k, v and output projections, which grow with N·d² and dominate at small N.) In measured time the crossover depends on the machine, which is why we measure.

XCA mixes channels but never lets neighbouring tokens talk. XCiT adds a Local Patch Interaction (LPI) block for that: a depthwise 3x3 convolution (one filter per channel, groups = C), BatchNorm, GELU, and a second depthwise convolution, applied to the tokens laid out as an image. Then a point-wise FFN. Positions come from fixed 2-D sin-cos encodings, which work at any resolution.]],
  ko = [[mult-add로 보면 교차점은 N² c가 N c²를 넘는 곳, 즉 N > c = d/heads입니다: 거의 바로입니다. (두 모델 모두 같은 q, k, v와 출력 투영을 계산하는데, 이것은 N·d²로 커지고 N이 작을 때는 이것이 대부분입니다.) 실제 시간의 교차점은 기계마다 다르므로 재어 봐야 합니다.

XCA는 채널을 섞지만 이웃 토큰끼리는 대화하지 못합니다. XCiT는 이를 위해 LPI (Local Patch Interaction) 블록을 더합니다: 토큰을 이미지 모양으로 놓고 depthwise 3x3 합성곱 (채널마다 필터 하나, groups = C), BatchNorm, GELU, 두 번째 depthwise 합성곱. 그다음 점별(point-wise) FFN. 위치 정보는 고정 2-D sin-cos 인코딩으로, 어떤 해상도에서도 동작합니다.]],
}

lesson:predict{
  question = {en = "A depthwise Conv2d(64, 64, 3, groups=64) with bias: how many parameters? (a full Conv2d(64, 64, 3) has 36,928)",
              ko = "bias가 있는 depthwise Conv2d(64, 64, 3, groups=64)의 파라미터 수는? (일반 Conv2d(64, 64, 3)은 36,928)"},
  answer = 640,
  explain = {en = "One 3x3 filter per channel: 64·9 = 576 weights + 64 biases = 640.",
             ko = "채널마다 3x3 필터 하나: 64·9 = 576 가중치 + bias 64 = 640."},
}

lesson:code[[
LPI = nn.Module:extend("LPI")
function LPI:init(C)
  self.conv1 = nn.Conv2d(C, C, 3, {padding = 1, groups = C})
  self.bn = nn.BatchNorm2d(C)
  self.conv2 = nn.Conv2d(C, C, 3, {padding = 1, groups = C})
end
function LPI:forward(x, H, W)                       -- x [B,N,C] with N = H·W
  local B, N, C = x:size(1), x:size(2), x:size(3)
  local img = x:transpose(2, 3):reshape(B, C, H, W) -- [B,C,H,W]
  local y = self.conv2(self.bn(self.conv1(img)):gelu())
  return y:reshape(B, C, N):transpose(2, 3)         -- back to [B,N,C]
end
lpi = LPI(64)
tokens = tensor.randn(2, 14 * 14, 64) + nn.pos_sincos_2d(14, 14, 64)   -- [2,196,64] + [196,64]
mixed = lpi(tokens, 14, 14)
print("LPI:", tokens:shape(), "->", mixed:shape(), " params", (lpi:num_params()),
      " depthwise conv params", (lpi.conv1:num_params()))
]]
lesson:check(mixed:shape() == tokens:shape(), {en = "LPI keeps the token shape [2,196,64]",
             ko = "LPI는 토큰 모양 [2,196,64]를 유지한다"})
lesson:check(lpi.conv1:num_params() == 640, {en = "a depthwise 3x3 conv over 64 channels has 640 parameters",
             ko = "채널 64개에 대한 depthwise 3x3 합성곱의 파라미터는 640개다"})

lesson:finish()
