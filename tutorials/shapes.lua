-- shapes: tensors, views, broadcasting, the meta device
local L = dofile((arg and arg[0] and arg[0]:match("(.*/)") or "tutorials/") .. "lib/lesson.lua")
local lesson = L.new{name = "shapes", title = {en = "tensors, views, broadcasting and the meta device",
                                               ko = "텐서, 뷰, 브로드캐스팅, meta 장치"}}

lesson:say{
  en = [[A tensor is a block of numbers plus a shape. Deep learning code is mostly about getting shapes right: "deep learning is matching dimensions". In nnlab dims are counted from 1 (like Lua and Torch7) and -1 means the last dim.]],
  ko = [[텐서는 숫자 덩어리에 모양(shape)을 붙인 것입니다. 딥러닝 코드의 대부분은 모양을 맞추는 일입니다: "딥러닝은 차원 맞추기". nnlab에서 차원은 1부터 셉니다 (Lua, Torch7과 같음). -1은 마지막 차원입니다.]],
}

lesson:code[[
x = tensor.arange(0, 6):view(2, 3)      -- 0..5 as 2 rows of 3 || 0..5를 3개씩 2행으로
print(x)
print("shape" || "모양", x:shape(), "dims" || "차원 수", x:dim(),
      "numel" || "원소 수", x:numel(), "size of dim -1" || "-1번 차원 크기", x:size(-1))
]]
lesson:check(x:size(1) == 2 and x:size(2) == 3 and x:numel() == 6, {en = "x is [2,3] with 6 numbers",
             ko = "x는 숫자 6개를 담은 [2,3]이다"})

lesson:say{
  en = [[view, reshape, transpose, permute, narrow and indexing do not copy: they make a new VIEW (new sizes and strides) of the same storage. Writing through a view changes the original.]],
  ko = [[view, reshape, transpose, permute, narrow, 인덱싱은 복사하지 않습니다: 같은 저장공간을 다르게 보는 새 뷰(view: 크기와 stride만 새로 정한 것)를 만듭니다. 뷰에 값을 쓰면 원본도 바뀝니다.]],
}

lesson:code[[
row = x[2]                 -- the second row, a view [3] || 두 번째 행, 뷰 [3]
row:fill(9)
print(x)                   -- x changed too || x도 바뀌었습니다
xt = x:t()                 -- transpose: [3,2], still the same storage || 전치: [3,2], 저장공간은 그대로
print("xt", xt:shape(), "contiguous?" || "연속?", xt:is_contiguous())
c = xt:contiguous()        -- this one copies, into row-major order || 이건 행 우선 순서로 복사합니다
c:fill(0)
print("x after filling the copy:" || "복사본을 채운 뒤 x의 합:", x:sum():item())
]]
lesson:check(x:sum():item() == 0 + 1 + 2 + 27, {en = "filling a view changed x; filling a copy did not",
             ko = "뷰를 채우면 x가 바뀌고, 복사본을 채우면 바뀌지 않는다"})
lesson:check(not xt:is_contiguous(), {en = "a transpose is a non-contiguous view",
             ko = "전치는 연속적이지 않은(non-contiguous) 뷰다"})

lesson:predict{
  question = {en = "a = [4,1,3], b = [5,1]: what shape is a + b? (broadcasting lines up dims from the right)",
              ko = "a = [4,1,3], b = [5,1]: a + b의 모양은? (브로드캐스팅은 오른쪽부터 차원을 맞춥니다)"},
  answer = "[4,5,3]",
  explain = {en = "Right-align: [4,1,3] and [_,5,1]. Each pair must be equal or 1; a 1 stretches. Result [4,5,3].",
             ko = "오른쪽 정렬: [4,1,3]과 [_,5,1]. 각 쌍은 같거나 1이어야 하고, 1은 늘어납니다. 결과 [4,5,3]."},
}

lesson:code[[
a = tensor.ones(4, 1, 3)
b = tensor.arange(0, 5):view(5, 1)
s = a + b
print("a", a:shape(), "+ b", b:shape(), "->", s:shape())
-- column 1 of s[1]: b added to 1 || s[1]의 1열: 1에 b를 더한 값
print("s[1]:select(2, 1) =", s[1]:select(2, 1))
]]
lesson:check(s:shape() == tensor.empty(4, 5, 3):shape(), {en = "[4,1,3] + [5,1] -> [4,5,3]",
             ko = "[4,1,3] + [5,1] -> [4,5,3]"})

