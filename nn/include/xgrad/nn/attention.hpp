#pragma once
// Attention in the forms the d2l book teaches and Transformers use. Batch first throughout:
// queries (B, L, E), keys (B, S, E), values (B, S, Ev).
#include <utility>

#include "xgrad/nn/linear.hpp"
#include "xgrad/nn/module.hpp"
#include "xgrad/ops.hpp"
#include "xgrad/options.hpp"

namespace xgrad::nn {

// Masks are Bool (true = masked, or for SDPA's attn_mask true = may attend) or floating (added to
// the scores), as PyTorch; any other dtype (an Int64 tensor from xg::tensor({0, 1})) is an Error
// naming the op, the argument and the dtype. Undefined masks pass.
void check_mask(const Tensor& mask, const char* op, const char* argument);

// Softmax over the last dim of X (B, L, S) keeping, in row (b, i), only the first valid_lens[b]
// (valid_lens (B)) or valid_lens[b, i] (valid_lens (B, L)) keys; the rest get weight 0.
// Undefined valid_lens: a plain softmax. (d2l's masked_softmax.)
Tensor masked_softmax(const Tensor& X, const Tensor& valid_lens);

// The fused op (xgrad::scaled_dot_product_attention, ops.hpp), also reachable as nn's.
using xgrad::scaled_dot_product_attention;
// The composite formula, returning (output, weights): softmax(q·kᵀ/√E + mask) (after dropout),
// as the fused op computes it; rows whose keys are all masked get weights 0.
std::pair<Tensor, Tensor> scaled_dot_product_attention_with_weights(const Tensor& q, const Tensor& k, const Tensor& v,
                                                                    const Tensor& attn_mask = {}, double dropout_p = 0.0,
                                                                    bool is_causal = false);

struct DotProductAttentionOptions {
  DotProductAttentionOptions(double dropout = 0.0) : dropout_(dropout) {}  // NOLINT: as DropoutOptions
  XG_ARG(double, dropout);
};

// d2l's scaled dot-product attention with valid lengths; keeps the last weights for heatmaps.
class DotProductAttentionImpl : public Module {
 public:
  explicit DotProductAttentionImpl(const DotProductAttentionOptions& options = {});
  Tensor forward(const Tensor& queries, const Tensor& keys, const Tensor& values, const Tensor& valid_lens = {});
  DotProductAttentionOptions options;
  Tensor attention_weights;  // (B, L, S), from the last forward
};
XG_MODULE(DotProductAttention);

struct AdditiveAttentionOptions {
  AdditiveAttentionOptions(int64_t key_size, int64_t query_size, int64_t num_hiddens)
      : key_size_(key_size), query_size_(query_size), num_hiddens_(num_hiddens) {}
  XG_ARG(int64_t, key_size);
  XG_ARG(int64_t, query_size);
  XG_ARG(int64_t, num_hiddens);
  XG_ARG(double, dropout) = 0.0;
};

// Bahdanau's additive attention: score(q, k) = w_vᵀ tanh(W_q q + W_k k).
class AdditiveAttentionImpl : public Module {
 public:
  AdditiveAttentionImpl(int64_t key_size, int64_t query_size, int64_t num_hiddens, double dropout = 0.0)
      : AdditiveAttentionImpl(AdditiveAttentionOptions(key_size, query_size, num_hiddens).dropout(dropout)) {}
  explicit AdditiveAttentionImpl(const AdditiveAttentionOptions& options);
  Tensor forward(const Tensor& queries, const Tensor& keys, const Tensor& values, const Tensor& valid_lens = {});
  AdditiveAttentionOptions options;
  Linear W_k{nullptr}, W_q{nullptr}, w_v{nullptr};
  Tensor attention_weights;  // (B, L, S), from the last forward
};
XG_MODULE(AdditiveAttention);

struct MultiheadAttentionOptions {
  MultiheadAttentionOptions(int64_t embed_dim, int64_t num_heads) : embed_dim_(embed_dim), num_heads_(num_heads) {}
  XG_ARG(int64_t, embed_dim);
  XG_ARG(int64_t, num_heads);
  XG_ARG(double, dropout) = 0.0;
  XG_ARG(bool, bias) = true;
  XG_ARG(int64_t, kdim) = 0;  // 0: embed_dim
  XG_ARG(int64_t, vdim) = 0;
};

// Projected keys and values in head layout (B, H, S, head_dim): what incremental decoding caches.
struct KeyValue {
  Tensor k, v;
};

// torch.nn.MultiheadAttention (batch_first) with PyTorch's parameter names and initialisation:
// in_proj_weight (3E, E) — or q/k/v_proj_weight when kdim/vdim differ — in_proj_bias,
// out_proj.weight, out_proj.bias.
class MultiheadAttentionImpl : public Module {
 public:
  MultiheadAttentionImpl(int64_t embed_dim, int64_t num_heads)
      : MultiheadAttentionImpl(MultiheadAttentionOptions(embed_dim, num_heads)) {}
  explicit MultiheadAttentionImpl(const MultiheadAttentionOptions& options);

  // key_padding_mask (B, S): Bool, true = ignore that key; or float, added. attn_mask (L, S) or
  // (B·H, L, S): Bool, true = not allowed; or float, added (e.g. generate_square_subsequent_mask).
  // Returns the output (B, L, E) and, if need_weights, the weights (B, L, S) averaged over heads
  // or (B, H, L, S).
  std::pair<Tensor, Tensor> forward(const Tensor& query, const Tensor& key, const Tensor& value,
                                    const Tensor& key_padding_mask = {}, bool need_weights = true,
                                    const Tensor& attn_mask = {}, bool average_attn_weights = true);

  // The pieces forward is made of, for incremental decoding with a key/value cache.
  Tensor project_query(const Tensor& query) const;                     // → (B, H, L, hd)
  KeyValue project_key_value(const Tensor& key, const Tensor& value) const;  // → (B, H, S, hd) each
  std::pair<Tensor, Tensor> attend(const Tensor& q, const KeyValue& kv, const Tensor& key_padding_mask,
                                   const Tensor& attn_mask, bool need_weights, bool average_attn_weights);

  void pretty_print(std::ostream& os) const override;
  MultiheadAttentionOptions options;
  int64_t head_dim;
  Tensor in_proj_weight, q_proj_weight, k_proj_weight, v_proj_weight, in_proj_bias;
  Linear out_proj{nullptr};

 private:
  std::pair<Tensor, KeyValue> project(const Tensor& query, const Tensor& key, const Tensor& value) const;
  std::pair<TensorList, TensorList> in_proj_q_kv() const;
  std::pair<Tensor, bool> attention_mask(const Tensor& key_padding_mask, const Tensor& attn_mask, int64_t B,
                                         int64_t L, int64_t S, ScalarType dtype) const;
  bool same_dims_;
};
XG_MODULE(MultiheadAttention);

}  // namespace xgrad::nn
