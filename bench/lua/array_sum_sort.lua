-- array_sum_sort: the Great Computer Language Shootout's heapsort (Numerical
-- Recipes' heapsort, 1-based) on n integers from the Shootout's gen_random
-- LCG (seed 42); prints the sum of the elements, then the sum of a[i] * i
-- over the sorted array.
local n = tonumber(arg[1]) or 300001
local floor = math.floor

local IM, IA, IC = 139968, 3877, 29573
local last = 42
local function gen_random()
  last = (last * IA + IC) % IM
  return last
end

local function heapsort(n, ra)
  local l = floor(n / 2) + 1
  local ir = n
  while true do
    local rra
    if l > 1 then
      l = l - 1
      rra = ra[l]
    else
      rra = ra[ir]
      ra[ir] = ra[1]
      ir = ir - 1
      if ir == 1 then
        ra[1] = rra
        return
      end
    end
    local i = l
    local j = l * 2
    while j <= ir do
      if j < ir and ra[j] < ra[j + 1] then
        j = j + 1
      end
      if rra < ra[j] then
        ra[i] = ra[j]
        i = j
        j = j + i
      else
        j = ir + 1
      end
    end
    ra[i] = rra
  end
end

local a = {}
local sum = 0
for i = 1, n do
  a[i] = gen_random()
  sum = sum + a[i]
end
print(string.format("%d", sum))
heapsort(n, a)
local check = 0
for i = 1, n do
  check = check + a[i] * i
end
print(string.format("%d", check))
