#include "app/files.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <system_error>

namespace strongroom::app {
namespace {

std::string Errno(int err) { return std::strerror(err); }

// Writes all of `data` to `fd`, retrying short writes and EINTR.
bool WriteAll(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

void SyncDirectory(const std::string& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}

}  // namespace

Status WriteFileAtomic(const std::string& path, std::string_view content, mode_t mode,
                       bool overwrite) {
  const std::filesystem::path target(path);
  // Built without assigning a literal to a string that may hold one already
  // and with append rather than operator+ chains: GCC 12 at -O3 reports a false
  // -Wrestrict inside std::string's assign and operator+ (GCC bug 105329).
  const std::string dir =
      target.parent_path().empty() ? std::string(".") : target.parent_path().string();
  std::string leaf = ".";
  leaf.append(target.filename().string()).append(".XXXXXX");
  std::string temp = (std::filesystem::path(dir) / leaf).string();
  // mkstemp creates the file 0600 and exclusively, so nobody else can open it meanwhile.
  const int fd = ::mkostemp(temp.data(), O_CLOEXEC);
  if (fd < 0) return InternalError("cannot create a file in " + dir + ": " + Errno(errno));

  auto fail = [&](const std::string& what, int err) {
    ::close(fd);
    ::unlink(temp.c_str());
    return InternalError("cannot " + what + " " + path + ": " + Errno(err));
  };
  if (::fchmod(fd, mode) != 0) return fail("set permissions of", errno);
  if (!WriteAll(fd, content)) return fail("write", errno);
  if (::fsync(fd) != 0) return fail("sync", errno);
  if (::close(fd) != 0) {
    const int err = errno;
    ::unlink(temp.c_str());
    return InternalError("cannot write " + path + ": " + Errno(err));
  }

  if (overwrite) {
    if (::rename(temp.c_str(), path.c_str()) != 0) {
      const int err = errno;
      ::unlink(temp.c_str());
      return InternalError("cannot replace " + path + ": " + Errno(err));
    }
  } else {
    // link() fails with EEXIST instead of replacing: first writer wins.
    const int rc = ::link(temp.c_str(), path.c_str());
    const int err = errno;
    ::unlink(temp.c_str());
    if (rc != 0) {
      if (err == EEXIST) return AlreadyExistsError(path + " already exists");
      return InternalError("cannot create " + path + ": " + Errno(err));
    }
  }
  SyncDirectory(dir);
  return Status::Ok();
}

Status MakeDirectory(const std::string& path, mode_t mode) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) return Status::Ok();
  const std::filesystem::path parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) {
    std::filesystem::create_directories(parent, ec);
    if (ec)
      return InternalError("cannot create directory " + parent.string() + ": " + ec.message());
  }
  if (::mkdir(path.c_str(), mode) == 0) {
    // mkdir applies the umask; make the mode exact for a directory we just made.
    ::chmod(path.c_str(), mode);
    return Status::Ok();
  }
  if (errno != EEXIST) {
    return InternalError("cannot create directory " + path + ": " + Errno(errno));
  }
  if (!std::filesystem::is_directory(path, ec)) {
    return FailedPreconditionError(path + " exists and is not a directory", "invalid_config");
  }
  return Status::Ok();
}

bool PathExists(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0;
}

}  // namespace strongroom::app
