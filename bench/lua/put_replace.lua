-- PUT over existing names (replace): random c0000.. names of the bench identities.
package.path = os.getenv("BENCH_LUA_DIR") .. "/?.lua;" .. package.path
require "common"
local identities = tonumber(os.getenv("BENCH_IDENTITIES") or "10")
local per = tonumber(os.getenv("BENCH_PER_IDENTITY") or "1000")
local headers = {}
function init(args)
  bench_seed()
  for i = 0, identities - 1 do
    local h = auth("bench" .. i)
    h["Content-Type"] = "application/json"
    headers[i] = h
  end
end
function request()
  local i = math.random(0, identities - 1)
  local n = math.random(0, per - 1)
  local body = string.format(
    '{"type":"API_KEY","data":{"key":"sk_live_%08x%08x"},"metadata":{"service":"stripe"}}',
    math.random(0, 0x7fffffff), n)
  return wrk.format("PUT", string.format("/v0/vault/c%04d", n), headers[i], body)
end
