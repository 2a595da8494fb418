// recur_kill_after_commit [--at SYNC_POINT] [--hold FILE] N COMMAND ARGS...: runs
// `recur COMMAND ARGS...` — the very same main(), compiled into this test binary
// under the name RecurMain — and SIGKILLs the process the N-th time it reaches
// SYNC_POINT; by default "Pipeline::AfterStateCommit" (the batch is applied, its
// scores not yet delivered; with --commit-interval-ms 0 its state and offsets
// are in RocksDB). "FeatureStore::BeforeFlushWrite" kills inside a store's
// flush. Crashes at the worst moments, for tests/integration/scores_test.sh and
// replay_test.sh. With --hold FILE it does not kill: from the N-th time on, the
// thread that reaches SYNC_POINT waits there while FILE exists (the test
// removes it to let go); cooperative_test.sh holds a store's opening so.
//
// Why a separate binary: the hook must stop the real, optimised pipeline with
// every flag of `recur run`, yet production code must not read a test switch
// (no environment variable, no hidden flag). Production code only marks the
// sync point (base/sync_point.h); only this binary registers a callback on it.
// tests/streams/CMakeLists.txt builds it from the `recur` target's own sources
// and libraries, so the two can not drift apart.
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <string>

#include "absl/strings/numbers.h"
#include "base/sync_point.h"

int RecurMain(int argc, char** argv);  // ops/main.cc's main, renamed at compile time

int main(int argc, char** argv) {
  std::string point = "Pipeline::AfterStateCommit";
  std::string hold;  // --hold FILE: wait at the sync point while FILE exists, instead of SIGKILL
  while (argc >= 3 && (std::string(argv[1]) == "--at" || std::string(argv[1]) == "--hold")) {
    (std::string(argv[1]) == "--at" ? point : hold) = argv[2];
    argv[2] = argv[0];
    argc -= 2;
    argv += 2;
  }
  int64_t n = 0;
  if (argc < 3 || !absl::SimpleAtoi(argv[1], &n) || n <= 0) {
    std::fprintf(stderr,
                 "usage: %s [--at SYNC_POINT] [--hold FILE] N COMMAND [ARGS...]  (SIGKILL at the "
                 "N-th time SYNC_POINT is reached, default Pipeline::AfterStateCommit; with "
                 "--hold, from the N-th time on it waits there while FILE exists)\n",
                 argv[0]);
    return 2;
  }
  static std::atomic<int64_t> reached{0};
  recur::SyncPoint::Get()->SetCallBack(point, [n, hold](void*) {
    if (++reached < n) return;
    if (hold.empty()) {
      if (reached == n) ::kill(::getpid(), SIGKILL);
      return;
    }
    while (::access(hold.c_str(), F_OK) == 0) ::usleep(20'000);
  });
  recur::SyncPoint::Get()->EnableProcessing();
  argv[1] = argv[0];  // `recur` sees its own argv: COMMAND ARGS...
  return RecurMain(argc - 1, argv + 1);
}
