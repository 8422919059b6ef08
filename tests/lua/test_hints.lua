-- test_hints.lua - the mistakes newcomers make in Lua itself get a teaching message:
-- '.' for ':', misspelt names and methods (edit distance), unknown options, wrong argument
-- types shown with their value. The prompt's messages are checked through piped nnlab
-- (the message handler rewrites them); the building blocks through require("hints").
local dir = debug.getinfo(1, "S").source:match("^@(.*)/") or "."
local t = dofile(dir .. "/tap.lua")
local hints = require("hints")

-- ---- the building blocks ---------------------------------------------------------------------
t.eq(hints.describe("10"), 'the string "10"', "describe: a string is quoted")
t.eq(hints.describe(2.5), "the number 2.5", "describe: a number")
t.eq(hints.describe(nil), "nil", "describe: nil")
t.eq(hints.describe(tensor.zeros(2, 3)), "a tensor [2,3]", "describe: a tensor with its shape")
t.eq(hints.describe(nn.Linear(2, 3)), "a module Linear", "describe: a module by its class")
t.eq(hints.distance("tranpose", "transpose"), 1, "distance: one letter left out")
t.eq(hints.distance("mean", "maen"), 1, "distance: two letters swapped count once")
t.eq(hints.closest("randm", {"rand", "randn", "zeros"}), {"randn"}, "closest: randm -> randn (same length first)")
t.eq(hints.closest("Relu", {"ReLU", "GELU", "Linear"}), {"ReLU"}, "closest: case is ignored first")
t.eq(hints.closest("learning_rate", {"lr", "betas", "eps"}), {"lr"}, "closest: PyTorch's learning_rate is lr")
t.eq(hints.closest("zzzzzz", {"lr", "betas"}), nil, "closest: nothing close, nothing suggested")

-- ---- unknown options --------------------------------------------------------------------------
local p = {tensor.ones(2):requires_grad(true)}
t.errors_like(function() optim.Adam(p, {learning_rate = 0.1}) end,
  "optim%.Adam: unknown option 'learning_rate' %(did you mean lr%? options: lr, betas, eps, weight_decay%)$",
  "optim.Adam names lr for learning_rate and lists its options")
t.errors_like(function() optim.SGD(p, {momentun = 0.9}) end,
  "unknown option 'momentun' %(did you mean momentum%? options: lr, dampening, momentum, nesterov, weight_decay%)",
  "optim.SGD: a misspelt momentum")
t.errors_like(function() optim.AdamW(p, {foo = 1}) end, "unknown option 'foo' %(options: lr, betas, eps, weight_decay%)",
  "nothing close: only the list")
t.errors_like(function() optim.SGD(p, 0.1) end, "optim%.SGD: options must be a table like {lr = %.%.%.}, got the number 0%.1",
  "optim.SGD(p, 0.1): the options are a table")
t.errors_like(function() optim.Adam(p, {learning_rate = 0.1}) end, "^[^:]*test_hints%.lua:%d+: ", "the error is at the caller's line")
t.errors_like(function() data.loader(tensor.zeros(4, 2), {batchsize = 2}) end,
  "data%.loader: unknown option 'batchsize' %(did you mean batch_size%? options: batch_size, shuffle, drop_last, seed%)",
  "data.loader: batchsize")
t.ok(pcall(optim.Adam, p, {lr = 0.1, betas = {0.9, 0.99}, eps = 1e-6, weight_decay = 0}), "every valid option is accepted")

-- ---- wrong argument types -------------------------------------------------------------------------
t.errors_like(function() nn.Linear("10", 5) end,
  'nn%.Linear%(in, out%): in: expected an integer >= 1, got the string "10"; write 10 without quotes',
  'nn.Linear("10", 5) says it got the string "10"')
t.errors_like(function() nn.Linear(10, 2.5) end, "out: expected an integer >= 1, got the number 2%.5", "a fraction is shown")
t.errors_like(function() nn.Conv2d(1, 2, 3, {stride = "2"}) end, 'stride: expected an integer in 1%.%.%d+, got the string "2"',
  "a stride in quotes")

-- ---- the REPL nits: one value from num_params, the summary's units, help(module) ------------------
do
  local net = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 1))
  t.eq(select("#", net:num_params()), 1, "num_params returns one value (it printed 97 97)")
  t.eq(net:num_params(), 97, "num_params counts 97")
  local s = nn.summary(net, {2, 4}, {print = false})
  t.eq(tostring(s), "[summary: 97 params (97 trainable), 160 mult-adds, 948 B]",
       "the summary's one-line form uses the table's units (not 0.00 MB)")
  local big = nn.summary(nn.Linear(100, 100), {1, 100}, {print = false})
  t.ok(tostring(big):find("41.60 KB]", 1, true), "KB in the one-line form", tostring(big))
  t.ok(net:_help():find("a module: Sequential (nn.Sequential, see help(nn.Sequential)), 97 parameters", 1, true)
       and net:_help():find("call it: y = m(x)", 1, true) and net:_help():find("3.weight  [1,16]", 1, true),
       "help(module) text: class, layers, parameters, forward signature", net:_help())
