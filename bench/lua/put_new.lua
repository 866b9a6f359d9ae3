-- PUT of names never used before (create): one name per request.
package.path = os.getenv("BENCH_LUA_DIR") .. "/?.lua;" .. package.path
require "common"
local identities = tonumber(os.getenv("BENCH_IDENTITIES") or "10")
local run = os.getenv("BENCH_SEED") or "0"
local headers = {}
local counter = 0
function init(args)
  bench_seed()
  for i = 0, identities - 1 do
    local h = auth("bench" .. i)
    h["Content-Type"] = "application/json"
    headers[i] = h
  end
end
function request()
  counter = counter + 1
  local i = counter % identities
  local body = string.format(
    '{"type":"API_KEY","data":{"key":"sk_live_%08x%08x"},"metadata":{"service":"bench"}}',
    math.random(0, 0x7fffffff), counter)
  return wrk.format("PUT", string.format("/v0/vault/new-%s-%d-%d", run, tid, counter),
                    headers[i], body)
end
