// Small file helpers for the app: atomic, private writes of keys and PINs.
#pragma once

#include <sys/types.h>
#include <string>
#include <string_view>

#include "base/result.h"

namespace strongroom::app {

// Writes `content` to `path` atomically with permissions `mode`: a temporary
// file in the same directory (created 0600, then fchmod'ed), written in full,
// fsync'ed, then renamed over `path` (or, when `overwrite` is false, linked to
// `path` so an existing file is never replaced: ALREADY_EXISTS), and the
// directory fsync'ed. Either the old file or the complete new one is visible,
// never a partial one. Errors name the path, never the content.
Status WriteFileAtomic(const std::string& path, std::string_view content, mode_t mode,
                       bool overwrite);

// Creates directory `path` with `mode` if it does not exist (parents as needed,
// parents with the default umask). OK if it already is a directory.
Status MakeDirectory(const std::string& path, mode_t mode);

// True if `path` exists (any file type).
bool PathExists(const std::string& path);

}  // namespace strongroom::app
