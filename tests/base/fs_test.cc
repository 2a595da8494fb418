// Atomic directory publishing: a temp dir beside the target, a rename that never
// replaces, containment checks.
#include "base/fs.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace recur {
namespace {

namespace fs = std::filesystem;

class FsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() / ("recur-fs-" + std::to_string(::getpid()));
    fs::remove_all(root_);
  }
  void TearDown() override { fs::remove_all(root_); }
  fs::path root_;
};

TEST_F(FsTest, PublishesATempDirBesideTheTargetAndNeverReplaces) {
  const std::string target = (root_ / "a" / "snap").string();
  auto tmp = TempDirBeside(target);
  ASSERT_TRUE(tmp.ok()) << tmp.status();
  EXPECT_EQ(fs::path(*tmp).parent_path(), root_ / "a");
  EXPECT_EQ(fs::path(*tmp).filename().string().rfind("snap.tmp-", 0), 0u) << *tmp;
  // The umask decides the permissions, not mkdtemp's 0700.
  const mode_t mask = ::umask(0);
  ::umask(mask);
  EXPECT_EQ(fs::status(*tmp).permissions(), fs::perms((0777 & ~mask)));
  std::ofstream(fs::path(*tmp) / "file") << "x";
  ASSERT_TRUE(PublishDir(*tmp, target).ok());
  EXPECT_TRUE(fs::exists(fs::path(target) / "file"));
  EXPECT_FALSE(fs::exists(*tmp));

  auto second = TempDirBeside(target);
  ASSERT_TRUE(second.ok());
  absl::Status s = PublishDir(*second, target);
  EXPECT_EQ(s.code(), absl::StatusCode::kAlreadyExists) << s;
  EXPECT_TRUE(fs::exists(fs::path(target) / "file"));  // the first one is untouched
  EXPECT_TRUE(fs::exists(*second));
}

TEST_F(FsTest, RenameNoReplaceRefusesAnExistingFileToo) {
  fs::create_directories(root_);
  std::ofstream(root_ / "from") << "1";
  std::ofstream(root_ / "to") << "2";
  EXPECT_EQ(RenameNoReplace((root_ / "from").string(), (root_ / "to").string()).code(),
            absl::StatusCode::kAlreadyExists);
  EXPECT_TRUE(RenameNoReplace((root_ / "from").string(), (root_ / "new").string()).ok());
  EXPECT_EQ(RenameNoReplace((root_ / "missing").string(), (root_ / "x").string()).code(),
            absl::StatusCode::kUnavailable);
}

TEST_F(FsTest, IsWithinResolvesPaths) {
  fs::create_directories(root_ / "state" / "p-0");
  EXPECT_TRUE(IsWithin((root_ / "state" / "p-0").string(), (root_ / "state").string()));
  EXPECT_TRUE(IsWithin((root_ / "state").string(), (root_ / "state/").string()));
  EXPECT_TRUE(
      IsWithin((root_ / "state" / ".." / "state" / "new").string(), (root_ / "state").string()));
  EXPECT_FALSE(IsWithin((root_ / "state2").string(), (root_ / "state").string()));
  EXPECT_FALSE(IsWithin(root_.string(), (root_ / "state").string()));
}

}  // namespace
}  // namespace recur
