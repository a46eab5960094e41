#pragma once
// The translation models behind one interface (Translator): what training needs (teacher-forced
// logits) and what decoding needs (start from a source, one step per token, follow the beams), so
// greedy and beam search are written once. Seq2Seq: embeddings (scaled by √d) + sinusoidal
// positions, nn::Transformer, a projection to the target vocabulary, decoding on the key/value
// cache. The GRU encoder-decoder with Bahdanau attention is in translate/bahdanau.hpp.
#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <numeric>

#include "translate/beam.hpp"
#include "translate/data.hpp"

namespace translate {

namespace nn = xg::nn;

struct ModelConfig {
  std::string model = "transformer";  // or "bahdanau" (d_model: embedding and GRU width; heads, ffn unused)
  int64_t d_model = 64, heads = 4, layers = 2, ffn = 256, max_len = 64;
  double dropout = 0.0;  // the generated tasks don't overfit 20k pairs: dropout only slows learning
  bool norm_first = false;  // Transformer: pre-LN instead of post-LN
};

// Attention weights of one example, for the heatmaps: per layer (H, rows, cols).
struct AttentionSample {
  std::vector<std::string> src_tokens, tgt_tokens;  // tgt_tokens: the decoder's inputs (<bos> ...)
  std::vector<xg::Tensor> encoder_self, decoder_cross;
};

// What a decoder carries from one step to the next (a model's own subclass).
struct DecodeState {
  virtual ~DecodeState() = default;
};

class TranslatorImpl : public nn::Module {
 public:
  explicit TranslatorImpl(const ModelConfig& c) : cfg(c) {}
  ModelConfig cfg;

  // Teacher forcing: logits (B, T, V) for every target position at once.
  virtual xg::Tensor forward(const Batch& b) = 0;
  // Decoding: the state after reading the sources; logits (R, V) of the next token for tokens
  // (R, 1) at position t; the state's rows taken at `rows` (to follow beams, or to give each of B
  // examples `beam` rows).
  virtual std::unique_ptr<DecodeState> start(const xg::Tensor& src, const xg::Tensor& src_pad) = 0;
  virtual xg::Tensor step(const xg::Tensor& token, DecodeState& state, int64_t t) = 0;
  virtual void reorder(DecodeState& state, const xg::Tensor& rows) = 0;
  // The attention weights of one teacher-forced pass over a one-example batch, per layer (heads,
  // rows, cols); the tokens are filled in by attention().
  virtual AttentionSample attention_weights(const Batch& b) = 0;
  // Architecture, for the run's log.
  virtual std::string describe() const = 0;

  // Greedy decoding: one step per output token for the whole batch. Returns each example's tokens
  // up to and including <eos> (if produced within max_len).
  std::vector<std::vector<int64_t>> greedy(const xg::Tensor& src, const xg::Tensor& src_pad, int64_t max_len) {
    xg::NoGradGuard ng;
    const int64_t B = src.size(0);
    auto state = start(src, src_pad);
    std::vector<std::vector<int64_t>> out(static_cast<size_t>(B));
    std::vector<bool> done(static_cast<size_t>(B), false);
    xg::Tensor token = xg::full({B, 1}, static_cast<double>(Vocab::kBos), xg::kInt64);
    for (int64_t t = 0; t < max_len; ++t) {
      xg::Tensor next = xg::argmax(step(token, *state, t), -1);
      const int64_t* p = next.data_ptr<int64_t>();
      bool all_done = true;
      for (size_t i = 0; i < out.size(); ++i) {
        if (!done[i]) out[i].push_back(p[i]), done[i] = p[i] == Vocab::kEos;
        all_done = all_done && done[i];
      }
      if (all_done) break;
      token = next.unsqueeze(1);
    }
    return out;
  }

