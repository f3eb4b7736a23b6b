-- fib_iterative: reps calls of the iterative fib(35); prints the sum.
local reps = tonumber(arg[1]) or 1000000

local function fib(n)
  local a, b = 0, 1
  while n > 0 do
    local t = a + b
    a = b
    b = t
    n = n - 1
  end
  return a
end

local sum = 0
for _ = 1, reps do
  sum = sum + fib(35)
end
print(string.format("%d", sum))
