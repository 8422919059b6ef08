-- optimization: onboarding 5, SGD vs momentum vs Adam
local L = dofile((arg and arg[0] and arg[0]:match("(.*/)") or "tutorials/") .. "lib/lesson.lua")
local lesson = L.new{name = "optimization", title = {en = "onboarding 5: SGD, momentum and Adam",
                                                     ko = "온보딩 5: SGD, 모멘텀, Adam"}}

lesson:say{
  en = [[Real loss surfaces are rarely round bowls. Take a narrow valley: f(a, b) = a² + 100·b², steep across (b), flat along (a). Plain gradient descent must keep the learning rate below 2/200 = 0.01 or it blows up in the steep direction, and with such a small step it crawls along the flat one.

Momentum keeps a running sum of past gradients: the zig-zag across the valley cancels out and the steady push along it adds up. Adam divides each coordinate's step by a running size of its gradient, so steep and flat directions get similar step sizes.]],
  ko = [[실제 손실 곡면이 둥근 그릇 모양인 경우는 드뭅니다. 좁은 골짜기를 봅시다: f(a, b) = a² + 100·b², 골짜기를 가로지르는 방향(b)으로는 가파르고 골짜기를 따라가는 방향(a)으로는 평평합니다. 일반 경사 하강법은 가파른 방향에서 발산하지 않도록 학습률을 2/200 = 0.01 아래로 둬야 하고, 그렇게 작은 스텝으로는 평평한 방향으로 기어가듯 나아갑니다.

모멘텀은 지난 기울기들의 누적합을 유지합니다: 골짜기를 가로지르는 지그재그는 상쇄되고 골짜기를 따라 꾸준히 미는 힘은 쌓입니다. Adam은 좌표마다 기울기 크기의 이동 평균으로 스텝을 나누어, 가파른 방향과 평평한 방향이 비슷한 스텝을 받게 합니다.]],
}

lesson:predict{
  question = {en = "Plain GD with lr 0.009 from a = 10: a shrinks by the factor (1 - 2·0.009) each step. Roughly what is a after 100 steps?",
              ko = "lr 0.009의 일반 GD, a = 10에서 시작: a는 스텝마다 (1 - 2·0.009)배가 됩니다. 100 스텝 뒤 a는 대략?"},
  answer = 1.6,
  explain = {en = "10 · 0.982¹⁰⁰ ≈ 10 · 0.162 ≈ 1.6: still far from 0, while b (factor 1 - 200·0.009 = -0.8) is long done.",
             ko = "10 · 0.982¹⁰⁰ ≈ 10 · 0.162 ≈ 1.6: 아직 0에서 멀고, b (배율 1 - 200·0.009 = -0.8)는 이미 수렴했습니다."},
}

lesson:code[==[
function valley(p) return p:select(1, 1) ^ 2 + p:select(1, 2) ^ 2 * 100 end
function run(make_opt, steps)
  local p = tensor.tensor({10, 1}):requires_grad(true)
  local opt = make_opt({p})
  for step = 1, steps do
    opt:zero_grad()
    valley(p):backward()
    opt:step()
  end
  return valley(p:detach()):item(), p:detach():tolist()
end
results = {}
for _, o in ipairs{
  {"SGD lr 0.009", function(ps) return optim.SGD(ps, {lr = 0.009}) end},
  {"SGD lr 0.011", function(ps) return optim.SGD(ps, {lr = 0.011}) end},
  {"momentum 0.9" || "모멘텀 0.9    ", function(ps)
    return optim.SGD(ps, {lr = 0.009, momentum = 0.9})
  end},
  {"Adam lr 0.5", function(ps) return optim.Adam(ps, {lr = 0.5}) end},
} do
  local f, p = run(o[2], 100)
  results[#results + 1] = f
  print(string.format("%-14s f after 100 steps %12.6g  at (%.4g, %.4g)"
                      || "%-14s 100스텝 뒤 f %12.6g  위치 (%.4g, %.4g)",
                      o[1], f, p[1], p[2]))
end
]==]
lesson:check(results[2] > 1e3, {en = "SGD with lr above 0.01 diverges along the steep direction",
             ko = "lr이 0.01을 넘는 SGD는 가파른 방향으로 발산한다"})
lesson:check(results[3] < results[1] / 100, {en = "momentum gets 100x lower than plain SGD with the same lr",
             ko = "모멘텀은 같은 lr의 일반 SGD보다 100배 낮은 손실에 이른다"})
lesson:check(results[4] < results[1], {en = "Adam beats plain SGD here",
             ko = "여기서는 Adam이 일반 SGD를 이긴다"})

lesson:say{
  en = [[No optimizer wins everywhere: Adam is the usual default for transformers, SGD with momentum is still common for CNNs (often generalising slightly better), and the learning rate and its schedule matter more than the choice between them.

Keywords: condition number, momentum, Nesterov, Adam's β1/β2, learning-rate warm-up and decay. Question: why does Adam need bias correction in its first steps?]],
  ko = [[어디서나 이기는 옵티마이저는 없습니다: 트랜스포머에는 보통 Adam이 기본이고, CNN에는 여전히 모멘텀 SGD를 많이 쓰며 (일반화가 조금 나은 경우가 많음), 둘 중 무엇을 고르느냐보다 학습률과 그 스케줄이 더 중요합니다.

키워드: 조건수, 모멘텀, Nesterov, Adam의 β1/β2, 학습률 웜업과 감쇠. 질문: Adam은 왜 처음 몇 스텝에 편향 보정이 필요할까요?]],
}
lesson:finish()
