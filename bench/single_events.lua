-- wrk script for `python -m bench ingest --client wrk`: POST /events/ with a unique event_id per request.
-- Set by the bench through the environment: FUBBLE_BENCH_KEY (API key), FUBBLE_BENCH_CUSTOMERS ("id,id,..."),
-- FUBBLE_BENCH_RUN (a prefix making the event ids unique to this run), FUBBLE_BENCH_PROPERTIES (one property per
-- line: its name and values as JSON, tab-separated; event n carries value n of each, as bench/ingest.py's do).
local key = os.getenv("FUBBLE_BENCH_KEY")
local run = os.getenv("FUBBLE_BENCH_RUN")
local customers = {}
for id in string.gmatch(os.getenv("FUBBLE_BENCH_CUSTOMERS"), "%d+") do customers[#customers + 1] = id end
local properties = {}
for line in string.gmatch(os.getenv("FUBBLE_BENCH_PROPERTIES") or "", "[^\n]+") do
  local parts = {}
  for part in string.gmatch(line, "[^\t]+") do parts[#parts + 1] = part end
  properties[#properties + 1] = parts
end
local counter = 0
thread_id = 0  -- set per wrk thread by setup()
local threads = {}

function setup(thread)
  thread:set("thread_id", #threads)
  threads[#threads + 1] = thread
end

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. key

request = function()
  counter = counter + 1
  local n = counter * 64 + thread_id  -- unique across threads (at most 64 of them)
  local carried = {}
  for i, parts in ipairs(properties) do
    carried[i] = parts[1] .. ":" .. parts[2 + n % (#parts - 1)]
  end
  local extra = #carried > 0 and (',"properties":{' .. table.concat(carried, ",") .. "}") or ""
  local body = string.format(
    '{"event_id":"%s-%d","customer_id":%s,"metric_name":"api_calls","quantity":1,' ..
    '"event_time":"2024-01-%02dT%02d:00:00Z"%s}',
    run, n, customers[n % #customers + 1], 1 + n % 28, n % 24, extra)
  return wrk.format(nil, "/events/", nil, body)
end

done = function(summary, latency, requests)
  io.write(string.format("wrk: %d responses, %d not 2xx, %d socket errors, p50 %.1f ms, p99 %.1f ms\n",
    summary.requests, summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
