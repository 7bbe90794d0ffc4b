-- server-bench's wrk workload: the same targets as the k6 script (every crawled path, then every
-- redirect alias, redirects not followed). Each thread walks the list from its own offset; its
-- connections share that walk. done() prints one line, "WRK_JSON {...}", for the driver to parse.
--
-- Usage: wrk -t T -c C -d 30s -s wrk-targets.lua http://127.0.0.1:8080 -- <targets file> <T> [codes]
-- The targets file holds one URL path per line ("/", "/img/a.jpg", "/some-alias").
--
-- Status counting has two modes. By default only wrk's own counters are used: responses with a
-- status >= 400 (summary.errors.status) against all the others. With "codes" as the third
-- argument a response() callback counts every status code per thread (each thread has its own
-- Lua state; done() merges them). That callback makes wrk copy every body into Lua: on a site of
-- 20-150 KB files it halves the requests one wrk core can drive (measured ~28k vs ~58k req/s),
-- so it is opt-in, and the default keeps the generator from becoming the bottleneck.

local threads = {}
local next_id = 0

-- Main thread, once per worker thread before it starts: number it and keep it for done().
function setup(thread)
  thread:set("sb_id", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

-- Worker thread: load the targets and pick a starting offset.
function init(args)
  local file = args[1]
  if file == nil then error("wrk-targets.lua: pass the targets file after --") end
  local nthreads = tonumber(args[2]) or 1
  local f = assert(io.open(file, "r"))
  reqs = {}
  for line in f:lines() do
    if #line > 0 then reqs[#reqs + 1] = wrk.format("GET", line) end
  end
  f:close()
  if #reqs == 0 then error("wrk-targets.lua: no targets in " .. file) end
  pos = math.floor((sb_id or 0) * #reqs / nthreads) % #reqs
  statuses = {}
  -- wrk checks for a global response() after the first thread's init(), so defining it here works.
  if args[3] == "codes" then
    response = function(status, headers, body)
      local key = tostring(status)
      statuses[key] = (statuses[key] or 0) + 1
    end
  end
  status_mode = args[3] == "codes" and "codes" or "classes"
end

function request()
  pos = pos + 1
  if pos > #reqs then pos = 1 end
  return reqs[pos]
end

local function num(x)
  if x == nil or x ~= x or x == math.huge or x == -math.huge then return "null" end
  if x == math.floor(x) and math.abs(x) < 2^53 then return string.format("%d", x) end
  return string.format("%.6f", x)
end

function done(summary, latency, requests)
  local merged = {}
  local mode = "classes"
  for _, t in ipairs(threads) do
    mode = t:get("status_mode") or mode
    local s = t:get("statuses")
    if type(s) == "table" then
      for code, n in pairs(s) do merged[code] = (merged[code] or 0) + n end
    end
  end
  local codes = {}
  for code, n in pairs(merged) do codes[#codes + 1] = string.format('"%s":%s', code, num(n)) end
  table.sort(codes)
  local e = summary.errors
  local line = string.format(
    '{"requests":%s,"bytes":%s,"duration_us":%s,"threads":%s,"status_mode":"%s",' ..
    '"errors":{"connect":%s,"read":%s,"write":%s,"status":%s,"timeout":%s},' ..
    '"latency_us":{"min":%s,"mean":%s,"stdev":%s,"p50":%s,"p90":%s,"p95":%s,"p99":%s,"max":%s},' ..
    '"statuses":{%s}}',
    num(summary.requests), num(summary.bytes), num(summary.duration), num(#threads), mode,
    num(e.connect), num(e.read), num(e.write), num(e.status), num(e.timeout),
    num(latency.min), num(latency.mean), num(latency.stdev),
    num(latency:percentile(50)), num(latency:percentile(90)), num(latency:percentile(95)),
    num(latency:percentile(99)), num(latency.max),
    table.concat(codes, ","))
  io.write("WRK_JSON ", line, "\n")
end
