#pragma once
// d2l 10.4: sequence to sequence with Bahdanau attention. A GRU encoder reads the source; at each
// output step the decoder's top hidden state is the query of additive attention over the encoder's
// outputs (padding masked by the source lengths), and the GRU decoder reads the context together
// with the previous token's embedding. As d2l: embeddings and GRUs of width d_model, `layers`
// layers with dropout between them, weights initialised Xavier-uniform (d2l's init_seq2seq).
// Unlike d2l, the encoder's state handed to the decoder is each layer's state after the source's
// last real token, not after its padding: one encoder GRU per layer gives every position's state,
// and a batch decodes exactly as each of its examples alone (tested).
#include "translate/model.hpp"

namespace translate {

class BahdanauImpl : public TranslatorImpl {
 public:
  BahdanauImpl(int64_t src_vocab, int64_t tgt_vocab, const ModelConfig& c) : TranslatorImpl(c) {
    const int64_t H = c.d_model;
    src_embed = register_module("src_embed", nn::Embedding(nn::EmbeddingOptions(src_vocab, H).padding_idx(0)));
    tgt_embed = register_module("tgt_embed", nn::Embedding(nn::EmbeddingOptions(tgt_vocab, H).padding_idx(0)));
    encoder = std::make_shared<nn::ModuleListOf<nn::GRU>>();
    for (int64_t l = 0; l < c.layers; ++l) encoder->push_back(nn::GRU(nn::GRUOptions(H, H).batch_first(true)));
    register_child("encoder", encoder);
    attention_ = register_module("attention", nn::AdditiveAttention(nn::AdditiveAttentionOptions(H, H, H).dropout(c.dropout)));
    decoder = register_module("decoder", nn::GRU(nn::GRUOptions(2 * H, H).num_layers(c.layers).dropout(c.dropout).batch_first(true)));
    dense = register_module("dense", nn::Linear(H, tgt_vocab));
    for (auto& [name, p] : named_parameters())  // d2l's init_seq2seq: Xavier for linear and GRU weights
      if (name.find("weight") != std::string::npos && name.find("embed") == std::string::npos) nn::init::xavier_uniform_(p);
  }

  xg::Tensor forward(const Batch& b) override {
    State s = encode(b.src, b.src_pad);
    const xg::Tensor emb = tgt_embed(b.tgt_in);  // (B, T, H)
    xg::TensorList outs, weights;
    for (int64_t t = 0; t < emb.size(1); ++t) {
      outs.push_back(decode_step(xg::narrow(emb, 1, t, 1), s));
      if (record_) weights.push_back(attention_->attention_weights);
    }
    if (record_) recorded_ = xg::cat(weights, 1);  // (B, T, S)
    return dense(xg::cat(outs, 1));
  }

  struct State : DecodeState {
    xg::Tensor enc, valid_lens, hidden;  // (R, S, H), (R), (layers, R, H)
  };
  std::unique_ptr<DecodeState> start(const xg::Tensor& src, const xg::Tensor& src_pad) override {
    return std::make_unique<State>(encode(src, src_pad));
  }
  xg::Tensor step(const xg::Tensor& token, DecodeState& state, int64_t) override {
    return dense(decode_step(tgt_embed(token), static_cast<State&>(state))).squeeze(1);
  }
  void reorder(DecodeState& state, const xg::Tensor& rows) override {
    auto& s = static_cast<State&>(state);
    s.enc = s.enc.index_select(0, rows), s.valid_lens = s.valid_lens.index_select(0, rows);
    s.hidden = s.hidden.index_select(1, rows);
  }

  AttentionSample attention_weights(const Batch& b) override {
    record_ = true;
    forward(b);
    record_ = false;
    AttentionSample a;
    a.decoder_cross.push_back(recorded_);  // one "head": (1, T, S)
    return a;
  }

  std::string describe() const override {
    return xg::str("GRU encoder-decoder with Bahdanau attention: width ", cfg.d_model, ", ", cfg.layers, " layers");
  }

  nn::Embedding src_embed{nullptr}, tgt_embed{nullptr};
  std::shared_ptr<nn::ModuleListOf<nn::GRU>> encoder;  // one GRU per layer: encoder.0, encoder.1, …
  nn::GRU decoder{nullptr};
  nn::AdditiveAttention attention_{nullptr};
  nn::Linear dense{nullptr};

 private:
  // Every layer over the padded batch; a layer's final state is its output at the last real
  // token (padding comes after it, so it changed nothing before).
  State encode(const xg::Tensor& src, const xg::Tensor& src_pad) {
    State s;
    s.valid_lens = xg::sum(xg::logical_not(src_pad).to(xg::kInt64), {1});
    const int64_t B = src.size(0), H = cfg.d_model;
    const xg::Tensor last = xg::clamp(s.valid_lens - 1, 0.0).reshape({B, 1, 1}).expand({B, 1, H});
    xg::Tensor x = src_embed(src);
    xg::TensorList finals;
    for (size_t l = 0; l < encoder->size(); ++l) {
      if (l > 0 && cfg.dropout > 0) x = xg::dropout(x, cfg.dropout, is_training());
      x = std::get<0>((*encoder)[l](x));
      finals.push_back(xg::gather(x, 1, last).squeeze(1));
    }
    s.enc = x, s.hidden = xg::stack(finals, 0);
    return s;
  }
  // One decoder step for embedded tokens (R, 1, H): attend with the top layer's state, read
  // [context, embedding], return the GRU's output (R, 1, H); the state moves on.
  xg::Tensor decode_step(const xg::Tensor& emb, State& s) {
    const xg::Tensor query = xg::select(s.hidden, 0, s.hidden.size(0) - 1).unsqueeze(1);
    const xg::Tensor context = attention_(query, s.enc, s.enc, s.valid_lens);
    auto [out, hidden] = decoder(xg::cat({context, emb}, -1), s.hidden);
    s.hidden = hidden;
    return out;
  }
  bool record_ = false;
  xg::Tensor recorded_;
};

// The model --model names.
inline Translator make_translator(int64_t src_vocab, int64_t tgt_vocab, const ModelConfig& c) {
  if (c.model == "bahdanau") return Translator(std::make_shared<BahdanauImpl>(src_vocab, tgt_vocab, c));
  XG_CHECK(c.model == "transformer", "translate: unknown --model '", c.model, "' (transformer, bahdanau)");
  return Translator(std::make_shared<Seq2SeqImpl>(src_vocab, tgt_vocab, c));
}

}  // namespace translate
