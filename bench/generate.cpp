// Generation speed: the char_lm example's GPT (d 128, 4 heads, 4 layers, ffn 512, 65 characters)
// continuing a 1-token prompt by 127 tokens, greedily, on its key/value cache (Block::step), in
// inference mode. bench/generate.py runs the same model and loop in PyTorch 1.13 (with a
// hand-written cache: nn.MultiheadAttention has none). Usage: generate [batch] [threads] [model]
// model "translate": the translate example's shape (nn::Transformer 64 wide, 4 heads, 2+2 layers,
// ffn 256, vocabularies 40 and 24), a 24-token source encoded once, then 32 tokens decoded
// greedily with TransformerDecoder::forward_step (PyTorch re-runs its decoder over the prefix, as
// nn.Transformer has no cache).
// Prints: xgrad generate batch B threads N tokens_per_s X ms_per_token Y [model]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "char_lm/model.hpp"
#include "measure.hpp"

namespace xg = xgrad;
namespace nn = xg::nn;

namespace {
// Median seconds of 5 runs after a warm-up.
template <class F>
double time_runs(F&& run) {
  run();
  std::vector<double> s;
  for (int r = 0; r < 5; ++r) {
    auto t0 = std::chrono::steady_clock::now();
    run();
    s.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  return bench::median(s);
}

struct TranslateImpl : nn::Module {
  TranslateImpl() {
    src = register_module("src", nn::Embedding(40, 64));
    tgt = register_module("tgt", nn::Embedding(24, 64));
    pe = register_module("pe", nn::PositionalEncoding(64, 0.0, 64));
    transformer = register_module("transformer", nn::Transformer(nn::TransformerOptions(64, 4, 2, 2).dim_feedforward(256).dropout(0.0)));
    head = register_module("head", nn::Linear(64, 24));
  }
  nn::Embedding src{nullptr}, tgt{nullptr};
  nn::PositionalEncoding pe{nullptr};
  nn::Transformer transformer{nullptr};
  nn::Linear head{nullptr};
};
XG_MODULE(Translate);
}  // namespace

int main(int argc, char** argv) {
  const int64_t B = argc > 1 ? std::atoll(argv[1]) : 1;
  const int threads = argc > 2 ? std::atoi(argv[2]) : xg::get_num_threads();
  const std::string model = argc > 3 ? argv[3] : "char-lm";
  xg::set_num_threads(threads);
  xg::manual_seed(0);
  if (model == "translate") {
    Translate m;
    m->eval();
    const int64_t steps = 32;
    xg::Tensor src = xg::randint(1, 40, {B, 24});
    const double sec = time_runs([&] {
      xg::InferenceMode guard;
      xg::Tensor memory = m->transformer->encoder(m->pe(m->src(src)));
      nn::DecoderCache cache;
      xg::Tensor ids = xg::ones({B, 1}, xg::kInt64);
      for (int64_t t = 0; t < steps; ++t) {
        xg::Tensor x = m->pe(m->tgt(ids), t);
        ids = xg::argmax(m->head(m->transformer->decoder->forward_step(x, memory, cache)), -1);
      }
      return ids;
    });
    std::printf("xgrad generate batch %lld threads %d tokens_per_s %.0f ms_per_token %.3f translate\n",
                static_cast<long long>(B), threads, static_cast<double>(B * steps) / sec,
                sec * 1e3 / static_cast<double>(steps));
    return 0;
  }
  char_lm::GPTConfig cfg;
  cfg.vocab = 65;
  char_lm::GPT gpt(cfg);
  gpt->eval();
  const int64_t steps = cfg.context - 1;
  const double sec = time_runs([&] {
    xg::InferenceMode guard;
    std::vector<nn::KeyValue> cache(gpt->blocks->size());
    xg::Tensor ids = xg::zeros({B, 1}, xg::kInt64);
    for (int64_t t = 0; t < steps; ++t) {
      xg::Tensor x = gpt->pos(gpt->tok(ids), t);
      for (size_t i = 0; i < gpt->blocks->size(); ++i) x = (*gpt->blocks)[i]->step(x, cache[i]);
      ids = xg::argmax(gpt->head(gpt->ln_f(x)), -1);  // (B, 1): the next token of each sequence
    }
    return ids;
  });
  std::printf("xgrad generate batch %lld threads %d tokens_per_s %.0f ms_per_token %.3f char-lm\n",
              static_cast<long long>(B), threads, static_cast<double>(B * steps) / sec,
              sec * 1e3 / static_cast<double>(steps));
}
