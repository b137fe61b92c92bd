-- wrk script: GET /v1/orders/{id} for ids picked uniformly at random from PREFIX000001 to
-- PREFIX<N> (six digits, the ids bench/api_read.py loads).
--
--   wrk -t2 -c4 -d20s --latency -s bench/wrk_read.lua http://127.0.0.1:8000 -- KEY N PREFIX [PAUSE]
--
-- Without PAUSE each connection sends its next request as soon as the answer arrives (a
-- closed loop: the server runs flat out). With PAUSE (milliseconds) each connection waits
-- that long between requests, which caps the offered rate near connections * 1000 / PAUSE
-- per second: latency at a set load rather than at saturation.
-- done() prints one line "WRK_JSON {...}" with the counts and latency percentiles (ms).

local threads = {}

function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end

function init(args)
  key, count, prefix = args[1], tonumber(args[2]), args[3]
  pause = tonumber(args[4] or "0")
  ok, non2xx = 0, 0
  headers = {["Authorization"] = "Bearer " .. key}
  math.randomseed(os.time() * 100 + tid)
end

function request()
  local path = string.format("/v1/orders/%s%06d", prefix, math.random(1, count))
  return wrk.format("GET", path, headers)
end

function delay()
  return pause
end

function response(status, headers, body)
  if status == 200 then
    ok = ok + 1
  else
    non2xx = non2xx + 1
  end
end

function done(summary, latency, requests)
  local ok_total, non2xx_total = 0, 0
  for _, thread in ipairs(threads) do
    ok_total = ok_total + thread:get("ok")
    non2xx_total = non2xx_total + thread:get("non2xx")
  end
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests":%d,"duration_s":%.3f,"rps":%.1f,"ok_2xx":%d,"non_2xx":%d,'
      .. '"socket_errors":%d,"timeouts":%d,'
      .. '"p50_ms":%.2f,"p90_ms":%.2f,"p99_ms":%.2f,"max_ms":%.2f,"mean_ms":%.2f}\n',
    summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
    ok_total, non2xx_total, e.connect + e.read + e.write, e.timeout,
    latency:percentile(50) / 1e3, latency:percentile(90) / 1e3, latency:percentile(99) / 1e3,
    latency.max / 1e3, latency.mean / 1e3))
end
