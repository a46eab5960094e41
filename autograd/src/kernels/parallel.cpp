#include "kernels/parallel.hpp"

#include <algorithm>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <thread>
#include <vector>

#include "xgrad/error.hpp"
#include "xgrad/parallel.hpp"

namespace xgrad {
namespace {

int default_threads() {
  if (const char* env = std::getenv("XGRAD_NUM_THREADS")) {
    const int n = std::atoi(env);
    if (n >= 1) return std::min(n, 256);
  }
  return static_cast<int>(std::clamp(std::thread::hardware_concurrency(), 1u, 64u));
}

// Workers sleep on a condition variable between jobs; a job is a function of the chunk index.
class Pool {
 public:
  ~Pool() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    wake_.notify_all();
    for (auto& t : workers_) t.join();
  }

  void run(int chunks, const std::function<void(int)>& job) {
    std::lock_guard<std::mutex> serial(run_mu_);  // one job at a time (callers on several threads)
    grow(chunks - 1);
    {
      std::lock_guard<std::mutex> lock(mu_);
      job_ = &job, chunks_ = chunks, pending_ = chunks - 1;
      ++generation_;
    }
    wake_.notify_all();
    job(0);
    std::unique_lock<std::mutex> lock(mu_);
    done_.wait(lock, [&] { return pending_ == 0; });
    job_ = nullptr;
  }

 private:
  void grow(int n) {
    while (static_cast<int>(workers_.size()) < n) {
      const int index = static_cast<int>(workers_.size());
      workers_.emplace_back([this, index] { loop(index + 1); });
    }
  }
  void loop(int chunk) {
    uint64_t seen = 0;
    {
      std::lock_guard<std::mutex> lock(mu_);
      seen = generation_;  // a worker born for a job still takes part in it
      if (job_) --seen;
    }
    for (;;) {
      const std::function<void(int)>* job;
      {
        std::unique_lock<std::mutex> lock(mu_);
        wake_.wait(lock, [&] { return stop_ || generation_ != seen; });
        if (stop_) return;
        seen = generation_;
        if (chunk >= chunks_) continue;
        job = job_;
      }
      (*job)(chunk);
      std::lock_guard<std::mutex> lock(mu_);
      if (--pending_ == 0) done_.notify_one();
    }
  }

  std::mutex run_mu_, mu_;
  std::condition_variable wake_, done_;
  std::vector<std::thread> workers_;
  const std::function<void(int)>* job_ = nullptr;
  int chunks_ = 0, pending_ = 0;
  uint64_t generation_ = 0;
  bool stop_ = false;
};

int& thread_setting() {
  static int n = default_threads();
  return n;
}

Pool& pool() {
  static Pool p;
  return p;
}

thread_local bool in_parallel = false;

}  // namespace

void set_num_threads(int n) {
  XG_CHECK(n >= 1, "set_num_threads: need at least 1 thread, got ", n);
  thread_setting() = std::min(n, 256);
}
int get_num_threads() { return thread_setting(); }

namespace kernels {

int parallel_chunks(int64_t n, int64_t work_per_item) {
  if (in_parallel || n < 2) return 1;
  const int64_t by_work = n * std::max<int64_t>(work_per_item, 1) / kParallelGrain;
  return static_cast<int>(std::clamp<int64_t>(std::min<int64_t>(by_work, n), 1, get_num_threads()));
}

void parallel_for(int64_t n, int chunks, const std::function<void(int, int64_t, int64_t)>& f) {
  if (chunks <= 1) {
    f(0, 0, n);
    return;
  }
  auto slice = [&](int c) {
    in_parallel = true;
    f(c, n * c / chunks, n * (c + 1) / chunks);
    in_parallel = false;
  };
  pool().run(chunks, slice);
}

}  // namespace kernels
}  // namespace xgrad
