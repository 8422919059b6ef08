-- test_errors.lua - errors read like a teacher: they name the op, the shapes and the
-- bad dim, point at the caller's line, and never leave the state broken.
local dir = debug.getinfo(1, "S").source:match("^@(.*)/") or "."
local t = dofile(dir .. "/tap.lua")

local x3 = tensor.zeros(2, 3, 4)
local x = tensor.zeros(2, 3)

-- dims are 1-based ------------------------------------------------------------------------
t.errors_like(function() return x3:sum(0) end,
  "tensor%.sum: dim 0 is out of range: dims are 1%-based in nnlab %(1%.%.3 for a 3%-d tensor%); use 1 for the first dim or %-1 for the last",
  "dim 0: the full message")
t.errors_like(function() return x3:sum(0) end, "^[^:]*test_errors%.lua:%d+: ", "errors point at the caller's line")
for _, case in ipairs{
  {"mean", function() return x:mean(0) end}, {"max", function() return x:max(0) end},
  {"argmax", function() return x:argmax(0) end}, {"var", function() return x:var(0) end},
  {"softmax", function() return x:softmax(0) end}, {"log_softmax", function() return x:log_softmax(0) end},
  {"transpose", function() return x:transpose(0, 1) end}, {"narrow", function() return x:narrow(0, 1, 1) end},
  {"select", function() return x:select(0, 1) end}, {"unsqueeze", function() return x:unsqueeze(0) end},
  {"squeeze", function() return x:squeeze(0) end}, {"flatten", function() return x:flatten(0) end},
  {"permute", function() return x:permute(0, 1) end}, {"size", function() return x:size(0) end},
  {"gather", function() return x:gather(0, tensor{{1}}) end},
  {"index_select", function() return x:index_select(0, tensor{1}) end},
  {"cat", function() return tensor.cat({x, x}, 0) end}, {"stack", function() return tensor.stack({x, x}, 0) end},
} do
  t.errors_like(case[2], "tensor%." .. case[1] .. ": dim 0 is out of range: dims are 1%-based", "dim 0 in " .. case[1])
end
t.errors_like(function() return x3:sum(4) end, "tensor%.sum: dim 4 is out of range for a 3%-d tensor %(valid: 1%.%.3, or %-3%.%.%-1",
  "dim past the end")
t.errors_like(function() return x3:sum(-4) end, "tensor%.sum: dim %-4 is out of range for a 3%-d tensor", "negative dim past the start")
t.errors_like(function() return x:unsqueeze(4) end, "tensor%.unsqueeze: dim 4 is out of range for a 2%-d tensor %(valid: 1%.%.3",
  "unsqueeze allows one more dim, not two")
t.errors_like(function() return tensor.stack({x, x}, 4) end, "tensor%.stack: dim 4 is out of range", "stack dim past the new dim")
t.errors_like(function() return tensor(1):sum(1) end, "tensor%.sum: dim 1 is out of range: a 0%-d tensor has no dims", "0-d tensor has no dims")
t.errors_like(function() return x:sum(1.5) end, "number has no integer representation", "fractional dim")

-- indices are 1-based too ------------------------------------------------------------------------
t.errors_like(function() return x[3] end, "x%[i%]: index 3 is out of range for dim 1 of size 2 %(indices are 1%-based: 1%.%.2",
  "x[i] past the end")
t.errors_like(function() return x[0] end, "x%[i%]: index 0 is out of range", "x[0]")
t.errors_like(function() return x[-3] end, "index %-3 is out of range", "x[-3]")
t.errors_like(function() return tensor(5)[1] end, "0%-d tensor cannot be indexed", "indexing a 0-d tensor")
t.errors_like(function() return x:select(2, 4) end, "tensor%.select: index 4 is out of range for dim 2 of size 3", "select past the end")
t.errors_like(function() return x:narrow(2, 0, 1) end, "tensor%.narrow: start 0 is out of range for dim 2 of size 3 %(starts are 1%-based",
  "narrow start 0")
