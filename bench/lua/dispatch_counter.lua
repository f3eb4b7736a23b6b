-- dispatch_counter: while i < n: i = i + 1.
local n = tonumber(arg[1]) or 30000000

local i = 0
while i < n do
  i = i + 1
end
print(string.format("%d", i))
