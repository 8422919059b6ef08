-- frameworks: onboarding 8-9, backprop by hand vs autograd
local L = dofile((arg and arg[0] and arg[0]:match("(.*/)") or "tutorials/") .. "lib/lesson.lua")
local lesson = L.new{name = "frameworks", title = {en = "onboarding 8-9: what a framework does for you",
                                                   ko = "온보딩 8-9: 프레임워크가 해 주는 일"}}

lesson:say{
  en = [[A framework gives you three things: tensors, automatic gradients, and ready-made layers and optimizers. To see what the middle one saves you, we write the backward pass of a 2-layer MLP by hand and compare it with autograd.

    h = relu(x W1ᵀ + b1)   out = h W2ᵀ + b2   loss = mean((out - y)²)
    d_out = 2 (out - y) / numel
    dW2 = d_outᵀ h        db2 = sum of d_out over the batch
    d_h = d_out W2        d_pre = d_h * (pre > 0)
    dW1 = d_preᵀ x        db1 = sum of d_pre over the batch]],
  ko = [[프레임워크가 해 주는 일은 세 가지입니다: 텐서, 자동 미분, 그리고 미리 만들어 둔 층과 옵티마이저. 이 중 두 번째가 얼마나 수고를 덜어 주는지 보려고 2층 MLP의 역전파를 손으로 쓰고 autograd와 비교합니다.

    h = relu(x W1ᵀ + b1)   out = h W2ᵀ + b2   loss = mean((out - y)²)
    d_out = 2 (out - y) / numel
    dW2 = d_outᵀ h        db2 = 배치에 대한 d_out의 합
    d_h = d_out W2        d_pre = d_h * (pre > 0)
    dW1 = d_preᵀ x        db1 = 배치에 대한 d_pre의 합]],
}

lesson:code[[
tensor.manual_seed(0)
x, y = tensor.randn(16, 4), tensor.randn(16, 3)
net = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
W1, b1, W2, b2 = net[1].weight, net[1].bias, net[3].weight, net[3].bias

-- by hand || 손으로
pre = x:matmul(W1:detach():t()) + b1:detach()             -- [16,8]
h = pre:relu()
out = h:matmul(W2:detach():t()) + b2:detach()             -- [16,3]
d_out = (out - y) * (2 / out:numel())
hand = {W2 = d_out:t():matmul(h), b2 = d_out:sum(1)}
d_pre = d_out:matmul(W2:detach()) * pre:gt(0)
hand.W1, hand.b1 = d_pre:t():matmul(x), d_pre:sum(1)

-- autograd
nn.mse_loss(net(x), y):backward()
max_diff = 0
for _, np in ipairs{{"W1", W1}, {"b1", b1}, {"W2", W2}, {"b2", b2}} do
  local name, p = np[1], np[2]
  local d = (p.grad - hand[name]):abs():max():item()
  print(string.format("%-3s %-8s hand vs autograd: max difference %.2e"
                      || "%-3s %-8s 손 계산 vs autograd: 최대 차이 %.2e",
                      name, tostring(p:shape()), d))
  max_diff = math.max(max_diff, d)
end
]]
lesson:check(max_diff < 1e-5, {en = "hand-written gradients match autograd for all four parameters",
             ko = "손으로 쓴 기울기가 파라미터 네 개 모두에서 autograd와 일치한다"})

-- the PyTorch -> nnlab map (its own paragraph: lines that start with spaces stay as they are)
local MAP = "\n\n" .. [[
  PyTorch                           nnlab
  torch.randn(2, 3)                 tensor.randn(2, 3)
  x @ w, x.T                        x:matmul(w), x:t()
  x.sum(dim=0), x.view(-1, 4)       x:sum(1), x:view(-1, 4)
  nn.Linear(4, 8)                   nn.Linear(4, 8)
  class Net(nn.Module): forward     Net = nn.Module:extend("Net"); Net:forward
  F.cross_entropy(z, y), y 0..9     nn.cross_entropy(z, y), y 1..10
  torch.optim.Adam(m.parameters())  optim.Adam(model, {lr = 1e-3})
  opt.zero_grad(); loss.backward()  opt:zero_grad(); loss:backward()
  with torch.no_grad(): ...         tensor.no_grad(function() ... end)
  torch.manual_seed(0)              tensor.manual_seed(0)
  x.to("cuda"), device="meta"       x:cuda(), {device = "meta"}
  torchinfo.summary(m, (64, 784))   nn.summary(m, {64, 784})]]

