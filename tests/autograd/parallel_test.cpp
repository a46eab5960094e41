// Large inputs run the fused kernels on several threads: the results match one thread's to
// rounding (a row's vectorised sums may round differently depending on where its chunk starts,
// and layer norm's weight/bias gradients add per-chunk partial sums), and the same thread count
// gives the same bits every time.
#include <atomic>
#include <chrono>
#include <cstring>
#include <thread>
#include <vector>

#include "kernels/parallel.hpp"

#include "helpers.hpp"

namespace {

struct Results {
  std::vector<xg::Tensor> values;
};

// Forward + backward of softmax, log_softmax, layer_norm and cross_entropy on one input.
Results run_all(const xg::Tensor& x0, const xg::Tensor& w0, const xg::Tensor& b0, const xg::Tensor& target) {
  Results r;
  for (int op = 0; op < 4; ++op) {
    xg::Tensor x = x0.detach().requires_grad_(), w = w0.detach().requires_grad_(), b = b0.detach().requires_grad_();
    xg::Tensor y = op == 0   ? xg::softmax(x, -1)
                   : op == 1 ? xg::log_softmax(x, -1)
                   : op == 2 ? xg::layer_norm(x, {x.size(1)}, w, b, 1e-5)
                             : xg::cross_entropy(x, target, xg::CrossEntropyOptions().label_smoothing(0.1));
    xg::Tensor g = xg::randn(y.sizes(), x.dtype());
    y.backward(g);
    r.values.push_back(y.detach());
    r.values.push_back(x.grad());
    if (op == 2) r.values.push_back(w.grad()), r.values.push_back(b.grad());
  }
  return r;
}

bool same_bits(const xg::Tensor& a, const xg::Tensor& b) {
  return a.sizes() == b.sizes() && a.dtype() == b.dtype() &&
         std::memcmp(a.data_ptr<float>(), b.data_ptr<float>(), static_cast<size_t>(a.numel()) * sizeof(float)) == 0;
}

}  // namespace

TEST_CASE("fused kernels on several threads equal one thread", "[parallel]") {
  const int before = xg::get_num_threads();
  xg::manual_seed(11);
  const int64_t rows = 1031, D = 509;  // ~525k elements: above the parallel threshold; odd splits
  xg::Tensor x = xg::randn({rows, D}), w = xg::randn({D}), b = xg::randn({D});
  xg::Tensor target = xg::randint(0, D, {rows});
  std::vector<Results> by_threads;
  for (int threads : {1, 2, 3, 2}) {
    xg::set_num_threads(threads);
    xg::manual_seed(5);  // the same backward seeds g for every thread count
    by_threads.push_back(run_all(x, w, b, target));
  }
  xg::set_num_threads(before);
  for (size_t t = 1; t < by_threads.size(); ++t)
    for (size_t i = 0; i < by_threads[0].values.size(); ++i) {
      INFO("run " << t << ", result " << i);
      CHECK(xg::allclose(by_threads[t].values[i], by_threads[0].values[i], 1e-5, 1e-4));
    }
  for (size_t i = 0; i < by_threads[0].values.size(); ++i) {
    INFO("2 threads twice, result " << i);
    CHECK(same_bits(by_threads[1].values[i], by_threads[3].values[i]));
  }
  CHECK_THROWS_AS(xg::set_num_threads(0), xg::Error);
}

// The pool itself: every chunk of every job runs exactly once, whether the workers are still
// spinning from the last job (back to back), have gone to sleep (a pause longer than their spin),
// were parked, or two caller threads submit jobs at the same time.
TEST_CASE("thread pool runs each chunk once", "[parallel]") {
  namespace k = xg::kernels;
  const int before = xg::get_num_threads();
  xg::set_num_threads(4);
  auto one_job = [](int chunks, int64_t n) {
    std::vector<std::atomic<int>> hits(static_cast<size_t>(n));
    std::atomic<int> calls{0}, bad_chunk{0};
    k::parallel_for(n, chunks, [&](int c, int64_t b, int64_t e) {  // no Catch2 macros off the main thread
      if (c < 0 || c >= chunks) ++bad_chunk;
      ++calls;
      for (int64_t i = b; i < e; ++i) ++hits[static_cast<size_t>(i)];
    });
    bool once = true;
    for (auto& h : hits) once = once && h.load() == 1;
    return once && calls.load() == chunks && bad_chunk.load() == 0;
  };
  for (int round = 0; round < 200; ++round) {
    const int chunks = 1 + round % 4;
    REQUIRE(one_job(chunks, 37 + round));
    if (round % 50 == 49) std::this_thread::sleep_for(std::chrono::milliseconds(5));  // workers asleep
    if (round % 30 == 29) k::park_workers();
  }
  std::atomic<bool> all_ok{true};
  std::vector<std::thread> callers;
  for (int t = 0; t < 2; ++t)
    callers.emplace_back([&, t] {
      for (int round = 0; round < 100; ++round)
        if (!one_job(2 + (round + t) % 3, 101)) all_ok = false;
    });
  for (auto& c : callers) c.join();
  CHECK(all_ok);
  xg::set_num_threads(before);
}
