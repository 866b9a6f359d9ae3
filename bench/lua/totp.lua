-- GET /v0/vault/:name/totp over the seeded TOTP credentials of identity "totp".
package.path = os.getenv("BENCH_LUA_DIR") .. "/?.lua;" .. package.path
require "common"
local count = tonumber(os.getenv("BENCH_TOTP_COUNT") or "10")
local headers
function init(args) bench_seed(); headers = auth("totp") end
function request()
  return wrk.format("GET", string.format("/v0/vault/t%03d/totp", math.random(0, count - 1)), headers)
end
