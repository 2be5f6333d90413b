-- wrk: the gateway's post.lua, with the threads spread over the replicas listed in $BENCH_TARGETS
-- ("host:port host:port ..."), thread i on replica i mod n — a round-robin load balancer's share.
local targets = {}
for target in string.gmatch(os.getenv("BENCH_TARGETS") or "", "%S+") do table.insert(targets, target) end
local counter = 0

function setup(thread)
  if #targets > 0 then
    local host, port = string.match(targets[counter % #targets + 1], "([^:]+):(%d+)")
    thread.addr = wrk.lookup(host, port)[1]
    counter = counter + 1
  end
end

-- $BENCH_KEY: one key, or several separated by commas, taken in turn request by request.
local keys = {}
for key in string.gmatch(os.getenv("BENCH_KEY") or "none", "[^,]+") do table.insert(keys, key) end
local body = '{"model":"bench-model","messages":[{"role":"user","content":"Say hello"}],"max_tokens":128}'
local turn = 0

function request()
  turn = turn + 1
  return wrk.format("POST", nil, {["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. keys[turn % #keys + 1]}, body)
end

function done(summary, latency, requests)
  local errors = summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout
  io.write(string.format("RESULT rps=%.1f p50=%d p99=%d errors=%d requests=%d\n",
    summary.requests / (summary.duration / 1e6), latency:percentile(50), latency:percentile(99), errors, summary.requests))
end
