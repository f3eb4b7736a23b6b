-- hash_ops: string-keyed hash inserts, lookups and deletes, in the manner of
-- the Great Computer Language Shootout's hash test: rounds of, on a fresh
-- table of n keys "k0".."k<n-1>": insert every key, look up n keys of which
-- half are absent, delete every third key and look every key up again; each
-- round adds the values found and the number of keys still present. Prints
-- the total.
local rounds = tonumber(arg[1]) or 40
local n = tonumber(arg[2]) or 20000

local function round(r, n)
  local h = {}
  for i = 0, n - 1 do
    h["k" .. i] = i
  end
  local found = 0
  for i = 0, n - 1 do
    local v = h["k" .. (i * 7 + r) % (2 * n)]
    if v then
      found = found + v
    end
  end
  for i = 0, n - 1, 3 do
    h["k" .. i] = nil
  end
  for i = 0, n - 1 do
    if h["k" .. i] then
      found = found + 1
    end
  end
  return found
end

local total = 0
for r = 0, rounds - 1 do
  total = total + round(r, n)
end
print(string.format("%d", total))
