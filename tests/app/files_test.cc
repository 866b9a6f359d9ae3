#include "app/files.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "tests/testing/server_process.h"

namespace strongroom::app {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

std::string Read(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

mode_t Mode(const std::string& path) {
  struct stat st {};
  ::stat(path.c_str(), &st);
  return st.st_mode & 07777;
}

std::size_t Entries(const std::string& dir) {
  std::size_t n = 0;
  for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator(dir)) ++n;
  return n;
}

TEST(AppFilesTest, WritesPrivateFileWhateverTheUmask) {
  testing::TempDir dir;
  const mode_t old = ::umask(0);
  const std::string path = dir.path() + "/pin";
  Status status = WriteFileAtomic(path, "secret\n", 0600, /*overwrite=*/false);
  ::umask(old);
  ASSERT_TRUE(status.ok()) << status.ToString();
  EXPECT_EQ(Read(path), "secret\n");
  EXPECT_EQ(Mode(path), 0600u);
  EXPECT_EQ(Entries(dir.path()), 1u);  // no temporary file left behind
}

TEST(AppFilesTest, NoOverwriteKeepsTheExistingFile) {
  testing::TempDir dir;
  const std::string path = dir.path() + "/key";
  ASSERT_TRUE(WriteFileAtomic(path, "first", 0600, false).ok());
  Status second = WriteFileAtomic(path, "second", 0600, false);
  EXPECT_EQ(second.code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(Read(path), "first");
  EXPECT_EQ(Entries(dir.path()), 1u);
}

TEST(AppFilesTest, OverwriteReplacesAtomically) {
  testing::TempDir dir;
  const std::string path = dir.path() + "/key";
  ASSERT_TRUE(WriteFileAtomic(path, "first", 0644, true).ok());
  ASSERT_TRUE(WriteFileAtomic(path, "second", 0600, true).ok());
  EXPECT_EQ(Read(path), "second");
  EXPECT_EQ(Mode(path), 0600u);
  EXPECT_EQ(Entries(dir.path()), 1u);
}

TEST(AppFilesTest, ErrorsNameThePathNotTheContent) {
  testing::TempDir dir;
  Status status = WriteFileAtomic(dir.path() + "/missing/key", "hunter2-secret", 0600, true);
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.code(), StatusCode::kInternal);
  EXPECT_THAT(status.message(), HasSubstr(dir.path() + "/missing"));
  EXPECT_THAT(status.message(), Not(HasSubstr("hunter2-secret")));
}

TEST(AppFilesTest, MakeDirectoryIsPrivateAndIdempotent) {
  testing::TempDir dir;
  const std::string path = dir.path() + "/a/b";
  ASSERT_TRUE(MakeDirectory(path, 0700).ok());
  EXPECT_EQ(Mode(path), 0700u);
  ASSERT_TRUE(MakeDirectory(path, 0700).ok());
  ASSERT_TRUE(WriteFileAtomic(dir.path() + "/file", "x", 0600, true).ok());
  Status not_dir = MakeDirectory(dir.path() + "/file", 0700);
  EXPECT_EQ(not_dir.code(), StatusCode::kFailedPrecondition);
  EXPECT_TRUE(PathExists(dir.path() + "/file"));
  EXPECT_FALSE(PathExists(dir.path() + "/nope"));
}

}  // namespace
}  // namespace strongroom::app
