-- xca: cross-covariance attention (XCiT), N x N vs d x d
local L = dofile((arg and arg[0] and arg[0]:match("(.*/)") or "tutorials/") .. "lib/lesson.lua")
local lesson = L.new{name = "xca", title = {en = "cross-covariance attention (XCiT)",
                                            ko = "교차 공분산 어텐션 (XCiT)"}}

lesson:say{
  en = [[Self-attention compares every token with every token: Q Kᵀ is N x N. Double the image side and N grows 4x, the attention map 16x. That is what limits the resolution a ViT can take.

XCA (from XCiT) transposes the question: instead of "which tokens look alike", ask "which channels vary together across the tokens". Kᵀ Q is d x d per head, whatever N is, so cost and memory grow linearly with N. Two details keep it stable: q and k are L2-normalised along the token dimension, and a learnable temperature per head scales the d x d map before the softmax.]],
  ko = [[셀프 어텐션은 모든 토큰을 모든 토큰과 비교합니다: Q Kᵀ는 N x N입니다. 이미지 한 변을 두 배로 하면 N은 4배, 어텐션 맵은 16배가 됩니다. 그래서 ViT가 다룰 수 있는 해상도에 한계가 생깁니다.

XCiT가 제안한 XCA는 질문을 뒤집습니다: "어떤 토큰끼리 닮았나" 대신 "어떤 채널들이 토큰 전체에 걸쳐 함께 변하나"를 묻습니다. Kᵀ Q는 N과 상관없이 헤드마다 d x d이므로 비용과 메모리가 N에 선형으로 늘어납니다. 안정화 장치는 두 가지입니다: q와 k를 토큰 차원을 따라 L2 정규화하고, 헤드마다 학습되는 온도(temperature)로 d x d 맵을 softmax 전에 스케일합니다.]],
}

