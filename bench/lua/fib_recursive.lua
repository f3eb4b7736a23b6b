-- fib_recursive: naive recursive fib(n).
local n = tonumber(arg[1]) or 35

local function fib(k)
  if k <= 1 then return k end
  return fib(k - 1) + fib(k - 2)
end

print(string.format("%d", fib(n)))
