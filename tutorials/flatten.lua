-- flatten: [1,65536,64] to 8 outputs, three ways, honestly
local L = dofile((arg and arg[0] and arg[0]:match("(.*/)") or "tutorials/") .. "lib/lesson.lua")
local lesson = L.new{name = "flatten", title = {en = "matching dimensions: [1,65536,64] -> 8 outputs",
                                                ko = "차원 맞추기: [1,65536,64] -> 출력 8개"}}

lesson:say{
  en = [[Inside a ViT an activation has shape [1, 65536, 64]: 1 image, 65536 tokens, 64 channels. A head must turn it into 8 numbers. We look at three routes, at their shapes and parameter counts, and at what each one actually computes.]],
  ko = [[ViT 내부의 활성값 모양이 [1, 65536, 64]입니다: 이미지 1장, 토큰 65536개, 채널 64개. 헤드는 이것을 숫자 8개로 바꿔야 합니다. 세 가지 방법을 모양, 파라미터 수, 그리고 실제로 무엇을 계산하는지의 관점에서 살펴봅니다.]],
}

lesson:say{
  en = [[Route 1, the first idea: flatten everything to [1, 65536·64] and multiply by a weight [65536·64, 8].]],
  ko = [[방법 1, 처음 떠오르는 생각: 전부 펼쳐서 [1, 65536·64]로 만들고 가중치 [65536·64, 8]을 곱합니다.]],
}

lesson:predict{
  question = {en = "How many weights does [65536·64, 8] hold?", ko = "[65536·64, 8]에는 가중치가 몇 개일까요?"},
  answer = "33,554,432",
  explain = {en = "65536 · 64 = 4,194,304 inputs, times 8 outputs = 33,554,432 weights: 134 MB in float32, for ONE head.",
             ko = "입력 65536 · 64 = 4,194,304개 × 출력 8개 = 가중치 33,554,432개: float32로 134 MB, 그것도 헤드 하나에만."},
}