lesson:say{
  en = [[Why may we ask about channels instead of tokens? Take one head's keys K, N tokens by c channels. The Gram matrix K Kᵀ (N x N, token with token) and the covariance matrix Kᵀ K (c x c, channel with channel) are the same problem seen from two sides: they have the same non-zero eigenvalues, and their eigenvectors map onto each other (if Kᵀ K v = λ v, then u = K v gives K Kᵀ u = λ u). The N x N matrix has at most c non-zero eigenvalues; everything it knows is in the small one. Let us check it on numbers.]],
  ko = [[토큰 대신 채널에 대해 물어도 되는 이유는 무엇일까요? 헤드 하나의 키 K (토큰 N개 x 채널 c개)를 생각해 봅시다. 그람 행렬 K Kᵀ (N x N, 토큰과 토큰)와 공분산 행렬 Kᵀ K (c x c, 채널과 채널)는 같은 문제를 양쪽에서 본 것입니다: 0이 아닌 고윳값이 같고, 고유벡터도 서로 대응합니다 (Kᵀ K v = λ v이면 u = K v는 K Kᵀ u = λ u를 만족). N x N 행렬의 0이 아닌 고윳값은 많아야 c개이고, 그 정보는 작은 행렬에 다 들어 있습니다. 숫자로 확인해 봅시다.]],
}

lesson:code[[
tensor.manual_seed(0)
-- N = 196 tokens, c = 16 channels || 토큰 196개, 채널 16개
K = tensor.randn(196, 16)
gram, cov = K:matmul(K:t()), K:t():matmul(K)      -- [196,196] and [16,16] || [196,196]과 [16,16]
function trace(A) return (A * tensor.eye(A:size(1))):sum():item() end
-- equal traces of A, A², A³: the same non-zero eigenvalues || 대각합이 같으면 0 아닌 고윳값이 같다
trace_err = 0
for p = 1, 3 do
  local G, C = gram, cov
  for _ = 2, p do G, C = G:matmul(gram), C:matmul(cov) end
  local tg, tc = trace(G), trace(C)
  trace_err = math.max(trace_err, math.abs(tg - tc) / tc)
  print(string.format("trace of power %d:  N x N %.6g   c x c %.6g"
                      || "%d제곱의 대각합:  N x N %.6g   c x c %.6g",
                      p, tg, tc))
end
-- power iteration on the small one || 작은 쪽에 거듭제곱법
v = tensor.ones(16, 1)
for _ = 1, 300 do v = cov:matmul(v); v = v / v:norm() end
lambda = v:t():matmul(cov):matmul(v):item()
u = K:matmul(v); u = u / u:norm()                 -- mapped to token space || 토큰 공간으로 옮김
eig_err = (gram:matmul(u) - u * lambda):abs():max():item() / lambda
print(string.format("top eigenvalue %.4f; K v: eigenvector (error %.1e)"
                    || "가장 큰 고윳값 %.4f, K v는 고유벡터 (오차 %.1e)",
                    lambda, eig_err))
]]
lesson:check(trace_err < 1e-4 and eig_err < 1e-4,
             {en = "K Kᵀ and Kᵀ K share eigenvalues, and K v carries the eigenvector across",
              ko = "K Kᵀ와 Kᵀ K는 고윳값이 같고, K v가 고유벡터를 대응시킨다"})

lesson:predict{
  question = {en = "N = 3136 tokens (56x56), 4 heads of c = 16 channels. How many numbers in one head's attention map, for self-attention and for XCA?",
              ko = "토큰 N = 3136 (56x56), 채널 c = 16짜리 헤드 4개. 헤드 하나의 어텐션 맵에 숫자가 몇 개일까요? 셀프 어텐션과 XCA 각각."},
  answer = {en = "9834496 and 256", ko = "9834496개와 256개"},
  explain = {en = "Self-attention: N² = 3136² = 9,834,496. XCA: c² = 16² = 256, and it stays 256 at any N.",
             ko = "셀프 어텐션: N² = 3136² = 9,834,496. XCA: c² = 16² = 256이고, N과 상관없이 늘 256입니다."},
}

lesson:code[[
tensor.manual_seed(0)
-- one head, written out by hand || 헤드 하나를 손으로 풀어 씀
N, c = 10, 4
q, k, v = tensor.randn(N, c), tensor.randn(N, c), tensor.randn(N, c)
-- unit length along N || N 방향으로 길이 1
function l2_tokens(t) return t / (t ^ 2):sum(1, true):sqrt() end
-- the learnable temperature || 학습되는 온도
tau = 1.5
-- [c,N]x[N,c] -> [c,c]
A = (l2_tokens(q):t():matmul(l2_tokens(k)) * tau):softmax(2)
-- [N,c]: each token's channels remixed by A || [N,c]: 토큰마다 채널을 A로 다시 섞음
out = v:matmul(A:t())
print("attention map" || "어텐션 맵", A:shape(), " output" || " 출력", out:shape())
ref = nn.F.xca(q:view(1, 1, N, c), k:view(1, 1, N, c), v:view(1, 1, N, c),
               tensor.full({1, 1, 1}, tau))
xca_err = (ref:view(N, c) - out):abs():max():item()
print("matches nn.F.xca (the op inside nn.XCA): max difference"
      || "nn.F.xca(nn.XCA 안의 연산)와의 최대 차이", xca_err)
]]
lesson:check(A:shape() == tensor.empty(4, 4):shape(), {en = "the XCA map is c x c = [4,4]",
             ko = "XCA 맵은 c x c = [4,4]다"})
lesson:check(xca_err < 1e-5, {en = "the hand-written XCA equals nn.F.xca",
             ko = "손으로 쓴 XCA가 nn.F.xca와 같다"})

lesson:say{
  en = [[Memory, measured on the meta device (no allocation, so N = 50176, a 224x224 image at one token per pixel, is safe to ask about): the peak bytes of one forward pass of nn.MultiheadAttention(64, 4) and nn.XCA(64, 4) on [1, N, 64].]],
  ko = [[메모리를 meta 장치에서 잽니다 (할당하지 않으므로 N = 50176, 즉 224x224 이미지를 픽셀마다 토큰 하나로 만든 경우도 안전하게 물어볼 수 있습니다): [1, N, 64]에 대한 nn.MultiheadAttention(64, 4)와 nn.XCA(64, 4)가 순전파 한 번에 쓰는 최대 바이트를 봅니다.]],
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
print("      N     self-attention          XCA"
      || "      N       셀프 어텐션            XCA")
for _, N in ipairs{196, 784, 3136, 12544, 50176} do
  mem[N] = {mha = peak_bytes(meta_mha, N, 64),
            xca = peak_bytes(meta_xca, N, 64)}
  print(string.format("%7d   %16s   %10s", N, tut.bytes(mem[N].mha),
                      tut.bytes(mem[N].xca)))
end
]]
local r_x = mem[50176].xca / mem[12544].xca
local r_a = mem[50176].mha / mem[12544].mha
lesson:check(r_x > 3.5 and r_x < 4.5, {
  en = string.format("XCA memory grows linearly: 4x the tokens -> %.2fx the bytes", r_x),
  ko = string.format("XCA 메모리는 N에 선형으로 늘어난다: 토큰 4배 -> 바이트 %.2f배", r_x)})
lesson:check(r_a > 14 and r_a < 17, {
  en = string.format("self-attention memory grows quadratically: 4x the tokens -> %.2fx the bytes", r_a),
  ko = string.format("셀프 어텐션 메모리는 N의 제곱으로 늘어난다: 토큰 4배 -> 바이트 %.2f배", r_a)})
lesson:check(mem[50176].mha > 40e9, {en = "self-attention over 50176 tokens needs > 40 GB even for one image",
             ko = "토큰 50176개의 셀프 어텐션은 이미지 한 장에도 40 GB가 넘게 든다"})

lesson:say{
  en = [[Where do 120.9 GB come from? One map [1, 4, 50176, 50176] in float32 is 40.3 GB, and nnlab's attention keeps three alive at its peak: the scores Q Kᵀ, the scores scaled by 1/√c, and their softmax. PyTorch's nn.MultiheadAttention scales q before the product, so it holds two: the scores and the softmax. Written that way by hand, the peak drops by one map:]],
  ko = [[120.9 GB는 어디서 나올까요? float32 맵 [1, 4, 50176, 50176] 하나가 40.3 GB인데, nnlab의 어텐션은 최대 시점에 세 개를 함께 들고 있습니다: 점수 Q Kᵀ, 1/√c로 스케일한 점수, 그리고 softmax. PyTorch의 nn.MultiheadAttention은 곱하기 전에 q를 스케일하므로 두 개만 듭니다: 점수와 softmax. 그 순서대로 직접 쓰면 최대 메모리가 맵 하나만큼 줄어듭니다:]],
}

lesson:code[[
-- q scaled first, as PyTorch does || PyTorch처럼 q를 먼저 스케일
function attention_qfirst(q, k, v)
  local qs = q * (1 / math.sqrt(q:size(-1)))
  local scores = qs:matmul(k:transpose(-2, -1))
  return scores:softmax(-1):matmul(v)             -- two N x N maps alive || N x N 맵 두 개
end
local N, h, c = 50176, 4, 16
local q = tensor.empty(1, h, N, c, {device = "meta"})
collectgarbage()
local base = tensor.memory_estimate().meta
tensor.reset_peak()
tensor.no_grad(function() return attention_qfirst(q, q, q) end)
qfirst_peak = tensor.memory_estimate().meta_peak - base
map_bytes = h * N * N * 4
print(string.format("one map %s; q first: peak %.2f maps; nnlab: %.2f maps"
                    || "맵 하나 %s, q 먼저: 최대 맵 %.2f개, nnlab: 맵 %.2f개",
                    tut.bytes(map_bytes), qfirst_peak / map_bytes,
                    mem[50176].mha / map_bytes))
]]
lesson:check(qfirst_peak < 2.1 * map_bytes and mem[50176].mha > 2.9 * map_bytes,
             {en = "scaling q first holds 2 maps at the peak; nnlab's attention holds 3",
              ko = "q를 먼저 스케일하면 최대 시점에 맵 2개, nnlab의 어텐션은 3개"})

local quick = lesson:quick()
_G.TIME_NS = quick and {8, 16, 64, 256, 1024} or {8, 16, 64, 256, 1024, 2048, 4096}
lesson:say{
  en = [[Time, measured for real on this CPU (forward pass only, d = 64, 4 heads)]] ..
       (quick and [[; --check mode stops at N = 1024 to stay fast.]] or "."),
  ko = [[시간은 이 CPU에서 실제로 측정합니다 (순전파만, d = 64, 헤드 4개)]] ..
       (quick and [[. --check 모드에서는 빨리 끝나도록 N = 1024에서 멈춥니다.]] or "."),
}

lesson:code[[
tensor.manual_seed(0)
cpu_mha, cpu_xca = nn.MultiheadAttention(64, 4), nn.XCA(64, 4)
times = {}
print("      N   self-attn ms     XCA ms    mult-adds attn / XCA"
      || "      N   셀프 어텐션 ms   XCA ms    mult-add 어텐션 / XCA")
for _, N in ipairs(TIME_NS) do
  local x = tensor.randn(1, N, 64)
  local reps = math.max(1, 1024 // N)
  local function t(m)
    local function run() for _ = 1, reps do m(x) end end
    return tut.time(tensor.no_grad, run) / reps
  end
  t(cpu_mha); t(cpu_xca)                                        -- warm up || 예열
  local ta, tx = t(cpu_mha), t(cpu_xca)
  local ma = nn.summary(cpu_mha, {1, N, 64}, {print = false}).mult_adds
  local mx = nn.summary(cpu_xca, {1, N, 64}, {print = false}).mult_adds
  times[#times + 1] = {N = N, attn = ta, xca = tx, ma = ma, mx = mx}
  print(string.format("%7d   %12.2f   %8.2f    %s / %s", N, ta * 1e3,
                      tx * 1e3, tut.int(ma), tut.int(mx)))
end
-- smallest N from which XCA stays faster || XCA가 계속 더 빠른 가장 작은 N
for i = #times, 1, -1 do
  if times[i].attn > times[i].xca then crossover = times[i].N else break end
end
print("measured crossover: XCA is faster from N =" || "측정 결과: XCA가 더 빨라지는 N =",
      crossover)
]]
local last = times[#times]
lesson:check(last.ma > last.mx, {en = "at the largest N, self-attention needs more mult-adds than XCA",
             ko = "가장 큰 N에서 셀프 어텐션의 mult-add가 XCA보다 많다"})
lesson:check(crossover ~= nil, {en = "XCA becomes faster than self-attention within the measured range",
             ko = "측정한 범위 안에서 XCA가 셀프 어텐션보다 빨라진다"})

lesson:say{
  en = [[In mult-adds the crossover is where N² c passes N c², i.e. N > c = d/heads: almost immediately. (Both models also pay the same q, k, v and output projections, which grow with N·d² and dominate at small N.) In measured time the crossover depends on the machine, which is why we measure.

XCA mixes channels but never lets neighbouring tokens talk. XCiT adds a Local Patch Interaction (LPI) block for that: a depthwise 3x3 convolution (one filter per channel, groups = C), BatchNorm, GELU, and a second depthwise convolution, applied to the tokens laid out as an image. Then a point-wise FFN. Each of the three parts sits behind a LayerNorm and inside a residual connection.

Positions come from fixed 2-D sin-cos encodings, computed from (row, column) at any size. Learned position embeddings would be a problem here: they are a table with one row per token position, fixed when the model is trained. XCA itself works at any N, so a larger test image is exactly what it is for, but a learned table would then have to be interpolated to the new grid, giving position codes the model never saw in training.]],
  ko = [[mult-add로 보면 교차점은 N² c가 N c²를 넘는 곳, 즉 N > c = d/heads인 곳이니 거의 처음부터입니다. (두 모델 모두 같은 q, k, v와 출력 투영을 계산하는데, 이것은 N·d²로 커지고 N이 작을 때는 이것이 대부분입니다.) 실제 시간의 교차점은 기계마다 다르므로 재어 봐야 합니다.

XCA는 채널을 섞을 뿐, 이웃한 토큰 사이에는 정보가 오가지 않습니다. 그래서 XCiT는 LPI (Local Patch Interaction) 블록을 더합니다: 토큰을 이미지 모양으로 펼쳐 놓고 depthwise 3x3 합성곱 (채널마다 필터 하나, groups = C), BatchNorm, GELU, 두 번째 depthwise 합성곱을 차례로 적용합니다. 그다음은 토큰마다 따로 적용하는(point-wise) FFN입니다. 세 부분 모두 앞에 LayerNorm이 있고, 잔차 연결로 감싸여 있습니다.

위치 정보는 고정된 2-D sin-cos 인코딩으로, (행, 열)에서 계산하므로 크기와 상관없이 만들 수 있습니다. 학습되는 위치 임베딩이라면 여기서 문제가 됩니다: 토큰 위치마다 한 행씩 있는 표이고, 그 크기는 학습할 때 정해집니다. XCA 자체는 N이 얼마든 동작하니 더 큰 이미지야말로 XCA가 쓰일 곳인데, 학습된 표는 새 격자에 맞게 보간해야 하고, 그러면 모델이 학습 중에 본 적 없는 위치 코드가 들어갑니다.]],
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
-- x [B,N,C] with N = H·W || x [B,N,C], N = H·W
function LPI:forward(x, H, W)
  local B, N, C = x:size(1), x:size(2), x:size(3)
  local img = x:transpose(2, 3):reshape(B, C, H, W) -- [B,C,H,W]
  local y = self.conv2(self.bn(self.conv1(img)):gelu())
  return y:reshape(B, C, N):transpose(2, 3)         -- back to [B,N,C] || [B,N,C]로 되돌림
end
lpi = LPI(64)
-- [2,196,64] + [196,64]
tokens = tensor.randn(2, 14 * 14, 64) + nn.pos_sincos_2d(14, 14, 64)
mixed = lpi(tokens, 14, 14)
print("LPI: " .. tut.shape(tokens) .. " -> " .. tut.shape(mixed)
      .. ", params " || ", 파라미터 "
      .. lpi:num_params() .. ", of which one depthwise conv "
      || ", 그중 depthwise 합성곱 하나에 "
      .. lpi.conv1:num_params())
]]
lesson:check(mixed:shape() == tokens:shape(), {en = "LPI keeps the token shape [2,196,64]",
             ko = "LPI는 토큰 모양 [2,196,64]를 유지한다"})
lesson:check(lpi.conv1:num_params() == 640, {en = "a depthwise 3x3 conv over 64 channels has 640 parameters",
             ko = "채널 64개에 대한 depthwise 3x3 합성곱의 파라미터는 640개다"})

lesson:say{
  en = [[Now one whole XCiT block: x + XCA(LN(x)), then + LPI(LN(x)), then + FFN(LN(x)), at the size of XCiT-S: d = 384, 8 heads, an FFN 4x wide, 14 x 14 = 196 tokens. (XCiT also multiplies each branch by a learned vector of d numbers, LayerScale; we leave it out.)]],
  ko = [[이제 XCiT 블록 하나를 통째로 만듭니다: x + XCA(LN(x)), 그다음 + LPI(LN(x)), 그다음 + FFN(LN(x)). 크기는 XCiT-S와 같게: d = 384, 헤드 8개, 4배 넓은 FFN, 토큰 14 x 14 = 196개. (XCiT는 각 분기(branch)에 학습되는 d차원 벡터를 곱하는 LayerScale도 쓰지만 여기서는 뺍니다.)]],
}

lesson:code[[
XCiTBlock = nn.Module:extend("XCiTBlock")
function XCiTBlock:init(d, heads)
  self.ln1, self.xca = nn.LayerNorm(d), nn.XCA(d, heads)
  self.ln2, self.lpi = nn.LayerNorm(d), LPI(d)
  self.ln3 = nn.LayerNorm(d)
  self.ffn = nn.Sequential(nn.Linear(d, 4 * d), nn.GELU(),
                           nn.Linear(4 * d, d))
end
function XCiTBlock:forward(x, H, W)                 -- x [B,N,d], N = H·W || x [B,N,d], N = H·W
  x = x + self.xca(self.ln1(x))                     -- channels mix || 채널끼리 섞기
  x = x + self.lpi(self.ln2(x), H, W)               -- neighbours mix || 이웃 토큰끼리 섞기
  return x + self.ffn(self.ln3(x))                  -- each token alone || 토큰마다 따로
end
blk = XCiTBlock(384, 8)
xt = tensor.randn(2, 196, 384) + nn.pos_sincos_2d(14, 14, 384)
yt = blk(xt, 14, 14)
blk_params = blk:num_params()
print("XCiT block:" || "XCiT 블록:", xt:shape(), "->", yt:shape(),
      " params" || " 파라미터", tut.int(blk_params))
print("  of which XCA" || "  그중 XCA", tut.int(blk.xca:num_params()), " LPI",
      tut.int(blk.lpi:num_params()),
      " FFN", tut.int(blk.ffn:num_params()))
local x28 = tensor.randn(1, 28 * 28, 384) + nn.pos_sincos_2d(28, 28, 384)
big = blk(x28, 28, 28)
print("the same block on a 28 x 28 grid:" || "같은 블록을 28 x 28 격자에:", big:shape())
]]
lesson:check(yt:shape() == xt:shape() and big:size(2) == 784,
             {en = "one block keeps [2,196,384], and runs unchanged on 784 tokens",
              ko = "블록 하나가 [2,196,384]를 유지하고, 토큰 784개에서도 그대로 동작한다"})
lesson:check(blk_params + 3 * 384 == 1783688,
             {en = string.format("%s parameters + LayerScale's 3·384 = 1,783,688, timm's XCABlock(384, 8) in PyTorch",
                                 tut.int(blk_params)),
              ko = string.format("파라미터 %s개 + LayerScale의 3·384개 = 1,783,688개, PyTorch timm의 XCABlock(384, 8)과 같다",
                                 tut.int(blk_params))})

lesson:finish()
