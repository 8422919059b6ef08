-- nonlinearity_loss: onboarding 7, nonlinearity; MSE vs cross-entropy
local L = dofile((arg and arg[0] and arg[0]:match("(.*/)") or "tutorials/") .. "lib/lesson.lua")
local lesson = L.new{name = "nonlinearity_loss", title = {en = "onboarding 7: nonlinearity and the loss",
                                                          ko = "온보딩 7: 비선형성과 손실 함수"}}

lesson:say{
  en = [[Two linear layers in a row are one linear layer: W2(W1 x + b1) + b2 = (W2 W1) x + (W2 b1 + b2). However many you stack, without a nonlinearity in between the network can only draw straight boundaries. The task below needs a curved one: points in the square [-1,1]², class 1 inside the circle of radius 0.6, class 2 outside.]],
  ko = [[선형 층 두 개를 이어 붙여도 결국 선형 층 하나입니다: W2(W1 x + b1) + b2 = (W2 W1) x + (W2 b1 + b2). 층 사이에 비선형성이 없다면, 층을 몇 개 쌓아도 네트워크는 직선 경계밖에 그리지 못합니다. 아래 문제는 곡선 경계가 필요합니다: [-1,1]² 정사각형의 점들, 반지름 0.6 원 안은 클래스 1, 밖은 클래스 2.]],
}

lesson:code[[
tensor.manual_seed(0)
pts = tensor.rand(1000, 2) * 2 - 1
-- 1 inside, 2 outside (1-based classes) || 1은 안, 2는 바깥 (클래스는 1부터)
labels = pts:pow(2):sum(2):gt(0.36) + 1
function train_classifier(model)
  local opt = optim.Adam(model, {lr = 1e-2})
  for step = 1, 300 do
    opt:zero_grad()
    nn.cross_entropy(model(pts), labels):backward()
    opt:step()
  end
  return nn.accuracy(model, pts, labels)   -- eval mode, no grad
end
deep_linear = nn.Sequential(nn.Linear(2, 32), nn.Linear(32, 32),
                            nn.Linear(32, 2))
with_relu = nn.Sequential(nn.Linear(2, 32), nn.ReLU(), nn.Linear(32, 32),
                          nn.ReLU(), nn.Linear(32, 2))
inside = (labels:eq(1)):mean():item()
acc_linear = train_classifier(deep_linear)
acc_relu = train_classifier(with_relu)
print(string.format("inside %.3f  3 linear layers: acc %.3f  ReLU: %.3f"
                    || "원 안 비율 %.3f  선형 층 3개: 정확도 %.3f  ReLU: %.3f",
                    inside, acc_linear, acc_relu))
]]
lesson:check(acc_linear < 0.75, {en = "three linear layers do little better than always answering 'outside'",
             ko = "선형 층 세 개는 늘 '바깥'이라고 답하는 것보다 별로 낫지 않다"})
lesson:check(acc_relu > 0.95, {en = "with ReLU between them the network learns the circle (acc > 0.95)",
             ko = "사이에 ReLU를 넣으면 네트워크가 원을 배운다 (정확도 > 0.95)"})

lesson:say{
  en = [[Now the loss. For classification we could push sigmoid(logit) towards the 0/1 target with MSE, or use cross-entropy, -log p(correct class). The difference shows when the model is confidently WRONG: what gradient reaches the logit?]],
  ko = [[이제 손실 함수를 봅시다. 분류에서는 sigmoid(logit)이 0/1 목표에 가까워지도록 MSE로 학습할 수도 있고, 교차 엔트로피 -log p(정답 클래스)를 쓸 수도 있습니다. 차이는 모델이 자신 있게 "틀렸을" 때 드러납니다: logit으로 전달되는 기울기는 얼마일까요?]],
}

lesson:predict{
  question = {en = "Target 1, logit z = -7 (p = sigmoid(-7) ≈ 0.0009). Cross-entropy gradient dL/dz = p - 1. MSE gradient dL/dz = 2(p - 1)·p(1 - p). Which is larger in size, and by about how much?",
              ko = "목표 1, logit z = -7 (p = sigmoid(-7) ≈ 0.0009). 교차 엔트로피 기울기 dL/dz = p - 1. MSE 기울기 dL/dz = 2(p - 1)·p(1 - p). 어느 쪽이 얼마나 더 클까요?"},
  answer = {en = "cross-entropy, about 550x", ko = "교차 엔트로피, 약 550배"},
  -- right: it names cross-entropy; a factor, if given, between 300 and 1000
  accept = function(given)
    local g = given:lower()
    local names = g:find("cross") or g:find("ce") or g:find("교차") or g:find("크로스")
    local n = g:match("%d[%d,]*")
    n = n and tonumber((n:gsub(",", "")))
    return names ~= nil and (n == nil or (n >= 300 and n <= 1000))
  end,
  explain = {en = "CE: |p - 1| ≈ 0.999. MSE: 2·0.999·0.0009·0.999 ≈ 0.0018. The sigmoid's flat tail multiplies MSE's gradient by p(1-p) ≈ 0.0009: the more wrong the model, the less it learns.",
             ko = "CE: |p - 1| ≈ 0.999. MSE: 2·0.999·0.0009·0.999 ≈ 0.0018. 시그모이드의 평평한 꼬리가 MSE 기울기에 p(1-p) ≈ 0.0009를 곱합니다: 많이 틀릴수록 덜 배웁니다."},
}

lesson:code[[
z = tensor.tensor({-7}):requires_grad(true)
nn.mse_loss(z:sigmoid(), tensor.tensor({1})):backward()
g_mse = z.grad:item()
z:zero_grad()
nn.bce_with_logits(z, tensor.tensor({1})):backward()
g_ce = z.grad:item()
print(string.format("dL/dz  MSE(sigmoid) %.5f  CE %.5f  ratio %.0f"
                    || "dL/dz  MSE(sigmoid) %.5f  CE %.5f  비율 %.0f",
                    g_mse, g_ce, g_ce / g_mse))
]]
lesson:check(math.abs(g_ce) > 100 * math.abs(g_mse), {en = "cross-entropy's gradient is over 100x larger when confidently wrong",
             ko = "자신 있게 틀렸을 때 교차 엔트로피의 기울기가 100배 넘게 크다"})
lesson:check(math.abs(g_ce + 0.999) < 1e-3, {en = "and equals p - 1 ≈ -0.999",
             ko = "그리고 그 값은 p - 1 ≈ -0.999다"})

lesson:say{
  en = [[Rule of thumb: regression -> MSE (or L1); classification -> cross-entropy on raw logits (nn.cross_entropy applies log-softmax itself, in a numerically safe way). Keywords: saturation, vanishing gradients, ReLU vs sigmoid/tanh, maximum likelihood.]],
  ko = [[경험칙: 회귀 -> MSE (또는 L1), 분류 -> 가공하지 않은 logit에 교차 엔트로피 (nn.cross_entropy는 log-softmax를 수치적으로 안전하게 직접 적용합니다). 키워드: 포화, 기울기 소실, ReLU vs sigmoid/tanh, 최대 우도.]],
}
lesson:finish()
