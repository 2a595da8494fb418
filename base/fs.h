// Files and directories: publishing a directory atomically (build it in a
// temporary directory beside its final path, make it durable, then rename it
// into place with one rename that never replaces anything: a reader sees no
// directory or a whole one, and a crash leaves at most a "<name>.tmp-XXXXXX"
// directory behind; `recur snapshot`, `recur replay`), and writing a whole file.
//
//   auto tmp = recur::TempDirBeside("/data/snap-1");      // "/data/snap-1.tmp-AbC123"
//   ... write into *tmp ...
//   RETURN_IF_ERROR(recur::PublishDir(*tmp, "/data/snap-1"));
#ifndef RECUR_BASE_FS_H_
#define RECUR_BASE_FS_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace recur {

// Creates the parent of `target` if needed and a fresh "<target>.tmp-XXXXXX"
// directory beside it, with the permissions the umask gives any new directory.
absl::StatusOr<std::string> TempDirBeside(const std::string& target);

// rename(from, to) that fails with AlreadyExists instead of replacing `to`
// (renameat2 RENAME_NOREPLACE; on a file system without it, a check then rename).
absl::Status RenameNoReplace(const std::string& from, const std::string& to);

// fsync of a directory (its entries survive a power loss).
absl::Status FsyncDir(const std::string& dir);

// FsyncDir(tmp), RenameNoReplace(tmp, target), FsyncDir(target's parent).
absl::Status PublishDir(const std::string& tmp, const std::string& target);

// Writes `content` to `path`, replacing the file (not atomically: callers that
// need atomicity write aside and rename). Unavailable on any write error.
absl::Status WriteWholeFile(const std::string& path, const std::string& content);

// True when `inner` is `outer` or lies below it (after resolving both paths).
bool IsWithin(const std::string& inner, const std::string& outer);

}  // namespace recur

#endif  // RECUR_BASE_FS_H_
