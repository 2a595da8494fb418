#include "featurestore/partition_manifest.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "featurestore/state_dir.h"

namespace recur {
namespace {

namespace fs = std::filesystem;
constexpr char kHeader[] = "recur-partitions 1";

absl::Status Errno(const std::string& what, const std::string& path) {
  return absl::UnavailableError(absl::StrCat(what, " ", path, ": ", std::strerror(errno)));
}

// An open file descriptor, closed on scope exit.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

absl::Status WriteAll(int fd, const std::string& bytes, const std::string& path) {
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Errno("write", path);
    done += static_cast<size_t>(n);
  }
  return absl::OkStatus();
}

// Temp file, fsync, rename over the manifest, fsync of the directory: a crash
// leaves the old manifest or the new one, never a torn one.
absl::Status WriteManifest(const std::string& dir, const std::set<int32_t>& partitions) {
  const std::string path = (fs::path(dir) / kPartitionManifest).string();
  const std::string tmp = path + ".tmp";
  std::string text = absl::StrCat(kHeader, "\n");
  for (int32_t p : partitions) absl::StrAppend(&text, p, "\n");
  {
    Fd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
    if (fd.get() < 0) return Errno("create", tmp);
    if (absl::Status s = WriteAll(fd.get(), text, tmp); !s.ok()) return s;
    if (::fsync(fd.get()) != 0) return Errno("fsync", tmp);
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) return Errno("rename", tmp);
  Fd d(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (d.get() < 0 || ::fsync(d.get()) != 0) return Errno("fsync", dir);
  return absl::OkStatus();
}

// Runs `change` on the recorded set under the directory's manifest lock and
// writes the result when it differs.
absl::Status Update(const std::string& dir, const std::function<void(std::set<int32_t>&)>& change) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return absl::UnavailableError(absl::StrCat("state dir ", dir, ": ", ec.message()));
  const std::string lock_path =
      (fs::path(dir) / (std::string(kPartitionManifest) + ".lock")).string();
  Fd lock(::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644));
  if (lock.get() < 0) return Errno("open", lock_path);
  while (::flock(lock.get(), LOCK_EX) != 0) {
    if (errno != EINTR) return Errno("lock", lock_path);
  }
  auto recorded = ReadPartitionManifest(dir);
  if (!recorded.ok()) return recorded.status();
  std::set<int32_t> next = *recorded;
  change(next);
  if (next == *recorded) return absl::OkStatus();
  return WriteManifest(dir, next);  // the lock is released when `lock` closes
}

}  // namespace

absl::StatusOr<std::set<int32_t>> ReadPartitionManifest(const std::string& dir) {
  const std::string path = (fs::path(dir) / kPartitionManifest).string();
  std::ifstream in(path);
  std::set<int32_t> out;
  if (!in) {
    if (!fs::exists(path)) return out;
    return Errno("read", path);
  }
  std::string line;
  if (!std::getline(in, line) || line != kHeader) {
    return absl::DataLossError(absl::StrCat(path, ": not a recur partition manifest (first line '",
                                            line, "', want '", kHeader, "')"));
  }
  while (std::getline(in, line)) {
    int32_t p = 0;
    if (!absl::SimpleAtoi(line, &p) || p < 0) {
      return absl::DataLossError(absl::StrCat(path, ": bad partition number '", line, "'"));
    }
    out.insert(p);
  }
  return out;
}

absl::Status RecordPartitions(const std::string& dir, const std::set<int32_t>& partitions) {
  return Update(dir, [&](std::set<int32_t>& s) { s.insert(partitions.begin(), partitions.end()); });
}

absl::Status ForgetPartitions(const std::string& dir, const std::set<int32_t>& partitions) {
  return Update(dir, [&](std::set<int32_t>& s) {
    for (int32_t p : partitions) s.erase(p);
  });
}

absl::StatusOr<std::vector<int32_t>> MissingPartitions(const std::string& dir) {
  auto recorded = ReadPartitionManifest(dir);
  if (!recorded.ok()) return recorded.status();
  std::vector<int32_t> missing;
  for (int32_t p : *recorded) {
    if (!fs::exists(StateDir::PartitionPath(dir, p))) missing.push_back(p);
  }
  return missing;
}

absl::Status MissingPartitionsError(const std::string& dir, const std::vector<int32_t>& missing) {
  std::vector<std::string> paths;
  for (int32_t p : missing) paths.push_back(StateDir::PartitionPath(dir, p));
  return absl::FailedPreconditionError(absl::StrCat(
      "state dir ", dir, ": the store of partition ", absl::StrJoin(missing, ", "), " is missing (",
      absl::StrJoin(paths, ", "), "; recorded in ", (fs::path(dir) / kPartitionManifest).string(),
      "). Restore it from a snapshot, or rebuild it from the input topics with `recur run "
      "--rebuild-missing` (which checks the topics still hold every record)"));
}

absl::Status CheckNoMissingPartitions(const std::string& dir) {
  auto missing = MissingPartitions(dir);
  if (!missing.ok()) return missing.status();
  if (missing->empty()) return absl::OkStatus();
  return MissingPartitionsError(dir, *missing);
}

}  // namespace recur
