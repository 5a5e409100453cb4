-- wrk: POST a distinct seed ticket per request; ids unique per thread and run.
-- BATCH (an environment variable) > 0 posts that many tickets per request to /data/batch.
local run = os.getenv("RUN") or tostring(os.time())
local batch = tonumber(os.getenv("BATCH") or "0")
local threads = {}
local counter = 0
-- `prefix` is a global of each thread's own Lua state, set by setup() below.

function setup(thread)
  thread:set("prefix", run .. "-" .. #threads)
  table.insert(threads, thread)
end

local function ticket(id)
  return '{"id":"' .. id .. '","store":"Brussels","date":"2020-01-01","products":['
    .. '{"id":"123456789","name":"Banana","price":1.5},'
    .. '{"id":"123456789","name":"Bread","price":1.5},'
    .. '{"id":"123456789","name":"Water","price":1.5}]}'
end

request = function()
  counter = counter + 1
  if batch == 0 then
    return wrk.format("POST", "/data", {["Content-Type"] = "application/json"},
                      ticket(prefix .. "-" .. counter))
  end
  local parts = {}
  for i = 1, batch do parts[i] = ticket(prefix .. "-" .. counter .. "-" .. i) end
  return wrk.format("POST", "/data/batch", {["Content-Type"] = "application/json"},
                    "[" .. table.concat(parts, ",") .. "]")
end

done = function(summary, latency, requests)
  io.write(string.format(
    "RESULT requests=%d errors=%d non2xx=%d duration_us=%d p50_us=%d p95_us=%d p99_us=%d\n",
    summary.requests, summary.errors.connect + summary.errors.read + summary.errors.write
      + summary.errors.timeout, summary.errors.status, summary.duration,
    latency:percentile(50), latency:percentile(95), latency:percentile(99)))
end
