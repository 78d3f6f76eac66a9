-- wrk script: a valid request to a fixture prospect with a fresh Idempotency-Key on every request.
-- Usage: wrk -s unique_keys.lua URL -- API_KEY ACCOUNT_GROUP PROSPECT [replay]
local threads = {}
local counter = 0
local prefix = "k"
local replay = false

function setup(thread)
  thread:set("id", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  local api_key, group, prospect = args[1], args[2], args[3]
  replay = args[4] == "replay"
  math.randomseed(os.time() * 1000 + id)
  prefix = string.format("bench-%d-%d-%d", os.time(), id, math.random(1, 1000000000))
  wrk.method = "POST"
  wrk.path = "/v1/accounts/" .. group .. "/messages/responses"
  wrk.headers["Authorization"] = "Bearer " .. api_key
  wrk.headers["Content-Type"] = "application/json"
  wrk.body = '{"prospectId":"' .. prospect .. '","message":"Thanks for the context. I can send details this afternoon."}'
end

function request()
  counter = counter + 1
  local key = replay and (prefix .. "-replay") or (prefix .. "-" .. counter)
  wrk.headers["Idempotency-Key"] = key
  return wrk.format()
end

function done(summary, latency, requests)
  io.write(string.format("BENCH requests=%d errors_status=%d p50_us=%d p99_us=%d\n",
    summary.requests, summary.errors.status, latency:percentile(50), latency:percentile(99)))
end
