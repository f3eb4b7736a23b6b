-- nested_loop: reps times an n x n loop doing s += i + j.
local reps = tonumber(arg[1]) or 50
local n = tonumber(arg[2]) or 1000

local s = 0
for _ = 1, reps do
  for i = 0, n - 1 do
    for j = 0, n - 1 do
      s = s + i + j
    end
  end
end
print(string.format("%d", s))
