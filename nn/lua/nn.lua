-- nn.lua - the global nn: the Lua half of the nn library, on top of nn.F (nn/*.c, bound
-- in repl/lua_nn.c). One file per concern:
--   check.lua      argument checks and did-you-mean wording (shared with optim, data)
--   util.lua       type tests, argument checks, parameter allocation
--   module.lua     nn.Module: registration order, parameters, devices, state dicts, printing
--   layers.lua     Linear, Conv2d, pooling, norms, activations, Dropout, Embedding, Sequential
--   attention.lua  MultiheadAttention, XCA, CrossAttention
--   functional.lua losses, positional encodings, nn.init
--   summary.lua    nn.summary
-- optim.lua, data.lua and train.lua are the globals optim, data and train.
assert(nn and nn.F, "nn.lua: load through repl_open_nn (nn.F missing)")
for _, part in ipairs({"module", "layers", "attention", "functional", "summary"}) do require("nn." .. part) end
return nn
