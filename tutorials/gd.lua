-- gd: onboarding 1, gradient descent by hand
local L = dofile((arg and arg[0] and arg[0]:match("(.*/)") or "tutorials/") .. "lib/lesson.lua")
local lesson = L.new{name = "gd", title = {en = "onboarding 1: gradient descent by hand",
                                           ko = "온보딩 1: 손으로 하는 경사 하강법"}}

lesson:say{
  en = [[Training a network means: pick numbers (weights) that make a loss small. Gradient descent does it with one rule. The gradient f'(w) says which way f goes up, so step the other way: w <- w - lr · f'(w).

Take f(w) = (w - 3)². Its minimum is at w = 3 and f'(w) = 2(w - 3).]],
  ko = [[네트워크를 학습한다는 것은 손실을 작게 만드는 숫자(가중치)를 찾는 것입니다. 경사 하강법은 규칙 하나로 이 일을 합니다. 기울기 f'(w)는 f가 올라가는 방향을 알려 주므로 반대쪽으로 한 걸음: w <- w - lr · f'(w).

f(w) = (w - 3)²를 봅시다. 최솟값은 w = 3이고 f'(w) = 2(w - 3)입니다.]],
}

lesson:predict{
  question = {en = "Start at w = 0 with lr = 0.1. What is w after one step?",
              ko = "w = 0에서 lr = 0.1로 시작합니다. 한 스텝 뒤 w는?"},
  answer = 0.6,
  explain = {en = "f'(0) = 2·(0 - 3) = -6, so w = 0 - 0.1·(-6) = 0.6. Each step removes 20% of the distance to 3 (w - 3 is multiplied by 1 - 2·lr = 0.8).",
             ko = "f'(0) = 2·(0 - 3) = -6이므로 w = 0 - 0.1·(-6) = 0.6. 스텝마다 3까지 거리의 20%가 줄어듭니다 (w - 3에 1 - 2·lr = 0.8이 곱해짐)."},
}

lesson:code[[
function descend(lr, steps)
  local w = 0
  for step = 1, steps do
    local grad = 2 * (w - 3)          -- f'(w), worked out by hand || 손으로 구한 f'(w)
    w = w - lr * grad
  end
  return w
end
for _, lr in ipairs{0.01, 0.1, 0.5, 0.9, 1.1} do
  print(string.format("lr %-5g  w after 20 steps = %10.4f"
                      || "lr %-5g  20스텝 뒤 w = %10.4f", lr,
                      descend(lr, 20)))
end
]]
lesson:check(math.abs(descend(0.1, 1) - 0.6) < 1e-12, {en = "one step from 0 with lr 0.1 lands on 0.6",
             ko = "0에서 lr 0.1로 한 스텝 가면 0.6에 닿는다"})
lesson:check(math.abs(descend(0.1, 100) - 3) < 1e-6, {en = "lr 0.1 converges to the minimum w = 3",
             ko = "lr 0.1은 최솟점 w = 3으로 수렴한다"})
lesson:check(math.abs(descend(1.1, 20) - 3) > 10, {en = "lr 1.1 diverges: each step overshoots by more than it corrects",
             ko = "lr 1.1은 발산한다: 스텝마다 바로잡는 것보다 더 많이 지나친다"})

lesson:say{
  en = [[The learning rate is the whole story here: too small crawls (0.01), 0.5 jumps straight to the answer (1 - 2·0.5 = 0), 0.9 overshoots back and forth but still shrinks, above 1 the error grows every step.

Now let the computer find the gradient. A tensor with requires_grad remembers the ops applied to it; loss:backward() walks them back and fills w.grad. This is autograd, and every later lesson relies on it.]],
  ko = [[여기서는 학습률이 전부입니다: 너무 작으면 느릿느릿 기어가고 (0.01), 0.5는 한 번에 답으로 건너뛰고 (1 - 2·0.5 = 0), 0.9는 최솟점을 넘나들면서도 오차가 줄어들고, 1을 넘으면 오차가 매 스텝 커집니다.

이제 기울기를 컴퓨터가 구하게 합시다. requires_grad가 켜진 텐서는 자신에게 적용된 연산을 기억하고, loss:backward()가 그 연산들을 거꾸로 따라가며 w.grad를 채웁니다. 이것이 autograd(자동 미분)이고, 이후의 모든 레슨이 이것을 씁니다.]],
}

lesson:code[[
w = tensor.tensor({0}):requires_grad(true)
for step = 1, 50 do
  local loss = ((w - 3) ^ 2):sum()
  loss:backward()                        -- w.grad = 2(w - 3)
  tensor.no_grad(function() w:copy(w - w.grad * 0.1) end)
  w:zero_grad()
end
print("autograd gradient descent: w =" || "autograd로 한 경사 하강법: w =", w:item())
]]
lesson:check(math.abs(w:item() - 3) < 1e-3, {en = "autograd finds the same minimum, w ≈ 3",
             ko = "autograd도 같은 최솟점 w ≈ 3을 찾는다"})

lesson:say{
  en = [[Questions to think about: what happens with two minima? What if f is flat in one direction and steep in another (the optimization lesson, onboarding 5)? Why do we zero the gradient each step?]],
  ko = [[생각해 볼 질문: 최솟값이 두 개면? f가 한 방향으로는 평평하고 다른 방향으로는 가파르면 (온보딩 5, optimization 레슨)? 왜 매 스텝 기울기를 0으로 초기화할까?]],
}
lesson:finish()
