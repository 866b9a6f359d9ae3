-- GET /v0/vault for the identity BENCH_LIST_IDENTITY: ?limit=BENCH_LIST_LIMIT (default
-- 1000, all of its credentials), or no limit at all (every credential in one response,
-- as Loomal's clients ask) when BENCH_LIST_LIMIT is "none".
package.path = os.getenv("BENCH_LUA_DIR") .. "/?.lua;" .. package.path
require "common"
local limit = os.getenv("BENCH_LIST_LIMIT") or "1000"
local path = limit == "none" and "/v0/vault" or ("/v0/vault?limit=" .. limit)
local headers
function init(args) headers = auth(os.getenv("BENCH_LIST_IDENTITY")) end
function request() return wrk.format("GET", path, headers) end