lesson:say{
  en = [[Training needs more than the weight: its gradient (same size) and Adam's two running averages (same size each). The meta device runs the forward pass, the backward pass and one Adam step without allocating anything, and counts the bytes.]],
  ko = [[학습에는 가중치만 있는 게 아닙니다: 그 기울기(같은 크기)와 Adam의 이동 평균 두 개(각각 같은 크기)가 필요합니다. meta 장치는 아무것도 할당하지 않고 순전파, 역전파, Adam 한 스텝을 실행하며 바이트를 셉니다.]],
}

lesson:code[[
x_meta = tensor.randn(1, 65536, 64, {device = "meta"})
local m0 = tensor.memory_estimate().meta
W_big = tensor.empty(65536 * 64, 8, {device = "meta"}):requires_grad(true)
local w_bytes = tensor.memory_estimate().meta - m0
-- [1,4194304] x [4194304,8] -> [1,8]
local y = x_meta:flatten(2):matmul(W_big)
print("route 1: " || "방법 1: " .. tut.shape(x_meta) .. " -> flatten "
      .. tut.shape(x_meta:flatten(2)) .. " -> matmul " .. tut.shape(y))
y:sum():backward()
optim.Adam({W_big}, {lr = 1e-3}):step()
route1_bytes = tensor.memory_estimate().meta - m0
print(string.format(
  "params %s   weight %.1f MB   +grad+Adam(m,v) %.1f MB"
  || "파라미터 %s개   가중치 %.1f MB   +기울기+Adam(m,v) %.1f MB",
                    W_big:numel(), w_bytes / 1e6, route1_bytes / 1e6))
print(string.format("one such head in each of 12 blocks: %.1f GB"
                    || "블록 12개에 이런 헤드가 하나씩이면: %.1f GB",
                    12 * route1_bytes / 1e9))
]]
lesson:check(W_big:numel() == 33554432, {en = "route 1 has 33,554,432 weights",
             ko = "방법 1의 가중치는 33,554,432개다"})
lesson:check(route1_bytes >= 4 * 33554432 * 4, {en = "weight + grad + 2 Adam buffers >= 537 MB (4 copies of 134 MB)",
             ko = "가중치 + 기울기 + Adam 버퍼 2개 >= 537 MB (134 MB짜리 4벌)"})

lesson:say{
  en = [[Route 2 treats the 65536 tokens as rows: nn.Linear(64, 8) acts on the LAST dim only, with the same 64x8 weight for every token. That gives [1, 65536, 8], not yet 8 numbers. The blog post this lesson comes from (a lab member's "deep learning is matching dimensions") then multiplies xᵀ (64 x 65536) by that [65536, 8] to reach [64, 8], and reduces further (e.g. argmax over the 64) to get 8 values. We call it the post's route.]],
  ko = [[방법 2는 토큰 65536개를 행으로 봅니다: nn.Linear(64, 8)은 마지막 차원에만 작용하고, 모든 토큰에 같은 64x8 가중치를 씁니다. 결과는 [1, 65536, 8]로, 아직 숫자 8개가 아닙니다. 이 레슨의 바탕이 된 블로그 글(연구실 구성원이 쓴 "딥러닝은 차원 맞추기")은 여기에 xᵀ (64 x 65536)를 곱해 [64, 8]을 만들고, 더 줄여서 (예: 64개 중 argmax) 값 8개를 얻습니다. 이것을 "글의 방법"이라고 부르겠습니다.]],
}

lesson:code[[
tensor.manual_seed(0)
-- real numbers this time: 16.8 MB || 이번엔 진짜 숫자: 16.8 MB
x = tensor.randn(1, 65536, 64)
lin = nn.Linear(64, 8, {bias = false})
-- [1,65536,64] x [8,64]ᵀ -> [1,65536,8]
h = lin(x)
print("Linear(64,8) on the last dim: " || "마지막 차원에 Linear(64,8): "
      .. tut.shape(x) .. " -> " .. tut.shape(h)
      .. ", params " || ", 파라미터 " .. lin:num_params())
-- [64,65536] x [65536,8] -> [64,8]
g = x[1]:t():matmul(h[1])
print("the post's route: xᵀ h ->" || "글의 방법: xᵀ h ->", g:shape(),
      "-> argmax over dim 1 ->" || "-> 1번 차원에서 argmax ->",
      g:argmax(1):shape())
]]
lesson:check(lin:num_params() == 512 and h:shape() == tensor.empty(1, 65536, 8):shape(),
             {en = "Linear(64,8) has 512 weights and maps [1,65536,64] -> [1,65536,8]",
             ko = "Linear(64,8)은 가중치가 512개이고 [1,65536,64]를 [1,65536,8]로 바꾼다"})
lesson:check(g:shape() == tensor.empty(64, 8):shape(), {en = "xᵀ h is [64,8]",
             ko = "xᵀ h는 [64,8]이다"})

lesson:say{
  en = [[Route 3, the usual ViT head: pool over the tokens (mean over dim 2) to [1, 64], then nn.Linear(64, 8) -> [1, 8]. 64·8 + 8 = 520 parameters.]],
  ko = [[방법 3, 흔한 ViT 헤드: 토큰에 대해 풀링(2번 차원 평균)해서 [1, 64]로 만든 뒤 nn.Linear(64, 8) -> [1, 8]. 파라미터는 64·8 + 8 = 520개.]],
}

lesson:code[[
head = nn.Linear(64, 8)
-- [1,65536,64] -> [1,64]
pooled = x:mean(2)
out3 = head(pooled)                                 -- [1,64] -> [1,8]
print("route 3: " || "방법 3: " .. tut.shape(x)
      .. " -> mean over tokens " || " -> 토큰 평균 " .. tut.shape(pooled)
      .. " -> Linear " .. tut.shape(out3)
      .. ", params " || ", 파라미터 " .. head:num_params())
print(string.format("route 1 has %.0fx more weights than Linear(64,8)"
                    || "방법 1의 가중치는 Linear(64,8)의 %.0f배",
                    33554432 / 512))
]]
lesson:check(out3:shape() == tensor.empty(1, 8):shape() and head:num_params() == 520, {en = "route 3 gives [1,8] with 520 params",
             ko = "방법 3은 파라미터 520개로 [1,8]을 낸다"})

lesson:say{
  en = [[Honest accounting, in three parts.

Parameters: routes 2 and 3 have 65,536x fewer weights, and with them 65,536x less gradient and optimizer state. That is what the post's fix saves.

Compute: it does not shrink. Route 1 multiplies 4,194,304 inputs by 8 outputs: 33,554,432 mult-adds. Linear(64, 8) on 65536 tokens is 65536·64·8 = the same 33,554,432, and xᵀ h adds as many again. Only route 3, which averages first, is cheap.

Function: they are DIFFERENT FUNCTIONS, not the same computation made cheaper. Route 1 has a separate weight for every (token, channel) pair, so it can react to WHERE something is. Routes 2 and 3 share one weight across all tokens, and NEITHER can tell the token order. Route 3 averages the tokens. Route 2 computes xᵀ(x Wᵀ) = (xᵀx) Wᵀ, and xᵀx = Σ_t x_t x_tᵀ is a sum over the tokens: shuffle them and the sum is the same. That is a design choice (an inductive bias), often a good one, but it is a choice.]],
  ko = [[정직하게 따져 봅시다. 세 가지로 나눠 봅니다.

파라미터: 방법 2와 3은 가중치가 65,536배 적고, 그만큼 기울기와 옵티마이저 상태도 65,536배 적습니다. 글의 방법이 아끼는 것은 이것입니다.

계산량: 줄지 않습니다. 방법 1은 입력 4,194,304개에 출력 8개를 곱하니 mult-add가 33,554,432번입니다. 토큰 65536개에 Linear(64, 8)을 적용해도 65536·64·8 = 똑같이 33,554,432번이고, xᵀ h가 그만큼 더 듭니다. 계산이 적게 드는 것은 먼저 평균을 내는 방법 3뿐입니다.

함수: 같은 계산을 싸게 한 것이 아니라 "다른 함수"입니다. 방법 1은 (토큰, 채널) 쌍마다 가중치가 따로 있어서 무엇이 "어디에" 있는지에 반응할 수 있습니다. 방법 2와 3은 모든 토큰이 같은 가중치를 나눠 쓰고, "둘 다" 토큰 순서를 구별하지 못합니다. 방법 3은 토큰을 평균합니다. 방법 2는 xᵀ(x Wᵀ) = (xᵀx) Wᵀ를 계산하는데, xᵀx = Σ_t x_t x_tᵀ는 토큰에 대한 합이므로 토큰을 섞어도 그대로입니다. 이것은 설계상의 선택(귀납적 편향)이고 좋은 선택일 때가 많지만, 어디까지나 선택입니다.]],
}

lesson:code[[
-- mult-adds of each route, counted by nn.summary || 방법마다 mult-add 수, nn.summary가 셉니다
ma_lin = nn.summary(lin, {1, 65536, 64}, {print = false}).mult_adds
-- xᵀ h: [64,65536] x [65536,8]
ma_xth = 64 * 65536 * 8
print("route 1 (flatten x W_big):  " || "방법 1 (펼치기 x W_big):", tut.int(65536 * 64 * 8))
print("route 2 (Linear, then xᵀ h):" || "방법 2 (Linear 뒤 xᵀ h):", tut.int(ma_lin), "+",
      tut.int(ma_xth))
ma_head = nn.summary(head, {1, 64}, {print = false}).mult_adds
print("route 3 (mean, then Linear):" || "방법 3 (평균 뒤 Linear):", tut.int(ma_head),
      "+ 4,194,304 adds for the mean" || "+ 평균에 덧셈 4,194,304번")
]]
lesson:check(ma_lin == 33554432, {en = "Linear(64,8) over 65536 tokens costs 33,554,432 mult-adds, like route 1",
             ko = "토큰 65536개에 대한 Linear(64,8)도 방법 1처럼 mult-add 33,554,432번"})

lesson:code[[
local idx = tensor.arange(65536, 0, -1)     -- reverse the token order || 토큰 순서를 뒤집습니다
shuffled = x:index_select(2, idx)
diff3 = (head(shuffled:mean(2)) - out3):abs():max():item()
print("route 3, tokens reversed: max change" || "방법 3, 토큰 순서 뒤집기: 최대 변화", diff3)
g_rev = shuffled[1]:t():matmul(lin(shuffled)[1])  -- route 2, reversed || 뒤집은 토큰에 방법 2
diff2 = (g_rev - g):abs():max():item()
-- relative to the largest entry || 가장 큰 원소에 대한 비율
rel2 = diff2 / g:abs():max():item()
print("route 2, tokens reversed: relative change"
      || "방법 2, 토큰 순서 뒤집기: 상대 변화", rel2)
-- route 1, a real weight on 16 tokens: the opposite || 방법 1, 토큰 16개에 진짜 가중치: 반대 결과
local xs = tensor.randn(1, 16, 64)
local W = tensor.randn(16 * 64, 8)
local a = xs:flatten(2):matmul(W)
local b = xs:index_select(2, tensor.arange(16, 0, -1)):flatten(2):matmul(W)
diff1 = (a - b):abs():max():item()
print("route 1 (16 tokens), tokens reversed: max change"
      || "방법 1 (토큰 16개), 토큰 순서 뒤집기: 최대 변화", diff1)
]]
lesson:check(diff3 < 1e-4, {en = "pooling + Linear ignores the token order",
             ko = "풀링 + Linear는 토큰 순서를 무시한다"})
lesson:check(rel2 < 1e-5, {en = "the post's route ignores the token order too (only rounding changes)",
             ko = "글의 방법도 토큰 순서를 무시한다 (반올림 오차만 달라진다)"})
lesson:check(diff1 > 1e-2, {en = "flatten + big weight depends on the token order",
             ko = "펼치기 + 큰 가중치는 토큰 순서에 따라 달라진다"})

lesson:finish()
