// Pins every byte the MCP handler answers to requests whose answers do not
// depend on time or ids: initialize, tools/list (both spellings, both scope
// sets), and the transport, JSON-RPC and tool errors. The expected answers in
// testdata/golden.txt were recorded from the handler before the tool catalog
// became data; record again (only on purpose) with STRONGROOM_UPDATE_GOLDEN=1.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "tests/api/mcp/mcp_fixture.h"

namespace strongroom::api {
namespace {

using mcp_test::McpHandlerTest;

struct GoldenCase {
  const char* name;
  bool read_only;   // the vault:read key instead of the read/write one
  bool underscore;  // McpOptions::underscore_names
  const char* version;
  const char* body;
};

constexpr GoldenCase kCases[] = {
    {"initialize", false, false, "2025-11-25",
     R"({"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18"}})"},
    {"initialize_underscore", false, true, "2025-11-25",
     R"({"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25"}})"},
    {"initialize_no_version", false, false, "2025-11-25",
     R"({"jsonrpc":"2.0","id":1,"method":"initialize","params":{}})"},
    {"tools_list", false, false, "2025-11-25",
     R"({"jsonrpc":"2.0","id":"a","method":"tools/list"})"},
    {"tools_list_ro", true, false, "2025-11-25",
     R"({"jsonrpc":"2.0","id":2,"method":"tools/list"})"},
    {"tools_list_underscore", false, true, "2025-11-25",
     R"({"jsonrpc":"2.0","id":2,"method":"tools/list","params":null})"},
    {"ping", false, false, "", R"({"jsonrpc":"2.0","id":2,"method":"ping"})"},
    {"parse_error", false, false, "2025-11-25", "{nope"},
    {"not_object", false, false, "2025-11-25", "3"},
    {"bad_id", false, false, "2025-11-25", R"({"jsonrpc":"2.0","id":null,"method":"ping"})"},
    {"bad_jsonrpc", false, false, "2025-11-25", R"({"jsonrpc":"1.0","id":3,"method":"ping"})"},
    {"no_method", false, false, "2025-11-25", R"({"jsonrpc":"2.0","id":3})"},
    {"method_not_string", false, false, "2025-11-25", R"({"jsonrpc":"2.0","id":3,"method":4})"},
    {"response_accepted", false, false, "2025-11-25", R"({"jsonrpc":"2.0","id":3,"result":{}})"},
    {"params_not_object", false, false, "2025-11-25",
     R"({"jsonrpc":"2.0","id":3,"method":"ping","params":[1]})"},
    {"unknown_method", false, false, "2025-11-25",
     R"({"jsonrpc":"2.0","id":3,"method":"resources/list"})"},
    {"deep_json", false, false, "2025-11-25",
     "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]"},
    {"bad_version", false, false, "1999-01-01", R"({"jsonrpc":"2.0","id":3,"method":"ping"})"},
    {"batch_new_version", false, false, "2025-06-18",
     R"([{"jsonrpc":"2.0","id":3,"method":"ping"}])"},
    {"batch_empty", false, false, "2025-03-26", "[]"},
    {"batch_mixed", false, false, "2025-03-26",
     R"([{"jsonrpc":"2.0","id":1,"method":"ping"},5,{"jsonrpc":"2.0","method":"x"},)"
     R"({"jsonrpc":"2.0","id":2,"method":"initialize","params":{"protocolVersion":"x"}}])"},
    {"call_no_name", false, false, "2025-11-25",
     R"({"jsonrpc":"2.0","id":4,"method":"tools/call","params":{}})"},
    {"call_unknown_tool", false, false, "2025-11-25",
     R"({"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"vault.nope"}})"},
    {"call_underscore_on_dot", false, false, "2025-11-25",
     R"({"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"vault_get"}})"},
    {"call_args_not_object", false, false, "2025-11-25",
     R"({"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"vault.get","arguments":[]}})"},
    {"call_extra_arg", false, false, "2025-11-25",
     R"({"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"vault.get","arguments":{"name":"a","b":1}}})"},
    {"call_missing_arg", false, false, "2025-11-25",
     R"({"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"vault.totp","arguments":{}}})"},
    {"call_name_not_string", false, false, "2025-11-25",
     R"({"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"vault.delete","arguments":{"name":1}}})"},
    {"get_not_found", false, false, "2025-11-25",
     R"({"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"vault.get","arguments":{"name":"a"}}})"},
    {"totp_not_found", false, false, "2025-11-25",
     R"({"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"vault.totp","arguments":{"name":"a"}}})"},
    {"backup_not_found", false, true, "2025-11-25",
     R"({"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"vault_totp_use_backup","arguments":{"name":"a"}}})"},
    {"delete_not_found", false, false, "2025-11-25",
     R"({"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"vault.delete","arguments":{"name":"a"}}})"},
    {"delete_read_only", true, false, "2025-11-25",
     R"({"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"vault.delete","arguments":{"x":1}}})"},
    {"get_bad_name", false, false, "2025-11-25",
     R"({"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"vault.get","arguments":{"name":"../x"}}})"},
    {"list_empty", false, false, "2025-11-25",
     R"({"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"vault.list","arguments":null}})"},
    {"list_bad_limit", false, false, "2025-11-25",
     R"({"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"vault.list","arguments":{"limit":"5"}}})"},
    {"list_limit_range", false, false, "2025-11-25",
     R"({"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"vault.list","arguments":{"limit":0}}})"},
    {"list_bad_cursor", false, false, "2025-11-25",
     R"({"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"vault.list","arguments":{"cursor":5}}})"},
    {"list_cursor_garbage", false, false, "2025-11-25",
     R"({"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"vault.list","arguments":{"cursor":"zz","limit":null}}})"},
    {"list_extra_arg", false, false, "2025-11-25",
     R"({"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"vault.list","arguments":{"name":"a"}}})"},
    {"store_missing", false, false, "2025-11-25",
     R"({"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"vault.store","arguments":{"name":"a","type":"LOGIN"}}})"},
    {"store_type_not_string", false, false, "2025-11-25",
     R"({"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"vault.store","arguments":{"name":"a","type":1,"data":{}}}})"},
    {"store_data_not_object", false, false, "2025-11-25",
     R"({"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"vault.store","arguments":{"name":"a","type":"LOGIN","data":"x"}}})"},
    {"store_bad_metadata", false, false, "2025-11-25",
     R"({"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"vault.store","arguments":{"name":"a","type":"LOGIN","data":{"password":"p"},"metadata":1}}})"},
    {"store_bad_expires", false, false, "2025-11-25",
     R"({"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"vault.store","arguments":{"name":"a","type":"LOGIN","data":{"password":"p"},"expiresAt":1}}})"},
    {"store_invalid", false, false, "2025-11-25",
     R"({"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"vault.store","arguments":{"name":"a","type":"LOGIN","data":{"pass":"p"}}}})"},
    {"store_read_only", true, false, "2025-11-25",
     R"({"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"vault.store","arguments":{}}})"},
    {"long_tool_name", false, false, "2025-11-25",
     "{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"tools/call\",\"params\":{\"name\":\"vault.x"
     "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
     "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
     "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
     "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
     "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\"}}"},
};

