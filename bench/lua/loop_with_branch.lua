-- loop_with_branch: a counter loop with an `if i > 0` inside (empty body).
local n = tonumber(arg[1]) or 20000000

local i = 0
repeat
  i = i + 1
  if i > 0 then
    -- nothing: upstream's branch holds a Nop
  end
until not (i < n)
print(string.format("%d", i))
