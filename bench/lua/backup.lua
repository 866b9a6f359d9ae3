-- POST /v0/vault/:name/totp/backup over the seeded backup-code credentials.
package.path = os.getenv("BENCH_LUA_DIR") .. "/?.lua;" .. package.path
require "common"
local count = tonumber(os.getenv("BENCH_BACKUP_COUNT") or "1000")
local headers
function init(args) bench_seed(); headers = auth("totp") end
function request()
  return wrk.format("POST", string.format("/v0/vault/b%03d/totp/backup", math.random(0, count - 1)),
                    headers)
end
