-- GET /v0/vault/:name spread over IDENTITIES identities x PER names c0000...
package.path = os.getenv("BENCH_LUA_DIR") .. "/?.lua;" .. package.path
require "common"
local identities = tonumber(os.getenv("BENCH_IDENTITIES") or "10")
local per = tonumber(os.getenv("BENCH_PER_IDENTITY") or "1000")
local headers = {}
function init(args)
  bench_seed()
  for i = 0, identities - 1 do headers[i] = auth("bench" .. i) end
end
function request()
  local i = math.random(0, identities - 1)
  local n = math.random(0, per - 1)
  return wrk.format("GET", string.format("/v0/vault/c%04d", n), headers[i])
end
