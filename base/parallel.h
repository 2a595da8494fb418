// ParallelFor: run n independent tasks on up to one thread per core and wait for
// all of them. recur's parallelism is per partition store (apply, score, copy),
// where tasks are few and coarse, so a fresh set of threads per call costs
// nothing measurable and needs no pool to own.
//
//   std::vector<absl::Status> results(stores.size());
//   recur::ParallelFor(stores.size(), [&](size_t i) { results[i] = Work(stores[i]); });
//
// Thread-safety: `fn` runs concurrently for different indices; every index runs
// exactly once; ParallelFor returns after the last one finished.
#ifndef RECUR_BASE_PARALLEL_H_
#define RECUR_BASE_PARALLEL_H_

#include <cstddef>
#include <functional>

namespace recur {

// max_threads 0: one per core (std::thread::hardware_concurrency). The calling
// thread works too. n == 1 (or one thread) runs inline.
void ParallelFor(size_t n, const std::function<void(size_t)>& fn, size_t max_threads = 0);

}  // namespace recur

#endif  // RECUR_BASE_PARALLEL_H_
