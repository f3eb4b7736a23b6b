-- mandelbrot: the Computer Language Benchmarks Game's mandelbrot (50
-- iterations, escape radius 2) over an n x n grid of [-1.5, 0.5] x [-1, 1];
-- prints the sum of every point's iteration count instead of the bitmap.
local n = tonumber(arg[1]) or 400

local sum = 0
for y = 0, n - 1 do
  local ci = 2.0 * y / n - 1.0
  for x = 0, n - 1 do
    local cr = 2.0 * x / n - 1.5
    local zr, zi, tr, ti = 0.0, 0.0, 0.0, 0.0
    local i = 0
    while i < 50 and tr + ti <= 4.0 do
      zi = 2.0 * zr * zi + ci
      zr = tr - ti + cr
      tr = zr * zr
      ti = zi * zi
      i = i + 1
    end
    sum = sum + i
  end
end
print(string.format("%d", sum))
