-- bottleneck: do narrow layers keep fewer duplicates? + control
local L = dofile((arg and arg[0] and arg[0]:match("(.*/)") or "tutorials/") .. "lib/lesson.lua")
local lesson = L.new{name = "bottleneck", title = {en = "do narrow layers keep fewer duplicate units?",
                                                   ko = "좁은 층은 중복된 유닛을 덜 남길까?"}}

lesson:say{
  en = [[ResNet and MobileNet squeeze their features through narrow "bottleneck" layers. That saves compute, but a popular hypothesis goes further: a narrow layer is forced to keep only the important features, and it wastes fewer units on duplicates.

We test the duplicate part with the smallest possible model: Linear(1,32) -> Linear(32,C) -> Linear(C,1), no activations, learning y = x for x = 0..99. Adam, lr 1e-3, 100 full-batch epochs, MSE, seed 10000 before each run. C = 8 (bottleneck), 32 (same width), 128 (wide).

The measure: the middle weight has C rows of 32 numbers. For every pair of rows i<j take mean|W_i - W_j|; the smallest value says how close the two most similar units are. Small = more redundant.]],
  ko = [[ResNet과 MobileNet은 특징을 좁은 "병목(bottleneck)" 층에 통과시켜 압축합니다. 계산이 줄어드는 것은 분명하지만, 널리 퍼진 가설은 한 걸음 더 나아갑니다: 좁은 층은 중요한 특징만 남길 수밖에 없어서, 중복된 유닛에 자리를 덜 낭비한다는 것입니다.

가장 작은 모델로 "중복" 쪽을 시험해 봅니다: Linear(1,32) -> Linear(32,C) -> Linear(C,1), 활성화 함수 없음, x = 0..99에 대해 y = x를 학습. Adam, lr 1e-3, 전체 배치 100 에폭, MSE, 매 실행 전 시드 10000. C = 8 (병목), 32 (같은 폭), 128 (넓음).

측정값: 가운데 가중치는 32개짜리 행이 C개입니다. 모든 행 쌍 i<j에 대해 mean|W_i - W_j|를 구하고 그 최솟값을 봅니다. 이 값은 가장 닮은 두 유닛이 얼마나 가까운지를 나타내고, 작을수록 중복이 많다는 뜻입니다.]],
}

lesson:code[[
-- W [C,32] -> min mean|Wi-Wj| over i<j, and i, j || W [C,32] -> i<j 쌍 중 mean|Wi-Wj| 최솟값과 i, j
function closest_pair(W)
  local C = W:size(1)
  -- [C,C,32] -> [C,C]
  local d = (W:unsqueeze(2) - W:unsqueeze(1)):abs():mean(3)
  local idx = tensor.arange(1, C + 1)
  -- hide i >= j || i >= j는 가림
  d = d + idx:view(C, 1):ge(idx:view(1, C)) * 1e9
  local k = d:reshape(C * C):argmin():item()
  return d:reshape(C * C):min():item(), (k - 1) // C + 1, (k - 1) % C + 1
end

function run_bottleneck(C, seed, epochs)
  tensor.manual_seed(seed)
  local model = nn.Sequential(nn.Linear(1, 32), nn.Linear(32, C),
                              nn.Linear(C, 1))
  -- inputs 0..99, targets the same || 입력 0..99, 목표도 같음
  local x = tensor.arange(0, 100):view(100, 1)
  local w0 = model[2].weight:detach():clone()
  -- the control: before training || 대조군: 학습 전
  local init = closest_pair(w0)
  local opt = optim.Adam(model, {lr = 1e-3})
  local loss
  for epoch = 1, epochs or 100 do
    opt:zero_grad()
    loss = nn.mse_loss(model(x), x)
    loss:backward()
    opt:step()
  end
  local w = model[2].weight:detach()
  local trained, i, j = closest_pair(w)
  -- mean|ΔW2| / mean|W2|
  local moved = (w - w0):abs():mean():item() / w0:abs():mean():item()
  return {loss = loss:item(), trained = trained, init = init, i = i, j = j,
          model = model, moved = moved}
end
]]

