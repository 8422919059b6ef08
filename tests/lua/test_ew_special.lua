-- test_ew_special.lua - the vectorised exp, sigmoid, tanh, gelu and silu of the CPU loops
-- (tensor/elementwise.h ew_expf/ew_erff/ew_tanhf) at the edges of their range: NaN, the
-- infinities, signed zeros, tiny values, the overflow and denormal ends of exp and the
-- seam of tanh's two formulas, against PyTorch 1.13's CPU results (printed with %.9g).
-- Also: a value gives the same bits in the SIMD body, in the scalar tail and strided.
local dir = debug.getinfo(1, "S").source:match("^@(.*)/") or "."
local t = dofile(dir .. "/tap.lua")

local nan, inf = 0 / 0, math.huge
local xs = {nan, inf, -inf, 0.0, -0.0, 1e-30, -1e-30, 1e-6, -1e-6, 0.3, -0.3, 0.6249, 0.6251, -0.7, 1.5,
            -2.5, 5.0, -5.0, 9.1, -9.1, 20.0, -20.0, 30.0, -30.0, 88.5, 88.8, 89.5, -87.0, -100.0, -103.5, -110.0}
local torch = {
  exp = {nan, inf, 0, 1, 1, 1, 1, 1.00000095, 0.999998987, 1.34985876, 0.740818202, 1.86805916, 1.86843276,
         0.49658531, 4.48168898, 0.0820849985, 148.413162, 0.006737947, 8955.2959, 0.000111665766, 485165184,
         2.06115369e-09, 1.06864742e+13, 9.35762291e-14, 2.72308792e+38, inf, inf, 1.64581145e-38,
         3.78350585e-44, 1.40129846e-45, 0},
  sigmoid = {nan, 1, 0, 0.5, 0.5, 0.5, 0.5, 0.500000238, 0.499999762, 0.574442506, 0.425557494, 0.65133214,
             0.651377618, 0.331812233, 0.817574441, 0.0758581758, 0.993307173, 0.00669285096, 0.999888301,
             0.000111653302, 1, 2.06115369e-09, 1, 9.35762359e-14, 1, 1, 1, 1.64581145e-38, 0, 0, 0},
  tanh = {nan, 1, -1, 0, -0.0, 1e-30, -1e-30, 9.99999997e-07, -9.99999997e-07, 0.291312635, -0.291312635,
          0.554530442, 0.554668963, -0.604367793, 0.905148268, -0.986614287, 0.999909222, -0.999909222, 1, -1,
          1, -1, 1, -1, 1, 1, 1, -1, -1, -1, -1},
  gelu = {nan, inf, nan, 0, 0, 5.00000002e-31, -5.00000002e-31, 5.00000397e-07, -4.99999601e-07, 0.185373425,
          -0.114626586, 0.458665162, 0.458853006, -0.169374511, 1.39978909, -0.0155241787, 4.99999857,
          -1.49011612e-06, 9.10000038, 0, 20, 0, 30, 0, 88.5, 88.8000031, 89.5, 0, 0, 0, 0},
  silu = {nan, inf, nan, 0, -0.0, 5.00000002e-31, -5.00000002e-31, 5.00000226e-07, -4.99999771e-07,
          0.172332764, -0.127667248, 0.40701744, 0.407176137, -0.232268557, 1.22636163, -0.189645454,
          4.96653557, -0.0334642529, 9.09898376, -0.00101604511, 20, -4.12230747e-08, 30, -2.80728695e-12,
          88.5, 88.8000031, 89.5, -1.43185592e-36, -0.0, -0.0, -0.0},
}
-- within 2 float ulps of PyTorch (relative 2.4e-7), or 2e-7 absolute for gelu's erf
-- approximation near its zeros; NaN and the infinities exactly
local function close(got, want, abs)
  if want ~= want then return got ~= got end
  if want == inf or want == -inf then return got == want end
  return math.abs(got - want) <= math.max(2.4e-7 * math.abs(want), abs, 3e-45)
end

local x = tensor(xs)
for _, name in ipairs({"exp", "sigmoid", "tanh", "gelu", "silu"}) do
  local y = x[name](x)
  local bad = {}
  for i = 1, #xs do
    local got = y[i]:item()
    if not close(got, torch[name][i], name == "gelu" and 2e-7 or 0) then
      bad[#bad + 1] = string.format("x=%.9g got %.9g, torch %.9g", xs[i], got, torch[name][i])
    end
  end
  t.ok(#bad == 0, name .. " at NaN, +-inf, +-0, tiny, overflow and denormal inputs matches PyTorch", table.concat(bad, "; "))
end
t.ok(1 / x:tanh()[5]:item() == -inf and 1 / x:tanh()[4]:item() == inf, "tanh(-0) is -0, tanh(0) is +0")

-- the same value in the SIMD body (index 1), the scalar tail (index 37) and a strided view
local function bits_equal(a, b)
  for i = 1, a:numel() do
    local p, q = a[i]:item(), b[i]:item()
    if not (p == q or (p ~= p and q ~= q)) then return false end
  end
  return true
end
tensor.manual_seed(3)
local v = tensor.randn(37) * 4
v[37] = v[1]:item()
local m = tensor.randn(37, 5) * 4
for _, name in ipairs({"exp", "sigmoid", "tanh", "gelu", "silu"}) do
  local y = v[name](v)
  t.eq(y[37]:item(), y[1]:item(), name .. ": body and tail give the same bits")
  local mt = m:t()
  t.ok(bits_equal(mt[name](mt):contiguous():view(-1), m[name](m):t():contiguous():view(-1)),
       name .. ": strided and contiguous loops give the same bits")
end
t.done_testing()
