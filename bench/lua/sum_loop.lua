-- sum_loop (and sum_loop_fused): s += i for i in 0..n.
local n = tonumber(arg[1]) or 100000000

local s = 0
for i = 0, n - 1 do
  s = s + i
end
print(string.format("%d", s))
