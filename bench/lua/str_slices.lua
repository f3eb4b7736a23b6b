-- str_slices: Rosetta Code's Rot-13 and Reverse a string, character by
-- character as the AWK idioms do them (find the character in the alphabet,
-- take the one at the same place in the rotated alphabet; append the
-- characters from the last to the first) with sub, find and .., on the
-- pangram "the quick brown fox jumps over the lazy dog " rotated by r
-- characters, for r in 0..n-1. Prints the sum over the lines of
-- index(enc, "gur") + index(rev, "kbs") + length(rev), with AWK's 1-based
-- index (0: not found).
local lines = tonumber(arg[1]) or 30000

local text = "the quick brown fox jumps over the lazy dog "
local alpha = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
local rotated = "nopqrstuvwxyzabcdefghijklmNOPQRSTUVWXYZABCDEFGHIJKLM"

local function rot13(s)
  local out = ""
  for j = 1, #s do
    local c = s:sub(j, j)
    local p = alpha:find(c, 1, true)
    if p then
      c = rotated:sub(p, p)
    end
    out = out .. c
  end
  return out
end

local function reverse(s)
  local out = ""
  for j = #s, 1, -1 do
    out = out .. s:sub(j, j)
  end
  return out
end

local function index(s, t)
  return s:find(t, 1, true) or 0
end

local len = #text
local total = 0
for r = 0, lines - 1 do
  local k = r % len
  local line = text:sub(k + 1) .. text:sub(1, k)
  local enc = rot13(line)
  local rev = reverse(enc)
  total = total + index(enc, "gur") + index(rev, "kbs") + #rev
end
print(string.format("%d", total))
