// Helpers shared by the command-line tests (app_test.cc, app_config_test.cc).
#pragma once

#include <sys/stat.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "tests/testing/server_process.h"

namespace strongroom::app {

inline constexpr char kModule[] = "/usr/lib/softhsm/libsofthsm2.so";
inline constexpr char kStripeBody[] =
    R"({"type":"API_KEY","data":{"key":"sk_live_app_test_51Hx"},"metadata":{"service":"stripe"}})";

inline std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

inline testing::CommandOutput Strongroom(std::vector<std::string> args) {
  args.insert(args.begin(), testing::StrongroomBinary());
  return testing::RunCommand(args);
}

// A failing command: `code`, and stderr is exactly one "strongroom: error:" line.
inline void ExpectFailure(const testing::CommandOutput& out, int code) {
  EXPECT_EQ(out.exit_code, code) << "stdout: " << out.out << "\nstderr: " << out.err;
  const std::vector<std::string> lines = Lines(out.err);
  ASSERT_EQ(lines.size(), 1u) << out.err;
  EXPECT_THAT(lines[0], ::testing::StartsWith("strongroom: error: "));
}

inline void WriteFile(const std::string& path, const std::string& content, mode_t mode = 0600) {
  std::ofstream(path) << content;
  ::chmod(path.c_str(), mode);
}

}  // namespace strongroom::app
