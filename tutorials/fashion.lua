-- fashion: Fashion-MNIST, an MLP and then a small CNN
local L = dofile((arg and arg[0] and arg[0]:match("(.*/)") or "tutorials/") .. "lib/lesson.lua")
local lesson = L.new{name = "fashion", title = {en = "Fashion-MNIST: an MLP, then a small CNN",
                                                ko = "Fashion-MNIST: MLP, 그다음 작은 CNN"}}

lesson:say{
  en = [[Fashion-MNIST: 28x28 grey images of 10 kinds of clothing (T-shirt, trouser, pullover, dress, coat, sandal, shirt, sneaker, bag, ankle boot), 60,000 for training and 10,000 for testing. data.fashion_mnist() gives x [N,784] scaled to [0,1] and labels y [N] as 1..10.]],
  ko = [[Fashion-MNIST: 옷 10종류 (티셔츠, 바지, 풀오버, 드레스, 코트, 샌들, 셔츠, 스니커즈, 가방, 앵클부츠)의 28x28 흑백 이미지, 학습용 60,000장과 테스트용 10,000장. data.fashion_mnist()는 [0,1]로 스케일된 x [N,784]와 1..10인 레이블 y [N]을 줍니다.]],
}

local quick = lesson:quick()
_G.N_TRAIN, _G.N_TEST, _G.EPOCHS = quick and 4000 or 60000, quick and 1000 or 10000, quick and 1 or 3
lesson:say{
  en = quick and [[--check mode: 4000 training images, 1000 test images, one epoch each (the full run uses all 60,000 for 3 epochs).]]
    or [[All 60,000 training images, 3 epochs each, tested on all 10,000.]],
  ko = quick and [[--check 모드: 학습 이미지 4000장, 테스트 1000장, 각 1 에폭 (전체 실행은 60,000장 전부로 3 에폭).]]
    or [[학습 이미지 60,000장 전부로 각 3 에폭, 10,000장 전부로 테스트.]],
}

-- the shown code carries this run's numbers, so it can be typed at a fresh prompt
lesson:code(([[
N_TRAIN, N_TEST, EPOCHS = @SIZES  -- this run (all: 60000, 10000, 3) || 이번 실행 (전체 60000, 10000, 3)
SHOW_DASH = @DASH        -- a dashboard only on a terminal || 대시보드는 터미널에서만
trainset, testset = data.fashion_mnist{limit = N_TRAIN, test_limit = N_TEST}
print("train" || "학습", trainset.x:shape(), trainset.y:shape(), " test" || " 테스트",
      testset.x:shape())

-- train{} runs the whole loop; with dashboard = true the dashboard || train{}이 루프 전체를 돌리고, dashboard = true면 대시보드가
-- watches it; q, y stops it and fit goes on with what was learned || 지켜봅니다. q, y로 멈추면 그때까지 학습한 모델로 이어 갑니다
function fit(model, lr)
  tensor.manual_seed(0)
  train{model = model, data = {x = trainset.x, y = trainset.y},
        loss = nn.cross_entropy, opt = optim.Adam(model, {lr = lr}),
        epochs = EPOCHS, batch_size = 64, seed = 1,
        test = {x = testset.x, y = testset.y}, dashboard = SHOW_DASH}
  -- test accuracy, however far it got || 어디까지 학습했든 테스트 정확도
  return nn.accuracy(model, testset.x, testset.y)
end
]]):gsub("@SIZES", string.format("%d, %d, %d", N_TRAIN, N_TEST, EPOCHS))
     :gsub("@DASH", tostring(L.use_dash())), nil)

lesson:predict{
  question = {en = "MLP 784 -> 128 -> 10 (with biases): how many parameters?",
              ko = "MLP 784 -> 128 -> 10 (bias 포함)의 파라미터 수는?"},
  answer = "101,770",
  explain = {en = "784·128 + 128 = 100,480 and 128·10 + 10 = 1,290: 101,770.",
             ko = "784·128 + 128 = 100,480, 128·10 + 10 = 1,290: 합 101,770."},
}

lesson:code[[
mlp = nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10))
nn.summary(mlp, {64, 784})
mlp_acc = fit(mlp, 1e-3)
]]
lesson:check(mlp:num_params() == 101770, {en = "the MLP has 101,770 parameters",
             ko = "MLP의 파라미터는 101,770개다"})
