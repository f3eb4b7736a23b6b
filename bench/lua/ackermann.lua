-- ackermann: reps times ack(3, 4); prints the sum.
local reps = tonumber(arg[1]) or 1500

local function ack(m, n)
  if m == 0 then return n + 1 end
  if n == 0 then return ack(m - 1, 1) end
  return ack(m - 1, ack(m, n - 1))
end

local sum = 0
for _ = 1, reps do
  sum = sum + ack(3, 4)
end
print(string.format("%d", sum))
