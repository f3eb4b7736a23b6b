-- tak: Takeuchi's function as in Gabriel's Lisp benchmarks, reps times
-- tak(18, 12, 6) = 7; prints the sum.
local reps = tonumber(arg[1]) or 300

local function tak(x, y, z)
  if y < x then
    return tak(tak(x - 1, y, z), tak(y - 1, z, x), tak(z - 1, x, y))
  end
  return z
end

local sum = 0
for _ = 1, reps do
  sum = sum + tak(18, 12, 6)
end
print(string.format("%d", sum))