lesson:check(mlp_acc > 0.6, {en = string.format("the MLP is well above chance (0.1): test acc %.3f > 0.6", mlp_acc),
             ko = string.format("MLP는 무작위 추측(0.1)보다 훨씬 낫다: 테스트 정확도 %.3f > 0.6", mlp_acc)})

lesson:say{
  en = [[The MLP sees 784 unrelated numbers: shift a shoe by one pixel and every input changes. A CNN slides small filters over the image, so the same pattern is recognised anywhere, with far fewer weights per layer.]],
  ko = [[MLP는 서로 무관한 숫자 784개를 봅니다: 신발을 한 픽셀만 옮겨도 모든 입력이 바뀝니다. CNN은 작은 필터를 이미지 위에서 밀어 가며 적용하므로 같은 무늬를 어디서든 알아보고, 층마다 가중치도 훨씬 적습니다.]],
}

lesson:predict{
  question = {en = "[64,1,28,28] -> Conv2d(1,16,3,padding 1) -> MaxPool2d(2) -> Conv2d(16,32,3,padding 1) -> MaxPool2d(2). Output shape?",
              ko = "[64,1,28,28] -> Conv2d(1,16,3,padding 1) -> MaxPool2d(2) -> Conv2d(16,32,3,padding 1) -> MaxPool2d(2). 출력 모양은?"},
  answer = "[64,32,7,7]",
  explain = {en = "padding 1 keeps 28x28; each pool halves: 28 -> 14 -> 7. Channels 1 -> 16 -> 32. Flattened: 32·7·7 = 1568.",
             ko = "padding 1은 28x28을 유지하고, 풀링마다 절반: 28 -> 14 -> 7. 채널 1 -> 16 -> 32. 펼치면 32·7·7 = 1568."},
}

lesson:code[[
Reshape = nn.Module:extend("Reshape")
function Reshape:init(...) self.sizes = {...} end
function Reshape:forward(x)
  return x:view(x:size(1), table.unpack(self.sizes))
end

cnn = nn.Sequential(
  -- [B,784] -> [B,1,28,28]
  Reshape(1, 28, 28),
  nn.Conv2d(1, 16, 3, {padding = 1}), nn.ReLU(), nn.MaxPool2d(2),
  nn.Conv2d(16, 32, 3, {padding = 1}), nn.ReLU(), nn.MaxPool2d(2),
  nn.Flatten(), nn.Linear(32 * 7 * 7, 10))
summary = nn.summary(cnn, {64, 784})
cnn_acc = fit(cnn, 2e-3)
]]
local pool2
for _, r in ipairs(summary.rows) do if r.name == "7" then pool2 = r.shape end end
lesson:check(pool2 and table.concat(pool2, ",") == "64,32,7,7", {en = "after two conv+pool stages: [64,32,7,7]",
             ko = "합성곱+풀링 두 단계를 지나면 [64,32,7,7]"})
lesson:check(cnn_acc > 0.6, {en = string.format("the CNN is well above chance: test acc %.3f > 0.6", cnn_acc),
             ko = string.format("CNN도 무작위 추측보다 훨씬 낫다: 테스트 정확도 %.3f > 0.6", cnn_acc)})

lesson:say{
  en = [[With all the data and 3 epochs, our run (nnlab, seed 0) reached 0.865 for the MLP and 0.892 for this CNN; after each epoch the MLP scored 0.841, 0.847, 0.865 and the CNN 0.868, 0.882, 0.892. Test accuracy still moves by about a point from epoch to epoch, so expect the MLP near 0.85-0.87 and the CNN near 0.88-0.90 (run it without --check to see; the CNN takes about two minutes on two CPU cores). Next steps: add BatchNorm2d after each conv, try dropout, or move it to the GPU with cnn:cuda() and xb:cuda().]],
  ko = [[전체 데이터로 3 에폭 학습했을 때 (nnlab, 시드 0) MLP는 0.865, 이 CNN은 0.892가 나왔습니다. 에폭마다 측정한 값은 MLP가 0.841, 0.847, 0.865, CNN이 0.868, 0.882, 0.892였습니다. 테스트 정확도는 에폭마다 1%p쯤 오르내리므로 MLP는 0.85-0.87, CNN은 0.88-0.90 정도를 기대하면 됩니다 (--check 없이 실행해 보세요. CPU 코어 두 개로 CNN은 2분쯤 걸립니다). 다음 단계: 합성곱마다 뒤에 BatchNorm2d 넣기, 드롭아웃 써 보기, cnn:cuda()와 xb:cuda()로 GPU에 올리기.]],
}
lesson:finish()