class McpGoldenTest : public McpHandlerTest {
 protected:
  // "### name\n<status>\n<header: value>...\n<body>\n".
  static void Append(std::ostream& out, const char* name, const McpHttpResponse& response) {
    out << "### " << name << "\n" << response.status << "\n";
    for (const auto& [key, value] : response.headers) out << key << ": " << value << "\n";
    out << response.body << "\n";
  }

  // Every case of kCases.
  std::string Record() {
    std::ostringstream out;
    for (const GoldenCase& c : kCases) {
      handler_ =
          std::make_unique<McpHandler>(vault_.get(), McpOptions{.underscore_names = c.underscore});
      Append(out, c.name, Post(c.body, c.read_only ? ro_key_ : rw_key_, c.version));
    }
    return out.str();
  }

  // Requests outside the JSON-RPC body: method, Origin, auth, media types, size.
  std::string RecordTransport() {
    std::ostringstream out;
    const std::string auth = "Bearer " + rw_key_;
    const std::string big(64 * 1024 + 1, ' ');
    auto record = [&](const char* name, auto change) {
      McpHttpRequest request;
      request.method = "POST";
      request.authorization = auth;
      request.content_type = "application/json";
      request.body = R"({"jsonrpc":"2.0","id":1,"method":"ping"})";
      change(request);
      Append(out, name, handler_->Handle(request));
    };
    record("get_405", [](McpHttpRequest& r) { r.method = "GET"; });
    record("origin_403", [](McpHttpRequest& r) {
      r.origin = "http://evil.example";
      r.host = "127.0.0.1:8700";
    });
    record("no_key_401", [](McpHttpRequest& r) { r.authorization = ""; });
    record("content_type_415", [](McpHttpRequest& r) { r.content_type = "text/plain"; });
    record("accept_406", [](McpHttpRequest& r) { r.accept = "text/html"; });
    record("too_large_413", [&](McpHttpRequest& r) { r.body = big; });
    return out.str();
  }
};

TEST_F(McpGoldenTest, ResponsesAreByteIdentical) {
  const std::string actual = Record() + RecordTransport();
  const std::string path =
      std::string(STRONGROOM_SOURCE_DIR_DEFAULT) + "/tests/api/mcp/testdata/golden.txt";
  if (const char* update = std::getenv("STRONGROOM_UPDATE_GOLDEN"); update && *update == '1') {
    std::ofstream(path, std::ios::binary) << actual;
    GTEST_SKIP() << "recorded " << path;
  }
  std::ifstream in(path, std::ios::binary);
  ASSERT_TRUE(in) << path;
  std::stringstream expected;
  expected << in.rdbuf();
  EXPECT_EQ(actual, expected.str());
}

}  // namespace
}  // namespace strongroom::api
