-- wrk script for a fleet: bench/unique_keys.lua (same requests, same BENCH line), with wrk's threads spread
-- over several replicas, thread i on port i mod n. One wrk process then loads the whole fleet and reports one
-- total, instead of n wrk processes competing for the load generator's core.
-- Environment: BENCH_UNIQUE_KEYS (path of unique_keys.lua), BENCH_PORTS (comma-separated loopback ports).
-- Usage: BENCH_UNIQUE_KEYS=... BENCH_PORTS=p1,p2,p3 wrk -t3 -s fleet.lua http://127.0.0.1:p1 -- API_KEY GROUP PROSPECT
dofile(os.getenv("BENCH_UNIQUE_KEYS"))

local base_setup = setup
local ports = {}
for port in string.gmatch(os.getenv("BENCH_PORTS") or "", "%d+") do
  table.insert(ports, port)
end
local assigned = 0

function setup(thread)
  base_setup(thread)
  if #ports > 0 then
    thread.addr = wrk.lookup("127.0.0.1", ports[(assigned % #ports) + 1])[1]
    assigned = assigned + 1
  end
end