  // Beam search (d2l 10.8): `beam` live hypotheses per example, all B·beam rows decoded together,
  // the decoder state reordered to follow the surviving beams. A hypothesis ends at <eos> and
  // scores log P / L^alpha (L its length including <eos>); the best one is returned once no live
  // beam can beat it. beam = 1 with alpha = 0 is greedy decoding. scores: the outputs' scores.
  std::vector<std::vector<int64_t>> beam_search(const xg::Tensor& src, const xg::Tensor& src_pad, int64_t max_len,
                                                int64_t beam, double alpha, std::vector<double>* scores = nullptr) {
    XG_CHECK(beam >= 1, "beam_search: beam must be >= 1, got ", beam);
    xg::NoGradGuard ng;
    const int64_t B = src.size(0), R = B * beam;
    std::vector<int64_t> example_of(static_cast<size_t>(R));
    for (int64_t r = 0; r < R; ++r) example_of[static_cast<size_t>(r)] = r / beam;
    auto state = start(src, src_pad);
    reorder(*state, xg::tensor(example_of));
    BeamSearch search(B, beam, max_len, alpha);
    xg::Tensor token = xg::full({R, 1}, static_cast<double>(Vocab::kBos), xg::kInt64);
    for (int64_t t = 0; t < max_len; ++t) {
      xg::Tensor logp = xg::log_softmax(step(token, *state, t).to(xg::kFloat64), -1).contiguous();
      if (!search.advance(logp.data_ptr<double>(), logp.size(1))) break;
      reorder(*state, xg::tensor(search.parents()));
      token = xg::tensor(search.next_tokens()).unsqueeze(1);
    }
    return search.best(scores);
  }

  // Log-probability of an output sequence (tokens incl. <eos>) given one source, teacher-forced:
  // lets tests compare decoders by the quantity they maximise.
  double sequence_log_prob(const std::vector<int64_t>& src, const std::vector<int64_t>& tokens) {
    xg::NoGradGuard ng;
    const Encoded e = one_pair(src, tokens);
    xg::Tensor lp = xg::log_softmax(forward(make_batch(e, {0})).to(xg::kFloat64), -1).contiguous();
    const int64_t V = lp.size(2);
    double sum = 0;
    for (size_t i = 0; i < tokens.size(); ++i) sum += lp.data_ptr<double>()[static_cast<int64_t>(i) * V + tokens[i]];
    return sum;
  }

  // Attention weights while the model reads `src` and writes `out` (its own decoding), from one
  // teacher-forced pass: with a causal decoder it has the weights step-by-step decoding had.
  AttentionSample attention(const std::vector<int64_t>& src, const std::vector<int64_t>& out, const Vocab& sv,
                            const Vocab& tv) {
    xg::NoGradGuard ng;
    const Encoded e = one_pair(src, out);
    AttentionSample a = attention_weights(make_batch(e, {0}));
    for (int64_t i : src) a.src_tokens.push_back(sv.itos.at(static_cast<size_t>(i)));
    a.tgt_tokens.push_back("<bos>");
    for (int64_t i : e.tgt[0]) a.tgt_tokens.push_back(tv.itos.at(static_cast<size_t>(i)));
    return a;
  }

 private:
  // One source and an output (tokens, <eos> dropped if last) as a one-example Encoded.
  static Encoded one_pair(const std::vector<int64_t>& src, const std::vector<int64_t>& tokens) {
    Encoded e;
    e.src.push_back(src);
    e.tgt.push_back(std::vector<int64_t>(tokens.begin(), tokens.end() - (!tokens.empty() && tokens.back() == Vocab::kEos)));
    return e;
  }
};
XG_MODULE(Translator);

class Seq2SeqImpl : public TranslatorImpl {
 public:
  Seq2SeqImpl(int64_t src_vocab, int64_t tgt_vocab, const ModelConfig& c) : TranslatorImpl(c) {
    src_embed = register_module("src_embed", nn::Embedding(nn::EmbeddingOptions(src_vocab, c.d_model).padding_idx(0)));
    tgt_embed = register_module("tgt_embed", nn::Embedding(nn::EmbeddingOptions(tgt_vocab, c.d_model).padding_idx(0)));
    pos = register_module("pos", nn::PositionalEncoding(c.d_model, c.dropout, c.max_len + 2));
    transformer = register_module("transformer", nn::Transformer(nn::TransformerOptions()
                                                                      .d_model(c.d_model)
                                                                      .nhead(c.heads)
                                                                      .num_encoder_layers(c.layers)
                                                                      .num_decoder_layers(c.layers)
                                                                      .dim_feedforward(c.ffn)
                                                                      .dropout(c.dropout)
                                                                      .norm_first(c.norm_first)));
    generator = register_module("generator", nn::Linear(c.d_model, tgt_vocab));
    // N(0, 1/d) so that embedding·√d has unit scale, like the positional table; the padding
    // row (id 0) stays zero.
    for (auto* e : {&src_embed->weight, &tgt_embed->weight}) {
      nn::init::normal_(*e, 0.0, 1.0 / std::sqrt(static_cast<double>(c.d_model)));
      std::fill_n(e->data_ptr<float>(), c.d_model, 0.0f);
    }
  }

