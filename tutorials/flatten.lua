-- flatten: [1,65536,64] to 8 outputs, three ways; what each costs and what each computes
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
             ko = "65536 · 64 = 4,194,304 입력 × 출력 8 = 33,554,432 가중치: float32로 134 MB, 헤드 하나에."},
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
local y = x_meta:flatten(2):matmul(W_big)           -- [1,4194304] x [4194304,8] -> [1,8]
print("route 1:", x_meta:shape(), "-> flatten", x_meta:flatten(2):shape(), "-> matmul ->", y:shape())
y:sum():backward()
optim.Adam({W_big}, {lr = 1e-3}):step()
route1_bytes = tensor.memory_estimate().meta - m0
print(string.format("params %s   weight %.1f MB   weight+grad+Adam(m,v) %.1f MB",
                    W_big:numel(), w_bytes / 1e6, route1_bytes / 1e6))
print(string.format("one such head in each of 12 transformer blocks: %.1f GB", 12 * route1_bytes / 1e9))
]]
lesson:check(W_big:numel() == 33554432, "route 1 has 33,554,432 weights")
lesson:check(route1_bytes >= 4 * 33554432 * 4, "weight + grad + 2 Adam buffers >= 537 MB (4 copies of 134 MB)")

lesson:say{
  en = [[Route 2 treats the 65536 tokens as rows: nn.Linear(64, 8) acts on the LAST dim only, with the same 64x8 weight for every token. That gives [1, 65536, 8], not yet 8 numbers. The author's route then multiplies xᵀ (64 x 65536) by that [65536, 8] to reach [64, 8], and reduces further (e.g. argmax over the 64) to get 8 values.]],
  ko = [[방법 2는 토큰 65536개를 행으로 봅니다: nn.Linear(64, 8)은 마지막 차원에만 작용하고, 모든 토큰에 같은 64x8 가중치를 씁니다. 결과는 [1, 65536, 8]로, 아직 숫자 8개가 아닙니다. 글쓴이의 방법은 여기에 xᵀ (64 x 65536)를 곱해 [64, 8]을 만들고, 더 줄여서 (예: 64개에 대한 argmax) 값 8개를 얻습니다.]],
}

lesson:code[[
tensor.manual_seed(0)
x = tensor.randn(1, 65536, 64)                      -- real numbers this time: 16.8 MB
lin = nn.Linear(64, 8, {bias = false})
h = lin(x)                                          -- [1,65536,64] x [8,64]ᵀ -> [1,65536,8]
print("Linear(64,8) on the last dim:", x:shape(), "->", h:shape(), " params", (lin:num_params()))
g = x[1]:t():matmul(h[1])                           -- [64,65536] x [65536,8] -> [64,8]
print("author's route: xᵀ h ->", g:shape(), "-> argmax over dim 1 ->", g:argmax(1):shape())
]]
lesson:check(lin:num_params() == 512 and h:shape() == tensor.empty(1, 65536, 8):shape(),
             "Linear(64,8) has 512 weights and maps [1,65536,64] -> [1,65536,8]")
lesson:check(g:shape() == tensor.empty(64, 8):shape(), "xᵀ h is [64,8]")

lesson:say{
  en = [[Route 3, the usual ViT head: pool over the tokens (mean over dim 2) to [1, 64], then nn.Linear(64, 8) -> [1, 8]. 64·8 + 8 = 520 parameters.]],
  ko = [[방법 3, 흔한 ViT 헤드: 토큰에 대해 풀링(2번 차원 평균)해서 [1, 64]로 만든 뒤 nn.Linear(64, 8) -> [1, 8]. 파라미터는 64·8 + 8 = 520개.]],
}

lesson:code[[
head = nn.Linear(64, 8)
pooled = x:mean(2)                                  -- [1,65536,64] -> [1,64]
out3 = head(pooled)                                 -- [1,64] -> [1,8]
print("route 3:", x:shape(), "-> mean over tokens", pooled:shape(), "-> Linear ->", out3:shape(),
      " params", (head:num_params()))
print(string.format("route 1 has %.0fx more weights than Linear(64,8)", 33554432 / 512))
]]
lesson:check(out3:shape() == tensor.empty(1, 8):shape() and head:num_params() == 520, "route 3 gives [1,8] with 520 params")

lesson:say{
  en = [[Honest accounting: routes 2 and 3 have 65,536x fewer weights, but they are DIFFERENT FUNCTIONS, not the same computation made cheaper. Route 1 has a separate weight for every (token, channel) pair, so it can react to WHERE something is. Routes 2 and 3 share one weight across all tokens. Route 3 cannot even tell the token order: shuffle the tokens and its output does not change. That is a design choice (an inductive bias), and usually a good one, but it is a choice.]],
  ko = [[정직하게 따져 봅시다: 방법 2와 3은 가중치가 65,536배 적지만, 같은 계산을 싸게 한 것이 아니라 "다른 함수"입니다. 방법 1은 (토큰, 채널) 쌍마다 따로 가중치가 있어 무엇이 "어디에" 있는지에 반응할 수 있습니다. 방법 2와 3은 모든 토큰이 가중치 하나를 공유합니다. 방법 3은 토큰 순서조차 구별하지 못합니다: 토큰을 섞어도 출력이 그대로입니다. 이것은 설계상의 선택(귀납적 편향)이고, 대개 좋은 선택이지만, 어디까지나 선택입니다.]],
}

lesson:code[[
local idx = tensor.arange(65536, 0, -1)             -- reverse the token order
shuffled = x:index_select(2, idx)
diff3 = (head(shuffled:mean(2)) - out3):abs():max():item()
print("route 3, tokens reversed: max change", diff3)
-- route 1 with a small real weight on 16 tokens shows the opposite
local xs = tensor.randn(1, 16, 64)
local W = tensor.randn(16 * 64, 8)
local a = xs:flatten(2):matmul(W)
local b = xs:index_select(2, tensor.arange(16, 0, -1)):flatten(2):matmul(W)
diff1 = (a - b):abs():max():item()
print("route 1 (16 tokens), tokens reversed: max change", diff1)
]]
lesson:check(diff3 < 1e-4, "pooling + Linear ignores the token order")
lesson:check(diff1 > 1e-2, "flatten + big weight depends on the token order")

lesson:finish()
