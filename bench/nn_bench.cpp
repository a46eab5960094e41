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

// Attention alone, as issue 13 measures it: batch 1, 8 heads, head dim 64, causal, forward +
// backward; the fused op against the composite formula (what xgrad ran before, and what PyTorch
// 1.13 runs: it has no fused attention). The sequence length sweep with memory is
// scripts/attention_sweep.sh.
static void attention_bench(benchmark::State& state, bool fused) {
  const int64_t T = state.range(0);
  xg::Tensor q = xg::randn({1, 8, T, 64}).requires_grad_(), k = xg::randn({1, 8, T, 64}).requires_grad_();
  xg::Tensor v = xg::randn({1, 8, T, 64}).requires_grad_(), g = xg::randn({1, 8, T, 64});
  for (auto _ : state) {
    xg::Tensor out = fused ? xg::scaled_dot_product_attention(q, k, v, {}, 0.0, true)
                           : std::get<0>(xg::_scaled_dot_product_attention_math(q, k, v, {}, 0.0, true));
    out.backward(g);
    q.set_grad({}), k.set_grad({}), v.set_grad({});
  }
  // Matrix-product FLOPs: forward q·kᵀ and P·v, backward four more, each 2·T²·64 per head; causal
  // halves the fused op's work but not the composite's.
  state.counters["GFLOPs"] = benchmark::Counter(6.0 * 2 * T * T * 64 * 8 * (fused ? 0.5 : 1.0) / 1e9,
                                                benchmark::Counter::kIsIterationInvariantRate);
}
static void BM_AttentionFused(benchmark::State& state) { attention_bench(state, true); }
static void BM_AttentionComposite(benchmark::State& state) { attention_bench(state, false); }
BENCHMARK(BM_AttentionFused)->Arg(128)->Arg(1024)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_AttentionComposite)->Arg(128)->Arg(1024)->Unit(benchmark::kMillisecond);
