-- word_freq: word frequencies (Bentley's "Programming Pearls" column, AWK's
-- count[$i]++) over a generated text: lines of 10 words, each word 1 to 3 of
-- 16 syllables picked by the Shootout's gen_random LCG (seed 42). Each line
-- is built by concatenation, its words found with gmatch and counted in a
-- table keyed by the word. Prints the number of distinct words, then the
-- sum of the squares of the counts.
local lines = tonumber(arg[1]) or 50000
local floor = math.floor

local syl = {"the", "a", "to", "in", "an", "on", "ar", "er",
             "is", "it", "or", "en", "at", "es", "ou", "ly"}

local last = 42
local function gen_random()
  last = (last * 3877 + 29573) % 139968
  return last
end

local function pick(k)
  return floor(k * gen_random() / 139968)
end

local function word()
  local w = ""
  for _ = 1, pick(3) + 1 do
    w = w .. syl[pick(16) + 1]
  end
  return w
end

local count = {}
for _ = 1, lines do
  local line = ""
  for _ = 1, 10 do
    line = line .. word() .. " "
  end
  for w in line:gmatch("%S+") do
    count[w] = (count[w] or 0) + 1
  end
end

local distinct, sumsq = 0, 0
for _, c in pairs(count) do
  distinct = distinct + 1
  sumsq = sumsq + c * c
end
print(string.format("%d", distinct))
print(string.format("%d", sumsq))
