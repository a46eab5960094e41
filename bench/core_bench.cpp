// Core benchmarks (make bench): per-op overhead, matmul vs raw BLAS, fused kernels vs memcpy.
// scripts/bench.sh runs this and bench/compare.py, which times PyTorch on the same shapes.
#include <benchmark/benchmark.h>

#include <cstring>
#include <xgrad/xgrad.hpp>

#include "kernels/gemm.hpp"
#include "kernels/parallel.hpp"

namespace xg = xgrad;

// Recording overhead: a chain of 100 mul/add ops on 1-element tensors, forward + backward.
static void BM_OpOverhead(benchmark::State& state) {
  xg::Tensor x = xg::ones({1}).requires_grad_();
  xg::Tensor c = xg::full({1}, 1.0001);
  for (auto _ : state) {
    xg::Tensor y = x;
    for (int i = 0; i < 50; ++i) y = y * c + c;
    y.sum().backward();
    benchmark::DoNotOptimize(x.grad().data_ptr<float>());
  }
  state.counters["ns_per_op"] = benchmark::Counter(100.0 * state.iterations(),
                                                   benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}
BENCHMARK(BM_OpOverhead)->Unit(benchmark::kMicrosecond);

static void BM_OpOverheadForward(benchmark::State& state) {
  xg::Tensor x = xg::ones({1}).requires_grad_();
  xg::Tensor c = xg::full({1}, 1.0001);
  for (auto _ : state) {
    xg::Tensor y = x;
    for (int i = 0; i < 50; ++i) y = y * c + c;
    benchmark::DoNotOptimize(y.raw_data());
  }
  state.counters["ns_per_op"] = benchmark::Counter(100.0 * state.iterations(),
                                                   benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}
BENCHMARK(BM_OpOverheadForward)->Unit(benchmark::kMicrosecond);

// The same inference loop (views, in-place updates, small ops) under NoGradGuard and under
// InferenceMode, which skips version counting and view tracking for the tensors it makes.
template <class Guard>
static void inference_loop(benchmark::State& state) {
  xg::Tensor w = xg::randn({16, 16});
  for (auto _ : state) {
    Guard guard;
    xg::Tensor h = xg::ones({4, 16});
    for (int i = 0; i < 25; ++i) {
      h = xg::matmul(h, w).reshape({2, 32}).view({4, 16});
      h.mul_(0.5).add_(1.0);
    }
    benchmark::DoNotOptimize(h.raw_data());
  }
}
static void BM_InferenceNoGradGuard(benchmark::State& state) { inference_loop<xg::NoGradGuard>(state); }
static void BM_InferenceMode(benchmark::State& state) { inference_loop<xg::InferenceMode>(state); }
BENCHMARK(BM_InferenceNoGradGuard)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_InferenceMode)->Unit(benchmark::kMicrosecond);

// matmul forward + backward (3 GEMMs) against the same 3 raw sgemm calls.
static void BM_MatmulFwdBwd(benchmark::State& state) {
  const int64_t n = state.range(0);
  xg::Tensor a = xg::randn({n, n}).requires_grad_(), b = xg::randn({n, n}).requires_grad_();
  xg::Tensor g = xg::randn({n, n});
  for (auto _ : state) {
    xg::Tensor c = xg::matmul(a, b);
    c.backward(g);
    a.set_grad({});
    b.set_grad({});
  }
  state.counters["GFLOPs"] = benchmark::Counter(6.0 * n * n * n * state.iterations(), benchmark::Counter::kIsRate,
                                                benchmark::Counter::kIs1000);
}
BENCHMARK(BM_MatmulFwdBwd)->Arg(128)->Arg(512)->Arg(1024)->Unit(benchmark::kMillisecond);

static void BM_RawSgemmX3(benchmark::State& state) {
  const int64_t n = state.range(0);
  std::vector<float> a(n * n, 0.5f), b(n * n, 0.25f), g(n * n, 1.0f), c(n * n), ga(n * n), gb(n * n);
  for (auto _ : state) {
    xg::kernels::gemm<float>(false, false, n, n, n, 1.f, a.data(), b.data(), 0.f, c.data());
    xg::kernels::gemm<float>(false, true, n, n, n, 1.f, g.data(), b.data(), 0.f, ga.data());
    xg::kernels::gemm<float>(true, false, n, n, n, 1.f, a.data(), g.data(), 0.f, gb.data());
    benchmark::DoNotOptimize(gb.data());
  }
  state.counters["GFLOPs"] = benchmark::Counter(6.0 * n * n * n * state.iterations(), benchmark::Counter::kIsRate,
                                                benchmark::Counter::kIs1000);
}
BENCHMARK(BM_RawSgemmX3)->Arg(128)->Arg(512)->Arg(1024)->Unit(benchmark::kMillisecond);

// Fused kernels: forward + backward on (rows, cols) float32; bytes = what the two passes must move.
template <class F>
static void fused_bench(benchmark::State& state, F f, double passes) {
  const int64_t rows = state.range(0), cols = state.range(1);
  xg::Tensor x = xg::randn({rows, cols}).requires_grad_();
  f(x);  // warm-up: the steady state of a training loop, buffers already in the allocator's cache
  x.set_grad({});
  for (auto _ : state) {
    f(x);
    x.set_grad({});
  }
  state.counters["GBps"] = benchmark::Counter(passes * 4.0 * rows * cols * state.iterations(),
                                              benchmark::Counter::kIsRate, benchmark::Counter::kIs1000);
}

static void BM_SoftmaxFwdBwd(benchmark::State& state) {
  const xg::Tensor g = xg::randn({state.range(0), state.range(1)});  // made before the clock starts
  // forward reads x, writes y; backward reads g, y, writes dx: 5 passes over the data
  fused_bench(state, [&](const xg::Tensor& x) { xg::softmax(x, -1).backward(g); }, 5.0);
}
BENCHMARK(BM_SoftmaxFwdBwd)->Args({4096, 1024})->Unit(benchmark::kMillisecond)->UseRealTime();

static void BM_LayerNormFwdBwd(benchmark::State& state) {
  const xg::Tensor g = xg::randn({state.range(0), state.range(1)});
  xg::Tensor w = xg::ones({state.range(1)}).requires_grad_(), b = xg::zeros({state.range(1)}).requires_grad_();
  // forward reads x, writes y; backward reads g, x, writes dx
  fused_bench(state, [&](const xg::Tensor& x) {
    xg::layer_norm(x, {x.size(1)}, w, b).backward(g);
    w.set_grad({});
    b.set_grad({});
  }, 5.0);
}
BENCHMARK(BM_LayerNormFwdBwd)->Args({4096, 1024})->Unit(benchmark::kMillisecond)->UseRealTime();

static void BM_CrossEntropyFwdBwd(benchmark::State& state) {
  xg::Tensor t = xg::randint(0, state.range(1), {state.range(0)});
  // forward reads x; backward reads x, writes dx
  fused_bench(state, [&](const xg::Tensor& x) { xg::cross_entropy(x, t).backward(); }, 3.0);
}
BENCHMARK(BM_CrossEntropyFwdBwd)->Args({4096, 1024})->Unit(benchmark::kMillisecond)->UseRealTime();

// The bandwidth floor the fused kernels are compared with: memcpy of the same bytes.
static void BM_Memcpy(benchmark::State& state) {
  const int64_t n = state.range(0) * state.range(1);
  std::vector<float> a(n, 1.f), b(n);
  for (auto _ : state) {
    std::memcpy(b.data(), a.data(), n * 4);
    benchmark::DoNotOptimize(b.data());
  }
  // a copy moves 2 passes (read + write)
  state.counters["GBps"] = benchmark::Counter(2.0 * 4.0 * n * state.iterations(), benchmark::Counter::kIsRate,
                                              benchmark::Counter::kIs1000);
}
BENCHMARK(BM_Memcpy)->Args({4096, 1024})->Unit(benchmark::kMillisecond)->UseRealTime();

// The same copy split over two threads: the machine's bandwidth with both cores pulling (the
// fused kernels use every core on inputs this large).
static void BM_MemcpyAllThreads(benchmark::State& state) {
  const int64_t n = state.range(0) * state.range(1);
  std::vector<float> a(n, 1.f), b(n);
  for (auto _ : state) {
    xg::kernels::parallel_for(n, int64_t{1}, [&](int64_t begin, int64_t end) {
      std::memcpy(b.data() + begin, a.data() + begin, (end - begin) * 4);
    });
    benchmark::DoNotOptimize(b.data());
  }
  state.counters["GBps"] = benchmark::Counter(2.0 * 4.0 * n * state.iterations(), benchmark::Counter::kIsRate,
                                              benchmark::Counter::kIs1000);
}
BENCHMARK(BM_MemcpyAllThreads)->Args({4096, 1024})->Unit(benchmark::kMillisecond)->UseRealTime();

BENCHMARK_MAIN();  // one main for core_bench.cpp and nn_bench.cpp
