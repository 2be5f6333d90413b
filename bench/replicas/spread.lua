-- wrk: the gateway's post.lua (its body and its RESULT line), with the threads spread over the
-- replicas listed in $BENCH_TARGETS ("host:port host:port ..."), thread i on replica i mod n — a
-- round-robin load balancer's share — and $BENCH_KEY a comma-separated list of keys taken in turn.
dofile("bench/gateway/post.lua")

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

local keys = {}
for key in string.gmatch(os.getenv("BENCH_KEY") or "none", "[^,]+") do table.insert(keys, key) end
local turn = 0

function request()
  turn = turn + 1
  return wrk.format("POST", nil, {["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. keys[turn % #keys + 1]}, wrk.body)
end
