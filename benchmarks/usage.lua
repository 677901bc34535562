-- wrk script: records uses (POST /v1/clients/{id}/usage), each with a new idempotency key.
-- $BENCH_CLIENTS: client ids, one a line; $BENCH_RUN: a prefix making this run's keys unique;
-- $BENCH_KEYS_OUT: where the keys of the answered uses go.
local key = os.getenv("BENCH_KEY") or ""
local run = os.getenv("BENCH_RUN") or "run"
local clients = {}
for line in io.lines(os.getenv("BENCH_CLIENTS")) do
  clients[#clients + 1] = line
end
local n = #clients
local i = 0
local headers = {["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. key}

function request()
  i = i + 1
  local cid = clients[(i % n) + 1]
  local body = '{"service":"remote_support","units":1,"idempotency_key":"' .. run .. '-' .. i .. '","ticket_ref":"T' .. i .. '"}'
  return wrk.format("POST", "/v1/clients/" .. cid .. "/usage", headers, body)
end

-- The keys of the uses answered 201/200, so that the run can check each is in the ledger exactly once.
local out = io.open(os.getenv("BENCH_KEYS_OUT"), "w")

function response(status, headers, body)
  if status == 200 or status == 201 then
    out:write((body:match('"idempotency_key":"([^"]+)"') or "?"), "\n")
  end
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCHJSON {"requests":%d,"duration_us":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d,"mean_us":%.1f,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d}}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.max, latency.mean, e.connect, e.read, e.write, e.status, e.timeout))
end
