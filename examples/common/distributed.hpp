#pragma once
// What the examples do to run under `mpirun -np N` unchanged: join the job if there is one, and
// keep ranks other than 0 quiet (their standard output goes to /dev/null; errors still reach
// stderr, and a rank that fails ends the job with a message naming it).
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <thread>
#include <vector>

#include <xgrad/distributed.hpp>
#include <xgrad/xgrad.hpp>

namespace xgrad::examples {

inline bool is_main_rank() { return distributed::rank() == 0; }

// Call first in main(). Returns this process's rank (0 without mpirun). Ranks sharing a node share
// its cores: unless XGRAD_NUM_THREADS says otherwise, each gets cores / ranks on the node threads.
inline int join_job() {
  distributed::init();
  if (distributed::local_world_size() > 1 && !std::getenv("XGRAD_NUM_THREADS")) {
    const int cores = static_cast<int>(std::thread::hardware_concurrency());
    set_num_threads(std::max(1, cores / distributed::local_world_size()));
  }
  if (!is_main_rank() && !std::freopen("/dev/null", "w", stdout)) std::perror("freopen /dev/null");
  return distributed::rank();
}

// A sampler that hands this rank its share of each batch the wrapped sampler draws: the global
// batch stays what the flags say, split in contiguous slices over the ranks (sizes differ by at
// most one; a batch smaller than the world is cycled so that no rank gets an empty one).
template <class S>
class Sharded : public S {
 public:
  explicit Sharded(S inner) : S(std::move(inner)), rank_(distributed::rank()), world_(distributed::world_size()) {}
  std::optional<std::vector<size_t>> next(size_t n) override {
    auto all = S::next(n);
    if (!all || world_ == 1) return all;
    const size_t c = all->size(), m = std::max(c, static_cast<size_t>(world_));
    const size_t lo = m * static_cast<size_t>(rank_) / static_cast<size_t>(world_);
    const size_t hi = m * static_cast<size_t>(rank_ + 1) / static_cast<size_t>(world_);
    std::vector<size_t> mine;
    for (size_t i = lo; i < hi; ++i) mine.push_back((*all)[i % c]);
    return mine;
  }

 private:
  int rank_, world_;
};

}  // namespace xgrad::examples