end

-- ---- at the prompt: piped nnlab, the message handler's rewrite ------------------------------------
local exe = "./nnlab"
if not io.open(exe, "rb") and arg and arg[-1] then exe = arg[-1] end
local setup = "a = tensor.ones(2, 3)\nm = nn.Linear(3, 2)\nopt = optim.SGD(m, {lr = 0.1})\nloss = a:sum()\n"
-- runs nnlab on a file holding src: as piped input ("< ") or as a script ("");
-- returns the file's path (removed) and everything printed
local function run_file(src, how, suffix)
  local path = os.tmpname() .. (suffix or "")
  local f = assert(io.open(path, "w"))
  f:write(src)
  f:close()
  local pipe = io.popen(exe .. " " .. how .. path .. " 2>&1")
  local out = pipe:read("a")
  pipe:close()
  os.remove(path)
  return out, path
end
local function prompt(code) return (run_file(setup .. code .. "\n", "< ")) end
local function says(code, want, name)
  local out = prompt(code)
  t.ok(out:find(want, 1, true), name, "typed: " .. code .. "\ngot:   " .. out .. "\nwant:  " .. want)
end

if not io.open(exe, "rb") then
  t.skip("the prompt's hints", "no nnlab binary at " .. exe)
else
  -- '.' for ':'
  says("a.sum(2)", "error: a.sum(2): did you mean a:sum(2)? methods are called with a colon (a:sum(2) is a.sum(a, 2))",
       "a.sum(2) -> did you mean a:sum(2)?")
  says("m.parameters()", "error: m.parameters(): did you mean m:parameters()? methods are called with a colon",
       "m.parameters() (a Lua method, a tail call at the prompt)")
  says("opt.step()", "error: opt.step(): did you mean opt:step()?", "opt.step()")
  says("loss.backward()", "error: loss.backward(): did you mean loss:backward()?", "loss.backward()")
  says("m.forward(a)", "error: m.forward(a): did you mean m:forward(a)? methods are called with a colon (m:forward(a) is m.forward(m, a))",
       "m.forward(x) names the argument as written")
  says("y = a.t()", "error: a.t(): did you mean a:t()?", "inside an assignment")
  says("print(a.sum())", "error: a.sum(): did you mean a:sum()?", "inside another call")
  says("local n = m; n.zero_grad()", "error: n.zero_grad(): did you mean n:zero_grad()?", "a local receiver")
  says("for i = 1, 2 do m.parameters() end", "error: m.parameters(): did you mean m:parameters()?", "inside a loop")
  says("s = nn.Sequential(nn.Linear(3, 2))\ns.forward(a)", "error: s.forward(a): did you mean s:forward(a)?", "Sequential")
  says("tensor.sum(a, 1)\nprint('fine')", "fine", "the functional form tensor.sum(a, 1) is not a mistake")
  says("tensor.sum(2)", "error: tensor.sum: argument 1 must be a tensor, got the number 2", "tensor.sum(2): no colon hint")
  says("nn.Module.parameters(m)\nprint('fine')", "fine", "a class's method called with its self is not a mistake")
  -- misspelt names
  says("tensor.randm(2,3)", "error: tensor.randm is not a function; did you mean tensor.randn?", "tensor.randm")
  says("nn.Relu()", "error: nn.Relu is not a function; did you mean nn.ReLU?", "nn.Relu")
  says("nn.linear(2, 3)", "error: nn.linear is not a function; did you mean nn.Linear?", "nn.linear")
  says("a:tranpose(1, 2)", "error: a:tranpose is not a tensor method; did you mean a:transpose?", "a:tranpose")
  says("m:paramters()", "error: m:paramters is not a method; did you mean m:parameters?", "a module's method")
  says("opt:stpe()", "error: opt:stpe is not a method; did you mean opt:step?", "an optimizer's method")
  says("optim.adam(m)", "error: optim.adam is not a function; did you mean optim.Adam?", "optim.adam")
  says("data.laoder(a)", "error: data.laoder is not a function; did you mean data.loader?", "data.laoder")
  says("prnt(1)", "error: prnt is not defined; did you mean print?", "a global")
  says("torch.randn(2)", "error: torch is not defined; did you mean tensor?", "torch -> tensor")
  says("tensor.qqqq(1)", "error: tensor.qqqq is not a function (help(tensor) lists what it has)", "nothing close")
  says("nn.init.normall_(a)", "error: nn.init.normall_ is not a function; did you mean nn.init.normal_?", "a nested table")
  -- argument types through luaL_check*
  says('a:sum("a")', 'error: x:sum: argument #1 must be a number, got the string "a"', "a string for a dim")
  says('a:sum(true)', 'error: x:sum: argument #1 must be a number, got the boolean true', "a boolean for a dim")
  says('a + "x"', 'error: tensor.add(a + b): expected tensors or numbers, got a tensor [2,3] and the string "x"', 'a + "x"')
  -- habits from other languages at compile time
  says("b = a @ a", "error: syntax error: Lua has no @ operator: write a:matmul(a) for a @ a (or tensor.matmul(a, a))",
       "a @ a -> use a:matmul(a)")
  says("b = (a + 1) @ a:t()", "write (a + 1):matmul(a:t()) for (a + 1) @ a:t()", "@ between expressions")
  says("a:sum", "error: a:sum is a method: call it with parentheses, a:sum()", "a method named but not called")
  do   -- a script file: the line is read from the file
    local out, path = run_file("local a = 1\nlocal y = w @ x\n", "", ".lua")
    t.ok(out:find(path .. ":2: syntax error: Lua has no @ operator: write w:matmul(x) for w @ x", 1, true),
         "@ in a script names its line and operands", out)
  end
  -- Python's spellings
  says("y = 1; y += 1", "error: syntax error: Lua has no +=: write y = y + ...", "y += 1")
  says("if 1 != 2 then end", "error: syntax error: Lua writes 'not equal' as ~=, not !=", "!=")
  says("y = 2 ** 3", "error: syntax error: Lua's power operator is ^ (x^2), not **", "**")
  says("import torch", "error: syntax error: nothing to import: tensor, nn, optim and data are already there", "import")
  says("def f(x): return x", "error: syntax error: Lua defines functions with function NAME(args) ... end", "def")
  says("print(len({}))", "error: len is not defined: Lua's length operator is #", "len()")
  says("y = None + 1", "error: attempt to perform arithmetic on a nil value (global 'None')", "None is just a nil global")
  says("s = 'a += b'; print(s)", "a += b", "+= inside a string is left alone")
  do   -- inside a module's forward: explained where it happened, at the script's line
    local out, path = run_file('local Net = nn.Module:extend("Net")\n' ..
                               'function Net:init() self.fc = nn.Linear(3, 2) end\n' ..
                               'function Net:forward(x)\n' ..
                               '  return self.fc.forward(x) + 0\n' ..
                               'end\n' ..
                               'local y = Net()(tensor.ones(2, 3))\n', "", ".lua")
    t.ok(out:find(path .. ":4: self.fc.forward(x): did you mean self.fc:forward(x)?", 1, true),
         "self.fc.forward(x) inside forward: the hint names the forward's line", out)
  end
  -- ?name and help("name") suggest too
  says("?randm", "no help for 'randm'; did you mean tensor.randn?", "?randm -> tensor.randn")
  says("?tranpose", "no help for 'tranpose'; did you mean x:transpose?", "?tranpose -> x:transpose")
  says('help("optim.adam")', "no help for 'optim.adam'; did you mean optim.Adam?", "help(\"optim.adam\")")
  -- a missing field typed alone shows nil and a note
  says("nn.Relu", "note: nn has no Relu; did you mean nn.ReLU?", "nn.Relu alone: nil and the name meant")
  says("a:tranpose", "a:tranpose is a method: call it with parentheses, a:tranpose()", "a misspelt method uncalled: the syntax hint")
  says("x = 1\nnn.ReLU", "a module class", "an existing field shows as before")
  says('M = nn.Module:extend("MyNet"); function M:init() self.fc = nn.Linear(2, 2) end; '
       .. 'function M:forward(x, mask) return self.fc(x) end; help(M())',
       "a module: MyNet (your class), 6 parameters", "help(instance of your class) describes it")
  says('M = nn.Module:extend("MyNet"); function M:forward(x, mask) return x end; help(M())',
       "call it: y = m(x, mask)   (runs MyNet:forward(x, mask))", "help(module) shows forward's signature")
  says("g = a.grad:sum()", "error: a.grad is nil: a tensor has a gradient after backward() ran on a result of it",
       "x.grad before backward says why it is nil")
  says("t = {}; t.x.y = 1", "error: t.x is nil, so it cannot be indexed", "indexing a missing field")
  says("a[1].y()", "error: attempt to call a nil value (field 'y')", "no receiver as a name: Lua's message stays")
  says("a.b.c()", "error: a.b is nil, so it cannot be indexed", "one-letter names are not guessed (a.b is not a.t)")
  -- nothing breaks
  says("a:sum(0)", "error: tensor.sum: dim 0 is out of range", "shape errors stay as they were")
  says("error('oops')", "error: oops", "a plain error stays as it was")
end

t.done_testing()
