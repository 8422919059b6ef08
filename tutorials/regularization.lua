-- regularization: onboarding 6, weight decay and dropout
local L = dofile((arg and arg[0] and arg[0]:match("(.*/)") or "tutorials/") .. "lib/lesson.lua")
local lesson = L.new{name = "regularization", title = {en = "onboarding 6: overfitting and regularization",
                                                       ko = "온보딩 6: 과적합과 규제"}}

lesson:say{
  en = [[A big network can memorise a small training set: training accuracy reaches 100% while accuracy on new data stays much lower. The gap between the two is overfitting. Regularization trades a little training fit for better generalisation: weight decay pulls weights towards 0, dropout randomly zeroes units during training so no unit can rely on one particular partner.

We train an MLP 784-256-10 on only 300 Fashion-MNIST images and test on 1000 others.]],
  ko = [[큰 네트워크는 작은 학습 세트를 외워 버릴 수 있습니다: 학습 정확도는 100%가 되는데 새 데이터에서의 정확도는 훨씬 낮습니다. 그 차이가 과적합입니다. 규제는 학습 데이터에 조금 덜 맞추는 대신 일반화 성능을 얻는 방법입니다: 가중치 감쇠(weight decay)는 가중치를 0 쪽으로 당기고, 드롭아웃(dropout)은 학습 중에 유닛을 무작위로 0으로 만들어 어떤 유닛도 특정한 다른 유닛에 기대지 못하게 합니다.

MLP 784-256-10을 Fashion-MNIST 이미지 300장만으로 학습하고, 다른 1000장으로 테스트합니다.]],
}

-- the Korean names carry their own padding: %-20s counts bytes, and a Hangul
-- syllable is 3 bytes but 2 columns
lesson:code[[
trainset, testset = data.fashion_mnist{limit = 300, test_limit = 1000}
function accuracy(model, set)   -- in eval mode: no dropout || 평가 모드(드롭아웃 없음)로
  return nn.accuracy(model, set.x, set.y)
end
function weight_norm(model)
  local s = 0
  for _, p in model:named_parameters() do
    s = s + (p:detach() ^ 2):sum():item()
  end
  return math.sqrt(s)
end
function experiment(name, dropout, wd)
  tensor.manual_seed(0)
  local layers = {nn.Linear(784, 256), nn.ReLU()}
  if dropout > 0 then layers[#layers + 1] = nn.Dropout(dropout) end
  layers[#layers + 1] = nn.Linear(256, 10)
  local model = nn.Sequential(table.unpack(layers))
  local opt = optim.AdamW(model, {lr = 1e-3, weight_decay = wd})
  local loss
  for epoch = 1, 40 do
    local batches = data.loader(trainset.x, trainset.y,
                      {batch_size = 50, shuffle = true, seed = epoch})
    for xb, yb in batches do
      opt:zero_grad()
      loss = nn.cross_entropy(model(xb), yb)
      loss:backward()
      opt:step()
    end
  end
  local r = {train = accuracy(model, trainset),
             test = accuracy(model, testset), norm = weight_norm(model)}
  print(string.format("%-20s train %.3f  test %.3f  gap %.3f  |W| %.1f"
                      || "%-20s 학습 %.3f  테스트 %.3f  차이 %.3f  |W| %.1f",
                      name, r.train, r.test, r.train - r.test, r.norm))
  return r
end
plain = experiment("no regularization" || "규제 없음           ", 0, 0)
decay = experiment("weight decay 0.5" || "가중치 감쇠 0.5     ", 0, 0.5)
drop = experiment("dropout 0.5" || "드롭아웃 0.5        ", 0.5, 0)
]]
lesson:check(plain.train > 0.98, {en = "without regularization the 300 training images are memorised (train acc > 0.98)",
             ko = "규제가 없으면 학습 이미지 300장을 외워 버린다 (학습 정확도 > 0.98)"})
lesson:check(plain.train - plain.test > 0.1, {en = "and test accuracy is more than 10 points lower: overfitting",
             ko = "그리고 테스트 정확도가 10%p 넘게 낮다: 과적합"})
lesson:check(decay.norm < plain.norm, {en = "weight decay keeps the weights smaller",
             ko = "가중치 감쇠는 가중치를 더 작게 유지한다"})
lesson:check(decay.test > 0.6 and drop.test > 0.6, {en = "the regularized models still generalise (test acc > 0.6)",
             ko = "규제한 모델도 여전히 일반화한다 (테스트 정확도 > 0.6)"})

lesson:say{
  en = [[Compare the gaps. With 300 images and one seed, differences of a point or two in test accuracy are noise; try other seeds before believing them. The most effective regularizer of all is more data: change limit = 300 to 3000 and watch the gap shrink.

Keywords: bias-variance, early stopping, data augmentation, L2 vs decoupled weight decay (Adam vs AdamW), model:eval() (dropout is off at test time).]],
  ko = [[차이(gap)를 비교해 보세요. 이미지 300장과 시드 하나로는 테스트 정확도 1-2%p 차이는 잡음입니다. 믿기 전에 다른 시드로 해 보세요. 가장 효과적인 규제는 데이터를 늘리는 것입니다: limit = 300을 3000으로 바꾸고 차이가 줄어드는 것을 보세요.

키워드: 편향-분산, 조기 종료, 데이터 증강, L2와 분리된 weight decay (Adam vs AdamW), model:eval() (테스트 때는 dropout이 꺼짐).]],
}
lesson:finish()
