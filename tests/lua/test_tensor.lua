-- test_tensor.lua - the tensor library as Lua sees it: creation, views, broadcasting,
-- reductions, matmul, softmax, joining, comparisons, conversion, printing, memory.
local dir = debug.getinfo(1, "S").source:match("^@(.*)/") or "."
local t = dofile(dir .. "/tap.lua")

-- creation ------------------------------------------------------------------------
do
  local x = tensor{{1, 2, 3}, {4, 5, 6}}
  t.eq(x:tolist(), {{1, 2, 3}, {4, 5, 6}}, "tensor{...} keeps the values")
  t.eq(tostring(x:shape()), "[2,3]", "shape prints as [2,3]")
  t.eq(x:dim(), 2, "dim")
  t.eq(x:numel(), 6, "numel")
  t.eq(x:size(1), 2, "size(1)")
  t.eq(x:size(-1), 3, "size(-1)")
  t.ok(x:size() == x:shape(), "size() is the shape")
  t.eq(#x, 2, "#x is the size of dim 1")
  t.eq(x:device(), "cpu", "default device is cpu")
  t.eq(tensor.tensor({1.5, -2}):tolist(), {1.5, -2}, "tensor.tensor 1-d")
  t.eq(tensor(3.5):item(), 3.5, "tensor(number) is 0-d")
  t.eq(tensor(3.5):dim(), 0, "0-d has no dims")
  t.eq(tensor{}:numel(), 0, "empty table gives an empty tensor")

  t.eq(tensor.zeros(2, 3):tolist(), {{0, 0, 0}, {0, 0, 0}}, "zeros varargs")
  t.eq(tensor.ones({2, 2}):tolist(), {{1, 1}, {1, 1}}, "ones from a table")
  t.eq(tensor.zeros(x:shape()):shape(), x:shape(), "zeros from a shape value")
  t.eq(tensor.zeros(3, {device = "cpu"}):tolist(), {0, 0, 0}, "options table after sizes")
  t.eq(tensor.full({2}, 7):tolist(), {7, 7}, "full")
  t.eq(tensor.arange(0, 5):tolist(), {0, 1, 2, 3, 4}, "arange excludes stop")
  t.eq(tensor.arange(1, 2, 0.25):tolist(), {1, 1.25, 1.5, 1.75}, "arange with a step")
  t.eq(tensor.arange(3):tolist(), {0, 1, 2}, "arange(n) counts from 0 like torch")
  t.is_close(tensor.linspace(0, 1, 5), {0, 0.25, 0.5, 0.75, 1}, 1e-6, "linspace includes both ends")
  t.eq(tensor.eye(3):tolist(), {{1, 0, 0}, {0, 1, 0}, {0, 0, 1}}, "eye")
  t.eq(tensor.empty(4, 5):shape():numel(), 20, "empty has the shape")
  t.eq(tensor.zeros():dim(), 0, "zeros() is 0-d")

  tensor.manual_seed(42)
  local a = tensor.randn(1000)
  tensor.manual_seed(42)
  local b = tensor.randn(1000)
  t.eq(a:tolist(), b:tolist(), "manual_seed makes randn repeatable")
  t.ok(math.abs(a:mean():item()) < 0.15 and math.abs(a:std():item() - 1) < 0.1, "randn is about N(0,1)")
  local u = tensor.rand(2000)
  t.ok(u:min():item() >= 0 and u:max():item() < 1 and math.abs(u:mean():item() - 0.5) < 0.05,
    "rand is in [0,1) with mean 0.5")
  t.ok(tensor.is_tensor(u) and not tensor.is_tensor({}) and not tensor.is_tensor(1), "is_tensor")
  local m = tensor.zeros(50176, 50176, {device = "meta"})
  t.eq(m:device(), "meta", "meta device")
  t.eq(tostring(m:shape()), "[50176,50176]", "meta tensor has a shape")
end

-- views share storage ------------------------------------------------------------------
do
  local base = tensor.arange(0, 12):view(3, 4)
  t.eq(base:tolist(), {{0, 1, 2, 3}, {4, 5, 6, 7}, {8, 9, 10, 11}}, "view(3,4)")
  t.eq(base:view(-1, 6):shape():totable(), {2, 6}, "view infers -1")
  local row = base[2]
  t.eq(row:tolist(), {4, 5, 6, 7}, "x[2] selects row 2 (1-based)")
  t.eq(base[-1]:tolist(), {8, 9, 10, 11}, "x[-1] is the last row")
  t.eq(base[2][3]:item(), 6, "x[2][3]")
  row:fill(-1)
  t.eq(base[2]:tolist(), {-1, -1, -1, -1}, "modifying x[2] modifies the base")
  local tr = base:t()
  t.ok(not tr:is_contiguous(), "t() is a non-contiguous view")
  tr[1]:fill(100)                                  -- column 1 of base
  t.eq(base:select(2, 1):tolist(), {100, 100, 100}, "a transposed view writes into the base")
  local nar = base:narrow(2, 2, 2)                  -- columns 2..3
  t.eq(nar:shape():totable(), {3, 2}, "narrow shape")
  nar:zero()
  t.eq(base:tolist(), {{100, 0, 0, 3}, {100, 0, 0, -1}, {100, 0, 0, 11}}, "narrow(2, 2, 2) is 1-based and shares storage")
  t.eq(base:narrow(1, -1, 1):tolist(), {{100, 0, 0, 11}}, "narrow with a negative start")
  t.eq(base:select(1, 3):tolist(), {100, 0, 0, 11}, "select(1, 3)")
  local perm = tensor.zeros(2, 3, 4):permute(3, 1, 2)
  t.eq(perm:shape():totable(), {4, 2, 3}, "permute 1-based dims")
  t.eq(tensor.zeros(2, 3, 4):permute({-1, 1, 2}):shape():totable(), {4, 2, 3}, "permute from a table with -1")
  t.eq(tensor.zeros(2, 3, 4):transpose(1, 3):shape():totable(), {4, 3, 2}, "transpose(1, 3)")
  t.eq(tensor.zeros(2, 3):unsqueeze(1):shape():totable(), {1, 2, 3}, "unsqueeze(1)")
  t.eq(tensor.zeros(2, 3):unsqueeze(-1):shape():totable(), {2, 3, 1}, "unsqueeze(-1) appends")
  t.eq(tensor.zeros(2, 3):unsqueeze(3):shape():totable(), {2, 3, 1}, "unsqueeze(3) appends")
  t.eq(tensor.zeros(1, 3, 1):squeeze():shape():totable(), {3}, "squeeze() drops all 1s")
  t.eq(tensor.zeros(1, 3, 1):squeeze(1):shape():totable(), {3, 1}, "squeeze(1)")
  t.eq(tensor.zeros(2, 3, 4):flatten():shape():totable(), {24}, "flatten()")
  t.eq(tensor.zeros(2, 3, 4):flatten(2):shape():totable(), {2, 12}, "flatten(2)")
  t.eq(tensor.zeros(2, 3, 4, 5):flatten(2, 3):shape():totable(), {2, 12, 5}, "flatten(2, 3)")
  local e = tensor{1, 2, 3}:view(1, 3):expand(2, 3)
  t.eq(e:tolist(), {{1, 2, 3}, {1, 2, 3}}, "expand")
  t.eq(tensor{1, 2, 3}:view(3, 1):expand(-1, 2):tolist(), {{1, 1}, {2, 2}, {3, 3}}, "expand with -1 keeps a size")
  local c = tr:contiguous()
  t.ok(c:is_contiguous(), "contiguous() copies a transposed view")
  c:fill(5)
  t.eq(base[1][1]:item(), 100, "the contiguous copy does not share storage")
  local r = tensor.arange(0, 6):view(2, 3):t():reshape(6)
  t.eq(r:tolist(), {0, 3, 1, 4, 2, 5}, "reshape of a transposed view copies in order")
  local cl = base:clone()
  cl:fill(0)
  t.eq(base[1][1]:item(), 100, "clone does not share storage")
  local dst = tensor.zeros(2, 3)
  dst:copy(tensor{1, 2, 3})
  t.eq(dst:tolist(), {{1, 2, 3}, {1, 2, 3}}, "copy broadcasts the source")
  dst[2] = 9
  t.eq(dst:tolist(), {{1, 2, 3}, {9, 9, 9}}, "x[i] = number fills a row")
  dst[1] = tensor{7, 8, 9}
  t.eq(dst:tolist(), {{7, 8, 9}, {9, 9, 9}}, "x[i] = tensor copies into a row")
end

-- elementwise and broadcasting -----------------------------------------------------------
do
  local a = tensor{{1, 2, 3}, {4, 5, 6}}
  local col = tensor{{10}, {20}}
  local row = tensor{100, 200, 300}
  t.eq((a + row):tolist(), {{101, 202, 303}, {104, 205, 306}}, "row broadcast")
  t.eq((a + col):tolist(), {{11, 12, 13}, {24, 25, 26}}, "column broadcast")
  t.eq((col + row):tolist(), {{110, 210, 310}, {120, 220, 320}}, "outer broadcast [2,1] + [3]")
  t.eq((a - 1):tolist(), {{0, 1, 2}, {3, 4, 5}}, "tensor - number")
  t.eq((10 - a):tolist(), {{9, 8, 7}, {6, 5, 4}}, "number - tensor")
  t.eq((a * 2):tolist(), {{2, 4, 6}, {8, 10, 12}}, "tensor * number")
  t.eq((2 * a):tolist(), {{2, 4, 6}, {8, 10, 12}}, "number * tensor")
  t.is_close(a / 4, {{0.25, 0.5, 0.75}, {1, 1.25, 1.5}}, 1e-6, "tensor / number")
  t.is_close(12 / a, {{12, 6, 4}, {3, 2.4, 2}}, 1e-6, "number / tensor")
  t.eq((a ^ 2):tolist(), {{1, 4, 9}, {16, 25, 36}}, "tensor ^ number")
  t.is_close(2 ^ a, {{2, 4, 8}, {16, 32, 64}}, 1e-4, "number ^ tensor")
  t.eq((a ^ tensor{1, 0, 2}):tolist(), {{1, 1, 9}, {4, 1, 36}}, "tensor ^ tensor")
  t.eq((-a):tolist(), {{-1, -2, -3}, {-4, -5, -6}}, "unary minus")
  t.eq((a * a):tolist(), {{1, 4, 9}, {16, 25, 36}}, "tensor * tensor")
  t.is_close(a / row, {{0.01, 0.01, 0.01}, {0.04, 0.025, 0.02}}, 1e-7, "tensor / tensor broadcast")
  t.eq(a:add(1):tolist(), a:add(tensor(1)):tolist(), "add(number) equals add(0-d tensor)")
  t.eq(a:sub(row):tolist(), (a - row):tolist(), "sub method equals operator")
  t.eq(a:mul(col):tolist(), (a * col):tolist(), "mul method equals operator")
  t.eq(a:div(2):tolist(), (a / 2):tolist(), "div method equals operator")
  t.eq(a:pow(3):tolist(), {{1, 8, 27}, {64, 125, 216}}, "pow method")
  t.eq(a:maximum(tensor{3, 3, 3}):tolist(), {{3, 3, 3}, {4, 5, 6}}, "maximum broadcasts")
  t.eq(a:minimum(3):tolist(), {{1, 2, 3}, {3, 3, 3}}, "minimum with a number")
  t.eq(tensor.add(a, 1):tolist(), (a + 1):tolist(), "tensor.add functional form")

  local v = tensor{-2, -0.5, 0, 0.5, 2}
  local function map(f) local r = {} for i, x in ipairs(v:tolist()) do r[i] = f(x) end return r end
  t.is_close(v:neg(), map(function(x) return -x end), 1e-6, "neg")
  t.is_close(v:exp(), map(math.exp), 1e-5, "exp")
  t.is_close(v:abs(), map(math.abs), 0, "abs")
  t.is_close(v:relu(), map(function(x) return math.max(x, 0) end), 0, "relu")
  t.is_close(v:sigmoid(), map(function(x) return 1 / (1 + math.exp(-x)) end), 1e-6, "sigmoid")
  t.is_close(v:tanh(), map(function(x) return (math.exp(2 * x) - 1) / (math.exp(2 * x) + 1) end), 1e-6, "tanh")
  t.is_close(v:sin(), map(math.sin), 1e-6, "sin")
  t.is_close(v:cos(), map(math.cos), 1e-6, "cos")
  -- exact GELU values from torch.nn.functional.gelu
  t.is_close(v:gelu(), {-0.0455003, -0.1542687, 0, 0.3457312, 1.9544997}, 1e-5, "gelu (erf)")
  local p = tensor{0.25, 1, 4}
  t.is_close(p:log(), {math.log(0.25), 0, math.log(4)}, 1e-6, "log")
  t.is_close(p:sqrt(), {0.5, 1, 2}, 1e-6, "sqrt")
  t.eq(v:clamp(-1, 1):tolist(), {-1, -0.5, 0, 0.5, 1}, "clamp")
  t.eq(v:clamp(0):tolist(), {0, 0, 0, 0.5, 2}, "clamp with only lo")
  t.eq(v:clamp(nil, 0):tolist(), {-2, -0.5, 0, 0, 0}, "clamp with only hi")
  t.eq(tensor.exp(tensor{0}):tolist(), {1}, "tensor.exp functional form")
  t.is_close(tensor{3, 4}:norm(), 5, 1e-6, "norm")
end

-- comparisons -------------------------------------------------------------------------------
do
  local a, b = tensor{1, 2, 3}, tensor{3, 2, 1}
  t.eq(a:eq(b):tolist(), {0, 1, 0}, "eq")
  t.eq(a:ne(b):tolist(), {1, 0, 1}, "ne")
  t.eq(a:lt(b):tolist(), {1, 0, 0}, "lt")
  t.eq(a:le(b):tolist(), {1, 1, 0}, "le")
  t.eq(a:gt(b):tolist(), {0, 0, 1}, "gt")
  t.eq(a:ge(b):tolist(), {0, 1, 1}, "ge")
  t.eq(a:gt(1):tolist(), {0, 1, 1}, "gt with a number")
  t.eq(a:eq(2):tolist(), {0, 1, 0}, "eq with a number")
  t.eq(tensor.lt(2, a):tolist(), {0, 0, 1}, "number on the left flips the comparison")
  t.eq(tensor{{1}, {2}}:lt(tensor{1, 2, 3}):tolist(), {{0, 1, 1}, {0, 0, 1}}, "comparison broadcasts")
  t.ok(a ~= tensor{1, 2, 3}, "== is identity, not elementwise")
  t.ok(a == a, "a tensor equals itself")
end

-- reductions --------------------------------------------------------------------------------
do
  local x = tensor{{1, 5, 3}, {4, 2, 6}}
  t.eq(x:sum():item(), 21, "sum of all")
  t.eq(x:sum():dim(), 0, "sum of all is 0-d")
  t.eq(x:sum(1):tolist(), {5, 7, 9}, "sum(1) over rows")
  t.eq(x:sum(2):tolist(), {9, 12}, "sum(2)")
  t.eq(x:sum(-1):tolist(), {9, 12}, "sum(-1)")
  t.eq(x:sum(1, true):tolist(), {{5, 7, 9}}, "sum(1, keepdim)")
  t.eq(x:sum(2, true):shape():totable(), {2, 1}, "sum(2, keepdim) shape")
  t.eq(x:mean(2):tolist(), {3, 4}, "mean(2)")
  t.is_close(x:mean(), 3.5, 1e-6, "mean of all")
  t.eq(x:max():item(), 6, "max of all")
  t.eq(x:min():item(), 1, "min of all")
  local v, i = x:max(2)
  t.eq(v:tolist(), {5, 6}, "max(2) values")
  t.eq(i:tolist(), {2, 3}, "max(2) indices are 1-based")
  v, i = x:min(1)
  t.eq(v:tolist(), {1, 2, 3}, "min(1) values")
  t.eq(i:tolist(), {1, 2, 1}, "min(1) indices are 1-based")
  v, i = x:max(2, true)
  t.eq(i:tolist(), {{2}, {3}}, "max(2, keepdim) indices")
  t.eq(x:argmax(2):tolist(), {2, 3}, "argmax(2) is 1-based")
  t.eq(x:argmin(2):tolist(), {1, 2}, "argmin(2) is 1-based")
  t.eq(x:argmax():item(), 6, "argmax() indexes the flattened tensor, 1-based")
  t.eq(x:argmax(1, true):tolist(), {{2, 1, 2}}, "argmax keepdim")
  t.eq(tensor.max(tensor{1, 5}, tensor{3, 2}):tolist(), {3, 5}, "tensor.max(a, b) is elementwise")
  local y = tensor{1, 2, 3, 4}
  t.is_close(y:var(), 5 / 3, 1e-6, "var is unbiased by default")
  t.is_close(y:var(1, false, false), 1.25, 1e-6, "var(dim, keepdim, false) is biased")
  t.is_close(y:std(), math.sqrt(5 / 3), 1e-6, "std")
  t.is_close(tensor{{1, 2}, {3, 5}}:var(2), {0.5, 2}, 1e-6, "var(2)")
  t.is_close(tensor{{1, 2}, {3, 5}}:std(1, true), {{math.sqrt(2), math.sqrt(4.5)}}, 1e-6, "std(1, keepdim)")
  local big = tensor.ones(3, 1000)
  t.eq(big:sum(2):tolist(), {1000, 1000, 1000}, "sum of long rows")
  local nc = tensor{{1, 2}, {3, 4}}:t()
  t.eq(nc:sum(2):tolist(), {4, 6}, "sum over a transposed view")
end

-- matmul ---------------------------------------------------------------------------------------
do
  local a = tensor{{1, 2}, {3, 4}, {5, 6}}       -- 3x2
  local b = tensor{{1, 0, 2}, {0, 1, 3}}         -- 2x3
  t.eq(a:matmul(b):tolist(), {{1, 2, 8}, {3, 4, 18}, {5, 6, 28}}, "2-D x 2-D values")
  t.eq(tensor.matmul(b, a):tolist(), {{11, 14}, {18, 22}}, "tensor.matmul")
  t.eq(tensor{1, 2, 3}:matmul(tensor{4, 5, 6}):item(), 32, "1-D . 1-D is a dot product")
  t.eq(tensor{1, 2, 3}:matmul(tensor{4, 5, 6}):dim(), 0, "dot is 0-d")
  t.eq(a:matmul(tensor{1, 1}):tolist(), {3, 7, 11}, "2-D x 1-D")
  t.eq(tensor{1, 1, 1}:matmul(a):tolist(), {9, 12}, "1-D x 2-D")
  t.eq(a:t():matmul(a):tolist(), {{35, 44}, {44, 56}}, "transposed operand")
  local A = tensor.randn(4, 3, 5)
  local B = tensor.randn(4, 5, 2)
  local C = A:matmul(B)
  t.eq(C:shape():totable(), {4, 3, 2}, "batched shape")
  t.is_close(C[3], A[3]:matmul(B[3]), 1e-5, "batched values equal per-batch matmul")
  local Bs = tensor.randn(5, 2)
  local D = A:matmul(Bs)
  t.eq(D:shape():totable(), {4, 3, 2}, "batch x 2-D broadcast shape")
  t.is_close(D[2], A[2]:matmul(Bs), 1e-5, "batch x 2-D broadcast values")
  local E = tensor.randn(2, 1, 3, 5):matmul(tensor.randn(4, 5, 6))
  t.eq(E:shape():totable(), {2, 4, 3, 6}, "broadcast batch dims [2,1] x [4]")
  t.eq(tensor.zeros(8, 65536, 64, {device = "meta"}):matmul(tensor.zeros(64, 8, {device = "meta"})):shape():totable(),
    {8, 65536, 8}, "matmul on meta computes only the shape")
end

-- softmax --------------------------------------------------------------------------------------
do
  local x = tensor{{1, 2, 3}, {1, 1, 1}, {-100, 0, 100}}
  local s = x:softmax(2)
  t.is_close(s:sum(2), {1, 1, 1}, 1e-6, "softmax rows sum to 1")
  t.is_close(s[2], {1 / 3, 1 / 3, 1 / 3}, 1e-6, "softmax of equal values is uniform")
  local e1, e2, e3 = math.exp(1), math.exp(2), math.exp(3)
  t.is_close(s[1], {e1 / (e1 + e2 + e3), e2 / (e1 + e2 + e3), e3 / (e1 + e2 + e3)}, 1e-6, "softmax values")
  t.is_close(s[3], {0, 0, 1}, 1e-6, "softmax is stable for large inputs")
  t.is_close(x:softmax(1):sum(1), {1, 1, 1}, 1e-6, "softmax(1) columns sum to 1")
  t.is_close(x:softmax(), s, 1e-7, "softmax defaults to the last dim")
  t.is_close(x:log_softmax(2):narrow(1, 1, 2), s:narrow(1, 1, 2):log(), 1e-5, "log_softmax = log(softmax) (away from 0)")
  t.ok(x:log_softmax(2)[3]:tolist()[1] < -150, "log_softmax keeps tiny probabilities finite")
end

-- joining and indexing -----------------------------------------------------------------------------
do
  local a, b = tensor{{1, 2}}, tensor{{3, 4}, {5, 6}}
  t.eq(tensor.cat({a, b}):tolist(), {{1, 2}, {3, 4}, {5, 6}}, "cat along dim 1 by default")
  t.eq(tensor.cat({b, b}, 2):tolist(), {{3, 4, 3, 4}, {5, 6, 5, 6}}, "cat along dim 2")
  t.eq(tensor.cat({b, b}, -1):shape():totable(), {2, 4}, "cat along -1")
  t.eq(tensor.stack({tensor{1, 2}, tensor{3, 4}}):tolist(), {{1, 2}, {3, 4}}, "stack along a new dim 1")
  t.eq(tensor.stack({tensor{1, 2}, tensor{3, 4}}, 2):tolist(), {{1, 3}, {2, 4}}, "stack along dim 2")
  t.eq(tensor.stack({tensor{1, 2}, tensor{3, 4}}, -1):tolist(), {{1, 3}, {2, 4}}, "stack along -1 (new last dim)")
  local x = tensor{{10, 20, 30}, {40, 50, 60}}
  t.eq(x:gather(2, tensor{{3, 1}, {2, 2}}):tolist(), {{30, 10}, {50, 50}}, "gather with 1-based indices")
  t.eq(x:gather(1, tensor{{2, 1, 2}}):tolist(), {{40, 20, 60}}, "gather along dim 1")
  t.eq(x:index_select(2, tensor{3, 1}):tolist(), {{30, 10}, {60, 40}}, "index_select with 1-based indices")
  t.eq(x:index_select(1, tensor{2, 2, 1}):tolist(), {{40, 50, 60}, {40, 50, 60}, {10, 20, 30}}, "index_select repeats rows")
  local labels = tensor{3, 1}
  t.eq(x:argmax(2):eq(labels):tolist(), {1, 0}, "argmax compares directly with 1-based labels")
end

-- conversion --------------------------------------------------------------------------------------
do
  t.eq(tensor{{1.5}}:item(), 1.5, "item of a 1-element tensor")
  t.eq(tensor{{1, 2}, {3, 4}}:t():tolist(), {{1, 3}, {2, 4}}, "tolist of a non-contiguous view")
  t.eq(tensor(7):tolist(), 7, "tolist of a 0-d tensor is a number")
  local x = tensor.zeros(2):requires_grad()
  t.ok(x.requires_grad_flag and x.is_leaf and x.grad == nil, "fields of a fresh leaf")
  t.eq(tensor.zeros(2):to("cpu"):device(), "cpu", "to('cpu')")
  t.eq(tensor.zeros(2):cpu():device(), "cpu", "cpu()")
  t.eq(tensor.zeros(2, 3):to("meta"):device(), "meta", "to('meta')")
  local ok, why = tensor.cuda_available()
  t.ok(type(ok) == "boolean" and (ok or type(why) == "string"), "cuda_available gives a bool and a reason")
  if ok then
    local g = tensor{1, 2, 3}:cuda()
    t.eq(g:device(), "cuda", "cuda()")
    t.eq((g * 2):cpu():tolist(), {2, 4, 6}, "ops on the GPU")
  else
    t.skip("cuda round trip", why)
    t.skip("ops on the GPU", why)
  end
end

-- printing ---------------------------------------------------------------------------------------
do
  t.eq(tostring(tensor{{1, 2}, {3, 4}}), "tensor([[1, 2],\n        [3, 4]])\n[tensor 2x2 float32 cpu]",
    "integral values print without decimals")
  t.eq(tostring(tensor{0.5, -1.25}), "tensor([ 0.5000, -1.2500])\n[tensor 2 float32 cpu]",
    "floats print with 4 decimals, aligned")
  t.eq(tostring(tensor(3)), "tensor(3)\n[tensor scalar float32 cpu]", "0-d prints its value")
  t.eq(tostring(tensor(0.25)), "tensor(0.2500)\n[tensor scalar float32 cpu]", "0-d float")
  t.eq(tostring(tensor.zeros(2, 3, {device = "meta"})), "[tensor 2x3 float32 meta]", "meta prints only the footer")
  t.eq(tostring(tensor{0.001, 0.0025}), "1e-03 *\ntensor([1.0000, 2.5000])\n[tensor 2 float32 cpu]",
    "small values share a scale factor")
  t.eq(tostring(tensor{12345.5, 20000}), "1e+04 *\ntensor([1.2346, 2.0000])\n[tensor 2 float32 cpu]",
    "large values share a scale factor")
  t.ok(tostring(tensor.ones(2):requires_grad()):find("%[tensor 2 float32 cpu requires_grad%]$"),
    "footer marks requires_grad")
  t.ok(tostring(tensor{1, 0 / 0, 1 / 0, -1 / 0}):find("tensor%(%[   1,  nan,  inf, %-inf%]%)"), "nan and inf")
  local s = tostring(tensor.arange(0, 2000):view(40, 50))
  t.ok(s:find("^tensor%(%[%[   0,    1,    2, …,   47,   48,   49%],\n"), "large tensors are abbreviated with …")
  t.ok(s:find("\n        …,\n"), "abbreviated rows")
  t.ok(s:find("%[1950, 1951, 1952, …, 1997, 1998, 1999%]%]%)\n%[tensor 40x50 float32 cpu%]$"),
    "abbreviation keeps the last entries and the footer")
  local _, lines = s:gsub("\n", "")
  t.eq(lines, 7, "abbreviated to 3+1+3 rows plus the footer")
  local s3 = tostring(tensor.arange(0, 8):view(2, 2, 2))
  t.eq(s3, "tensor([[[0, 1],\n         [2, 3]],\n\n        [[4, 5],\n         [6, 7]]])\n[tensor 2x2x2 float32 cpu]",
    "3-d blocks separated by a blank line")
  local wide = tostring(tensor.arange(0, 30) + 0.5)
  for line in wide:gmatch("[^\n]+") do
    t.ok(utf8.len(line) <= 80, "long rows wrap at 80 columns: " .. #line) break
  end
  t.eq(tostring(tensor{}), "tensor([])\n[tensor 0 float32 cpu]", "empty tensor")
  t.eq(tostring(tensor.zeros(2, 3):shape()), "[2,3]", "shape tostring")
  local sh = tensor.zeros(4, 5):shape()
  t.ok(sh[1] == 4 and sh[2] == 5 and sh[-1] == 5 and #sh == 2 and sh:numel() == 20, "shape indexing, #, numel")
  t.ok(sh == tensor.ones(4, 5):shape() and sh ~= tensor.ones(5, 4):shape(), "shape ==")
  t.eq("s=" .. sh, "s=[4,5]", "shape concatenates")
end

-- memory: Lua's GC is told about tensor bytes --------------------------------------------------------
do
  collectgarbage()
  local before = tensor.memory_estimate()
  t.ok(type(before.cpu) == "number" and before.cpu >= 0 and before.meta_peak and before.cpu_peak,
    "memory_estimate fields")
  local peak = 0
  for _ = 1, 2000 do
    local x = tensor.empty(1024, 1024)      -- 4 MB, dropped at once
    local m = tensor.memory_estimate().cpu
    if m > peak then peak = m end
  end
  t.ok(peak - before.cpu < 300 * 1024 * 1024,
    string.format("a 2000-step loop of 4 MB tensors stays bounded (peak %.0f MB)", (peak - before.cpu) / 2 ^ 20))
  -- after big tensors die, a loop's small garbage is collected within ~1 MB of growth
  -- again (the step used to wait until live bytes passed their old high-water mark)
  do
    local big = tensor.empty(4096, 4096)       -- 64 MB
    big = nil
    collectgarbage()
    local small = tensor.randn(65536)
    local base = tensor.memory_estimate().cpu
    local worst = 0
    for _ = 1, 200 do
      local y = small:exp()                      -- 256 KB, garbage at once
      worst = math.max(worst, tensor.memory_estimate().cpu - base)
    end
    t.ok(worst <= 4 * 1024 * 1024, string.format("after a 64 MB tensor died, 200 garbage 256 KB results "
      .. "never hold more than 4 MB (%.1f MB)", worst / 2 ^ 20))
  end
  collectgarbage()
  collectgarbage()
  tensor.reset_peak()
  local after = tensor.memory_estimate()
  t.ok(after.cpu_peak == after.cpu, "reset_peak sets the peak to the live bytes")
  local keep = tensor.empty(1024, 1024)
  t.eq(tensor.memory_estimate().cpu_peak - after.cpu, 4 * 1024 * 1024, "the peak follows a new 4 MB tensor")
  keep = nil
  local m0 = tensor.memory_estimate().meta
  local m = tensor.zeros(1000, 1000, {device = "meta"})
  t.eq(tensor.memory_estimate().meta - m0, 4000000, "meta tensors count the bytes they would need")
  m = nil
end

-- values more than 1000x apart print in scientific notation, as PyTorch does, so the small
-- ones do not vanish into 0.0000 under a shared scale
do
  local s = tostring(tensor.tensor{1e-5, 1e5, 3})
  t.ok(s:find("1.0000e-05", 1, true) and s:find("3.0000e+00", 1, true), "1e-5, 1e5, 3 print in scientific notation", s)
  t.ok(not tostring(tensor.tensor{0.25, 0.5}):find("%de[+-]%d"), "values close together keep fixed notation")
end

-- NaN as in PyTorch (values and gradients from torch 1.13): relu, maximum and minimum
-- keep a NaN instead of hiding it; clamp is min(max(x, lo), hi), so lo > hi gives hi; with
-- both bounds a NaN bound makes every value NaN, a lone NaN bound is ignored by the values
do
  local nan, inf = 0 / 0, math.huge
  local function run(f, ...)
    local ins = {}
    for k, v in ipairs{...} do ins[k] = tensor(v):requires_grad() end
    local y = f(table.unpack(ins))
    y:sum():backward()
    local g = {}
    for k, v in ipairs(ins) do g[k] = v.grad:tolist() end
    return y:tolist(), g
  end
  local x = {nan, -1, 0, 2, 5}
  local y, g = run(tensor.relu, {nan, -1, 0, 2, -0.0})
  t.is_close(y, {nan, 0, 0, 2, 0}, 0, "relu(nan) is nan")
  t.ok(1 / y[5] == -inf, "relu(-0) is -0")
  t.is_close(g[1], {1, 0, 0, 1, 0}, 0, "relu's gradient passes at nan")
  y, g = run(tensor.maximum, x, {1, nan, 0, nan, 1})
  t.is_close(y, {nan, nan, 0, nan, 5}, 0, "maximum propagates nan from either side")
  t.is_close(g, {{1, 1, 0.5, 1, 1}, {1, 1, 0.5, 1, 0}}, 0, "maximum's gradient: nan loses to nobody, a tie halves")
  y, g = run(tensor.minimum, x, {1, nan, 0, nan, 1})
  t.is_close(y, {nan, nan, 0, nan, 1}, 0, "minimum propagates nan from either side")
  t.is_close(g, {{1, 1, 0.5, 1, 0}, {1, 1, 0.5, 1, 1}}, 0, "minimum's gradient")
  local cx = {nan, -1, 0, 2, 5, inf}
  local cases = {
    {3, 1, {nan, 1, 1, 1, 1, 1}, {0, 0, 0, 0, 0, 0}},
    {nan, nan, {nan, nan, nan, nan, nan, nan}, {0, 0, 0, 0, 0, 0}},
    {nan, 3, {nan, nan, nan, nan, nan, nan}, {0, 0, 0, 0, 0, 0}},
    {nan, nil, {nan, -1, 0, 2, 5, inf}, {0, 0, 0, 0, 0, 0}},
    {nil, nan, {nan, -1, 0, 2, 5, inf}, {0, 0, 0, 0, 0, 0}},
    {0, 3, {nan, 0, 0, 2, 3, 3}, {0, 0, 1, 1, 0, 0}},
  }
  for _, c in ipairs(cases) do
    y, g = run(function(v) return v:clamp(c[1], c[2]) end, cx)
    local name = ("clamp(x, %s, %s)"):format(tostring(c[1]), tostring(c[2]))
    t.is_close(y, c[3], 0, name .. " values as in PyTorch")
    t.is_close(g[1], c[4], 0, name .. " gradient as in PyTorch")
  end
end

-- x / s divides, as PyTorch does: multiplying by 1/3 differed in the last bit for a third of x
do
  tensor.manual_seed(3)
  local x = tensor.randn(3000)
  t.eq((x / 3):ne(x / tensor(3)):sum():item(), 0, "x / 3 equals x / tensor(3) in every element")
  t.eq((x / 7):ne(x / tensor(7)):sum():item(), 0, "x / 7 too")
  local w = tensor{1, 2}:requires_grad();
  (w / 3):sum():backward()
  t.eq(w.grad, (tensor{1, 1} / tensor(3)):tolist(), "its gradient is g / 3")
end

-- arange/linspace on the meta device are shapes only: no host buffer of the values
if os.getenv("NNLAB_SANITIZED") ~= "1" then
  local before = sys.peak_rss_kb()
  local a = tensor.arange(0, 5e7, 1, {device = "meta"})
  local b = tensor.linspace(0, 1, 5e7, {device = "meta"})
  local grew = sys.peak_rss_kb() - before
  t.ok(a:numel() == 5e7 and b:numel() == 5e7 and grew < 50000,
       ("meta arange/linspace of 5e7 points: peak RSS grew %d KB (was +200 MB)"):format(grew))
end

t.done_testing()
