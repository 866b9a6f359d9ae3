-- MCP tools/call vault.get (POST /mcp, JSON-RPC 2.0), names spread like get.lua.
package.path = os.getenv("BENCH_LUA_DIR") .. "/?.lua;" .. package.path
require "common"
local identities = tonumber(os.getenv("BENCH_IDENTITIES") or "10")
local per = tonumber(os.getenv("BENCH_PER_IDENTITY") or "1000")
local tool = os.getenv("BENCH_MCP_TOOL") or "vault.get"
local headers = {}
local counter = 0
function init(args)
  bench_seed()
  for i = 0, identities - 1 do
    local h = auth("bench" .. i)
    h["Content-Type"] = "application/json"
    h["Accept"] = "application/json, text/event-stream"
    h["MCP-Protocol-Version"] = "2025-06-18"
    headers[i] = h
  end
end
function request()
  counter = counter + 1
  local i = math.random(0, identities - 1)
  local body = string.format(
    '{"jsonrpc":"2.0","id":%d,"method":"tools/call","params":{"name":"%s","arguments":{"name":"c%04d"}}}',
    counter, tool, math.random(0, per - 1))
  return wrk.format("POST", "/mcp", headers[i], body)
end
