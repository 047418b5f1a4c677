-- wrk script (from the shared anchors): POSTs JSON bodies read from a file (one per line), cycling through
-- them so consecutive requests use different ids. Extra headers (our server's Authorization) come from
-- wrk's own -H option. Usage: wrk -t1 -c16 -d8s [-H 'Authorization: Bearer …'] -s tools/wrk_post.lua URL -- BODIES [OFFSET]
-- On exit prints one line "WRKJSON {...}" with counts and latency percentiles (microseconds).
local bodies = {}
local idx = 0
local counter = 0

function setup(thread)
  thread:set("tid", counter)
  counter = counter + 1
end

function init(args)
  local f = assert(io.open(args[1], "r"))
  for line in f:lines() do
    if #line > 0 then bodies[#bodies + 1] = line end
  end
  f:close()
  local offset = tonumber(args[2]) or 0
  idx = (offset + (tid or 0) * 997) % #bodies
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
end

function request()
  idx = idx % #bodies + 1
  return wrk.format(nil, nil, nil, bodies[idx])
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests":%d,"duration_us":%d,"bytes":%d,"errors_connect":%d,"errors_read":%d,' ..
    '"errors_write":%d,"errors_status":%d,"errors_timeout":%d,"lat_mean_us":%.1f,"lat_max_us":%d,' ..
    '"p50_us":%d,"p90_us":%d,"p99_us":%d}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
    latency.mean, latency.max, latency:percentile(50), latency:percentile(90), latency:percentile(99)))
end
