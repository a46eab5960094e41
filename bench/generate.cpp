// Generation speed: the char_lm example's GPT (d 128, 4 heads, 4 layers, ffn 512, 65 characters)
// continuing a 1-token prompt by 127 tokens, greedily, on its key/value cache (Block::step), in
// inference mode. bench/generate.py runs the same model and loop in PyTorch 1.13 (with a
// hand-written cache: nn.MultiheadAttention has none). Usage: generate [batch] [threads]
// Prints: xgrad generate batch B threads N tokens_per_s X ms_per_token Y
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "char_lm/model.hpp"

namespace xg = xgrad;
namespace nn = xg::nn;

int main(int argc, char** argv) {
  const int64_t B = argc > 1 ? std::atoll(argv[1]) : 1;
  const int threads = argc > 2 ? std::atoi(argv[2]) : xg::get_num_threads();
  xg::set_num_threads(threads);
  xg::manual_seed(0);
  char_lm::GPTConfig cfg;
  cfg.vocab = 65;
  char_lm::GPT gpt(cfg);
  gpt->eval();
  const int64_t steps = cfg.context - 1;
  auto run = [&] {
    xg::InferenceMode guard;
    std::vector<nn::KeyValue> cache(gpt->blocks->size());
    xg::Tensor ids = xg::zeros({B, 1}, xg::kInt64);
    for (int64_t t = 0; t < steps; ++t) {
      xg::Tensor x = gpt->pos(gpt->tok(ids), t);
      for (size_t i = 0; i < gpt->blocks->size(); ++i) x = (*gpt->blocks)[i]->step(x, cache[i]);
      ids = xg::argmax(gpt->head(gpt->ln_f(x)), -1);  // (B, 1): the next token of each sequence
    }
    return ids;
  };
  run();  // warm-up
  std::vector<double> s;
  for (int r = 0; r < 5; ++r) {
    auto t0 = std::chrono::steady_clock::now();
    run();
    s.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(s.begin(), s.end());
  const double sec = s[s.size() / 2];
  std::printf("xgrad generate batch %lld threads %d tokens_per_s %.0f ms_per_token %.3f\n", static_cast<long long>(B),
              threads, static_cast<double>(B * steps) / sec, sec * 1e3 / static_cast<double>(steps));
}
