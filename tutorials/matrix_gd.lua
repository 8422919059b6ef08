-- matrix_gd: onboarding 2, gradient descent on a matrix
local L = dofile((arg and arg[0] and arg[0]:match("(.*/)") or "tutorials/") .. "lib/lesson.lua")
local lesson = L.new{name = "matrix_gd", title = {en = "onboarding 2: gradient descent on a matrix",
                                                  ko = "온보딩 2: 행렬에 대한 경사 하강법"}}

lesson:say{
  en = [[Same rule, many numbers at once. Data X [N, 3], targets Y [N, 2], a weight W [3, 2]: prediction P = X W, loss = mean((P - Y)²). The gradient with respect to the whole matrix is again a matrix of the same shape as W:

    dLoss/dW = (2 / (N·2)) · Xᵀ (P - Y)        [3,N] x [N,2] -> [3,2]

Checking the shapes is a good way to get such formulas right: the gradient must have W's shape, and only Xᵀ (P - Y) fits.]],
  ko = [[같은 규칙을 여러 숫자에 한꺼번에 적용해 봅시다. 데이터 X [N, 3], 목표 Y [N, 2], 가중치 W [3, 2]: 예측 P = X W, 손실 = mean((P - Y)²). 행렬 전체에 대한 기울기는 다시 W와 같은 모양의 행렬입니다:

    dLoss/dW = (2 / (N·2)) · Xᵀ (P - Y)        [3,N] x [N,2] -> [3,2]

모양을 맞춰 보는 것이 이런 공식을 바르게 세우는 좋은 방법입니다: 기울기는 W의 모양이어야 하고, 맞는 것은 Xᵀ (P - Y)뿐입니다.]],
}

lesson:predict{
  question = {en = "X is [100,3], P - Y is [100,2]. What shape is Xᵀ (P - Y)?",
              ko = "X는 [100,3], P - Y는 [100,2]입니다. Xᵀ (P - Y)의 모양은?"},
  answer = "[3,2]",
  explain = {en = "[3,100] x [100,2] -> [3,2], W's shape: the 100 examples are summed over.",
             ko = "[3,100] x [100,2] -> [3,2], W의 모양: 예제 100개에 대해 합해집니다."},
}

lesson:code[[
tensor.manual_seed(0)
-- [3,2], what we hope to find || [3,2], 찾고 싶은 값
W_true = tensor.tensor({{1, -2}, {0.5, 3}, {-1, 0}})
X = tensor.randn(100, 3)
-- a little noise || 약간의 잡음
Y = X:matmul(W_true) + tensor.randn(100, 2) * 0.01
W = tensor.zeros(3, 2)
for step = 1, 200 do
  local P = X:matmul(W)
  local grad = X:t():matmul(P - Y) * (2 / (100 * 2))             -- by hand || 손으로
  W = W - grad * 0.5
end
print("learned W:" || "학습한 W:"); print(W)
hand_err = (W - W_true):abs():max():item()
print("max |W - W_true| =" || "최대 |W - W_true| =", hand_err)
]]
lesson:check(hand_err < 0.02, {en = "the hand-derived matrix gradient recovers W_true",
             ko = "손으로 유도한 행렬 기울기로 W_true를 복원한다"})

lesson:code[[
Wa = tensor.zeros(3, 2):requires_grad(true)
local loss = ((X:matmul(Wa) - Y) ^ 2):mean()
loss:backward()
local by_hand = X:t():matmul(X:matmul(tensor.zeros(3, 2)) - Y) * (2 / 200)
grad_diff = (Wa.grad - by_hand):abs():max():item()
print("autograd vs hand gradient, max difference:"
      || "autograd 기울기와 손 계산 기울기의 최대 차이:", grad_diff)
]]
lesson:check(grad_diff < 1e-5, {en = "autograd's dLoss/dW equals Xᵀ(P - Y)·2/(N·2)",
             ko = "autograd의 dLoss/dW는 Xᵀ(P - Y)·2/(N·2)와 같다"})

lesson:say{
  en = [[Keywords: Jacobian, chain rule, "the gradient has the shape of the parameter". Question: the loss surface here is a bowl; how does its shape (XᵀX) decide the largest learning rate that still converges?]],
  ko = [[키워드: 야코비안, 연쇄 법칙, "기울기는 파라미터의 모양을 가진다". 질문: 여기서 손실 곡면은 그릇 모양입니다. 그 모양(XᵀX)은 수렴이 보장되는 최대 학습률을 어떻게 정할까요?]],
}
lesson:finish()
