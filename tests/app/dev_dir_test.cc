// SPEC 5a: a dev data directory, or a state file in it, that other users can
// write is refused at start-up (it was accepted with a warning before), by
// `serve --dev` and by `admin --data-dir` alike, with a one-line reason.
#include <sys/stat.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/testing/server_process.h"

namespace strongroom::app {
namespace {

using testing::CommandOutput;
using ::testing::HasSubstr;
using testing::RunCommand;
using testing::ServerProcess;
using testing::StrongroomBinary;
using testing::TempDir;

CommandOutput Strongroom(std::vector<std::string> args) {
  args.insert(args.begin(), StrongroomBinary());
  return RunCommand(args);
}

TEST(AppDevDirTest, WorldWritableDataDirIsRefused) {
  TempDir root;
  const std::string dir = root.path() + "/data";
  ASSERT_EQ(::mkdir(dir.c_str(), 0700), 0);
  ASSERT_EQ(::chmod(dir.c_str(), 0777), 0);
  CommandOutput out = Strongroom({"serve", "--dev", "--data-dir", dir, "--listen", "127.0.0.1:0"});
  EXPECT_EQ(out.exit_code, 1) << out.out << out.err;
  EXPECT_THAT(out.err, HasSubstr("strongroom: error: " + dir + " is writable by other users"));
  EXPECT_THAT(out.err, HasSubstr("0777"));
}

TEST(AppDevDirTest, GroupWritableStateFileIsRefusedOnRestartAndByAdmin) {
  TempDir root;
  std::string data_dir;
  {
    ServerProcess server(root.path());
    std::string error;
    ASSERT_TRUE(server.Start(&error)) << error;
    data_dir = server.data_dir();
  }
  const std::string db = data_dir + "/vault.db";
  ASSERT_EQ(::chmod(db.c_str(), 0660), 0);
  CommandOutput serve =
      Strongroom({"serve", "--dev", "--data-dir", data_dir, "--listen", "127.0.0.1:0"});
  EXPECT_EQ(serve.exit_code, 1) << serve.out << serve.err;
  EXPECT_THAT(serve.err, HasSubstr(db + " is writable by other users (mode 0660)"));
  CommandOutput admin = Strongroom({"admin", "--data-dir", data_dir, "identity", "list"});
  EXPECT_EQ(admin.exit_code, 1) << admin.out << admin.err;
  EXPECT_THAT(admin.err, HasSubstr(db + " is writable by other users"));

  // Fixed permissions: accepted again.
  ASSERT_EQ(::chmod(db.c_str(), 0600), 0);
  CommandOutput fixed = Strongroom({"admin", "--data-dir", data_dir, "identity", "list"});
  EXPECT_EQ(fixed.exit_code, 0) << fixed.out << fixed.err;
}

}  // namespace
}  // namespace strongroom::app