lesson:predict{
  question = {en = "C=8 gives how many row pairs i<j? (and C=32, C=128?)",
              ko = "C=8이면 행 쌍 i<j는 몇 개일까요? (C=32, C=128은?)"},
  answer = 28,
  explain = {en = "C·(C-1)/2: 8·7/2 = 28, 32·31/2 = 496, 128·127/2 = 8128. Keep these numbers in mind.",
             ko = "C·(C-1)/2: 8·7/2 = 28, 32·31/2 = 496, 128·127/2 = 8128. 이 숫자를 기억해 두세요."},
}

lesson:code[[
results = {}
print(" C    final loss   min mean|Wi-Wj|   closest rows"
      || " C     최종 손실  최소 mean|Wi-Wj|   가장 가까운 행")
for _, C in ipairs{8, 32, 128} do
  local r = run_bottleneck(C, 10000)
  results[C] = r
  print(string.format("%3d   %10.4f   %15.4f   %d,%d", C, r.loss, r.trained,
                      r.i, r.j))
end
]]

local r = results
lesson:check(r[8].trained > r[32].trained and r[32].trained > r[128].trained,
             {en = "after training the minimum shrinks with width: 8 > 32 > 128",
              ko = "학습 후 최솟값은 폭이 넓을수록 작다: 8 > 32 > 128"})
lesson:check(r[8].loss < 1 and r[32].loss < 1 and r[128].loss < 1,
             {en = "all three fit y = x well (loss < 1 on targets up to 99)",
              ko = "세 모델 모두 y = x를 잘 학습한다 (목표값이 99까지인데 손실 < 1)"})

lesson:say{
  en = [[So the wide layer has a closer pair of rows, and the losses barely differ. It is tempting to conclude "narrow layers keep fewer duplicates". (PyTorch gives 0.0894 / 0.0796 / 0.0661 for this run; nnlab's random numbers differ from PyTorch's, so the exact values differ, but the order is the same.)

Before believing it, a careful experimenter asks: what was this number BEFORE training? If training made units diverse in the narrow layer, the untrained network should not show the same order.]],
  ko = [[넓은 층일수록 더 가까운 행 쌍이 나오고, 손실은 거의 같습니다. "좁은 층은 중복을 덜 남긴다"고 결론 내리고 싶어집니다. (PyTorch로는 0.0894 / 0.0796 / 0.0661이 나옵니다. nnlab의 난수는 PyTorch와 달라 값은 다르지만 순서는 같습니다.)

믿기 전에 신중한 실험자는 묻습니다: 학습하기 전에는 이 값이 얼마였을까? 학습이 좁은 층의 유닛을 다양하게 만든 것이라면, 학습 전 네트워크에서는 같은 순서가 나오지 않아야 합니다.]],
}

lesson:predict{
  question = {en = "Before any training, will the minimum already be ordered 8 > 32 > 128? (yes/no)",
              ko = "학습 전에도 최솟값이 이미 8 > 32 > 128 순서일까요? (예/아니오)"},
  answer = {en = "yes", ko = "예"},
  explain = {en = "Linear(32,C) draws every weight from the same U(-1/√32, 1/√32) whatever C is. The rows are equally spread, but a wider layer has far more pairs, and the smallest of 8128 random distances is smaller than the smallest of 28.",
             ko = "Linear(32,C)는 C와 상관없이 모든 가중치를 같은 U(-1/√32, 1/√32)에서 뽑습니다. 행들의 퍼짐은 같지만 넓은 층에는 쌍이 훨씬 많고, 무작위 거리 8128개의 최솟값은 28개의 최솟값보다 작습니다."},
}

lesson:code[[
print(" C   pairs   at init   trained   change   mean|ΔW2|/mean|W2|"
      || " C   쌍 수   학습 전   학습 후     변화   mean|ΔW2|/mean|W2|")
for _, C in ipairs{8, 32, 128} do
  local r = results[C]
  print(string.format("%3d  %5d   %7.4f   %7.4f   %+.4f   %17.0f%%", C,
                      C * (C - 1) // 2,
                      r.init, r.trained, r.trained - r.init, 100 * r.moved))
end
]]