t.errors_like(function() return x:narrow(2, 3, 2) end, "tensor%.narrow: start 3 with length 2 runs past the end of dim 2 %(size 3%)",
  "narrow past the end")
t.errors_like(function() return x:index_select(2, tensor{4}) end, "index 4 is out of range", "index_select index past the end")
t.errors_like(function() return x:index_select(2, tensor{0}) end, "index 0 is out of range", "index_select index 0")
t.errors_like(function() return x:gather(2, tensor{{1}, {9}}) end, "gather: index 9 is out of range for a dim of size 3 %(indices are 1%.%.3%)",
  "gather index past the end")
t.errors_like(function() return x:gather(2, tensor{{1}, {2.5}}) end, "gather: index 2%.5 is not a whole number %(indices are 1%.%.3%)",
  "gather index not a whole number")
t.errors_like(function() return nn.F.conv2d(tensor.zeros(1, 4, 5, 5), tensor.zeros(3, 2, 3, 3), nil, 1, 0, 2) end,
  "grouped%): groups = 2 must be a positive divisor of the weight.s 3 output channels", "conv2d groups that do not divide")
t.errors_like(function() return nn.Conv2d(3, 4, 3)(tensor.zeros(2, 8, 8, 3)) end,
  "nn%.Conv2d%(3%->4, k=3x3%): expects 3 input channels at dim 2 %(weight %[4,3,3,3%], groups = 1%), got %[2,8,8,3%]; channels look last: x:permute%(1, 4, 2, 3%)",
  "conv2d channels-last input: 1-based dim and the Lua fix")
t.errors_like(function() return x[tensor.ones(2, 3) * 2] end, "holds 2 at element 1 %(row%-major%).-x:gt%(0%)", "a bad mask: 1-based element, Lua words")
t.errors_like(function() x[5] = 1 end, "index 5 is out of range", "x[i] = v past the end")

-- shape mismatches name the op and the shapes -----------------------------------------------------
t.errors_like(function() return x + tensor.zeros(4) end, "add: shapes %[2,3%] and %[4%]", "broadcast error names add and both shapes")
t.errors_like(function() return x * tensor.zeros(3, 2) end, "mul: shapes %[2,3%] and %[3,2%]", "broadcast error in mul")
t.errors_like(function() return x:eq(tensor.zeros(5)) end, "%[2,3%].*%[5%]", "comparison shape error names the shapes")
t.errors_like(function() return x:matmul(tensor.zeros(4, 5)) end, "matmul: %[2,3%] x %[4,5%]: dim 2 of the left %(3%) must equal dim 1 of the right %(4%)",
  "matmul inner dims")
t.errors_like(function() return tensor.zeros(3):matmul(tensor.zeros(4)) end, "matmul: %[3%] x %[4%]", "dot of different lengths names the shapes given")
t.errors_like(function() return tensor.cat({x, tensor.zeros(2, 4)}) end, "cat: tensor 2 has shape %[2,4%] but tensor 1 has %[2,3%]",
  "cat shapes")
t.errors_like(function() return tensor.stack({tensor.zeros(2), tensor.zeros(3)}) end, "stack:.*%[3%].*%[2%]", "stack names itself and the shapes given")
t.errors_like(function() return x:view(4, 2) end, "view: shape %[4,2%] has 8 elements but the tensor %[2,3%] has 6", "view numel")
t.errors_like(function() return x:t():view(6) end, "view: the tensor %[3,2%] is not contiguous.*reshape", "view of a non-contiguous tensor suggests reshape")
t.errors_like(function() return x:expand(3, 3) end, "expand: dim 1 of %[2,3%]", "expand a non-1 dim")
t.errors_like(function() return tensor.zeros(3):t() end, "t: expects a 2%-d tensor, got %[3%]", "t() of 1-d")
t.errors_like(function() return x:permute(1, 1) end, "permute", "permute with a repeated dim")
t.errors_like(function() return x:permute(1) end, "tensor%.permute: got 1 dims for a 2%-d tensor", "permute with too few dims")
t.errors_like(function() return x:item() end, "item: only a tensor with one element.*%[2,3%]", "item of many elements")
t.errors_like(function() tensor.zeros(3):copy(tensor.zeros(4)) end, "copy: .*%[4%].*%[3%]", "copy with mismatched shapes")

