-- binomial: the binomial coefficient C(n, k) by Pascal's rule, naively
-- recursive; prints it.
local n = tonumber(arg[1]) or 26
local k = tonumber(arg[2]) or 13

local function binomial(n, k)
  if k == 0 or k == n then
    return 1
  end
  return binomial(n - 1, k - 1) + binomial(n - 1, k)
end

print(string.format("%d", binomial(n, k)))
