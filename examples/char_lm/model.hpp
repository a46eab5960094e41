#pragma once
// A decoder-only (GPT-style) Transformer over characters: token + learned position embeddings,
// pre-LN blocks of causal self-attention and a GELU MLP, a final LayerNorm and a linear head.
// Generation samples one character at a time on a key/value cache.
#include <cmath>
#include <random>

#include <xgrad/xgrad.hpp>

namespace char_lm {

namespace xg = xgrad;
namespace nn = xg::nn;

struct GPTConfig {
  int64_t vocab = 0, d_model = 128, heads = 4, layers = 4, ffn = 512, context = 128;
  double dropout = 0.1;
};

// x + attn(ln1(x)), then x + mlp(ln2(x)).
class BlockImpl : public nn::Module {
 public:
  explicit BlockImpl(const GPTConfig& c) {
    ln1 = register_module("ln1", nn::LayerNorm(nn::LayerNormOptions({c.d_model})));
    attn = register_module("attn", nn::MultiheadAttention(nn::MultiheadAttentionOptions(c.d_model, c.heads).dropout(c.dropout)));
    ln2 = register_module("ln2", nn::LayerNorm(nn::LayerNormOptions({c.d_model})));
    fc1 = register_module("fc1", nn::Linear(c.d_model, c.ffn));
    fc2 = register_module("fc2", nn::Linear(c.ffn, c.d_model));
    drop = register_module("drop", nn::Dropout(c.dropout));
  }
  // x (B, T, E) with a causal float mask (T, T).
  xg::Tensor forward(const xg::Tensor& x, const xg::Tensor& causal) {
    xg::Tensor h = ln1(x);
    auto [a, w] = attn->forward(h, h, h, xg::Tensor(), record_attention, causal, false);
    if (record_attention) last_attention = w.detach();
    xg::Tensor y = x + drop(a);
    return y + drop(fc2(xg::gelu(fc1(ln2(y)))));
  }
  // One new position x (B, 1, E): attends to the cached keys/values and itself, then caches it.
  xg::Tensor step(const xg::Tensor& x, nn::KeyValue& cache) {
    xg::Tensor h = ln1(x);
    nn::KeyValue kv = attn->project_key_value(h, h);
    if (cache.k.defined()) kv = {xg::cat({cache.k, kv.k}, 2), xg::cat({cache.v, kv.v}, 2)};
    cache = kv;
    xg::Tensor y = x + attn->attend(attn->project_query(h), kv, {}, {}, false, false).first;
    return y + fc2(xg::gelu(fc1(ln2(y))));
  }
  nn::LayerNorm ln1{nullptr}, ln2{nullptr};
  nn::MultiheadAttention attn{nullptr};
  nn::Linear fc1{nullptr}, fc2{nullptr};
  nn::Dropout drop{nullptr};
  bool record_attention = false;
  xg::Tensor last_attention;  // (B, H, T, T) when record_attention
};
XG_MODULE(Block);

class GPTImpl : public nn::Module {
 public:
  explicit GPTImpl(const GPTConfig& c) : cfg(c) {
    tok = register_module("tok", nn::Embedding(c.vocab, c.d_model));
    pos = register_module("pos", nn::LearnedPositionalEncoding(c.context, c.d_model, c.dropout));
    blocks = std::make_shared<nn::ModuleListOf<Block>>();
    for (int64_t i = 0; i < c.layers; ++i) blocks->push_back(Block(c));
    register_child("blocks", blocks);
    ln_f = register_module("ln_f", nn::LayerNorm(nn::LayerNormOptions({c.d_model})));
    head = register_module("head", nn::Linear(c.d_model, c.vocab));
    // GPT-2's initialisation: N(0, 0.02) weights, zero biases, and the projections that add into
    // the residual stream scaled down by √(2·layers) so its variance doesn't grow with depth.
    for (auto& [name, p] : named_parameters()) {
      if (p.dim() < 2) continue;
      const bool residual = name.find("out_proj.weight") != std::string::npos || name.find("fc2.weight") != std::string::npos;
      nn::init::normal_(p, 0.0, residual ? 0.02 / std::sqrt(2.0 * static_cast<double>(c.layers)) : 0.02);
    }
  }