lesson:say{
  en = [[Ten lines for two layers, and every new layer type needs its own. Autograd records the ops as they run and replays them backwards, so you only write the forward pass. nnlab works like PyTorch; most code translates line by line. Note that Lua counts dims and classes from 1.]] .. MAP,
  ko = [[층 두 개에 코드가 열 줄이고, 새로운 종류의 층이 생길 때마다 또 써야 합니다. autograd는 연산을 실행하면서 기록해 두었다가 거꾸로 되짚으므로, 순전파만 쓰면 됩니다. nnlab은 PyTorch처럼 동작해서 대부분의 코드를 한 줄씩 옮길 수 있습니다. Lua는 차원과 클래스를 1부터 센다는 점에 주의하세요.]] .. MAP,
}

lesson:code[[
-- a module defined in Lua trains like a built-in one || Lua로 정의한 모듈도 내장 모듈처럼 학습됩니다
Net = nn.Module:extend("Net")
function Net:init()
  -- one field per line: fields register in order || 한 줄에 필드 하나: 필드는 순서대로 등록됩니다
  self.fc1 = nn.Linear(4, 8)
  self.fc2 = nn.Linear(8, 3)
end
function Net:forward(x) return self.fc2(self.fc1(x):relu()) end
mine = Net()
opt = optim.Adam(mine, {lr = 1e-2})
first = nn.mse_loss(mine(x), y):item()
for step = 1, 200 do
  opt:zero_grad()
  local loss = nn.mse_loss(mine(x), y)
  loss:backward()
  opt:step()
end
last = nn.mse_loss(mine(x), y):item()
print(mine)
print(string.format("loss %.3f -> %.3f" || "손실 %.3f -> %.3f", first, last))
]]
lesson:check(last < first / 2, {en = "a Lua-defined module trains with optim.Adam like any built-in",
             ko = "Lua로 정의한 모듈도 내장 모듈처럼 optim.Adam으로 학습된다"})

lesson:say{
  en = [[A lab's checkpoints come from PyTorch. A PyTorch nn.Sequential names its layers from 0 (0.weight, 2.weight: the ReLU in between has no parameters), nnlab's from 1. m:save(path, {format = "pytorch"}) writes PyTorch's names, which model.load_state_dict(safetensors.torch.load_file(path)) accepts in Python; m:load(path) reads either kind and says what it mapped.]],
  ko = [[연구실의 체크포인트는 PyTorch에서 옵니다. PyTorch의 nn.Sequential은 층 이름을 0부터 붙이고(0.weight, 2.weight: 사이의 ReLU에는 파라미터가 없습니다), nnlab은 1부터 붙입니다. m:save(path, {format = "pytorch"})는 PyTorch의 이름으로 저장하므로 Python에서 model.load_state_dict(safetensors.torch.load_file(path))로 읽을 수 있고, m:load(path)는 두 방식 모두 읽으면서 어떻게 대응시켰는지 알려 줍니다.]],
}

lesson:code[[
seq = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
base = os.tmpname(); os.remove(base)
path = base .. ".safetensors"
seq:save(path, {format = "pytorch"})      -- PyTorch's names || PyTorch의 이름으로
names = {}
for k in pairs(tensor.load(path)) do names[#names + 1] = k end
table.sort(names)
print(table.concat(names, " "))
copy = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
copy:load(path)                           -- 0, 2 -> 1, 3
same = (copy(x) - seq(x)):abs():max():item()
os.remove(path)
print("largest difference" || "가장 큰 차이", same)
]]
lesson:check(table.concat(names, " ") == "0.bias 0.weight 2.bias 2.weight" and same == 0,
             {en = "a checkpoint in PyTorch's names loads back into the same layers",
              ko = "PyTorch 이름으로 저장한 체크포인트가 같은 층으로 다시 읽힌다"})

lesson:say{
  en = [[Next, onboarding 10: the papers lesson (nnlab tutorial papers) runs seven landmark results, from vanishing gradients to ViT patches, each predicted first and then measured.]],
  ko = [[다음은 온보딩 10: papers 레슨 (nnlab tutorial papers)에서 기울기 소실부터 ViT 패치까지 이정표가 된 결과 일곱 가지를 먼저 예측해 보고 직접 측정합니다.]],
}
lesson:finish()
