#pragma once
// The benchmark models of bench/train_step.cpp (and bench/distributed_step.cpp): the char_lm GPT,
// the translate-sized and d2l-sized seq2seq Transformers, and their analytic matrix-product FLOPs.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>

#include <xgrad/xgrad.hpp>

namespace bench {

namespace xg = xgrad;
namespace nn = xg::nn;

struct Config {
  int64_t d, heads, layers, ffn, batch, src_len, tgt_len, src_vocab, tgt_vocab;
  bool decoder_only;
};

inline Config config(const std::string& name) {
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

inline double matmul_gflop(const Config& c) {
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

}  // namespace bench
