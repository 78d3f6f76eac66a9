-- wrk script for the error paths: unique_keys.lua's requests reshaped into one error workload, and every answer
-- checked against the one status (and body) that workload must get, since here a 4xx is the point, not a failure.
-- Usage: wrk -s expect_status.lua URL -- API_KEY ACCOUNT_GROUP PROSPECT WORKLOAD STATUS
-- Workloads (PROSPECT is the one the workload needs; bench/harness.py passes it):
--   invalid        a body with five problems at once; the 400 must list all five
--   unauthorized   half the requests with an unknown key, half with no Authorization header: 401
--   conflict       one Idempotency-Key, a different body each time: one 202 (the key's first use), then 409s
--   not-connected  a direct message to a prospect who is not connected, fresh key each time: 409
-- Prints unique_keys.lua's BENCH line with " wrong_status=N expected=STATUS" appended: N counts answers with
-- another status, or without every text the workload's body must contain.
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(here .. "unique_keys.lua")

local base_setup, base_init, base_request = setup, init, request
local threads = {}
local mode, prospect_id, conflict_key = "", "", ""
local must_contain = {}
local seeded, sent = false, 0
expected, wrong = 0, 0 -- globals: done() reads them from each thread with thread:get

local CONTAINS = {
  invalid = {
    "unknownMember: unknown property", "prospectId: required", "message: must be a string",
    "subject: required when channel is inmail", "conversationId: not allowed when channel is inmail",
  },
  unauthorized = { '"UNAUTHORIZED"' },
  conflict = { '"IDEMPOTENCY_CONFLICT"' },
  ["not-connected"] = { '"PROSPECT_NOT_CONNECTED"' },
}

function setup(thread)
  base_setup(thread)
  table.insert(threads, thread)
end

function init(args)
  base_init(args)
  prospect_id, mode, expected = args[3], args[4], tonumber(args[5])
  conflict_key = string.format("conflict-%d-%d-%d", os.time(), id, math.random(1, 1000000000))
  must_contain = CONTAINS[mode]
  if not must_contain or not expected then
    error("usage: -- API_KEY ACCOUNT_GROUP PROSPECT invalid|unauthorized|conflict|not-connected STATUS")
  end
  if mode == "invalid" then
    wrk.body = '{"channel":"inmail","message":123,"conversationId":"cnv_ada_lovelace","unknownMember":true}'
  end
end

function request()
  sent = sent + 1
  if mode == "unauthorized" then
    -- An unknown key must be looked up; a missing one is refused before that: both are common mistakes.
    wrk.headers["Authorization"] = (sent % 2 == 0) and "Bearer sk_test_unknown_bench_key" or nil
  elseif mode == "conflict" then
    -- A new body every time: whichever arrives first binds the key (202), every other one conflicts.
    wrk.headers["Idempotency-Key"] = conflict_key
    wrk.body = '{"prospectId":"' .. prospect_id .. '","message":"Conflicting body ' .. sent .. '"}'
    return wrk.format()
  end
  return base_request()
end

function response(status, headers, body)
  if status == expected then
    for _, text in ipairs(must_contain) do
      if not string.find(body, text, 1, true) then
        wrong = wrong + 1
        return
      end
    end
    return
  end
  if mode == "conflict" and status == 202 and not seeded then
    seeded = true
    return
  end
  wrong = wrong + 1
end

function done(summary, latency, requests)
  local total_wrong, status = 0, 0
  for _, thread in ipairs(threads) do
    total_wrong = total_wrong + (thread:get("wrong") or 0)
    status = thread:get("expected") or status
  end
  io.write(string.format("BENCH requests=%d errors_status=%d p50_us=%d p99_us=%d wrong_status=%d expected=%d\n",
    summary.requests, summary.errors.status, latency:percentile(50), latency:percentile(99), total_wrong,
    status))
end
