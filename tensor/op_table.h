// op_table.h - the elementwise unary ops, one row each. Everything else about them is
// generated from these rows: the EW_* codes and the formula switch (elementwise.h), the
// tensor_NAME() functions with their autograd (ops_elementwise.c), the CPU loops
// (cpu/map.c), the Lua methods x:NAME(...) (repl/lua_tensor_ops.c) and tensor._unary_ops,
// the list the tests walk (gradcheck and PyTorch fixtures for every row; help needs an
// entry for every name). Adding an op: a row here, its two formulas ew_f_NAME and
// ew_b_NAME in elementwise.h, its declaration in tensor.h, a help entry, and its PyTorch
// twin in tests/fixtures/make_tensor_fixtures.py (docs/ARCHITECTURE.md has the checklist).
//
// ROW(name, OP, nparams, default0, default1, saved, domain)
//   name      tensor_NAME(a[, s0[, s1]]) in C, x:NAME([s0[, s1]]) in Lua
//   OP        its code EW_OP
//   nparams   scalar parameters after the tensor (0-2); the defaults are PyTorch's
//   saved     what backward reads: X the input, Y the output, NONE neither
//   domain    where the tests draw inputs: ANY, or POS (positive: log, sqrt)
#ifndef NNLAB_OP_TABLE_H
#define NNLAB_OP_TABLE_H

#define TENSOR_UNARY_OPS(ROW) \
    ROW(neg,        NEG,        0, 0, 0,     NONE, ANY) \
    ROW(exp,        EXP,        0, 0, 0,     Y,    ANY) \
    ROW(log,        LOG,        0, 0, 0,     X,    POS) \
    ROW(sqrt,       SQRT,       0, 0, 0,     Y,    POS) \
    ROW(abs,        ABS,        0, 0, 0,     X,    ANY) \
    ROW(relu,       RELU,       0, 0, 0,     X,    ANY) \
    ROW(sigmoid,    SIGMOID,    0, 0, 0,     Y,    ANY) \
    ROW(tanh,       TANH,       0, 0, 0,     Y,    ANY) \
    ROW(gelu,       GELU,       0, 0, 0,     X,    ANY) \
    ROW(sin,        SIN,        0, 0, 0,     X,    ANY) \
    ROW(cos,        COS,        0, 0, 0,     X,    ANY) \
    ROW(leaky_relu, LEAKY_RELU, 1, 0.01f, 0, X,    ANY) \
    ROW(elu,        ELU,        1, 1, 0,     X,    ANY) \
    ROW(silu,       SILU,       0, 0, 0,     X,    ANY) \
    ROW(softplus,   SOFTPLUS,   2, 1, 20,    X,    ANY) \
    ROW(hardtanh,   HARDTANH,   2, -1, 1,    X,    ANY)

#endif