-- wrong argument types ------------------------------------------------------------------------------
-- (shown as Lua types with the value: "the string "a"", "a tensor [2,3]")
t.errors_like(function() return x + "a" end,
  'tensor%.add%(a %+ b%): expected tensors or numbers, got a tensor %[2,3%] and the string "a"$', "tensor + string")
t.errors_like(function() return x * "2" end, 'got a tensor %[2,3%] and the string "2"; write 2 without quotes, or tonumber%("2"%)',
  "tensor * a number in quotes says to drop the quotes")
t.errors_like(function() return {} * x end, "tensor%.mul%(a %* b%): expected tensors or numbers, got a table and a tensor %[2,3%]", "table * tensor")
t.errors_like(function() return x:eq(true) end, "tensor%.eq: expected tensors or numbers, got a tensor %[2,3%] and the boolean true", "eq with a boolean")
t.errors_like(function() return x:matmul(3) end, "x:matmul: argument 1 must be a tensor, got the number 3", "matmul with a number")
t.errors_like(function() return x:matmul() end, "x:matmul: argument 1 must be a tensor, got nothing", "matmul with nothing")
t.errors_like(function() return x:matmul(2.5) end, "got the number 2%.5", "a float is shown as written")
t.errors_like(function() return tensor.exp("x") end, 'tensor%.exp: argument 1 must be a tensor, got the string "x"', "exp of a string")
t.errors_like(function() return tensor.exp(nn.Linear(2, 2)) end, "tensor%.exp: argument 1 must be a tensor, got a module nn%.Linear",
  "a module is named as one")
t.errors_like(function() return nn.F.linear(x, nil) end, "nn%.F%.linear: argument 2 must be a tensor, got nil",
  "a function of nn.F is named as nn.F.NAME")
t.errors_like(function() return x.sum(2) end, "tensor%.sum: argument 1 must be a tensor, got the number 2",
  "x.sum(2) inside pcall: the type error (the prompt adds the colon hint)")
t.errors_like(function() return x:sum("a") end, "number expected, got string", "sum with a string dim")
t.errors_like(function() return tensor.zeros("a") end, "tensor%.zeros: sizes must be numbers", "zeros with a string")
t.errors_like(function() return tensor.zeros(2.5) end, "tensor%.zeros: size 2%.5 is not a whole number", "fractional size")
t.errors_like(function() return tensor.zeros(-2) end, "size %-2 is negative", "negative size")
t.errors_like(function() return tensor.zeros(1, 1, 1, 1, 1, 1, 1, 1, 1) end, "at most 8", "too many dims")
t.errors_like(function() return tensor.zeros(2, {device = "tpu"}) end, "unknown device 'tpu' %(use \"cpu\", \"cuda\" or \"meta\"%)",
  "unknown device")
