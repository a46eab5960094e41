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
                             : xg::cross_entropy(x, target, xg::CrossEntropyLossOptions().label_smoothing(0.1));
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

// Outputs of 8 MB and more are written with streaming stores (kernels::store_row), rows that do
// not start on a vector boundary partly through the scalar path: every row must still equal the
// same row computed on its own (a small tensor, ordinary stores), forward and backward.
TEST_CASE("fused kernels on large inputs match row by row", "[parallel]") {
  xg::manual_seed(23);
  const int64_t rows = 2053, D = 1031;  // 8.5 MB of float32; odd D: rows start anywhere
  for (xg::ScalarType dt : {xg::kFloat32, xg::kFloat64}) {
    xg::Tensor X = xg::randn({rows, D}, dt), G = xg::randn({rows, D}, dt), W = xg::randn({D}, dt),
               Bias = xg::randn({D}, dt), T = xg::randint(0, D, {rows}), Gr = xg::randn({rows}, dt);
    auto run = [&](int op, int64_t start, int64_t len) {
      xg::Tensor x = xg::narrow(X, 0, start, len).clone().requires_grad_();
      xg::Tensor y;
      if (op == 3) {  // per-row losses, each row with its own gradient
        y = xg::cross_entropy(x, xg::narrow(T, 0, start, len),
                              xg::CrossEntropyLossOptions().label_smoothing(0.1).reduction(xg::kNone));
        y.backward(xg::narrow(Gr, 0, start, len));
      } else {
        y = op == 0 ? xg::softmax(x, -1) : op == 1 ? xg::log_softmax(x, -1) : xg::layer_norm(x, {D}, W, Bias, 1e-5);
        y.backward(xg::narrow(G, 0, start, len));
      }
      return std::pair{y.detach(), x.grad()};
    };
    for (int op = 0; op < 4; ++op) {
      auto [y_all, dx_all] = run(op, 0, rows);
      for (int64_t start : {int64_t{0}, int64_t{1}, int64_t{997}, rows - 3}) {
        auto [y, dx] = run(op, start, 3);
        INFO("op " << op << ", dtype " << xg::dtype_name(dt) << ", rows from " << start);
        CHECK(xg::allclose(xg::narrow(y_all, 0, start, 3), y, 1e-5, 1e-6));
        CHECK(xg::allclose(xg::narrow(dx_all, 0, start, 3), dx, 1e-5, 1e-6));
      }
    }
  }
}

// An exception in any chunk reaches the caller (no std::terminate from a worker thread), after
// every chunk has finished, and the pool keeps working.
TEST_CASE("thread pool passes a chunk's exception to the caller", "[parallel]") {
  namespace k = xg::kernels;
  const int before = xg::get_num_threads();
  xg::set_num_threads(3);
  for (int bad : {0, 1, 2}) {
    std::atomic<int> finished{0};
    auto job = [&](int c, int64_t, int64_t) {
      if (c == bad) throw xg::Error("chunk failed");
      ++finished;
    };
    CHECK_THROWS_AS(k::parallel_for(30, 3, job), xg::Error);
    CHECK(finished.load() == 2);
    // and afterwards: still all chunks, still in parallel
    std::atomic<int> calls{0};
    k::parallel_for(30, 3, [&](int, int64_t, int64_t) { ++calls; });
    CHECK(calls.load() == 3);
    CHECK(k::parallel_chunks(1 << 20, 1) > 1);
  }
  xg::set_num_threads(before);
}

TEST_CASE("elementwise ops, broadcasts, masked_fill and where split over threads give one thread's bits; "
          "matrix products split by rows agree to rounding, and repeat bit for bit",
          "[parallel]") {
  const int before = xg::get_num_threads();
  xg::manual_seed(13);
  // ~600k elements (above the threshold), odd sizes so ranges end mid-row and mid-vector.
  xg::Tensor a = xg::randn({1031, 583}), row = xg::randn({583}), col = xg::randn({1031, 1});
  xg::Tensor mask = xg::rand({1, 583}) > 0.5, big = xg::randn({3, 1031, 583});
  xg::Tensor m1 = xg::randn({700, 300}), m2 = xg::randn({300, 650});
  auto elementwise = [&] {
    return std::vector<xg::Tensor>{xg::gelu(a), xg::exp(a), a * row, a + col, a / 3.0, 2.0 - a,
                                   big * a, xg::masked_fill(a, mask, 7.0), xg::where(mask, a, row), a > row};
  };
  auto products = [&] {
    return std::vector<xg::Tensor>{xg::matmul(m1, m2), xg::matmul_t(m2, m1, true, true),
                                   xg::matmul_t(m1, m1, true, false)};
  };
  xg::set_num_threads(1);
  auto one = elementwise();
  auto one_mm = products();
  for (int threads : {2, 3}) {
    xg::set_num_threads(threads);
    auto many = elementwise();
    for (size_t i = 0; i < one.size(); ++i) {
      INFO("threads " << threads << ", elementwise result " << i);
      CHECK(xg::equal(one[i], many[i]));
    }
    // OpenBLAS may sum a row block differently by its height (its small-matrix kernels).
    auto mm = products(), again = products();
    for (size_t i = 0; i < mm.size(); ++i) {
      INFO("threads " << threads << ", product " << i);
      CHECK(xg::allclose(one_mm[i], mm[i], 1e-5, 1e-4));
      CHECK(xg::equal(mm[i], again[i]));
    }
  }
  xg::set_num_threads(before);
}
