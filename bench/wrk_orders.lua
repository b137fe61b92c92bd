-- wrk script: POST /v1/orders with a unique ticket id per request.
--
--   wrk -t2 -c8 -d20s --latency -s bench/wrk_orders.lua http://127.0.0.1:8000 -- KEY TAG [OUTDIR]
--
-- Ticket ids are TAG-<thread>-<counter>: unique across threads (each wrk thread has its own
-- Lua state and counter) and across runs (TAG). Every 2xx answer's id is appended to
-- OUTDIR/acked-<thread>.txt (line-buffered), so that the caller can check each acknowledged
-- order is stored exactly once; bench/api_load.py --tool wrk does. done() prints one line
-- "WRK_JSON {...}" with the counts and latency percentiles (milliseconds).

local threads = {}

function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end

function init(args)
  key, tag, outdir = args[1], args[2], args[3]
  sent, ok, non2xx = 0, 0, 0
  headers = {["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. key}
  if outdir then
    acked = io.open(string.format("%s/acked-%d.txt", outdir, tid), "w")
    acked:setvbuf("line")
  end
end

-- A valid Order document (docs/api.md): Chengdu, domestic, hydraulics, two hours.
local template = '{"id":"%s","site":{"lat":30.66,"lon":104.07,"country":"CN",'
  .. '"name":"Chengdu mill"},"received_at":"2026-11-23T07:40:00+08:00","priority":"normal",'
  .. '"required_skills":["hydraulics"],"service_minutes":120}'

function request()
  sent = sent + 1
  local body = string.format(template, string.format("%s-%d-%d", tag, tid, sent))
  return wrk.format("POST", "/v1/orders", headers, body)
end

function response(status, headers, body)
  if status == 200 or status == 201 then
    ok = ok + 1
    if acked then
      -- The order view starts with the order's id.
      acked:write(body:match('^{"id":"([^"]+)"'), "\n")
    end
  else
    non2xx = non2xx + 1
  end
end

function done(summary, latency, requests)
  local ok_total, non2xx_total, sent_total = 0, 0, 0
  for _, thread in ipairs(threads) do
    ok_total = ok_total + thread:get("ok")
    non2xx_total = non2xx_total + thread:get("non2xx")
    sent_total = sent_total + thread:get("sent")
  end
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests":%d,"duration_s":%.3f,"rps":%.1f,"ok_2xx":%d,"non_2xx":%d,'
      .. '"sent":%d,"socket_errors":%d,"timeouts":%d,'
      .. '"p50_ms":%.2f,"p90_ms":%.2f,"p99_ms":%.2f,"max_ms":%.2f,"mean_ms":%.2f}\n',
    summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
    ok_total, non2xx_total, sent_total, e.connect + e.read + e.write, e.timeout,
    latency:percentile(50) / 1e3, latency:percentile(90) / 1e3, latency:percentile(99) / 1e3,
    latency.max / 1e3, latency.mean / 1e3))
end
