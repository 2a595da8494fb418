#include "base/fs.h"

#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <fstream>
#include <system_error>

#include "absl/strings/str_cat.h"

namespace recur {

namespace fs = std::filesystem;

namespace {
std::string ErrnoText(int err) { return std::generic_category().message(err); }
}  // namespace

absl::StatusOr<std::string> TempDirBeside(const std::string& target) {
  const fs::path t = fs::absolute(target);
  std::error_code ec;
  fs::create_directories(t.parent_path(), ec);
  if (ec) {
    return absl::UnavailableError(
        absl::StrCat("cannot create ", t.parent_path().string(), ": ", ec.message()));
  }
  std::string tmpl = t.string() + ".tmp-XXXXXX";
  if (::mkdtemp(tmpl.data()) == nullptr) {
    return absl::UnavailableError(absl::StrCat("cannot create a temporary directory beside ",
                                               target, ": ", ErrnoText(errno)));
  }
  // mkdtemp makes the directory 0700; give it what any directory made here gets.
  const mode_t mask = ::umask(0);
  ::umask(mask);
  ::chmod(tmpl.c_str(), 0777 & ~mask);
  return tmpl;
}

absl::Status RenameNoReplace(const std::string& from, const std::string& to) {
  if (::renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), RENAME_NOREPLACE) == 0) {
    return absl::OkStatus();
  }
  int err = errno;
  if (err == EINVAL || err == ENOSYS) {  // a file system without renameat2 flags
    if (fs::exists(to)) return absl::AlreadyExistsError(absl::StrCat(to, " already exists"));
    if (::rename(from.c_str(), to.c_str()) == 0) return absl::OkStatus();
    err = errno;
  }
  if (err == EEXIST || err == ENOTEMPTY) {
    return absl::AlreadyExistsError(absl::StrCat(to, " already exists"));
  }
  return absl::UnavailableError(absl::StrCat("rename ", from, " -> ", to, ": ", ErrnoText(err)));
}

absl::Status FsyncDir(const std::string& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd < 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot open ", dir, " to sync it: ", ErrnoText(errno)));
  }
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  if (rc != 0) return absl::UnavailableError(absl::StrCat("fsync ", dir, ": ", ErrnoText(err)));
  return absl::OkStatus();
}

absl::Status PublishDir(const std::string& tmp, const std::string& target) {
  if (absl::Status s = FsyncDir(tmp); !s.ok()) return s;
  if (absl::Status s = RenameNoReplace(tmp, target); !s.ok()) return s;
  const fs::path parent = fs::absolute(target).parent_path();
  return FsyncDir(parent.string());
}

absl::Status WriteWholeFile(const std::string& path, const std::string& content) {
  std::ofstream out(path, std::ios::trunc | std::ios::binary);
  out << content;
  out.close();
  if (!out) return absl::UnavailableError(absl::StrCat("cannot write ", path));
  return absl::OkStatus();
}

bool IsWithin(const std::string& inner, const std::string& outer) {
  std::error_code ec;
  const fs::path a = fs::weakly_canonical(inner, ec);
  if (ec) return false;
  const fs::path b = fs::weakly_canonical(outer, ec);
  if (ec) return false;
  auto [ai, bi] = std::mismatch(a.begin(), a.end(), b.begin(), b.end());
  return bi == b.end() || (std::next(bi) == b.end() && bi->empty());
}

}  // namespace recur
