-- papers: onboarding 10, landmark papers, predicted and run
local L = dofile((arg and arg[0] and arg[0]:match("(.*/)") or "tutorials/") .. "lib/lesson.lua")
local lesson = L.new{name = "papers", title = {en = "onboarding 10: a basic paper list, run",
                                               ko = "온보딩 10: 기본 논문 목록, 직접 돌려 보기"}}

lesson:say{
  en = [[Seven results every newcomer meets in the first month, each from one paper. For each: a question to answer before you look, then a small experiment on this machine that shows it. Read the paper afterwards; you will know what to look for.

Backpropagation itself (Rumelhart, Hinton & Williams 1986) is the starting point of them all; the gd and frameworks lessons covered it.]],
  ko = [[연구실에 들어와 첫 달 안에 누구나 마주치는 결과 일곱 가지와, 그 결과를 낸 논문을 한 편씩 골랐습니다. 각각에 대해 먼저 답을 예측해 보고, 이 컴퓨터에서 작은 실험으로 확인합니다. 논문은 그다음에 읽으세요. 무엇을 찾아 읽어야 할지 알게 됩니다.

이 모든 것의 출발점인 역전파 (Rumelhart, Hinton, Williams 1986)는 gd와 frameworks 레슨에서 다뤘습니다.]],
}

