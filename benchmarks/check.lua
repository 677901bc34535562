-- wrk script: rotates through the phone numbers in $BENCH_PHONES (one a line).
-- $BENCH_MODE: post (JSON body) | get (query string) | batch (50 checks a request).
-- done() prints one line "BENCHJSON {...}" that benchmarks/run.py reads.
local mode = os.getenv("BENCH_MODE") or "post"
local key = os.getenv("BENCH_KEY") or ""
local service = os.getenv("BENCH_SERVICE") or "advanced_support"
local phones = {}
for line in io.lines(os.getenv("BENCH_PHONES")) do
  phones[#phones + 1] = line
end
-- webhook mode: each line of $BENCH_PHONES is "id<TAB>timestamp<TAB>signature<TAB>body", signed by run.py
local deliveries = {}
if mode == "webhook" then
  for k, line in ipairs(phones) do
    local id, ts, sig, body = line:match("^([^\t]*)\t([^\t]*)\t([^\t]*)\t(.*)$")
    deliveries[k] = {id = id, ts = ts, sig = sig, body = body}
  end
end
local n = #phones
local i = 0

function init(args)
  -- threads start at different places so they do not ask for the same client at the same time
  -- (webhook deliveries are played in order, each once)
  if mode ~= "webhook" then
    i = math.random(0, n - 1)
  end
end

local function next_phone()
  i = (i % n) + 1
  return phones[i]
end

local function urlencode(s)
  return (s:gsub("[^%w%-%._~]", function(c) return string.format("%%%02X", string.byte(c)) end))
end

local json_headers = {["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. key}
local get_headers = {["Authorization"] = "Bearer " .. key}

function request()
  if mode == "webhook" then
    i = (i % n) + 1
    local d = deliveries[i]
    return wrk.format("POST", "/v1/webhooks/standard", {
      ["Content-Type"] = "application/json", ["webhook-id"] = d.id, ["webhook-timestamp"] = d.ts,
      ["webhook-signature"] = d.sig}, d.body)
  elseif mode == "get" then
    return wrk.format("GET", "/v1/entitlements/check?service=" .. service .. "&phone=" .. urlencode(next_phone()), get_headers)
  elseif mode == "batch" then
    local items = {}
    for k = 1, 50 do
      items[k] = '{"phone":"' .. next_phone() .. '","service":"' .. service .. '"}'
    end
    return wrk.format("POST", "/v1/entitlements/check-batch", json_headers, '{"items":[' .. table.concat(items, ",") .. ']}')
  end
  return wrk.format("POST", "/v1/entitlements/check", json_headers, '{"phone":"' .. next_phone() .. '","service":"' .. service .. '"}')
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCHJSON {"requests":%d,"duration_us":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d,"mean_us":%.1f,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d}}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.max, latency.mean, e.connect, e.read, e.write, e.status, e.timeout))
end
