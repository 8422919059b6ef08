-- sgd: onboarding 3, stochastic gradient descent
local L = dofile((arg and arg[0] and arg[0]:match("(.*/)") or "tutorials/") .. "lib/lesson.lua")
local lesson = L.new{name = "sgd", title = {en = "onboarding 3: stochastic gradient descent",
                                            ko = "온보딩 3: 확률적 경사 하강법"}}

lesson:say{
  en = [[Gradient descent uses the gradient over ALL examples for every step. With 60,000 images that is one expensive step per pass. Stochastic gradient descent (SGD) estimates the gradient from a small random mini-batch instead: noisy, but cheap, so it takes many steps per pass over the data (an epoch).]],
  ko = [[경사 하강법은 매 스텝 "모든" 예제에 대한 기울기를 씁니다. 이미지가 60,000장이면 데이터를 한 번 훑을 때 비싼 스텝 하나뿐입니다. 확률적 경사 하강법(SGD)은 대신 무작위로 뽑은 작은 미니배치로 기울기를 추정합니다: 잡음이 섞이지만 계산이 싸서, 데이터를 한 번 훑는 동안(에폭) 스텝을 많이 밟습니다.]],
}

lesson:predict{
  question = {en = "2000 examples, batch size 32, drop_last = false: how many updates per epoch?",
              ko = "예제 2000개, 배치 크기 32, drop_last = false: 에폭당 업데이트는 몇 번?"},
  answer = 63,
  explain = {en = "2000 / 32 = 62.5, so 62 full batches and one last batch of 16: 63 updates.",
             ko = "2000 / 32 = 62.5이므로 꽉 찬 배치 62개와 마지막 16개짜리 배치 하나: 63번."},
}

lesson:code[[
tensor.manual_seed(0)
X = tensor.randn(2000, 10)
w_true = tensor.randn(10, 1)
Y = X:matmul(w_true) + tensor.randn(2000, 1) * 0.1
loader = data.loader(X, Y, {batch_size = 32, shuffle = true, seed = 1})
print(loader)

-- not `train`: that name is nnlab's train{} || `train`이 아닌 이름: train{}은 nnlab의 함수
function run_sgd(batch_size, epochs, lr)
  tensor.manual_seed(1)
  local model = nn.Linear(10, 1)
  local opt = optim.SGD(model, {lr = lr})
  local updates = 0
  for epoch = 1, epochs do
    for xb, yb in data.loader(X, Y, {batch_size = batch_size,
                                     shuffle = true, seed = epoch}) do
      opt:zero_grad()
      nn.mse_loss(model(xb), yb):backward()
      opt:step()
      updates = updates + 1
    end
  end
  local loss = tensor.no_grad(function()
    return nn.mse_loss(model(X), Y):item()
  end)
  return loss, updates
end

print("            updates   loss on all data after 3 epochs"
      || "          업데이트 수   3 에폭 뒤 전체 데이터 손실")
full_loss, full_updates = run_sgd(2000, 3, 0.1)
print(string.format("full batch  %7d   %.4f" || "전체 배치     %7d       %.4f",
                    full_updates, full_loss))
sgd_loss, sgd_updates = run_sgd(32, 3, 0.1)
print(string.format("batch 32    %7d   %.4f" || "배치 32       %7d       %.4f",
                    sgd_updates, sgd_loss))
]]
lesson:check(#loader == 63, {en = "the loader makes 63 batches per epoch",
             ko = "로더는 에폭마다 배치 63개를 만든다"})
lesson:check(sgd_loss < full_loss / 10, {en = "in the same 3 epochs, mini-batch SGD gets a loss 10x lower than full batch",
             ko = "같은 3 에폭에서 미니배치 SGD의 손실이 전체 배치보다 10배 낮다"})

lesson:say{
  en = [[Same compute (3 passes over the data), 189 small steps beat 3 exact ones by a wide margin. The price is noise: near the minimum, mini-batch gradients keep pointing in slightly different directions, so SGD jitters around it unless the learning rate decays.

Keywords: epoch, mini-batch, shuffling, learning-rate schedule. Questions: why shuffle every epoch? What does the batch size do to the noise, and to the best learning rate?]],
  ko = [[같은 계산량(데이터 3회 통과)에서 작은 스텝 189번이 정확한 스텝 3번을 크게 앞섭니다. 대가는 잡음입니다: 최솟값 근처에서 미니배치 기울기들이 조금씩 다른 방향을 가리키므로, 학습률을 줄이지 않으면 SGD는 최솟값 주변에서 흔들립니다.

키워드: 에폭, 미니배치, 셔플, 학습률 스케줄. 질문: 왜 에폭마다 섞을까? 배치 크기는 잡음에, 그리고 최적 학습률에 어떤 영향을 줄까?]],
}
lesson:finish()
