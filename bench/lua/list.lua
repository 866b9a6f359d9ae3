-- GET /v0/vault?limit=1000 for the identity BENCH_LIST_IDENTITY (all of its credentials).
package.path = os.getenv("BENCH_LUA_DIR") .. "/?.lua;" .. package.path
require "common"
local path = "/v0/vault?limit=" .. (os.getenv("BENCH_LIST_LIMIT") or "1000")
local headers
function init(args) headers = auth(os.getenv("BENCH_LIST_IDENTITY")) end
function request() return wrk.format("GET", path, headers) end