lesson:say{
  en = [[At the prompt, ":shapes on" prints every op with its input and output shapes (in a
script: sys.shapes(true)). A built-in layer is one line with its parameters; your own
code shows each op. Watch the next block.

The meta device has shapes but no numbers: nothing is allocated and nothing is computed, yet every shape rule (and autograd) runs. It answers "what would this cost?" safely. tensor.memory_estimate() reports the bytes a real run would need.]],
  ko = [[프롬프트에서 ":shapes on"을 켜면 모든 연산이 입력과 출력 모양과 함께 출력됩니다
(스크립트에서는 sys.shapes(true)). 내장 층은 파라미터와 함께 한 줄로, 직접 쓴 코드는
연산 하나하나가 보입니다. 다음 블록을 보세요.

meta 장치에는 모양만 있고 숫자는 없습니다: 메모리를 할당하지도, 계산하지도 않지만 모든 모양 규칙(과 autograd)은 실행됩니다. "이건 얼마나 들까?"를 안전하게 물어볼 수 있습니다. tensor.memory_estimate()가 실제 실행에 필요한 바이트를 알려 줍니다.]],
}

lesson:code[[
sys.shapes(true)
-- one line: the layer and its weight || 한 줄: 레이어와 그 가중치
h = nn.Linear(64, 8)(tensor.randn(1, 65536, 64))
-- your own ops: one line each || 직접 쓴 연산: 하나에 한 줄씩
s8 = h:sum(2)
sys.shapes(false)
]]
lesson:check(s8:shape() == tensor.empty(1, 8):shape(), {en = "summing [1,65536,8] over dim 2 gives [1,8]",
             ko = "[1,65536,8]을 2번 차원으로 더하면 [1,8]"})

lesson:predict{
  question = {en = "A float32 attention matrix [8, 50176, 50176]: how many GB?",
              ko = "float32 어텐션 행렬 [8, 50176, 50176]은 몇 GB일까요?"},
  answer = "80.6",
  explain = {en = "8 · 50176² · 4 bytes = 80,564,191,232 bytes ≈ 80.6 GB (GB = 10⁹ bytes, as GPU spec sheets count). An \"80 GB\" card has 80 GiB = 85.9 GB: this one matrix takes 94% of it, before q, the softmax or any gradient.",
             ko = "8 · 50176² · 4 바이트 = 80,564,191,232 바이트 ≈ 80.6 GB (GPU 사양표처럼 GB = 10⁹ 바이트). \"80 GB\" 카드는 80 GiB = 85.9 GB이니, q도 softmax도 기울기도 빼고 이 행렬 하나만으로 94%를 차지합니다."},
}

lesson:code[[
before = tensor.memory_estimate().meta
q = tensor.randn(8, 50176, 64, {device = "meta"})
q_bytes = tensor.memory_estimate().meta - before
attn = q:matmul(q:transpose(2, 3))          -- [8,50176,64] x [8,64,50176]
print(attn, attn:shape())
meta_bytes = tensor.memory_estimate().meta - before
attn_bytes = meta_bytes - q_bytes
print(string.format("attention %.1f GB + q %.1f GB = %.1f GB held"
                    || "어텐션 %.1f GB + q %.1f GB = 모두 %.1f GB",
                    attn_bytes / 1e9, q_bytes / 1e9, meta_bytes / 1e9))
]]
lesson:check(attn:shape() == tensor.empty(8, 50176, 50176, {device = "meta"}):shape(), {en = "the shape is [8,50176,50176]",
             ko = "모양은 [8,50176,50176]"})
lesson:check(attn_bytes == 8 * 50176 * 50176 * 4,
             {en = "meta counts the attention matrix at 80,564,191,232 bytes (80.6 GB), q on top",
              ko = "meta는 어텐션 행렬을 80,564,191,232 바이트(80.6 GB)로 세고, q는 따로 더한다"})
lesson:check(attn_bytes < 80 * 2 ^ 30 and attn_bytes > 0.9 * 80 * 2 ^ 30,
             {en = "it fits an \"80 GB\" card (85.9e9 bytes), but takes over 90% of it",
              ko = "\"80 GB\" 카드(85.9e9 바이트)에 들어가긴 하지만 90% 넘게 차지한다"})

lesson:say{
  en = [[A shape mistake reads like a teacher in nnlab: the op, both shapes and the bad dim. Errors are values you can catch with pcall:]],
  ko = [[nnlab의 모양 오류 메시지는 선생님이 설명해 주듯 읽힙니다: 연산, 두 모양, 문제가 된 차원. 오류는 pcall로 잡을 수 있는 값입니다:]],
}

lesson:code[[
a, b = tensor.randn(2, 3), tensor.randn(4, 5)
-- calls tensor.matmul(a, b), catching the error || tensor.matmul(a, b)를 부르고 오류를 잡습니다
ok, err = pcall(tensor.matmul, a, b)
print(ok)
print(err)
]]
lesson:check(not ok and tostring(err):find("^matmul: %[2,3%] x %[4,5%]") ~= nil, {en = "matmul [2,3] x [4,5] fails; the message starts with the op and both shapes",
             ko = "matmul [2,3] x [4,5]는 실패하고, 메시지는 연산 이름과 두 모양으로 시작한다"})

lesson:finish()
