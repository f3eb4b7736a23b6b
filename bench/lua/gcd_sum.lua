-- gcd_sum: the sum of gcd(i, j) over 1 <= i, j <= n, gcd by Euclid's
-- remainder loop in a function called for every pair; prints the sum.
local n = tonumber(arg[1]) or 1800

local function gcd(a, b)
  while b ~= 0 do
    a, b = b, a % b
  end
  return a
end

local sum = 0
for i = 1, n do
  for j = 1, n do
    sum = sum + gcd(i, j)
  end
end
print(string.format("%d", sum))