-- 1 --------------------------------------------------------------------------------------
lesson:say{
  en = [[1. Vanishing gradients. Glorot & Bengio, "Understanding the difficulty of training deep feedforward neural networks" (2010). A sigmoid's slope is at most 0.25, so the gradient shrinks at every layer on its way back. ReLU (Nair & Hinton 2010; Glorot, Bordes & Bengio 2011) has slope 1 where it is active, and with He initialisation (He et al. 2015) the signal keeps its size.]],
  ko = [[1. 기울기 소실. Glorot & Bengio, "Understanding the difficulty of training deep feedforward neural networks" (2010). 시그모이드 함수의 도함수 값은 최대 0.25라서, 기울기가 층을 거슬러 올라갈 때마다 작아집니다. ReLU (Nair & Hinton 2010; Glorot, Bordes, Bengio 2011)는 활성화된 구간에서 도함수가 1이고, He 초기화 (He 외 2015)와 함께 쓰면 신호의 크기가 유지됩니다.]],
}

lesson:predict{
  question = {en = "10 sigmoid layers of width 64 (Xavier init). Is the first layer's gradient more than 1000x smaller than the last one's? (yes/no)",
              ko = "폭 64인 시그모이드 층 10개 (Xavier 초기화). 첫 층의 기울기가 마지막 층보다 1000배 넘게 작을까요? (예/아니오)"},
  answer = {en = "yes", ko = "예"},
  explain = {en = "Each layer multiplies the gradient by at most 0.25 times the weights: after 10 layers it is millions of times smaller (measured below).",
             ko = "층마다 기울기에 (0.25 이하) x (가중치)가 곱해집니다: 10층을 지나면 수백만 배 작아집니다 (아래에서 직접 측정합니다)."},
}

lesson:code[[
function deep_net(act, init, depth, width)
  local layers = {}
  for _ = 1, depth do
    local lin = nn.Linear(width, width)
    init(lin.weight, width)
    layers[#layers + 1] = lin
    layers[#layers + 1] = act()
  end
  layers[#layers + 1] = nn.Linear(width, 1)
  return nn.Sequential(table.unpack(layers))
end
local xavier = function(W, n) nn.init.xavier_uniform_(W, n, n) end
local he = function(W, n) nn.init.normal_(W, 0, math.sqrt(2 / n)) end
shrink = {}
for _, a in ipairs{{"sigmoid", nn.Sigmoid, xavier}, {"relu", nn.ReLU,
                                                     he}} do
  tensor.manual_seed(0)
  local m = deep_net(a[2], a[3], 10, 64)
  m(tensor.randn(128, 64)):pow(2):mean():backward()
  local first = m[1].weight.grad:abs():mean():item()      -- layer 1 || 1층
  local last = m[19].weight.grad:abs():mean():item()      -- layer 10 || 10층
  local name = a[1]
  shrink[name] = last / first
  print(string.format("%-8s mean|grad| layer 1 %.2e, 10 %.2e, ratio %.3g"
                      || "%-8s 평균|grad| 1층 %.2e, 10층 %.2e, 비율 %.3g",
                      a[1], first, last, last / first))
end
]]
lesson:check(shrink.sigmoid > 1e5 and shrink.relu < 100,
             {en = string.format("sigmoid: layer 1 gets a %.2g x smaller gradient; ReLU + He: %.1f x",
                                 shrink.sigmoid, shrink.relu),
              ko = string.format("시그모이드: 1층 기울기가 %.2g배 작다. ReLU + He: %.1f배",
                                 shrink.sigmoid, shrink.relu)})

-- 2 --------------------------------------------------------------------------------------
lesson:say{
  en = [[2. Residual connections. He, Zhang, Ren & Sun, "Deep Residual Learning for Image Recognition" (2015). Deeper plain networks trained WORSE than shallower ones, even on the training set: not overfitting, but an optimisation problem. Their fix: each block adds its input back, x + f(x), so a block only has to learn a correction, and the gradient has a direct path to every layer.]],
  ko = [[2. 잔차 연결. He, Zhang, Ren, Sun, "Deep Residual Learning for Image Recognition" (2015). 평범한 네트워크는 깊게 쌓을수록 학습 데이터에서조차 "더 나빠졌습니다": 과적합이 아니라 최적화의 문제입니다. 해결책은 블록마다 입력을 다시 더하는 x + f(x)입니다. 그러면 블록은 입력에 더할 보정만 배우면 되고, 기울기가 모든 층까지 곧바로 전달되는 경로가 생깁니다.]],
}

lesson:predict{
  question = {en = "30 blocks of Linear(32,32) + ReLU, 200 Adam steps on y = Σ sin(x_i). The targets have variance 4.03. Will the plain net get its MSE below 2? (yes/no)",
              ko = "Linear(32,32) + ReLU 블록 30개, y = Σ sin(x_i)에 Adam 200스텝. 목표값의 분산은 4.03입니다. 평범한 네트워크가 MSE를 2 아래로 낮출까요? (예/아니오)"},
  answer = {en = "no", ko = "아니오"},
  explain = {en = "The plain net stays at the variance: it predicts a constant. The same blocks with x + f(x) learn the function.",
             ko = "평범한 네트워크는 분산 근처에 머뭅니다: 상수만 예측합니다. 같은 블록에 x + f(x)를 쓰면 함수를 배웁니다."},
}

lesson:code[[
Block = nn.Module:extend("PaperBlock")
function Block:init(width, kind)
  self.fc, self.kind = nn.Linear(width, width), kind
  if kind == "batchnorm" then self.bn = nn.BatchNorm1d(width) end
end
function Block:forward(x)
  if self.kind == "batchnorm" then return self.bn(self.fc(x)):relu() end
  local h = self.fc(x):relu()
  if self.kind == "residual" then return x + h end         -- the skip || 지름길
  return h
end
function deep_fit(kind)
  tensor.manual_seed(0)
  local blocks = {nn.Linear(8, 32)}
  for i = 2, 31 do blocks[i] = Block(32, kind) end
  blocks[32] = nn.Linear(32, 1)
  local m = nn.Sequential(table.unpack(blocks))
  local x = tensor.randn(256, 8)
  local y = x:sin():sum(2, true)
  local opt = optim.Adam(m, {lr = 1e-3})
  local loss
  for _ = 1, 200 do
    opt:zero_grad()
    loss = nn.mse_loss(m(x), y)
    loss:backward()
    opt:step()
  end
  return loss:item(), y:var():item()
end
deep = {}
for _, k in ipairs{{"plain", "plain   " || "평범한 망"},
                   {"residual", "residual" || "잔차 연결"}} do
  local kind, label = k[1], k[2]
  deep[kind], target_var = deep_fit(kind)
  print(string.format("%s  30 blocks, MSE after 200 steps %.4f"
                      || "%s  블록 30개, 200스텝 뒤 MSE %.4f",
                      label, deep[kind]))
end
print(string.format("variance of the targets %.4f" || "목표값의 분산 %.4f", target_var))
]]
lesson:check(deep.plain > 0.9 * target_var and deep.residual < 0.5 * target_var,
             {en = string.format("plain: MSE %.2f, the variance (nothing learned); residual: %.2f",
                                 deep.plain, deep.residual),
              ko = string.format("평범한 네트워크: MSE %.2f, 분산 그대로 (배운 것 없음). 잔차: %.2f",
                                 deep.plain, deep.residual)})

-- 3 --------------------------------------------------------------------------------------
lesson:say{
  en = [[3. Batch normalisation. Ioffe & Szegedy, "Batch Normalization: Accelerating Deep Network Training by Reducing Internal Covariate Shift" (2015). Normalise each feature over the batch to mean 0 and variance 1, then let the layer learn a scale and a shift. Every layer then sees inputs of a steady size, whatever the layers before it do. (Why it helps is still argued about; that it helps is not.)]],
  ko = [[3. 배치 정규화. Ioffe & Szegedy, "Batch Normalization: Accelerating Deep Network Training by Reducing Internal Covariate Shift" (2015). 특징마다 배치에 걸쳐 평균 0, 분산 1로 정규화한 뒤, 스케일과 이동량은 층이 학습하게 합니다. 그러면 앞 층들이 무엇을 하든 각 층은 일정한 크기의 입력을 받습니다. (왜 도움이 되는지는 아직 논쟁 중이지만, 도움이 된다는 것에는 이견이 없습니다.)]],
}

lesson:code[[
bn = nn.BatchNorm1d(4)
local x = tensor.randn(512, 4) * 100 + 7             -- big and off-centre || 크고 치우친 값
local y = bn(x)
-- 4 numbers on one line || 숫자 4개를 한 줄에
local function row(t)
  local s = {}
  for i = 1, t:size(1) do s[i] = string.format("%7.1f", t[i]:item()) end
  return table.concat(s)
end
print("before  mean" || "BN 전  평균" .. row(x:mean(1))
      .. "   std" || "  표준편차" .. row(x:std(1)))
print("after   mean" || "BN 후  평균" .. row(y:mean(1))
      .. "   std" || "  표준편차" .. row(y:std(1)))
bn_mean = y:mean(1):abs():max():item()
bn_std = (y:std(1) - 1):abs():max():item()
-- the 30 plain blocks + BN || 평범한 30블록 + BN
deep.batchnorm = deep_fit("batchnorm")
print(string.format("30 plain blocks + BatchNorm: MSE after 200 steps %.4f"
                    || "평범한 블록 30개 + BatchNorm: 200스텝 뒤 MSE %.4f",
                    deep.batchnorm))
]]
lesson:check(bn_mean < 1e-3 and bn_std < 0.01,
             {en = "BatchNorm1d gives each feature mean 0 and std 1 over the batch",
              ko = "BatchNorm1d는 배치에 걸쳐 특징마다 평균 0, 표준편차 1로 만든다"})
lesson:check(deep.batchnorm < 0.5 * target_var,
             {en = string.format("the plain 30 blocks train with BatchNorm: MSE %.3f (without: %.2f)",
                                 deep.batchnorm, deep.plain),
              ko = string.format("평범한 30블록도 BatchNorm을 넣으면 학습된다: MSE %.3f (없으면 %.2f)",
                                 deep.batchnorm, deep.plain)})

-- 4 --------------------------------------------------------------------------------------
lesson:say{
  en = [[4. Dropout. Srivastava, Hinton, Krizhevsky, Sutskever & Salakhutdinov, "Dropout: A Simple Way to Prevent Neural Networks from Overfitting" (2014). During training each unit is zeroed with probability p, so no unit can count on a particular partner; the survivors are scaled by 1/(1-p) so that the expected value stays the same. At test time nothing is dropped (model:eval()). The regularization lesson measured what it does to overfitting.]],
  ko = [[4. 드롭아웃. Srivastava, Hinton, Krizhevsky, Sutskever, Salakhutdinov, "Dropout: A Simple Way to Prevent Neural Networks from Overfitting" (2014). 학습 중에 유닛마다 확률 p로 0을 만들어, 어떤 유닛도 특정한 다른 유닛에 기대지 못하게 합니다. 남은 값에는 1/(1-p)를 곱해 기댓값을 그대로 유지합니다. 테스트할 때는 아무것도 지우지 않습니다 (model:eval()). 과적합에 주는 효과는 regularization 레슨에서 쟀습니다.]],
}

lesson:predict{
  question = {en = "nn.Dropout(0.5) in training mode on 10,000 ones: what is the mean of the output, roughly?",
              ko = "학습 모드의 nn.Dropout(0.5)에 1을 10,000개 넣으면 출력의 평균은 대략 얼마일까요?"},
  answer = 1,
  explain = {en = "About half become 0 and the rest 1/(1-0.5) = 2: the mean stays about 1.",
             ko = "절반쯤은 0, 나머지는 1/(1-0.5) = 2가 되어 평균은 여전히 약 1입니다."},
}

lesson:code[[
tensor.manual_seed(0)
drop = nn.Dropout(0.5)
out = drop(tensor.ones(10000))
drop_zero, drop_mean = out:eq(0):mean():item(), out:mean():item()
print(string.format("training: %.1f%% zeros, mean %.4f"
                    || "학습 모드: 0이 %.1f%%, 평균 %.4f", 100 * drop_zero,
                    drop_mean))
drop:eval()
drop_eval = drop(tensor.ones(10000)):mean():item()
print(string.format("eval:     mean %.4f (nothing dropped)"
                    || "eval 모드: 평균 %.4f (아무것도 지우지 않음)",
                    drop_eval))
]]
lesson:check(math.abs(drop_zero - 0.5) < 0.03 and math.abs(drop_mean - 1) < 0.05 and drop_eval == 1,
             {en = "dropout zeroes about half, keeps the mean near 1, and is off in eval mode",
              ko = "드롭아웃은 절반쯤을 0으로 만들고 평균은 1 근처로 유지하며, eval 모드에서는 꺼진다"})

-- 5 --------------------------------------------------------------------------------------
lesson:say{
  en = [[5. Adam. Kingma & Ba, "Adam: A Method for Stochastic Optimization" (2014). It keeps running averages of each parameter's gradient and squared gradient, and divides one by the square root of the other: every parameter gets a step of about the learning rate, whatever the scale of its gradient. Plain SGD must pick one learning rate for all, small enough for the steepest direction.]],
  ko = [[5. Adam. Kingma & Ba, "Adam: A Method for Stochastic Optimization" (2014). 파라미터마다 기울기와 기울기 제곱의 이동 평균을 두고, 앞의 것을 뒤의 것의 제곱근으로 나눕니다: 기울기의 크기가 어떻든 모든 파라미터가 학습률 정도씩 움직입니다. 일반 SGD는 모두에게 하나의 학습률을 써야 하고, 그 값은 가장 가파른 방향에 맞춰 작아야 합니다.]],
}

lesson:code[[
tensor.manual_seed(0)
-- scales 100 and 1 || 크기 100과 1
local x = tensor.randn(256, 2) * tensor.tensor({100, 1})
-- true weights || 참 가중치
local y = x:matmul(tensor.tensor({{0.03}, {2}}))
function fit_scaled(make_opt)
  local m = nn.Linear(2, 1, {bias = false})
  local opt = make_opt(m)
  for _ = 1, 200 do
    opt:zero_grad()
    nn.mse_loss(m(x), y):backward()
    opt:step()
  end
  return m.weight:detach()
end
w_sgd = fit_scaled(function(m) return optim.SGD(m, {lr = 5e-5}) end)
w_adam = fit_scaled(function(m) return optim.Adam(m, {lr = 0.05}) end)
print(string.format("true 0.03, 2   SGD %.4f, %.4f   Adam %.4f, %.4f"
                    || "정답 0.03, 2   SGD %.4f, %.4f   Adam %.4f, %.4f",
                    w_sgd[1][1]:item(), w_sgd[1][2]:item(),
                    w_adam[1][1]:item(), w_adam[1][2]:item()))
]]
lesson:check(math.abs(w_adam[1][2]:item() - 2) < 0.1 and math.abs(w_sgd[1][2]:item() - 2) > 0.5,
             {en = string.format("after 200 steps Adam finds the small-scale weight (%.2f), SGD does not (%.2f)",
                                 w_adam[1][2]:item(), w_sgd[1][2]:item()),
              ko = string.format("200스텝 뒤 Adam은 작은 쪽 가중치를 찾고 (%.2f), SGD는 못 찾는다 (%.2f)",
                                 w_adam[1][2]:item(), w_sgd[1][2]:item())})

-- 6 --------------------------------------------------------------------------------------
lesson:say{
  en = [[6. Scaled dot-product attention. Vaswani et al., "Attention Is All You Need" (2017). The transformer compares a query with every key by a dot product, softmax(q·k / √d). Why divide by √d?]],
  ko = [[6. 스케일드 내적 어텐션(scaled dot-product attention). Vaswani 외, "Attention Is All You Need" (2017). 트랜스포머는 쿼리를 모든 키와 내적으로 비교합니다: softmax(q·k / √d). 왜 √d로 나눌까요?]],
}

lesson:predict{
  question = {en = "q and k have d = 512 independent N(0,1) entries. What is the standard deviation of q·k, roughly?",
              ko = "q와 k의 원소 d = 512개가 서로 독립인 N(0,1)입니다. q·k의 표준편차는 대략 얼마일까요?"},
  answer = 22.6,
  accept = function(g) local n = tonumber(g:match("[%d.]+")); return n ~= nil and n >= 20 and n <= 25 end,
  explain = {en = "A sum of 512 products of variance 1 has variance 512: std √512 ≈ 22.6. Scores that far apart make the softmax put almost all weight on one key, and its gradient vanishes.",
             ko = "분산 1인 곱 512개의 합은 분산이 512라서 표준편차는 √512 ≈ 22.6입니다. 점수가 이만큼 벌어지면 softmax가 키 하나에 거의 모든 가중치를 주고, 기울기가 사라집니다."},
}

lesson:code[[
tensor.manual_seed(0)
local d = 512
local q, k = tensor.randn(4096, d), tensor.randn(4096, d)
dot_std = (q * k):sum(2):std():item()
-- 64 x 64 || 64 x 64
local scores = tensor.randn(64, d):matmul(tensor.randn(64, d):t())
top_raw = scores:softmax(2):max(2):mean():item()
top_scaled = (scores / math.sqrt(d)):softmax(2):max(2):mean():item()
print(string.format("std of q·k %.1f (√512 = %.1f)" || "q·k의 표준편차 %.1f (√512 = %.1f)",
                    dot_std, math.sqrt(d)))
print(string.format(
  "top weight of 64 keys: %.2f unscaled, %.2f with 1/√d"
  || "키 64개 중 가장 큰 가중치: 스케일 없이 %.2f, 1/√d로 %.2f",
                    top_raw, top_scaled))
]]
lesson:check(math.abs(dot_std - math.sqrt(512)) < 1.5 and top_raw > 0.8 and top_scaled < 0.3,
             {en = string.format("q·k has std ≈ √d; unscaled, one key takes %.0f%% of the weight", 100 * top_raw),
              ko = string.format("q·k의 표준편차는 약 √d이고, 스케일하지 않으면 키 하나가 가중치의 %.0f%%를 가져간다", 100 * top_raw)})

-- 7 --------------------------------------------------------------------------------------
lesson:say{
  en = [[7. Vision Transformer. Dosovitskiy et al., "An Image is Worth 16x16 Words: Transformers for Image Recognition at Scale" (2020). Cut the image into 16x16 patches, flatten each into a vector and apply one Linear: every patch becomes a token. In code this is a Conv2d with kernel 16 and stride 16; the two are the same computation.]],
  ko = [[7. 비전 트랜스포머. Dosovitskiy 외, "An Image is Worth 16x16 Words: Transformers for Image Recognition at Scale" (2020). 이미지를 16x16 패치로 자르고, 패치마다 벡터로 펼쳐 Linear 하나를 적용합니다: 패치 하나가 토큰 하나가 됩니다. 코드로는 커널 16, stride 16인 Conv2d이고, 둘은 같은 계산입니다.]],
}

lesson:predict{
  question = {en = "A 224x224 RGB image in 16x16 patches: how many tokens, and how many numbers in each flattened patch?",
              ko = "224x224 RGB 이미지를 16x16 패치로 자르면 토큰은 몇 개이고, 펼친 패치 하나에는 숫자가 몇 개일까요?"},
  answer = {en = "196 and 768", ko = "196개와 768개"},
  explain = {en = "(224/16)² = 14² = 196 patches, each 3·16·16 = 768 numbers. ViT-B/16 keeps that width: its tokens have 768 channels.",
             ko = "(224/16)² = 14² = 196개의 패치, 각각 3·16·16 = 768개의 숫자. ViT-B/16은 이 폭을 그대로 써서, 토큰의 채널이 768개입니다."},
}

lesson:code[[
tensor.manual_seed(0)
local img = tensor.randn(1, 3, 224, 224)
patch_conv = nn.Conv2d(3, 768, 16, {stride = 16})
by_conv = patch_conv(img):flatten(3):transpose(2, 3)        -- [1,196,768]
-- the same by hand: cut, flatten, one matmul || 직접: 자르고, 펼치고, 행렬곱 한 번
local p = img:view(1, 3, 14, 16, 14, 16):permute(1, 3, 5, 2, 4, 6)
p = p:reshape(1, 196, 3 * 16 * 16)                           -- [1,196,768]
local W = patch_conv.weight:view(768, 768)
by_hand = p:matmul(W:t()) + patch_conv.bias
patch_err = (by_conv - by_hand):abs():max():item()
print("tokens " || "토큰 " .. tut.shape(by_conv)
      .. ", conv vs cut + Linear: max difference "
      || ", 합성곱 vs 자르기 + Linear: 최대 차이 "
      .. patch_err)
]]
lesson:check(by_conv:size(2) == 196 and patch_err < 1e-3,
             {en = "16x16 patches of 224x224 give 196 tokens, and the conv equals cut + flatten + Linear",
              ko = "224x224의 16x16 패치는 토큰 196개이고, 합성곱은 자르기 + 펼치기 + Linear와 같다"})

lesson:say{
  en = [[Where to go from here: the architecture lessons (shapes, flatten, bottleneck, vit_conv, xca, perceiver) take these pieces apart on real questions from the lab. Papers worth reading next: Krizhevsky, Sutskever & Hinton, AlexNet (2012); Loshchilov & Hutter, AdamW (2017); Ba, Kiros & Hinton, Layer Normalization (2016).]],
  ko = [[다음 단계: 구조 레슨들(shapes, flatten, bottleneck, vit_conv, xca, perceiver)에서는 연구실에서 실제로 나온 질문을 가지고 이 구성 요소들을 자세히 들여다봅니다. 이어서 읽을 만한 논문: Krizhevsky, Sutskever, Hinton, AlexNet (2012); Loshchilov & Hutter, AdamW (2017); Ba, Kiros, Hinton, Layer Normalization (2016).]],
}

lesson:finish()