lesson:check(r[8].moved > 0.2 and math.abs(r[8].trained - r[8].init) < 0.05 * r[8].init,
             {en = string.format("for C = 8 the weights move (mean|ΔW2| = %.0f%% of mean|W2|), the closest pair by %.1f%%",
                                 100 * r[8].moved, 100 * math.abs(r[8].trained - r[8].init) / r[8].init),
              ko = string.format("C = 8에서 가중치는 움직이지만 (mean|ΔW2| = mean|W2|의 %.0f%%), 가장 가까운 쌍은 %.1f%%만 변한다",
                                 100 * r[8].moved, 100 * math.abs(r[8].trained - r[8].init) / r[8].init)})
lesson:check(r[8].init > r[32].init and r[32].init > r[128].init,
             {en = "the same ordering 8 > 32 > 128 is there at initialisation, before any training",
              ko = "8 > 32 > 128 순서는 학습 전, 초기화 시점에 이미 나타난다"})

lesson:say{
  en = [[One seed can be luck. Repeat with many seeds and average. (--check uses 8 seeds; the interactive run uses 20.)]],
  ko = [[시드 하나는 우연일 수 있습니다. 여러 시드로 반복해 평균을 냅니다. (--check에서는 시드 8개, 대화형 실행에서는 20개.)]],
}

local nseeds = lesson:quick() and 8 or 20
_G.NSEEDS = nseeds
lesson:code[[
means = {}
print(string.format(
  " C   mean at init   mean trained   (over %d seeds)"
  || " C    학습 전 평균   학습 후 평균   (시드 %d개)",
  NSEEDS))
for _, C in ipairs{8, 32, 128} do
  local si, st = 0, 0
  for s = 1, NSEEDS do
    local r = run_bottleneck(C, 10000 + s)
    si, st = si + r.init, st + r.trained
  end
  means[C] = {init = si / NSEEDS, trained = st / NSEEDS}
  print(string.format("%3d   %12.4f   %12.4f", C, means[C].init,
                      means[C].trained))
end
]]

local m = means
lesson:check(m[8].init > m[32].init and m[32].init > m[128].init
             and m[8].trained > m[32].trained and m[32].trained > m[128].trained,
             {en = "over seeds: 8 > 32 > 128 both at init and after training",
              ko = "여러 시드 평균: 초기화와 학습 후 모두 8 > 32 > 128"})
local maxchange = 0
for _, C in ipairs{8, 32, 128} do
  maxchange = math.max(maxchange, math.abs(m[C].trained - m[C].init) / m[C].init)
end
lesson:check(maxchange < 0.15, {en = string.format(
  "training moves the mean statistic by at most %.0f%% (under 15%%): the order was there from the start",
  100 * maxchange), ko = string.format(
  "학습으로 평균 통계가 바뀐 정도는 최대 %.0f%%다 (15%% 미만): 순서는 처음부터 있었다", 100 * maxchange)})

lesson:say{
  en = [[The ordering comes from counting, not from learning: 28, 496 and 8128 pairs of rows drawn from the same distribution. Training does move the weights: for C = 8 the mean change |ΔW2| is about half of the mean |W2| (53% here; PyTorch gives about 40%). But it moves the rows together: with no activations the gradient of W2 is W3ᵀ·v, one vector v scaled per row, and Adam, which divides each gradient by its own running size, gives every row whose W3 entry has the same sign almost the same step. So the distance of the closest pair barely changes (a few per cent).

What would really test "narrow layers keep fewer duplicates"? Compare each width with its own control (trained minus init, as above), use a statistic that does not depend on the number of pairs (the mean distance, or the distance to the nearest neighbour averaged over rows), train long enough that the weights move far from their initial values, and use many seeds.

One more thing about this model: with no activation between the layers, the three layers are ONE linear map. y = W3(W2(W1 x + b1) + b2) + b3 = a·x + b with a = W3·W2·W1 and b = W3·(W2·b1 + b2) + b3. Width cannot matter to what it computes.]],
  ko = [[이 순서는 학습이 아니라 개수에서 나옵니다: 같은 분포에서 뽑은 행 쌍이 각각 28개, 496개, 8128개입니다. 학습이 가중치를 움직이지 않는 것은 아닙니다: C = 8에서 평균 변화량 |ΔW2|는 평균 |W2|의 절반쯤입니다 (여기서는 53%, PyTorch로는 약 40%). 하지만 행들은 함께 움직입니다. 활성화 함수가 없으니 W2의 기울기는 W3ᵀ·v, 즉 벡터 하나(v)를 행마다 다르게 스케일한 것입니다. Adam은 기울기를 각자의 이동 평균 크기로 나누므로, W3 값의 부호가 같은 행들은 거의 같은 만큼 움직입니다. 그래서 가장 가까운 쌍 사이의 거리는 거의 변하지 않습니다 (몇 % 정도).

"좁은 층은 중복을 덜 남긴다"를 제대로 시험하려면? 각 폭을 자기 대조군과 비교하고 (위처럼 학습 후 - 학습 전), 쌍의 개수에 좌우되지 않는 통계를 쓰고 (평균 거리, 또는 행마다 가장 가까운 이웃까지의 거리의 평균), 가중치가 초기값에서 충분히 멀어질 만큼 오래 학습하고, 시드를 많이 써야 합니다.

이 모델에 대해 하나 더: 층 사이에 활성화 함수가 없으면 세 층은 하나의 선형 사상입니다. y = W3(W2(W1 x + b1) + b2) + b3 = a·x + b, 여기서 a = W3·W2·W1, b = W3·(W2·b1 + b2) + b3. 폭은 계산하는 함수에 아무 영향을 줄 수 없습니다.]],
}

