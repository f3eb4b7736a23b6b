-- spectral_norm: the Computer Language Benchmarks Game's spectral-norm:
-- ten rounds of u -> A'A u with A(i, j) = 1 / ((i+j)(i+j+1)/2 + i + 1), then
-- sqrt(u.v / v.v), printed times 1e12 truncated to an integer. Indices are
-- 0-based inside A as in the benchmark.
local n = tonumber(arg[1]) or 350

local function eval_A(i, j)
  return 1.0 / ((i + j) * (i + j + 1) / 2 + i + 1)
end

local function times_u(u)
  local au = {}
  for i = 0, n - 1 do
    local sum = 0.0
    for j = 0, n - 1 do
      sum = sum + eval_A(i, j) * u[j + 1]
    end
    au[i + 1] = sum
  end
  return au
end

local function times_ut(u)
  local au = {}
  for i = 0, n - 1 do
    local sum = 0.0
    for j = 0, n - 1 do
      sum = sum + eval_A(j, i) * u[j + 1]
    end
    au[i + 1] = sum
  end
  return au
end

local function times_AtA(u)
  return times_ut(times_u(u))
end

local u, v = {}, nil
for i = 1, n do
  u[i] = 1.0
end
for _ = 1, 10 do
  v = times_AtA(u)
  u = times_AtA(v)
end
local vBv, vv = 0.0, 0.0
for i = 1, n do
  vBv = vBv + u[i] * v[i]
  vv = vv + v[i] * v[i]
end
print(string.format("%d", math.floor(math.sqrt(vBv / vv) * 1e12)))
