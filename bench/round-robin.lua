-- wrk script: tools/call echo spread round-robin over tenants t1..tN
-- (N from the first script argument), checking every answer.
local n, i, bad = 100, 0, 0
init = function(args) n = tonumber(args[1]) or n end
request = function()
  i = i % n + 1
  return wrk.format("POST", "/t" .. i .. "/mcp",
    { ["Content-Type"] = "application/json", ["Accept"] = "application/json, text/event-stream" },
    '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"text":"hello"}}}')
end
response = function(status, headers, body)
  if status ~= 200 or not string.find(body, '"result"', 1, true) then bad = bad + 1 end
end
done = function(summary, latency, requests)
  io.write(string.format("BENCH rps=%.1f p50_us=%d p99_us=%d requests=%d errors=%d\n",
    summary.requests / (summary.duration / 1e6), latency:percentile(50), latency:percentile(99),
    summary.requests, summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
