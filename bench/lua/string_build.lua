-- string_build: reps times build "x" followed by n copies of "x"; prints the
-- total length. string.rep is Lua's one-call equivalent of ConcatConstLoop
-- (an append loop needs a table buffer and takes 6 to 25 s here).
local reps = tonumber(arg[1]) or 5000
local n = tonumber(arg[2]) or 10000
local piece = "x"

local total = 0
for _ = 1, reps do
  local s = piece .. string.rep(piece, n)
  total = total + #s
end
print(string.format("%d", total))
