// nn benchmarks: Linear, LayerNorm, MultiheadAttention and a Transformer encoder layer, forward +
// backward in float32, training mode with dropout 0. bench/compare.py times PyTorch on the same.
#include <benchmark/benchmark.h>

#include <xgrad/xgrad.hpp>

namespace xg = xgrad;
namespace nn = xg::nn;

template <class F>
static void run(benchmark::State& state, xg::nn::Module& m, F f) {
  for (auto _ : state) {
    f();
    m.zero_grad();
  }
}

static void BM_Linear(benchmark::State& state) {  // (64·64, 512) → 512
  nn::Linear lin(512, 512);
  xg::Tensor x = xg::randn({64, 64, 512}).requires_grad_(), g = xg::randn({64, 64, 512});
  run(state, *lin, [&] {
    lin(x).backward(g);
    x.set_grad({});
  });
}
BENCHMARK(BM_Linear)->Unit(benchmark::kMillisecond);

static void BM_LayerNormModule(benchmark::State& state) {
  nn::LayerNorm ln(nn::LayerNormOptions({512}));
  xg::Tensor x = xg::randn({64, 64, 512}).requires_grad_(), g = xg::randn({64, 64, 512});
  run(state, *ln, [&] {
    ln(x).backward(g);
    x.set_grad({});
  });
}
BENCHMARK(BM_LayerNormModule)->Unit(benchmark::kMillisecond);

static void BM_MHA(benchmark::State& state) {  // batch 32, seq 64, d 256, 4 heads, causal
  nn::MultiheadAttention mha(256, 4);
  xg::Tensor x = xg::randn({32, 64, 256}).requires_grad_(), g = xg::randn({32, 64, 256});
  xg::Tensor mask = nn::generate_square_subsequent_mask(64);
  run(state, *mha, [&] {
    mha(x, x, x, xg::Tensor(), false, mask).first.backward(g);
    x.set_grad({});
  });
}
BENCHMARK(BM_MHA)->Unit(benchmark::kMillisecond);

static void BM_EncoderLayer(benchmark::State& state) {  // d 256, 4 heads, ffn 1024, batch 32, seq 64
  nn::TransformerEncoderLayer layer(nn::TransformerLayerOptions(256, 4).dim_feedforward(1024).dropout(0.0));
  xg::Tensor x = xg::randn({32, 64, 256}).requires_grad_(), g = xg::randn({32, 64, 256});
  run(state, *layer, [&] {
    layer(x).backward(g);
    x.set_grad({});
  });
}
BENCHMARK(BM_EncoderLayer)->Unit(benchmark::kMillisecond);
