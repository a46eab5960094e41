#include "xgrad/nn/attention.hpp"

#include <cmath>
#include <tuple>
#include <type_traits>

#include "xgrad/nn/init.hpp"
#include "xgrad/ops.hpp"

namespace xgrad::nn {

void check_mask(const Tensor& mask, const char* op, const char* argument) {
  XG_CHECK(!mask.defined() || mask.dtype() == kBool || mask.is_floating_point(), op, ": ", argument,
           " must be a Bool or floating mask, got ", dtype_name(mask.dtype()), " (shape ", mask.sizes(), ")");
}

Tensor masked_softmax(const Tensor& X, const Tensor& valid_lens) {
  if (!valid_lens.defined()) return softmax(X, -1);
  XG_CHECK(X.dim() >= 2, "masked_softmax: X must have at least 2 dims, got ", X.sizes());
  XG_CHECK(valid_lens.dim() >= 1 && valid_lens.dim() < X.dim(), "masked_softmax: valid_lens of shape ",
           valid_lens.sizes(), " doesn't fit scores of shape ", X.sizes());
  for (int64_t d = 0; d < valid_lens.dim(); ++d)
    XG_CHECK(valid_lens.sizes()[d] == X.sizes()[d], "masked_softmax: valid_lens of shape ", valid_lens.sizes(),
             " doesn't match the leading dims of scores ", X.sizes());
  // lens (B) or (B, L) → broadcastable against (B, L, S); keep key j where j < len.
  Shape lens_shape = valid_lens.sizes();
  while (static_cast<int64_t>(lens_shape.size()) < X.dim()) lens_shape.push_back(1);
  Tensor lens = valid_lens.to(kInt64).reshape(lens_shape);
  Tensor keep = arange(static_cast<double>(X.sizes().back())) < lens;
  // -1e6 rather than -inf, as d2l: a row with no valid key becomes uniform instead of NaN.
  return softmax(masked_fill(X, ~keep, -1e6), -1);
}

std::pair<Tensor, Tensor> scaled_dot_product_attention_with_weights(const Tensor& q, const Tensor& k, const Tensor& v,
                                                                    const Tensor& attn_mask, double dropout_p,
                                                                    bool is_causal) {
  auto [out, w] = _scaled_dot_product_attention_math(q, k, v, attn_mask, dropout_p, is_causal);
  return {out, w};
}

// ---------------------------------------------------------------- d2l attention modules

Tensor DotProductAttentionImpl::forward(const Tensor& queries, const Tensor& keys, const Tensor& values,
                                        const Tensor& valid_lens) {
  XG_CHECK(queries.dim() == 3 && keys.dim() == 3 && values.dim() == 3, "DotProductAttention: expected 3-D queries, ",
           "keys and values, got ", queries.sizes(), ", ", keys.sizes(), ", ", values.sizes());
  const double d = static_cast<double>(queries.sizes().back());
  Tensor scores = matmul_t(queries, keys, false, true) * (1.0 / std::sqrt(d));
  attention_weights = masked_softmax(scores, valid_lens);
  return matmul(xgrad::dropout(attention_weights, options.dropout(), is_training()), values);
}

DotProductAttentionImpl::DotProductAttentionImpl(const DotProductAttentionOptions& o) : options(o) {
  XG_CHECK(o.dropout() >= 0 && o.dropout() <= 1, "DotProductAttention: dropout must be in [0, 1], got ", o.dropout());
}

AdditiveAttentionImpl::AdditiveAttentionImpl(const AdditiveAttentionOptions& o) : options(o) {
  XG_CHECK(o.dropout() >= 0 && o.dropout() <= 1, "AdditiveAttention: dropout must be in [0, 1], got ", o.dropout());
  W_k = register_module("W_k", Linear(LinearOptions(o.key_size(), o.num_hiddens()).bias(false)));
  W_q = register_module("W_q", Linear(LinearOptions(o.query_size(), o.num_hiddens()).bias(false)));
  w_v = register_module("w_v", Linear(LinearOptions(o.num_hiddens(), 1).bias(false)));
}

Tensor AdditiveAttentionImpl::forward(const Tensor& queries, const Tensor& keys, const Tensor& values,
                                      const Tensor& valid_lens) {
  XG_CHECK(queries.dim() == 3 && keys.dim() == 3 && values.dim() == 3, "AdditiveAttention: expected 3-D queries, ",
           "keys and values, got ", queries.sizes(), ", ", keys.sizes(), ", ", values.sizes());
  // (B, L, 1, h) + (B, 1, S, h) → (B, L, S, h): every query against every key.
  Tensor features = tanh(W_q(queries).unsqueeze(2) + W_k(keys).unsqueeze(1));
  Tensor scores = w_v(features).squeeze(-1);
  attention_weights = masked_softmax(scores, valid_lens);
  return matmul(xgrad::dropout(attention_weights, options.dropout(), is_training()), values);
}

// ---------------------------------------------------------------- MultiheadAttention

MultiheadAttentionImpl::MultiheadAttentionImpl(const MultiheadAttentionOptions& o) : options(o) {
  const int64_t E = o.embed_dim(), H = o.num_heads();
  XG_CHECK(E > 0 && H > 0, "MultiheadAttention: embed_dim and num_heads must be positive, got ", E, " and ", H);
  XG_CHECK(E % H == 0, "MultiheadAttention: embed_dim ", E, " must be divisible by num_heads ", H);
  XG_CHECK(o.dropout() >= 0 && o.dropout() <= 1, "MultiheadAttention: dropout must be in [0, 1], got ", o.dropout());
  head_dim = E / H;
  const int64_t kdim = o.kdim() ? o.kdim() : E, vdim = o.vdim() ? o.vdim() : E;
  options.kdim(kdim).vdim(vdim);
  same_dims_ = kdim == E && vdim == E;
  if (same_dims_) {
    in_proj_weight = register_parameter("in_proj_weight", empty({3 * E, E}));
    init::xavier_uniform_(in_proj_weight);
  } else {
    q_proj_weight = register_parameter("q_proj_weight", empty({E, E}));
    k_proj_weight = register_parameter("k_proj_weight", empty({E, kdim}));
    v_proj_weight = register_parameter("v_proj_weight", empty({E, vdim}));
    init::xavier_uniform_(q_proj_weight);
    init::xavier_uniform_(k_proj_weight);
    init::xavier_uniform_(v_proj_weight);
  }
  if (o.bias()) in_proj_bias = register_parameter("in_proj_bias", zeros({3 * E}));
  out_proj = register_module("out_proj", Linear(LinearOptions(E, E).bias(o.bias())));
  if (o.bias()) init::zeros_(out_proj->bias);
}

namespace {
// (B, L, n·E), n projections side by side → n tensors (B, H, L, hd): one copy into head layout, then
// views of it (unbind along its leading dim).
TensorList to_heads(const Tensor& x, int64_t n, int64_t H) {
  const int64_t B = x.sizes()[0], L = x.sizes()[1], E = x.sizes()[2] / n;
  return x.reshape({B, L, n, H, E / H}).permute({2, 0, 3, 1, 4}).unbind(0);
}
}  // namespace

// The packed in_proj_weight (3E, E) and in_proj_bias (3E) are read through views of their row
// blocks, taken with one split per forward: its backward assembles their gradient once, from the
// blocks' gradients, with no zero padding. One GEMM per distinct input: q, k and v together for
// self-attention, k and v together when key is value.
// An undefined query (or key and value) is not projected: project_query and project_key_value,
// which incremental decoding calls separately, are this with the other half left out.
std::pair<Tensor, KeyValue> MultiheadAttentionImpl::project(const Tensor& query, const Tensor& key,
                                                            const Tensor& value) const {
  const int64_t H = options.num_heads();
  auto heads = [H](const Tensor& x, const Tensor& w, const Tensor& b, int64_t n) {
    return x.defined() ? to_heads(linear(x, w, b), n, H) : TensorList(static_cast<size_t>(n));
  };
  if (same_dims_ && query.defined() && query.is_same(key) && key.is_same(value)) {
    TensorList qkv = heads(query, in_proj_weight, in_proj_bias, 3);
    return {qkv[0], {qkv[1], qkv[2]}};
  }
  if (same_dims_ && key.defined() && key.is_same(value)) {
    const auto [w, b] = in_proj_q_kv();
    TensorList kv = heads(key, w[1], b[1], 2);
    return {heads(query, w[0], b[0], 1)[0], {kv[0], kv[1]}};
  }
  TensorList w = same_dims_ ? in_proj_weight.chunk(3) : TensorList{q_proj_weight, k_proj_weight, v_proj_weight};
  TensorList b = in_proj_bias.defined() ? in_proj_bias.chunk(3) : TensorList(3);
  return {heads(query, w[0], b[0], 1)[0], {heads(key, w[1], b[1], 1)[0], heads(value, w[2], b[2], 1)[0]}};
}

// in_proj_weight and in_proj_bias as [q rows | k and v rows]: one split each (their backward
// assembles the packed gradient once), for attention whose key is its value.
std::pair<TensorList, TensorList> MultiheadAttentionImpl::in_proj_q_kv() const {
  const int64_t E = options.embed_dim();
  return {in_proj_weight.split({E, 2 * E}), in_proj_bias.defined() ? in_proj_bias.split({E, 2 * E}) : TensorList(2)};
}

Tensor MultiheadAttentionImpl::project_query(const Tensor& query) const { return project(query, {}, {}).first; }

KeyValue MultiheadAttentionImpl::project_key_value(const Tensor& key, const Tensor& value) const {
  return project({}, key, value).second;
}

namespace {
// True when mask (L, S) is the causal pattern — key j masked exactly where j > i — as a Bool mask
// (true = masked) or a float one (−inf and 0, generate_square_subsequent_mask's): attention can
// then skip the masked tiles instead of reading the mask (PyTorch 2 detects it the same way).
bool is_causal_mask(const Tensor& mask) {
  if (!mask.defined() || mask.dim() != 2 || mask.requires_grad()) return false;
  const int64_t L = mask.sizes()[0], S = mask.sizes()[1];
  auto check = [&](const auto* m) {
    for (int64_t i = 0; i < L; ++i)
      for (int64_t j = 0; j < S; ++j) {
        const auto x = m[i * S + j];
        using X = std::decay_t<decltype(x)>;
        const bool want = j > i;
        if constexpr (std::is_same_v<X, bool>) {
          if (x != want) return false;
        } else if (want ? x != -INFINITY : x != 0) {
          return false;
        }
      }
    return true;
  };
  switch (mask.dtype()) {
    case kBool: return check(mask.data_ptr<bool>());
    case kFloat32: return check(mask.data_ptr<float>());
    case kFloat64: return check(mask.data_ptr<double>());
    default: return false;
  }
}

// MultiheadAttention's masks (Bool: true = masked; float: added) as one scaled_dot_product_attention
// mask (Bool: true = may attend; float: added), broadcasting (B, H, L, S).
Tensor merge_masks(const Tensor& attn_mask, const Tensor& key_padding_mask, ScalarType dtype) {
  const Tensor &a = attn_mask, &k = key_padding_mask;
  if (!a.defined() && !k.defined()) return {};
  const bool boolean = (!a.defined() || a.dtype() == kBool) && (!k.defined() || k.dtype() == kBool);
  if (boolean) return !a.defined() ? ~k : !k.defined() ? ~a : ~(a | k);
  auto additive = [dtype](const Tensor& m) {
    return m.dtype() == kBool ? masked_fill(zeros(m.sizes(), dtype), m, -INFINITY) : m.to(dtype);
  };
  return !a.defined() ? additive(k) : !k.defined() ? additive(a) : additive(a) + additive(k);
}
}  // namespace

// Without weights to return, attention is the fused op: memory linear in L and S, causal masks
// recognised and skipped tile by tile. With them, the composite formula (its weights are the
// (B, H, L, S) tensor the caller asked for); both take the same merged mask and give a query
// whose keys are all masked output 0.
// The one mask attention takes, from MultiheadAttention's two (shapes checked), and whether it is
// the causal pattern (then dropped: the kernels skip those tiles).
std::pair<Tensor, bool> MultiheadAttentionImpl::attention_mask(const Tensor& key_padding_mask,
                                                               const Tensor& attn_mask, int64_t B, int64_t L,
                                                               int64_t S, ScalarType dtype) const {
  const int64_t H = options.num_heads();
  check_mask(attn_mask, "MultiheadAttention", "attn_mask");
  check_mask(key_padding_mask, "MultiheadAttention", "key_padding_mask");
  Tensor am, kpm;
  if (attn_mask.defined()) {
    bool ok2 = attn_mask.dim() == 2 && attn_mask.sizes() == Shape{L, S};
    bool ok3 = attn_mask.dim() == 3 && attn_mask.sizes() == Shape{B * H, L, S};
    XG_CHECK(ok2 || ok3, "MultiheadAttention: attn_mask of shape ", attn_mask.sizes(), " should be (L, S) = [", L,
             ", ", S, "] or (batch·num_heads, L, S) = [", B * H, ", ", L, ", ", S, "]");
    am = ok3 ? attn_mask.reshape({B, H, L, S}) : attn_mask;
  }
  if (key_padding_mask.defined()) {
    XG_CHECK(key_padding_mask.sizes() == Shape({B, S}), "MultiheadAttention: key_padding_mask of shape ",
             key_padding_mask.sizes(), " should be (batch, S) = [", B, ", ", S, "]");
    kpm = key_padding_mask.reshape({B, 1, 1, S});
  }
  const bool causal = is_causal_mask(am);
  return {merge_masks(causal ? Tensor() : am, kpm, dtype), causal};
}

// Without weights to return, attention is the fused op: memory linear in L and S, causal masks
// recognised and skipped tile by tile. With them, the composite formula (its weights are the
// (B, H, L, S) tensor the caller asked for); both take the same merged mask and give a query
// whose keys are all masked output 0.
std::pair<Tensor, Tensor> MultiheadAttentionImpl::attend(const Tensor& q, const KeyValue& kv,
                                                         const Tensor& key_padding_mask, const Tensor& attn_mask,
                                                         bool need_weights, bool average_attn_weights) {
  const int64_t B = q.sizes()[0], L = q.sizes()[2], S = kv.k.sizes()[2];
  const double p = is_training() ? options.dropout() : 0.0;
  const auto [mask, causal] = attention_mask(key_padding_mask, attn_mask, B, L, S, q.dtype());
  Tensor out, weights;
  if (!need_weights) {
    out = scaled_dot_product_attention(q, kv.k, kv.v, mask, p, causal);
  } else {
    Tensor w;
    std::tie(out, w) = _scaled_dot_product_attention_math(q, kv.k, kv.v, mask, p, causal);
    weights = average_attn_weights ? mean(w, {1}) : w;
  }
  return {out_proj(out.permute({0, 2, 1, 3}).reshape({B, L, options.embed_dim()})), weights};
}

std::pair<Tensor, Tensor> MultiheadAttentionImpl::forward(const Tensor& query, const Tensor& key, const Tensor& value,
                                                          const Tensor& key_padding_mask, bool need_weights,
                                                          const Tensor& attn_mask, bool average_attn_weights) {
  const int64_t E = options.embed_dim();
  XG_CHECK(query.defined() && query.dim() == 3 && query.sizes()[2] == E,
           "MultiheadAttention: query must be (batch, seq, embed_dim=", E, "), got ",
           query.defined() ? query.sizes() : Shape{});
  XG_CHECK(key.defined() && key.dim() == 3 && key.sizes()[2] == options.kdim() && key.sizes()[0] == query.sizes()[0],
           "MultiheadAttention: key must be (batch=", query.sizes()[0], ", S, kdim=", options.kdim(), "), got ",
           key.defined() ? key.sizes() : Shape{});
  XG_CHECK(value.defined() && value.dim() == 3 && value.sizes()[2] == options.vdim() &&
               value.sizes()[0] == key.sizes()[0] && value.sizes()[1] == key.sizes()[1],
           "MultiheadAttention: value must be (batch, S=", key.sizes()[1], ", vdim=", options.vdim(), "), got ",
           value.defined() ? value.sizes() : Shape{});
  // The packed path (no weights, one in_proj_weight, self-attention or key is value): the heads
  // are read in place from the projections, the output comes back as (B, L, E) for out_proj.
  if (!need_weights && same_dims_ && key.is_same(value)) {
    const int64_t B = query.sizes()[0], L = query.sizes()[1], S = key.sizes()[1];
    const double p = is_training() ? options.dropout() : 0.0;
    const auto [mask, causal] = attention_mask(key_padding_mask, attn_mask, B, L, S, query.dtype());
    Tensor out;
    if (query.is_same(key)) {
      out = _packed_multi_head_attention(linear(query, in_proj_weight, in_proj_bias), {}, options.num_heads(), mask,
                                         p, causal);
    } else {
      const auto [w, b] = in_proj_q_kv();
      out = _packed_multi_head_attention(linear(query, w[0], b[0]), linear(key, w[1], b[1]), options.num_heads(),
                                         mask, p, causal);
    }
    return {out_proj(out), {}};
  }
  auto [q, kv] = project(query, key, value);
  return attend(q, kv, key_padding_mask, attn_mask, need_weights, average_attn_weights);
}

void MultiheadAttentionImpl::pretty_print(std::ostream& os) const {
  os << "MultiheadAttention(embed_dim=" << options.embed_dim() << ", num_heads=" << options.num_heads()
     << ", dropout=" << options.dropout() << ")";
}

}  // namespace xgrad::nn