lesson:code[[
local m = results[8].model
local W1, b1 = m[1].weight:detach(), m[1].bias:detach()
local W2, b2 = m[2].weight:detach(), m[2].bias:detach()
local W3, b3 = m[3].weight:detach(), m[3].bias:detach()
-- [1,8][8,32][32,1]
a = W3:matmul(W2):matmul(W1):item()
b = (W3:matmul(W2:matmul(b1:view(32, 1)) + b2:view(8, 1)) + b3):item()
print(string.format("C=8 model:  y = %.4f * x + %.4f" || "C=8 모델:  y = %.4f * x + %.4f", a, b))
local x = tensor.arange(0, 100):view(100, 1)
collapse_err = tensor.no_grad(function()
  return (m(x) - (x * a + b)):abs():max():item()
end)
print("max |model(x) - (a*x + b)| over x = 0..99:"
      || "x = 0..99에서 max |model(x) - (a*x + b)|:", collapse_err)
]]

lesson:check(collapse_err < 1e-3, {en = "the three layers equal a·x + b (max difference < 1e-3)",
                                   ko = "세 층은 a·x + b와 같다 (최대 차이 < 1e-3)"})
lesson:check(math.abs(a - 1) < 0.05 and math.abs(b) < 2,
             {en = "and a ≈ 1, b ≈ 0: the model learned y = x", ko = "그리고 a ≈ 1, b ≈ 0: 모델은 y = x를 학습했다"})

if L.use_dash() then
  lesson:say{
    en = [[Now watch it happen: the dashboard shows the loss and the weight-similarity heatmap of the middle layer of C=32, with the same statistic at initialisation as the control. The loop below has no dash.* call: once the dashboard is open it watches the optimizer by itself. q then y stops early; when training is done, q closes it.]],
    ko = [[이제 직접 봅시다: 대시보드가 C=32 가운데 층의 손실과 가중치 유사도 히트맵을, 대조군인 초기화 시점 값과 함께 보여 줍니다. 아래 루프에는 dash.* 호출이 없습니다: 대시보드가 열려 있으면 옵티마이저를 스스로 지켜봅니다. 일찍 멈추려면 q, 그다음 y; 학습이 끝나면 q로 닫습니다.]],
  }
  lesson:code([[
tensor.manual_seed(10000)
local model = nn.Sequential(nn.Linear(1, 32), nn.Linear(32, 32),
                            nn.Linear(32, 1))
local x = tensor.arange(0, 100):view(100, 1)
local opt = optim.Adam(model, {lr = 1e-3})
-- from here on the dashboard watches the training by itself || 이제부터 대시보드가 학습을 스스로 지켜봅니다
dash.open()
for step = 1, 3000 do
  opt:zero_grad()
  local loss = nn.mse_loss(model(x), x)
  loss:backward()
  opt:step()
  -- slow enough to watch || 눈으로 따라갈 수 있게 천천히
  if step % 5 == 0 then os.execute("sleep 0.01") end
end
dash.close()              -- the finished run stays on screen until q || 끝난 실행은 q를 누를 때까지 화면에 남습니다
]], {no_wait = true})
end

lesson:finish()
