-- approximator: onboarding 4, a small MLP fits a 1-D function
local L = dofile((arg and arg[0] and arg[0]:match("(.*/)") or "tutorials/") .. "lib/lesson.lua")
local lesson = L.new{name = "approximator", title = {en = "onboarding 4: the network as a function approximator",
                                                     ko = "온보딩 4: 함수 근사기로서의 네트워크"}}

lesson:say{
  en = [[A neural network is a flexible function with knobs. With one hidden layer and enough units it can approximate any reasonable 1-D curve (the universal approximation theorem), as long as there is a nonlinearity between the layers. We fit y = sin(2x) + 0.3x on [-3, 3].]],
  ko = [[신경망은 조절할 값(파라미터)이 많은 유연한 함수입니다. 층 사이에 비선형성만 있으면, 유닛이 충분한 은닉층 하나로 웬만한 1차원 곡선을 근사할 수 있습니다 (보편 근사 정리). [-3, 3]에서 y = sin(2x) + 0.3x를 근사해 봅시다.]],
}

lesson:predict{
  question = {en = "nn.Sequential(nn.Linear(1,32), nn.Tanh(), nn.Linear(32,32), nn.Tanh(), nn.Linear(32,1)): how many parameters?",
              ko = "nn.Sequential(nn.Linear(1,32), nn.Tanh(), nn.Linear(32,32), nn.Tanh(), nn.Linear(32,1))의 파라미터 수는?"},
  answer = 1153,
  explain = {en = "(1·32 + 32) + (32·32 + 32) + (32·1 + 1) = 64 + 1056 + 33 = 1153.",
             ko = "(1·32 + 32) + (32·32 + 32) + (32·1 + 1) = 64 + 1056 + 33 = 1153."},
}

local use_dash = L.use_dash()
_G.USE_DASH = use_dash
lesson:code[[
x = tensor.linspace(-3, 3, 200):view(200, 1)
y = (x * 2):sin() + x * 0.3

function fit(model, steps)
  local opt = optim.Adam(model, {lr = 1e-2})
  local loss
  for step = 1, steps do
    opt:zero_grad()
    loss = nn.mse_loss(model(x), y)
    loss:backward()
    opt:step()
    if USE_DASH and dash.log{step = step,
                             loss = loss:item()} == "quit" then break end
  end
  return loss:item()
end

tensor.manual_seed(0)
mlp = nn.Sequential(nn.Linear(1, 32), nn.Tanh(), nn.Linear(32, 32),
                    nn.Tanh(), nn.Linear(32, 1))
linear_only = nn.Sequential(nn.Linear(1, 32), nn.Linear(32, 32),
                            nn.Linear(32, 1))
if USE_DASH then
  dash.open()
  local W = mlp[3].weight
  dash.watch("hidden", W, {init = W:detach():clone()})
end
mlp_loss = fit(mlp, 1500)
if USE_DASH then dash.close() end
lin_loss = fit(linear_only, 1500)
print(string.format("params %d  with tanh: MSE %.5f  without: MSE %.4f"
                    || "파라미터 %d개  tanh 있음: MSE %.5f  없음: MSE %.4f",
                    (mlp:num_params()), mlp_loss, lin_loss))
]]
lesson:check(mlp:num_params() == 1153, {en = "the MLP has 1153 parameters",
             ko = "MLP의 파라미터는 1153개다"})
lesson:check(mlp_loss < 0.01, {en = "the tanh MLP fits the curve (MSE < 0.01)",
             ko = "tanh MLP는 곡선을 근사한다 (MSE < 0.01)"})
lesson:check(lin_loss > 0.1, {en = "without activations it stays a straight line (MSE > 0.1)",
             ko = "활성화 함수가 없으면 직선밖에 못 그린다 (MSE > 0.1)"})

lesson:code[[
print("   x     target    MLP" || "   x     목표값    MLP")
tensor.no_grad(function()
  local p = mlp(x)
  for i = 1, 200, 25 do
    print(string.format("%5.2f   %6.3f   %6.3f", x[i]:item(), y[i]:item(),
                        p[i]:item()))
  end
end)
]]

lesson:say{
  en = [[Questions: what happens outside [-3, 3], where there was no data? (Try mlp(tensor.tensor({{6}})).) How does the fit change with 4 hidden units, or with ReLU instead of tanh?]],
  ko = [[질문: 데이터가 없던 [-3, 3] 밖에서는 어떻게 될까요? (mlp(tensor.tensor({{6}}))를 실행해 보세요.) 은닉 유닛이 4개라면, 또는 tanh 대신 ReLU를 쓰면 근사 결과가 어떻게 달라질까요?]],
}
lesson:finish()
