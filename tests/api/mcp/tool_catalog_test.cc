// The tool catalog as data: names in both spellings, and the credential types
// of vault.store coming from model's type table.
#include "api/mcp/tool_catalog.h"

#include <gtest/gtest.h>

#include <algorithm>

#include <string>

#include "api/mcp_tools.h"
#include "model/credential.h"

namespace strongroom::api {
namespace {

using nlohmann::ordered_json;

TEST(McpToolsTest, NamesRoundTripInBothSpellings) {
  ASSERT_EQ(McpToolSuffixes().size(), 6u);
  for (std::string_view suffix : McpToolSuffixes()) {
    for (bool underscore : {false, true}) {
      std::string name = McpToolName(suffix, underscore);
      EXPECT_EQ(McpToolSuffix(name, underscore), suffix) << name;
      EXPECT_EQ(McpToolSuffix(name, !underscore), std::nullopt) << name;
      ASSERT_NE(mcp::FindTool(name, underscore), nullptr) << name;
      EXPECT_EQ(mcp::FindTool(name, underscore)->suffix, suffix);
    }
  }
  EXPECT_EQ(McpToolName("totp_use_backup", true), "vault_totp_use_backup");
  EXPECT_EQ(McpToolSuffix("vault.nope", false), std::nullopt);
  EXPECT_EQ(McpToolSuffix("vault.", false), std::nullopt);
  EXPECT_EQ(McpToolSuffix("other.get", false), std::nullopt);
}

TEST(McpToolsTest, StoreListsEveryCredentialType) {
  const mcp::ToolSpec* store = mcp::FindTool("vault.store", false);
  ASSERT_NE(store, nullptr);
  const ordered_json& entry = mcp::ToolListEntry(*store, false);
  const ordered_json& types = entry["inputSchema"]["properties"]["type"]["enum"];
  ASSERT_EQ(types.size(), model::AllCredentialTypes().size());
  const std::string description = entry["description"].get<std::string>();
  for (model::CredentialType type : model::AllCredentialTypes()) {
    const std::string name(model::TypeName(type));
    EXPECT_NE(std::find(types.begin(), types.end(), name), types.end()) << name;
    // A new type needs its required fields described for the agent.
    EXPECT_NE(description.find(name + ": "), std::string::npos) << name;
  }
}

TEST(McpToolsTest, DescriptionsNameToolsInTheCallersSpelling) {
  EXPECT_EQ(mcp::ExpandToolNames("use {tool:get} or {tool:totp_use_backup}.", true),
            "use vault_get or vault_totp_use_backup.");
  EXPECT_EQ(mcp::ExpandToolNames("{tool:list}", false), "vault.list");
  EXPECT_EQ(mcp::ExpandToolNames("{\"code\"} {tool:", false), "{\"code\"} {tool:");
  for (const mcp::ToolSpec& tool : mcp::Tools()) {
    const ordered_json& entry = mcp::ToolListEntry(tool, true);
    EXPECT_EQ(entry["description"].get<std::string>().find("{tool:"), std::string::npos);
    EXPECT_EQ(entry["name"], McpToolName(tool.suffix, true));
  }
}

}  // namespace
}  // namespace strongroom::api
