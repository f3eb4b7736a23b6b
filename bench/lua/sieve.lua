-- sieve: the Sieve of Eratosthenes, reps times counting the primes up to n;
-- prints the total. Each call fills a fresh table of flags.
local reps = tonumber(arg[1]) or 30
local n = tonumber(arg[2]) or 200000

local function sieve(n)
  local flags = {}
  for i = 2, n do
    flags[i] = true
  end
  local count = 0
  for i = 2, n do
    if flags[i] then
      count = count + 1
      for k = i * i, n, i do
        flags[k] = false
      end
    end
  end
  return count
end

local total = 0
for _ = 1, reps do
  total = total + sieve(n)
end
print(string.format("%d", total))