t.errors_like(function() return x:to("tpu") end, "unknown device 'tpu'", "to an unknown device")
t.errors_like(function() return x:to() end, "tensor%.to: give a device", "to without a device")
t.errors_like(function() return tensor{{1, 2}, {3}} end, "tensor%.tensor: ragged nested table", "ragged table")
t.errors_like(function() return tensor{1, "a"} end, "tensor%.tensor: expected a number at depth 1, found string", "string in a table")
t.errors_like(function() return tensor("abc") end, "tensor%.tensor: expected a %(nested%) table of numbers", "tensor of a string")
t.errors_like(function() return tensor.cat({x, 1}) end, "tensor%.cat: entry 2 of the list is a number, not a tensor", "cat with a number")
t.errors_like(function() return tensor.cat(x) end, "tensor%.cat: expected a list of tensors", "cat without a list")
t.errors_like(function() return tensor.cat({}) end, "tensor%.cat: the list of tensors is empty", "cat of nothing")
t.errors_like(function() return tensor.full(2, 3) end, "tensor%.full: give the sizes as a table", "full with varargs")
t.errors_like(function() return x:fill("a") end, "tensor%.fill: the value must be a number", "fill with a string")
t.errors_like(function() x.foo = 1 end, "cannot set field 'foo' on a tensor", "setting a field")
t.errors_like(function() x.grad = 3 end, "x%.grad = v: v must be nil or a tensor", "setting grad to a number")
t.errors_like(function() x.grad = tensor.zeros(3, 2) end, "x%.grad = v: v has shape %[3,2%] but x has %[2,3%]", "setting grad of another shape")
t.errors_like(function() return #tensor(1) end, "0%-d tensor has no length", "# of a 0-d tensor")
t.errors_like(function() return tensor.no_grad(5) end, "function expected", "no_grad of a non-function")
t.errors_like(function() return tensor.zeros(2, 3, {device = "meta"}):tolist() end, "meta tensor has no values", "tolist on meta")
t.ok(x.nosuchmethod == nil, "unknown fields read as nil")
t.errors_like(function() return x:nosuchmethod() end, "nosuchmethod", "calling an unknown method names it")

-- autograd misuse -----------------------------------------------------------------------------------
do
  local a = tensor.ones(2, 3):requires_grad()
  t.errors_like(function() (a * 2):backward() end,
    "backward: called on a tensor of shape %[2,3%]; backward%(%) without an argument needs a scalar", "backward on a non-scalar")
  t.errors_like(function() tensor.ones(2):sum():backward() end, "backward: this tensor does not require grad",
    "backward without requires_grad")
  local loss = (a * a):sum()
  loss:backward()
  t.errors_like(function() loss:backward() end, "backward: the graph of this result was already used", "backward twice on one graph")
  t.errors_like(function() (a * 2):backward(tensor.ones(3)) end, "%[3%]", "backward with a wrongly shaped gradient names it")
  t.errors_like(function() tensor.no_grad(function() error("inner failure") end) end, "inner failure", "no_grad passes the error on")
  t.ok((a * 2).requires_grad_flag, "grad mode survives an error inside no_grad")
end

-- the state survives errors: the same values keep working ---------------------------------------
do
  for _ = 1, 100 do pcall(function() return x + tensor.zeros(7) end) end
  t.eq((x + 1):sum():item(), 6, "ops work after many errors")
  local before = tensor.memory_estimate().cpu
  for _ = 1, 200 do pcall(function() return tensor.cat({tensor.zeros(100, 100), tensor.zeros(100, 99)}, 1) end) end
  collectgarbage()
  collectgarbage()
  t.ok(tensor.memory_estimate().cpu <= before + 1e6, "failed ops do not leak tensor memory")
end

-- devices ------------------------------------------------------------------------------------------------
do
  local ok, why = tensor.cuda_available()
  if ok then
    t.errors_like(function() return tensor.zeros(2):cuda() + tensor.zeros(2) end, "cuda.*cpu", "mixing devices names both")
  else
    t.errors_like(function() return tensor.zeros(2, {device = "cuda"}) end, why:gsub("%p", "%%%0"):sub(1, 20),
      "asking for cuda without it gives the reason")
  end
end

-- the library raises in C terms; the binding shows 1-based dims and Lua's syntax
t.errors_like(function() return tensor.ones(2, 3) + tensor.ones(2) end,
  "dim 2 of the left is 3 but dim 1 of the right is 2", "a broadcast error counts dims from 1")
t.errors_like(function() tensor.ones(2):expand(3, 2):fill(1) end, "write into x:clone%(%) instead",
  "the fix is written in Lua")

-- options tables name a misspelt key and the valid ones (issue 14)
t.errors_like(function() return tensor.zeros(2, {devcie = "cpu"}) end,
  "tensor.zeros: unknown option 'devcie' %(did you mean device%? options: device%)", "a creation option misspelt")
t.errors_like(function() dash.open({fsp = 10}) end, "dash.open: unknown option 'fsp' %(did you mean fps%?",
  "a dashboard option misspelt")

t.done_testing()
