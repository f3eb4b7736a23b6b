-- collatz: Project Euler problem 14, the start below n with the longest
-- Collatz chain (x -> x / 2 if even, 3x + 1 if odd, until 1); prints
-- best * 1000 + its chain length.
local n = tonumber(arg[1]) or 200000
local floor = math.floor

local function chain(x)
  local len = 1
  while x ~= 1 do
    if x % 2 == 0 then
      x = floor(x / 2)
    else
      x = 3 * x + 1
    end
    len = len + 1
  end
  return len
end

local best, best_len = 0, 0
for start = 1, n - 1 do
  local len = chain(start)
  if len > best_len then
    best, best_len = start, len
  end
end
print(string.format("%d", best * 1000 + best_len))