  xg::Tensor encode(const xg::Tensor& src, const xg::Tensor& src_pad) {
    return transformer->encoder(embed(src_embed, src), xg::Tensor(), src_pad);
  }

  // Teacher forcing: logits (B, T, V) for every target position at once.
  xg::Tensor forward(const Batch& b) override {
    xg::Tensor memory = encode(b.src, b.src_pad);
    xg::Tensor mask = nn::generate_square_subsequent_mask(b.tgt_in.size(1));
    return generator(transformer->decoder(embed(tgt_embed, b.tgt_in), memory, mask, xg::Tensor(), b.tgt_pad, b.src_pad));
  }

  struct State : DecodeState {
    xg::Tensor memory, pad;
    nn::DecoderCache cache;
  };
  std::unique_ptr<DecodeState> start(const xg::Tensor& src, const xg::Tensor& src_pad) override {
    auto s = std::make_unique<State>();
    s->memory = encode(src, src_pad), s->pad = src_pad;
    return s;
  }
  // One decoder step on the key/value cache for tokens (R, 1) at position t: logits (R, V).
  xg::Tensor step(const xg::Tensor& token, DecodeState& state, int64_t t) override {
    auto& s = static_cast<State&>(state);
    return generator(transformer->decoder->forward_step(embed(tgt_embed, token, t), s.memory, s.cache, s.pad)).squeeze(1);
  }
  void reorder(DecodeState& state, const xg::Tensor& rows) override {
    auto& s = static_cast<State&>(state);
    s.memory = s.memory.index_select(0, rows), s.pad = s.pad.index_select(0, rows);
    for (auto& layer : s.cache.layers) {
      layer.self_kv = {layer.self_kv.k.index_select(0, rows), layer.self_kv.v.index_select(0, rows)};
      if (layer.cross_kv.k.defined())
        layer.cross_kv = {layer.cross_kv.k.index_select(0, rows), layer.cross_kv.v.index_select(0, rows)};
    }
  }
  std::string describe() const override {
    return xg::str("Transformer (", cfg.norm_first ? "pre-LN" : "post-LN", "): d_model ", cfg.d_model, ", ", cfg.heads,
                   " heads, ", cfg.layers, "+", cfg.layers, " layers, ffn ", cfg.ffn);
  }

  AttentionSample attention_weights(const Batch& b) override {
    set_record_attention(true);
    forward(b);
    set_record_attention(false);
    AttentionSample a;
    for (auto& l : *transformer->encoder->layers) a.encoder_self.push_back(xg::narrow(l->last_attention, 0, 0, 1).squeeze(0));
    for (auto& l : *transformer->decoder->layers) a.decoder_cross.push_back(xg::narrow(l->last_cross_attention, 0, 0, 1).squeeze(0));
    return a;
  }

  nn::Embedding src_embed{nullptr}, tgt_embed{nullptr};
  nn::PositionalEncoding pos{nullptr};
  nn::Transformer transformer{nullptr};
  nn::Linear generator{nullptr};

 private:
  xg::Tensor embed(nn::Embedding& table, const xg::Tensor& ids, int64_t offset = 0) {
    return pos(table(ids) * std::sqrt(static_cast<double>(cfg.d_model)), offset);
  }
  void set_record_attention(bool on) {
    for (auto& l : *transformer->encoder->layers) l->record_attention = on;
    for (auto& l : *transformer->decoder->layers) l->record_attention = on;
  }
};
XG_MODULE(Seq2Seq);

}  // namespace translate
