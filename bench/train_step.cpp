// One training step of three model configurations — forward, cross-entropy, backward, clip 1.0,
// AdamW — written against the public API, as bench/train_step.py writes them for PyTorch 1.13.
// scripts/train_bench.sh runs both and prints ratios. Usage:
//   train_step char-lm|char-lm@T|tiny-seq2seq|d2l-seq2seq [threads] [steps] [checkpoint 0|1]
//   train_step sgemm [threads]            the sgemm rate of this run (1024³ float32), GFLOP/s
// threads sets xgrad's pool; OpenBLAS reads OPENBLAS_NUM_THREADS at start (the script sets both).
// Prints one line: xgrad <config> threads N checkpoint C ms <median step> gflop <per step>
//                  gflops <rate> extra_mb <peak resident − resident at start>
// Matrix-product FLOPs are counted analytically (train_step.py counts the same): forward 2·m·n·k
// per product — every linear layer, q·kᵀ and P·v at full T×S (causal masking not discounted), the
// output head — and backward twice the forward.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include <xgrad/xgrad.hpp>

#include "measure.hpp"

namespace xg = xgrad;
namespace nn = xg::nn;

namespace {

using bench::median;
using bench::status_mb;

struct Config {
  int64_t d, heads, layers, ffn, batch, src_len, tgt_len, src_vocab, tgt_vocab;
  bool decoder_only;
};

Config config(const std::string& name) {
  // char-lm@T: the char-lm model at context T with batch 8192 / T (tokens per step fixed), for the
  // sequence-length sweep (scripts/seq_sweep.sh).
  if (name.rfind("char-lm@", 0) == 0) {
    const int64_t T = std::atoll(name.c_str() + 8);
    if (T < 1 || T > 8192) {
      std::fprintf(stderr, "char-lm@T: T must be in 1..8192\n");
      std::exit(2);
    }
    return {128, 4, 4, 512, std::max<int64_t>(1, 8192 / T), 0, T, 0, 65, true};
  }
  // char-lm: the char_lm example's GPT (pre-LN, GELU), 65 characters, context 128, batch 64.
  if (name == "char-lm") return {128, 4, 4, 512, 64, 0, 128, 0, 65, true};
  // tiny-seq2seq: the translate example's model (post-LN, ReLU), 2+2 layers, batch 64.
  if (name == "tiny-seq2seq") return {64, 4, 2, 256, 64, 24, 16, 40, 24, false};
  // d2l-seq2seq: d2l's Transformer for fra-eng (11.7): 256 wide, 4 heads, 2+2 blocks, ffn 64,
  // batch 128, 10 steps, vocabularies of about 200.
  if (name == "d2l-seq2seq") return {256, 4, 2, 64, 128, 10, 10, 200, 200, false};
  std::fprintf(stderr, "unknown config %s\n", name.c_str());
  std::exit(2);
}

double matmul_gflop(const Config& c) {
  const double B = static_cast<double>(c.batch), S = c.src_len, T = c.tgt_len, d = c.d;
  auto proj = [](double tokens, double in, double out) { return 2 * tokens * in * out; };
  auto attn = [&](double L, double keys) { return 2 * 2 * B * L * keys * d; };  // q·kᵀ and P·v, all heads
  auto self_layer = [&](double L) { return 4 * proj(B * L, d, d) + attn(L, L) + 2 * proj(B * L, d, c.ffn); };
  double fwd = proj(B * T, d, c.tgt_vocab);
  if (c.decoder_only) {
    fwd += c.layers * self_layer(T);
  } else {
    const double cross = 2 * proj(B * T, d, d) + 2 * proj(B * S, d, d) + attn(T, S);
    fwd += c.layers * self_layer(S) + c.layers * (self_layer(T) + cross);
  }
  return 3 * fwd / 1e9;
}

struct CharLMImpl : nn::Module {
  explicit CharLMImpl(const Config& c, bool ckpt) {
    tok = register_module("tok", nn::Embedding(c.tgt_vocab, c.d));
    pos = register_module("pos", nn::Embedding(c.tgt_len, c.d));
    auto layer = nn::TransformerLayerOptions(c.d, c.heads)
                     .dim_feedforward(c.ffn)
                     .dropout(0.1)
                     .activation(xg::kGELU)
                     .norm_first(true);
    blocks = register_module("blocks", nn::TransformerEncoder(
                                           nn::TransformerEncoderOptions(layer, c.layers).checkpoint_layers(ckpt)));
    ln_f = register_module("ln_f", nn::LayerNorm(nn::LayerNormOptions({c.d})));
    head = register_module("head", nn::Linear(c.d, c.tgt_vocab));
    mask = nn::generate_square_subsequent_mask(c.tgt_len);
  }
  xg::Tensor forward(const xg::Tensor& ids) {
    xg::Tensor x = tok(ids) + pos->weight.unsqueeze(0);
    return head(ln_f(blocks(x, mask)));
  }
  nn::Embedding tok{nullptr}, pos{nullptr};
  nn::TransformerEncoder blocks{nullptr};
  nn::LayerNorm ln_f{nullptr};
  nn::Linear head{nullptr};
  xg::Tensor mask;
};
XG_MODULE(CharLM);

struct Seq2SeqImpl : nn::Module {
  Seq2SeqImpl(const Config& c, bool ckpt) {
    src = register_module("src", nn::Embedding(c.src_vocab, c.d));
    tgt = register_module("tgt", nn::Embedding(c.tgt_vocab, c.d));
    pe = register_module("pe", nn::PositionalEncoding(c.d, 0.1, 64));
    transformer = register_module("transformer", nn::Transformer(nn::TransformerOptions(c.d, c.heads, c.layers, c.layers)
                                                                      .dim_feedforward(c.ffn)
                                                                      .dropout(0.1)
                                                                      .checkpoint_layers(ckpt)));
    head = register_module("head", nn::Linear(c.d, c.tgt_vocab));
    mask = nn::generate_square_subsequent_mask(c.tgt_len);
  }
  xg::Tensor forward(const xg::Tensor& s, const xg::Tensor& t) {
    return head(transformer(pe(src(s)), pe(tgt(t)), xg::Tensor(), mask));
  }
  nn::Embedding src{nullptr}, tgt{nullptr};
  nn::PositionalEncoding pe{nullptr};
  nn::Transformer transformer{nullptr};
  nn::Linear head{nullptr};
  xg::Tensor mask;
};
XG_MODULE(Seq2Seq);

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: train_step char-lm|tiny-seq2seq|d2l-seq2seq|sgemm [threads] [steps] [checkpoint]\n");
    return 2;
  }
  const std::string name = argv[1];
  const int threads = argc > 2 ? std::atoi(argv[2]) : xg::get_num_threads();
  const int steps = argc > 3 ? std::atoi(argv[3]) : 10;
  const bool ckpt = argc > 4 && std::atoi(argv[4]) != 0;
  xg::set_num_threads(threads);
  const double before = status_mb("VmRSS:");
  xg::manual_seed(0);
  if (name == "sgemm") {
    xg::NoGradGuard no_grad;
    xg::Tensor a = xg::randn({1024, 1024}), b = xg::randn({1024, 1024});
    std::vector<double> s;
    for (int i = 0; i < 12; ++i) {
      auto t0 = std::chrono::steady_clock::now();
      xg::Tensor c = xg::matmul(a, b);
      s.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    }
    std::printf("xgrad sgemm threads %d gflops %.1f\n", threads, 2.0 * 1024 * 1024 * 1024 / median(s) / 1e9);
    return 0;
  }
  const Config c = config(name);
  std::shared_ptr<nn::Module> model;
  std::function<xg::Tensor()> loss;
  xg::Tensor ids = xg::randint(0, c.tgt_vocab, {c.batch, c.tgt_len + 1});
  xg::Tensor input = ids.narrow(1, 0, c.tgt_len).contiguous(), target = ids.narrow(1, 1, c.tgt_len).contiguous();
  if (c.decoder_only) {
    CharLM m(c, ckpt);
    model = m.ptr();
    loss = [m, input, target, c]() mutable {
      return xg::cross_entropy(m(input).reshape({-1, c.tgt_vocab}), target.reshape({-1}));
    };
  } else {
    Seq2Seq m(c, ckpt);
    model = m.ptr();
    xg::Tensor s = xg::randint(0, c.src_vocab, {c.batch, c.src_len});
    loss = [m, s, input, target, c]() mutable {
      return xg::cross_entropy(m(s, input).reshape({-1, c.tgt_vocab}), target.reshape({-1}));
    };
  }
  model->train();
  xg::optim::AdamW opt(model->parameters(), xg::optim::AdamWOptions(1e-3));
  std::vector<double> ms;
  for (int s = 0; s < steps + 2; ++s) {  // two warm-up steps (the allocator's cache fills)
    auto t0 = std::chrono::steady_clock::now();
    opt.zero_grad();
    xg::Tensor l = loss();
    l.backward();
    xg::nn::utils::clip_grad_norm_(model->parameters(), 1.0);
    opt.step();
    if (s >= 2) ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  const double gflop = matmul_gflop(c), step = median(ms);
  std::printf("xgrad %s threads %d checkpoint %d ms %.2f gflop %.2f gflops %.1f extra_mb %.1f\n", name.c_str(), threads,
              ckpt ? 1 : 0, step, gflop, gflop / (step / 1e3), status_mb("VmHWM:") - before);
}
