-- vit_conv: convolution inside a ViT, the FC+Conv shortcut
local L = dofile((arg and arg[0] and arg[0]:match("(.*/)") or "tutorials/") .. "lib/lesson.lua")
local lesson = L.new{name = "vit_conv", title = {en = "adding convolution to a ViT",
                                                 ko = "ViT에 합성곱 더하기"}}

lesson:say{
  en = [[A ViT has none of a CNN's built-in assumptions (nearby pixels matter together, the same pattern anywhere is the same pattern), so it needs huge data sets. One idea for small data: put convolutions back inside the ViT. The hard part is the shapes: a transformer holds tokens [B, HW+1, C] (a CLS token plus one token per patch), a Conv2d wants images [B, C, H, W].]],
  ko = [[ViT에는 CNN에 기본으로 들어 있는 가정(가까운 픽셀끼리 관련이 깊다, 같은 무늬는 어디에 있든 같은 무늬다)이 없어서 거대한 데이터셋이 필요합니다. 데이터가 적을 때 쓸 만한 아이디어 하나는 ViT 안에 합성곱을 다시 넣는 것입니다. 어려운 부분은 모양입니다: 트랜스포머는 토큰 [B, HW+1, C] (CLS 토큰 하나 + 패치마다 토큰 하나)를 다루고, Conv2d는 이미지 [B, C, H, W]를 원합니다.]],
}

lesson:predict{
  question = {en = "ViT-B/16 on a 224x224 image: 16x16 patches, C = 768. What is the token shape for B = 2?",
              ko = "224x224 이미지에 ViT-B/16: 16x16 패치, C = 768. B = 2일 때 토큰 모양은?"},
  answer = "[2,197,768]",
  explain = {en = "224/16 = 14, so H = W = 14 and HW = 196 patch tokens, plus 1 CLS token = 197.",
             ko = "224/16 = 14이므로 H = W = 14, 패치 토큰 HW = 196개, CLS 토큰 1개를 더해 197."},
}

lesson:code[[
B, H, W, C = 2, 14, 14, 768
-- meta: shapes only, no memory || meta: 모양만, 메모리는 없음
tokens = tensor.randn(B, H * W + 1, C, {device = "meta"})
-- [B,1,C]   the CLS token || [B,1,C]   CLS 토큰
cls     = tokens:narrow(2, 1, 1)
patches = tokens:narrow(2, 2, H * W)                  -- [B,HW,C]
-- [B,C,H,W]
img     = patches:reshape(B, H, W, C):permute(1, 4, 2, 3):contiguous()
conv    = nn.Conv2d(C, C, 3, {padding = 1, device = "meta"})
-- [B,C,H,W], same size thanks to padding 1 || [B,C,H,W], padding 1 덕분에 크기 그대로
y       = conv(img)
back    = y:permute(1, 3, 4, 2):reshape(B, H * W, C)  -- [B,HW,C]
out     = tensor.cat({cls, back}, 2)                  -- [B,HW+1,C]
for _, step in ipairs{{"tokens" || "토큰            ", tokens},
                      {"drop CLS" || "CLS 떼기        ", patches},
                      {"as image" || "이미지 모양     ", img},
                      {"conv" || "합성곱          ", y},
                      {"back to tokens" || "다시 토큰으로   ", back},
                      {"concat CLS" || "CLS 붙이기      ", out}} do
  print(string.format("%-16s %s", step[1], tostring(step[2]:shape())))
end
]]
lesson:check(img:shape() == tensor.empty(2, 768, 14, 14, {device = "meta"}):shape(), {en = "tokens become [B,C,H,W] = [2,768,14,14]",
             ko = "토큰이 [B,C,H,W] = [2,768,14,14]가 된다"})
lesson:check(out:shape() == tokens:shape(), {en = "and come back as [B,HW+1,C] = [2,197,768]",
             ko = "그리고 [B,HW+1,C] = [2,197,768]로 돌아온다"})

lesson:say{
  en = [[Why permute and not just reshape [B,HW,C] to [B,C,H,W]? Reshape keeps the memory order, so it would scramble channels and positions together. permute moves the dims; contiguous then copies into the new order, which the convolution reads fastest.

A patch is one node of the conv's input: after the patch embedding, each 16x16 patch of ViT-B/16 is a single "pixel" of the [B,C,14,14] image the convolution sees. So the kernel size need not match the patch size. A 3x3 kernel already mixes 3x3 neighbouring patches; a 2x2 kernel does not "match" a 2x2 patch, it just sees fewer neighbours.

The FC+Conv shortcut comes from ResNet's shortcut: a second path around the convolutions, added to their output, so information and gradients need not pass through every conv. Here the path is a Linear over the HW positions: permute [B,HW,C] -> [B,C,HW], Linear(HW, HW) (it mixes all positions, like a global filter), reshape to [B,C,H,W] and add it to the conv output.

The reported experiments cut ViT-B/16 to its first 6 layers and added blocks; one run each, 13 to 21 hours of GPU time per run:

    6 ViT layers only              0.9678
    6 ViT + 4 conv                 0.9011
    6 ViT + 5 conv, 3x3 kernels    0.8921
    6 ViT + 5 conv, 2x2 kernels    0.8608
    6 ViT + 6 conv                 0.8031
    6 ViT + 6 FC                   0.9499
    6 ViT + 6 (FC+Conv)            0.97
    full ViT-B/16 (12 layers)      0.988

More conv layers hurt, and 2x2 kernels were worse than 3x3. With the FC shortcut the six conv blocks no longer hurt (0.97, against 0.8031 without it), and training was smoother. Whether they HELPED is another question: 0.97 against 0.9678 for the 6 ViT layers alone is a 0.2-point gap between two single runs, well within what another seed could change.]],
  ko = [[왜 [B,HW,C]를 그냥 [B,C,H,W]로 reshape하지 않고 permute할까요? reshape은 메모리 순서를 유지하므로 채널과 위치가 뒤섞입니다. permute는 차원을 옮기고, contiguous는 새 순서대로 복사해서 합성곱이 가장 빨리 읽을 수 있게 합니다.

패치 하나는 합성곱 입력의 노드 하나입니다: 패치 임베딩을 거치면 ViT-B/16의 16x16 패치 하나하나가 합성곱이 보는 [B,C,14,14] 이미지의 "픽셀" 하나가 됩니다. 그러니 커널 크기를 패치 크기에 맞출 필요가 없습니다. 3x3 커널은 이미 이웃한 3x3 = 9개의 패치를 섞습니다. 2x2 커널은 2x2 패치에 "맞춘" 것이 아니라, 이웃을 덜 볼 뿐입니다.

FC+Conv 지름길은 ResNet의 지름길(shortcut)에서 왔습니다: 합성곱들을 돌아가는 두 번째 경로를 만들어 그 출력에 더하면, 정보와 기울기가 모든 합성곱을 거치지 않아도 됩니다. 여기서는 그 경로가 HW 위치들에 대한 Linear입니다: [B,HW,C] -> [B,C,HW]로 permute하고, Linear(HW, HW) (모든 위치를 섞는 전역 필터 같은 것)를 적용한 뒤, [B,C,H,W]로 reshape해서 합성곱 출력에 더합니다.

보고된 실험은 ViT-B/16을 앞쪽 6층만 남기고 블록을 덧붙였습니다. 설정마다 한 번씩, 한 번에 GPU 13~21시간이 들었습니다:

    ViT 6층만                      0.9678
    ViT 6층 + conv 4               0.9011
    ViT 6층 + conv 5, 3x3 커널     0.8921
    ViT 6층 + conv 5, 2x2 커널     0.8608
    ViT 6층 + conv 6               0.8031
    ViT 6층 + FC 6                 0.9499
    ViT 6층 + (FC+Conv) 6          0.97
    ViT-B/16 전체 (12층)           0.988

합성곱 층이 늘수록 나빠졌고, 2x2 커널은 3x3보다 나빴습니다. FC 지름길을 붙이자 합성곱 블록 여섯 개가 더는 해가 되지 않았고 (지름길 없이 0.8031, 있으면 0.97), 학습도 더 매끄러웠습니다. 하지만 "도움이 됐는지"는 다른 문제입니다: 0.97과 ViT 6층만의 0.9678은 한 번씩 돌린 두 실행 사이의 0.2%p 차이로, 시드만 바꿔도 달라질 수 있는 범위입니다.]],
}

lesson:predict{
  question = {en = "In ViT-B/16, a 3x3 conv on the [B,C,14,14] token image: how many pixels of the 224x224 image does one output see, per side?",
              ko = "ViT-B/16에서 토큰 이미지 [B,C,14,14]에 3x3 합성곱을 하면, 출력 하나가 224x224 이미지의 몇 픽셀을 보나요? (한 변 기준)"},
  answer = 48,
  explain = {en = "Each node is one 16x16 patch, so 3 nodes are 3·16 = 48 pixels: a 48x48 window of the image.",
             ko = "노드 하나가 16x16 패치 하나이므로 노드 3개는 3·16 = 48 픽셀: 이미지의 48x48 영역입니다."},
}

lesson:say{
  en = [[Now a tiny version you can train in seconds: Fashion-MNIST 28x28, 4x4 patches -> 7x7 = 49 tokens + CLS, C = 32, one transformer block, then optionally one conv block with the FC shortcut, then a classifier on the CLS token.]],
  ko = [[이제 몇 초면 학습되는 작은 버전을 만듭니다: Fashion-MNIST 28x28, 4x4 패치 -> 7x7 = 토큰 49개 + CLS, C = 32, 트랜스포머 블록 하나, FC 지름길을 골라 붙일 수 있는 합성곱 블록 하나, 그리고 CLS 토큰을 입력으로 받는 분류기.]],
}

lesson:code[[
-- tokens -> conv (+ FC shortcut) -> tokens || 토큰 -> 합성곱 (+ FC 지름길) -> 토큰
ConvBlock = nn.Module:extend("ConvBlock")
function ConvBlock:init(C, H, W)
  self.C, self.H, self.W = C, H, W
  self.conv = nn.Conv2d(C, C, 3, {padding = 1})
  -- mixes positions: the FC+Conv shortcut || 위치를 섞음: FC+Conv 지름길
  self.fc = nn.Linear(H * W, H * W)
end
function ConvBlock:forward(t)
  local B, C, H, W = t:size(1), self.C, self.H, self.W
  -- [B,1,C], [B,HW,C]
  local cls, p = t:narrow(2, 1, 1), t:narrow(2, 2, H * W)
  -- [B,C,H,W]
  local img = p:reshape(B, H, W, C):permute(1, 4, 2, 3):contiguous()
  -- [B,C,HW] -> [B,C,H,W]
  local fc = self.fc(p:permute(1, 3, 2)):reshape(B, C, H, W)
  local y = (self.conv(img):gelu() + fc):permute(1, 3, 4, 2)
  y = y:reshape(B, H * W, C)
  -- residual, CLS back on || 잔차 연결, CLS를 다시 붙임
  return tensor.cat({cls, p + y}, 2)
end

TinyViT = nn.Module:extend("TinyViT")
function TinyViT:init(use_conv)
  local C = 32
  -- [B,1,28,28] -> [B,C,7,7]
  self.patch = nn.Conv2d(1, C, 4, {stride = 4})
  self.cls = (tensor.randn(1, 1, C) * 0.02):requires_grad(true)
  -- fixed [1,49,C] || 고정 [1,49,C]
  self.pos = nn.pos_sincos_2d(7, 7, C):unsqueeze(1)
  self.ln1, self.attn = nn.LayerNorm(C), nn.MultiheadAttention(C, 4)
  self.ln2 = nn.LayerNorm(C)
  self.mlp = nn.Sequential(nn.Linear(C, 2 * C), nn.GELU(),
                           nn.Linear(2 * C, C))
  if use_conv then self.convblock = ConvBlock(C, 7, 7) end
  self.norm, self.head = nn.LayerNorm(C), nn.Linear(C, 10)
end
function TinyViT:forward(x)                                 -- x [B,784]
  local B = x:size(1)
  -- [B,49,C]
  local p = self.patch(x:view(B, 1, 28, 28)):flatten(3):transpose(2, 3)
  p = p + self.pos
  -- [B,50,C]
  local t = tensor.cat({self.cls:expand(B, 1, 32), p}, 2)
  local h = self.ln1(t)
  t = t + self.attn(h, h, h)
  t = t + self.mlp(self.ln2(t))
  if self.convblock then t = self.convblock(t) end
  -- the CLS token -> [B,10] || CLS 토큰 -> [B,10]
  return self.head(self.norm(t:select(2, 1)))
end
]]

local quick = lesson:quick()
_G.N_TRAIN, _G.N_TEST, _G.EPOCHS = quick and 2000 or 10000, quick and 1000 or 2000, quick and 1 or 3
lesson:say{
  en = string.format([[Training each model for %d epoch(s) on %d training images, testing on %d%s.]],
                     EPOCHS, N_TRAIN, N_TEST, quick and " (a small subset: --check mode)" or ""),
  ko = string.format([[모델마다 학습 이미지 %d장으로 %d 에폭 학습하고, %d장으로 테스트합니다%s.]],
                     N_TRAIN, EPOCHS, N_TEST, quick and " (작은 부분집합: --check 모드)" or ""),
}

-- the shown code carries this run's sizes, so it can be typed at a fresh prompt
lesson:code(([[
N_TRAIN, N_TEST, EPOCHS = @SIZES  -- this run (full: 10000, 2000, 3) || 이번 실행 (전체 10000, 2000, 3)
trainset, testset = data.fashion_mnist{limit = N_TRAIN, test_limit = N_TEST}
nn.summary(TinyViT(true), {64, 784})

function fit(use_conv)
  tensor.manual_seed(1)
  local model = TinyViT(use_conv)
  local opt = optim.AdamW(model, {lr = 3e-3})
  local first, last
  for epoch = 1, EPOCHS do
    local batches = data.loader(trainset.x, trainset.y,
                      {batch_size = 64, shuffle = true, seed = epoch})
    for xb, yb in batches do
      opt:zero_grad()
      local loss = nn.cross_entropy(model(xb), yb)
      loss:backward()
      opt:step()
      first = first or loss:item()
      last = loss:item()
    end
  end
  local acc = nn.accuracy(model, testset.x, testset.y)
  return {first = first, last = last, acc = acc,
          params = (model:num_params())}
end

vit_plain = fit(false)
vit_conv = fit(true)
print("                 params   first loss   last loss   test acc"
      || "               파라미터      첫 손실      끝 손실     정확도")
for _, r in ipairs{{"ViT", vit_plain},
                   {"ViT + conv" || "ViT + 합성곱", vit_conv}} do
  print(string.format("%-12s %10d   %10.3f   %9.3f   %8.3f", r[1],
                      r[2].params, r[2].first, r[2].last, r[2].acc))
end
]]):gsub("@SIZES", string.format("%d, %d, %d", N_TRAIN, N_TEST, EPOCHS)), nil)

lesson:check(vit_plain.last < vit_plain.first and vit_conv.last < vit_conv.first,
             {en = "training reduces the loss for both models", ko = "두 모델 모두 학습으로 손실이 줄어든다"})
lesson:check(vit_plain.acc > 0.3 and vit_conv.acc > 0.3,
             {en = "both beat chance (0.1) clearly on the test subset", ko = "두 모델 모두 테스트 부분집합에서 무작위 추측(0.1)보다 확실히 낫다"})

lesson:say{
  en = [[Which one won here says little: one seed, a small subset, a few dozen to a few hundred steps. To compare architectures honestly you would fix the training budget, repeat over several seeds and report the spread, exactly what the table above (one run each) could not afford. What this lesson should leave you with is the mechanics: narrow off the CLS token, reshape + permute to an image, convolve, and go back.]],
  ko = [[여기서 어느 쪽이 이겼는지는 별 의미가 없습니다: 시드 하나, 작은 부분집합, 수십에서 수백 스텝. 구조를 정직하게 비교하려면 학습 예산을 고정하고, 여러 시드로 반복해 편차를 보고해야 합니다. 위 표(각각 한 번씩 실행)가 감당하지 못한 바로 그 일입니다. 이 레슨에서 가져갈 것은 방법 자체입니다: CLS 토큰을 떼고, reshape + permute로 이미지를 만들고, 합성곱을 한 뒤 다시 토큰으로 되돌리는 것.]],
}

lesson:finish()
