// One Adam step on 10 M float32 parameters: compared with the memory-bandwidth floor (Adam reads
// p, g, m, v and writes p, m, v: 28 bytes per parameter) and with torch.optim.Adam (foreach).
#include <benchmark/benchmark.h>

#include <xgrad/xgrad.hpp>

namespace xg = xgrad;

static void BM_AdamStep10M(benchmark::State& state) {
  xg::Tensor p = xg::randn({10'000'000}).requires_grad_();
  p.set_grad(xg::randn({10'000'000}));
  xg::optim::Adam opt({p}, xg::optim::AdamOptions(1e-3));
  opt.step();  // state allocated outside the timing
  for (auto _ : state) opt.step();
  state.counters["GBps"] = benchmark::Counter(28.0 * 1e7 * state.iterations(), benchmark::Counter::kIsRate,
                                              benchmark::Counter::kIs1000);
}
BENCHMARK(BM_AdamStep10M)->Unit(benchmark::kMillisecond);
