-- wrk script: the same MCP tools/call echo request for every server; with
-- an argument N (`wrk … -- N`) spread round-robin over tenants t1..tN.
local body = '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"text":"hello"}}}'
local headers = { ["Content-Type"] = "application/json", ["Accept"] = "application/json, text/event-stream" }

-- Answers that are not a JSON-RPC result, so a fast error path can't pass
-- for throughput. Counted per thread (each has its own Lua state) and
-- summed in `done` through the thread handles.
local threads = {}
function setup(thread) table.insert(threads, thread) end

function init(args)
  tenants = tonumber(args[1])
  next_tenant = 0
  bad = 0
end

function request()
  if tenants then
    next_tenant = next_tenant % tenants + 1
    return wrk.format("POST", "/t" .. next_tenant .. "/mcp", headers, body)
  end
  return wrk.format("POST", nil, headers, body)
end

function response(status, hdrs, answer)
  if status ~= 200 or not string.find(answer, '"result"', 1, true) then bad = bad + 1 end
end

function done(summary, latency, requests)
  local invalid = 0
  for _, t in ipairs(threads) do invalid = invalid + (t:get("bad") or 0) end
  local e = summary.errors
  io.write(string.format("BENCH rps=%.1f p50_us=%d p99_us=%d requests=%d errors=%d\n",
    summary.requests / (summary.duration / 1e6), latency:percentile(50), latency:percentile(99),
    summary.requests, e.status + e.connect + e.read + e.write + e.timeout + invalid))
end
