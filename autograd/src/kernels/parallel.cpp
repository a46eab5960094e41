#include "kernels/parallel.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

#include "kernels/vec_math.hpp"
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

// Waits until done() holds, for about `budget` at most; false if it timed out or `give_up` was set.
// Why spin at all: on this kind of VM a sleeping thread takes 75-110 us (median; up to 1 ms) to
// wake, as long as a whole pass of a 16 MB kernel over one core. OpenMP runtimes spin the same way.
template <class Done>
bool spin_until(Done&& done, std::chrono::microseconds budget, const std::atomic<bool>* give_up = nullptr) {
  const auto deadline = std::chrono::steady_clock::now() + budget;
  for (;;) {
    for (int i = 0; i < 128; ++i) {
      if (done()) return true;
#if defined(__x86_64__) || defined(__i386__)
      __builtin_ia32_pause();
#endif
    }
    if ((give_up && give_up->load(std::memory_order_relaxed)) || std::chrono::steady_clock::now() > deadline)
      return false;
  }
}

// Workers spin for a while after each job, then sleep on a condition variable. A job is a
// function of the chunk index; the job's number and chunk count travel in one atomic word so a
// worker never pairs one job's number with another's count.
class Pool {
  static constexpr auto kWorkerSpin = std::chrono::microseconds(1000);  // libgomp's default is of this order
  static constexpr auto kCallerSpin = std::chrono::microseconds(2000);
  static uint64_t job_number(uint64_t state) { return state >> 16; }
  static int job_chunks(uint64_t state) { return static_cast<int>(state & 0xffff); }

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
    job_ = &job;
    pending_.store(chunks - 1, std::memory_order_relaxed);
    park_.store(false, std::memory_order_relaxed);
    // The lock and the notify are for sleeping workers only; spinning ones see the store. Both
    // sides are seq_cst (Dekker's pattern): a worker counts itself asleep and then re-reads the
    // state, the caller stores the state and then reads the count — one of them sees the other.
    const uint64_t next = job_number(state_.load(std::memory_order_relaxed)) + 1;
    state_.store(next << 16 | static_cast<uint64_t>(chunks));
    if (sleepers_.load() > 0) {
      { std::lock_guard<std::mutex> lock(mu_); }  // a worker between its check and its wait holds mu_
      wake_.notify_all();
    }
    run_chunk(job, 0);
    auto finished = [&] { return pending_.load() == 0; };  // seq_cst: see above
    if (!spin_until(finished, kCallerSpin)) {
      std::unique_lock<std::mutex> lock(mu_);
      caller_asleep_.store(true);
      done_.wait(lock, finished);
      caller_asleep_.store(false);
    }
    job_ = nullptr;
    std::exception_ptr error;
    {
      std::lock_guard<std::mutex> lock(mu_);
      std::swap(error, error_);
    }
    if (error) std::rethrow_exception(error);  // on the caller, after every chunk has finished
  }

  // Spinning workers go to sleep now (before BLAS starts its own threads on the same cores).
  void park() { park_.store(true, std::memory_order_relaxed); }

 private:
  void grow(int n) {
    while (static_cast<int>(workers_.size()) < n) {
      const int chunk = static_cast<int>(workers_.size()) + 1;
      const uint64_t seen = state_.load(std::memory_order_relaxed);  // before the job it is born for
      workers_.emplace_back([this, chunk, seen] { loop(chunk, seen); });
    }
  }
  // A chunk that throws (out of memory, say) must not take the process down from a worker:
  // the first exception is kept and rethrown by run().
  void run_chunk(const std::function<void(int)>& job, int chunk) {
    try {
      job(chunk);
    } catch (...) {
      std::lock_guard<std::mutex> lock(mu_);
      if (!error_) error_ = std::current_exception();
    }
  }

  void loop(int chunk, uint64_t seen) {
    for (;;) {
      uint64_t state = 0;
      auto changed = [&] {
        state = state_.load();  // seq_cst: see run()
        return job_number(state) != job_number(seen);
      };
      if (!spin_until(changed, kWorkerSpin, &park_)) {
        std::unique_lock<std::mutex> lock(mu_);
        sleepers_.fetch_add(1);
        wake_.wait(lock, [&] { return stop_ || changed(); });
        sleepers_.fetch_sub(1);
        if (stop_) return;
      }
      seen = state;
      if (chunk >= job_chunks(state)) continue;
      run_chunk(*job_, chunk);  // the caller waits for this chunk, so job_ stays valid
      if (pending_.fetch_sub(1) == 1 && caller_asleep_.load()) {  // seq_cst: see run()
        { std::lock_guard<std::mutex> lock(mu_); }
        done_.notify_one();
      }
    }
  }

  std::mutex run_mu_, mu_;
  std::condition_variable wake_, done_;
  std::vector<std::thread> workers_;
  const std::function<void(int)>* job_ = nullptr;
  std::atomic<uint64_t> state_{0};  // job number << 16 | chunks
  std::atomic<int> pending_{0};
  std::atomic<bool> park_{false};
  std::atomic<int> sleepers_{0};           // workers waiting on wake_
  std::atomic<bool> caller_asleep_{false};  // run() waiting on done_
  std::exception_ptr error_;  // guarded by mu_
  bool stop_ = false;  // guarded by mu_
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

void park_workers() { pool().park(); }

void parallel_for(int64_t n, int chunks, const std::function<void(int, int64_t, int64_t)>& f) {
  if (chunks <= 1) {
    f(0, 0, n);
    return;
  }
  auto slice = [&](int c) {
    struct Nested {  // kernels called from a chunk run on its thread alone; reset even on a throw
      Nested() { in_parallel = true; }
      ~Nested() { in_parallel = false; }
    } nested;
    f(c, n * c / chunks, n * (c + 1) / chunks);
    stream_fence();  // the chunk's streaming stores (store_row) are visible before the caller goes on;
                     // with one chunk the caller wrote them itself
  };
  pool().run(chunks, slice);
}

}  // namespace kernels
}  // namespace xgrad