  // ids (B, T) with T <= context → logits (B, T, vocab).
  xg::Tensor forward(const xg::Tensor& ids) {
    const int64_t T = ids.size(1);
    XG_CHECK(T <= cfg.context, "GPT: ", T, " positions, the context is ", cfg.context);
    xg::Tensor x = pos(tok(ids));
    const xg::Tensor causal = nn::generate_square_subsequent_mask(T);
    for (auto& b : *blocks) x = b(x, causal);
    return head(ln_f(x));
  }

  // Continues `prompt` (token ids, non-empty) by n tokens sampled at `temperature` from the top_k
  // most likely (0: all), on the key/value cache. When the context is full, the cache is rebuilt
  // from the last half context (learned positions stop at the context length).
  std::vector<int64_t> generate(std::vector<int64_t> prompt, int64_t n, double temperature, int64_t top_k,
                                std::mt19937_64& rng) {
    XG_CHECK(!prompt.empty(), "GPT::generate: the prompt is empty");
    XG_CHECK(temperature > 0, "GPT::generate: temperature must be > 0, got ", temperature);
    xg::NoGradGuard ng;
    const bool was_training = is_training();
    eval();
    std::vector<nn::KeyValue> cache;
    int64_t cached = 0;  // positions in the cache
    std::vector<int64_t> out = prompt;
    xg::Tensor logits;
    auto feed = [&](int64_t id) {  // one token through every block, at position `cached`
      xg::Tensor x = pos(tok(xg::tensor(std::vector<int64_t>{id}).reshape({1, 1})), cached);
      for (size_t i = 0; i < blocks->size(); ++i) x = (*blocks)[i]->step(x, cache[i]);
      ++cached;
      logits = head(ln_f(x)).reshape({-1});
    };
    auto restart = [&](size_t keep) {  // rebuild the cache from the last `keep` tokens
      cache.assign(blocks->size(), {});
      cached = 0;
      for (size_t i = out.size() - std::min(keep, out.size()); i < out.size(); ++i) feed(out[i]);
    };
    restart(static_cast<size_t>(cfg.context));
    for (int64_t i = 0; i < n; ++i) {
      const int64_t next = sample(logits, temperature, top_k, rng);
      out.push_back(next);
      if (cached == cfg.context) restart(static_cast<size_t>(cfg.context / 2));
      else feed(next);
    }
    train(was_training);
    return std::vector<int64_t>(out.begin() + static_cast<std::ptrdiff_t>(prompt.size()), out.end());
  }

  // Draws from softmax(logits / temperature) restricted to the top_k largest logits.
  static int64_t sample(const xg::Tensor& logits, double temperature, int64_t top_k, std::mt19937_64& rng) {
    const xg::Tensor l64 = logits.to(xg::kFloat64).contiguous();
    const double* l = l64.data_ptr<double>();
    const int64_t V = l64.numel();
    std::vector<std::pair<double, int64_t>> c(static_cast<size_t>(V));
    for (int64_t v = 0; v < V; ++v) c[static_cast<size_t>(v)] = {l[v] / temperature, v};
    const size_t k = top_k > 0 ? static_cast<size_t>(std::min(top_k, V)) : c.size();
    std::partial_sort(c.begin(), c.begin() + static_cast<std::ptrdiff_t>(k), c.end(),
                      [](auto& a, auto& b) { return a.first > b.first; });
    double total = 0;
    for (size_t i = 0; i < k; ++i) total += c[i].first = std::exp(c[i].first - c[0].first);
    double u = std::uniform_real_distribution<double>(0.0, total)(rng);
    for (size_t i = 0; i < k; ++i)
      if ((u -= c[i].first) <= 0) return c[i].second;
    return c[k - 1].second;
  }

  void set_record_attention(bool on) {
    for (auto& b : *blocks) b->record_attention = on;
  }

  GPTConfig cfg;
  nn::Embedding tok{nullptr};
  nn::LearnedPositionalEncoding pos{nullptr};
  std::shared_ptr<nn::ModuleListOf<Block>> blocks;
  nn::LayerNorm ln_f{nullptr};
  nn::Linear head{nullptr};
};
XG_MODULE(GPT);

}  // namespace char_lm
