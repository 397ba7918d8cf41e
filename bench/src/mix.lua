-- Benchmark for an interpreter (bench/bench-src.sh): calls, tables,
-- strings, closures and sorting, as scripts have them.  Prints a checksum.
local n = tonumber(arg and arg[1]) or 1

local function fib(k)
	if k < 2 then return k end
	return fib(k - 1) + fib(k - 2)
end

local sum = 0
for round = 1, n do
	sum = sum + fib(24)

	-- a table of records, sorted by a closure
	local t = {}
	local x = round
	for i = 1, 20000 do
		x = (x * 1103515245 + 12345) % 2147483648
		t[i] = { key = x % 100000, name = "item" .. (x % 977) }
	end
	table.sort(t, function(a, b)
		if a.key ~= b.key then return a.key < b.key end
		return a.name < b.name
	end)
	sum = sum + t[1].key + t[#t].key

	-- strings: building, searching, substitution
	local parts = {}
	for i = 1, 5000 do
		parts[#parts + 1] = string.format("%d:%s", i, t[i].name)
	end
	local s = table.concat(parts, ",")
	local count = 0
	for w in s:gmatch("item(%d+)") do
		count = count + #w
	end
	s = s:gsub("item", "x")
	sum = sum + count + #s

	-- a hash table of counters
	local freq = {}
	for i = 1, #t do
		local k = t[i].name
		freq[k] = (freq[k] or 0) + 1
	end
	local distinct = 0
	for _, v in pairs(freq) do
		distinct = distinct + v % 7
	end
	sum = sum + distinct
end
print(string.format("lua %d", sum))
