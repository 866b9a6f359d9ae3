// One MCP tools/call on the stateless endpoint (SPEC 6), for end-to-end tests.
#pragma once

#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/testing/http_client.h"

namespace strongroom::e2e {

// Calls `tool` with `arguments` as the holder of `key`; expects HTTP 200 and
// returns the JSON-RPC result (null if the answer has none, e.g. an error).
inline nlohmann::json McpCall(testing::HttpClient& client, const std::string& key,
                              const std::string& tool, const nlohmann::json& arguments) {
  const nlohmann::json request = {{"jsonrpc", "2.0"},
                                  {"id", 1},
                                  {"method", "tools/call"},
                                  {"params", {{"name", tool}, {"arguments", arguments}}}};
  testing::HttpResponse r = client.Send(
      "POST", "/mcp",
      {"Authorization: Bearer " + key, "Content-Type: application/json",
       "Accept: application/json, text/event-stream", "MCP-Protocol-Version: 2025-06-18"},
      request.dump());
  EXPECT_EQ(r.status, 200) << r.body;
  nlohmann::json body = nlohmann::json::parse(r.body, nullptr, false);
  return body.is_object() && body.contains("result") ? body["result"] : nlohmann::json();
}

}  // namespace strongroom::e2e
