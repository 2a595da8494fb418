// recur_kill_after_commit N COMMAND ARGS...: runs `recur COMMAND ARGS...` — the
// very same main(), compiled into this test binary under the name RecurMain —
// and SIGKILLs the process right after the pipeline's N-th state commit
// (the sync point "Pipeline::AfterStateCommit": the batch's state and offsets
// are in RocksDB, its scores not yet delivered). A crash at the worst moment,
// for tests/integration/scores_test.sh and replay_test.sh.
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

#include "absl/strings/numbers.h"
#include "base/sync_point.h"

int RecurMain(int argc, char** argv);  // ops/main.cc's main, renamed at compile time

int main(int argc, char** argv) {
  int64_t n = 0;
  if (argc < 3 || !absl::SimpleAtoi(argv[1], &n) || n <= 0) {
    std::fprintf(stderr, "usage: %s N COMMAND [ARGS...]  (SIGKILL after the N-th state commit)\n",
                 argv[0]);
    return 2;
  }
  static std::atomic<int64_t> commits{0};
  recur::SyncPoint::Get()->SetCallBack("Pipeline::AfterStateCommit", [n](void*) {
    if (++commits == n) ::kill(::getpid(), SIGKILL);
  });
  recur::SyncPoint::Get()->EnableProcessing();
  argv[1] = argv[0];  // `recur` sees its own argv: COMMAND ARGS...
  return RecurMain(argc - 1, argv + 1);
}
