// Scaled dot-product attention: the fused kernel (kernels/flash_attention) recorded as one op, and
// the composite formula beside it — the reference the kernel is tested against, what returns the
// weights, and what the op's backward becomes under create_graph so grad-of-grad keeps working.
#include <cmath>

#include "kernels/dropout.hpp"
#include "kernels/flash_attention.hpp"
#include "xgrad/grad_mode.hpp"
#include "xgrad/ops.hpp"
#include "xgrad/random.hpp"
#include "xgrad/record.hpp"

namespace xgrad {

using autograd::BackwardCtx;
using autograd::record;

namespace {

constexpr const char* kOp = "scaled_dot_product_attention";

struct Dims {
  Shape batch;  // q, k and v's leading dims, broadcast
  int64_t L, S, E, Ev;
  int64_t N;  // problems: the product of the batch dims
};

Shape with_last(Shape batch, int64_t a, int64_t b = -1) {
  batch.push_back(a);
  if (b >= 0) batch.push_back(b);
  return batch;
}

// dropout_p in [0, 1]; the mask Bool or floating and broadcasting to the scores (batch..., L, S).
void check_mask_and_dropout(const Tensor& mask, double dropout_p, const Dims& d, const char* op) {
  XG_CHECK(dropout_p >= 0 && dropout_p <= 1, op, ": dropout_p must be in [0, 1], got ", dropout_p);
  if (!mask.defined()) return;
  XG_CHECK(mask.dtype() == kBool || mask.is_floating_point(), op, ": attn_mask must be Bool or floating, got ",
           dtype_name(mask.dtype()), " (shape ", mask.sizes(), ")");
  const Shape scores = with_last(d.batch, d.L, d.S);
  bool fits = mask.dim() <= static_cast<int64_t>(scores.size());
  for (int64_t i = 1; fits && i <= mask.dim(); ++i) {
    const int64_t m = mask.sizes()[mask.dim() - i];
    fits = m == 1 || m == scores[scores.size() - i];
  }
  XG_CHECK(fits, op, ": attn_mask of shape ", mask.sizes(), " doesn't broadcast to the scores' shape ", scores);
}

Dims check_inputs(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& mask, double dropout_p,
                  const char* op) {
  XG_CHECK(q.defined() && k.defined() && v.defined(), op, ": query, key or value is undefined");
  XG_CHECK(q.is_floating_point() && q.dtype() == k.dtype() && q.dtype() == v.dtype(), op,
           ": query, key and value must share one floating dtype, got ", dtype_name(q.dtype()), ", ",
           dtype_name(k.dtype()), " and ", dtype_name(v.dtype()));
  XG_CHECK(q.dim() >= 2 && k.dim() >= 2 && v.dim() >= 2 && q.sizes().back() == k.sizes().back() &&
               k.sizes()[k.dim() - 2] == v.sizes()[v.dim() - 2],
           op, ": shapes query ", q.sizes(), ", key ", k.sizes(), ", value ", v.sizes(),
           " don't fit (..., L, E), (..., S, E), (..., S, Ev)");
  auto lead = [](const Tensor& t) { return Shape(std::vector<int64_t>(t.sizes().begin(), t.sizes().end() - 2)); };
  Dims d{broadcast_shapes(broadcast_shapes(lead(q), lead(k), op), lead(v), op), q.sizes()[q.dim() - 2],
         k.sizes()[k.dim() - 2], q.sizes().back(), v.sizes().back(), 1};
  for (int64_t b : d.batch) d.N *= b;
  check_mask_and_dropout(mask, dropout_p, d, op);
  return d;
}

// softmax(scale·q·kᵀ, masked) with rows whose keys are all masked set to 0 (softmax would give NaN).
Tensor attention_probs(const Tensor& q, const Tensor& k, const Tensor& mask, bool is_causal, double scale) {
  const int64_t L = q.sizes()[q.dim() - 2], S = k.sizes()[k.dim() - 2];
  Tensor s = matmul_t(q, k, false, true) * scale;
  if (is_causal) s = masked_fill(s, ~tril(ones({L, S}, kBool)), -INFINITY);
  if (mask.defined()) s = mask.dtype() == kBool ? masked_fill(s, ~mask, -INFINITY) : s + mask.to(s.dtype());
  Tensor dead = amax(s.detach(), {-1}, true) == -INFINITY;
  if (sum(dead.to(kFloat64)).item<double>() == 0) return softmax(s, -1);
  return masked_fill(softmax(masked_fill(s, dead, 0.0), -1), dead, 0.0);
}

// The dropout multipliers (0 or 1/(1 − p)) of the fused kernel's call with this seed, shaped
// like the scores.
Tensor dropout_multipliers(uint64_t seed, double p, const Dims& d, ScalarType dtype) {
  Tensor keep = empty(with_last(d.batch, d.L, d.S), kBool);
  kernels::attention_keep_mask(seed, p, d.N, d.L, d.S, keep.data_ptr<bool>());
  return keep.to(dtype) * kernels::dropout_scale(p);
}

// The mask's layout for the kernel: per problem n an offset, and strides for query i and key j
// (0 where it broadcasts). Mask dims are right-aligned against (batch..., L, S).
void describe_mask(const Tensor& mask, const Dims& d, std::vector<int64_t>& offset, int64_t& stride_l,
                   int64_t& stride_s) {
  const int64_t nb = static_cast<int64_t>(d.batch.size()), md = mask.dim();
  std::vector<int64_t> stride(nb + 2, 0);  // per dim of (batch..., L, S)
  int64_t contiguous = 1;
  for (int64_t i = md - 1; i >= 0; --i) {
    const int64_t dim = nb + 2 - (md - i);
    if (mask.sizes()[i] != 1) stride[dim] = contiguous;
    contiguous *= mask.sizes()[i];
  }
  stride_l = stride[nb];
  stride_s = stride[nb + 1];
  offset.assign(d.N, 0);
  for (int64_t n = 0; n < d.N; ++n) {
    int64_t rest = n, off = 0;
    for (int64_t b = nb - 1; b >= 0; --b) {
      off += rest % d.batch[b] * stride[b];
      rest /= d.batch[b];
    }
    offset[n] = off;
  }
}

template <class T>
kernels::AttentionProblem<T> make_problem(const T* q, const T* k, const T* v, const Tensor& mask, const Dims& d,
                                          double scale, bool causal, double dropout_p, uint64_t seed) {
  kernels::AttentionProblem<T> p;
  p.q = q;
  p.k = k;
  p.v = v;
  p.N = d.N;
  p.L = d.L, p.S = d.S, p.E = d.E, p.Ev = d.Ev;
  p.scale = static_cast<T>(scale);
  p.causal = causal;
  if (mask.defined()) {
    if (mask.dtype() == kBool) p.bool_mask = mask.data_ptr<bool>();
    else p.add_mask = mask.data_ptr<T>();
    describe_mask(mask, d, p.mask_offset, p.mask_stride_l, p.mask_stride_s);
  }
  p.dropout_p = dropout_p;
  p.seed = seed;
  p.contiguous();
  return p;
}

// dq, dk, dv of the op from dout = g in differentiable ops (grad-of-grad), the kernel's dropout
// mask regenerated from its seed.
TensorList composite_backward(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& g, const Tensor& mask,
                              bool is_causal, double scale, double dropout_p, uint64_t seed, const Dims& d) {
  Tensor P = attention_probs(q, k, mask, is_causal, scale);
  Tensor Z = dropout_p > 0 ? dropout_multipliers(seed, dropout_p, d, q.dtype()) : Tensor();
  Tensor dP = matmul_t(g, v, false, true);
  if (Z.defined()) dP = dP * Z;
  Tensor ds = _softmax_backward_data(dP, P, -1);
  return {matmul(ds, k) * scale, matmul_t(ds, q, true, false) * scale,
          matmul_t(Z.defined() ? P * Z : P, g, true, false)};
}

uint64_t draw_seed(double dropout_p) {
  if (dropout_p <= 0) return 0;
  std::lock_guard<std::mutex> lock(global_generator_mutex());
  return global_generator()();  // one draw per call: the key of this call's dropout stream
}

}  // namespace

std::tuple<Tensor, Tensor> _scaled_dot_product_attention_math(const Tensor& q, const Tensor& k, const Tensor& v,
                                                              const Tensor& attn_mask, double dropout_p,
                                                              bool is_causal, const Tensor& dropout_mask,
                                                              std::optional<double> scale) {
  const char* op = "_scaled_dot_product_attention_math";
  const Dims d = check_inputs(q, k, v, attn_mask, dropout_p, op);
  Tensor w = attention_probs(q, k, attn_mask, is_causal, scale.value_or(1.0 / std::sqrt(double(d.E))));
  if (dropout_p > 0) {
    if (dropout_mask.defined()) {
      XG_CHECK(dropout_mask.dtype() == kBool && dropout_mask.sizes() == w.sizes(), op,
               ": dropout_mask must be a Bool keep mask of the weights' shape ", w.sizes(), ", got ",
               dtype_name(dropout_mask.dtype()), dropout_mask.sizes());
      w = masked_fill(w, ~dropout_mask, 0.0) * kernels::dropout_scale(dropout_p);
    } else {
      w = dropout(w, dropout_p, true);
    }
  }
  return {matmul(w, v), w};
}

Tensor scaled_dot_product_attention(const Tensor& q0, const Tensor& k0, const Tensor& v0, const Tensor& attn_mask,
                                    double dropout_p, bool is_causal, std::optional<double> scale_opt) {
  const Dims d = check_inputs(q0, k0, v0, attn_mask, dropout_p, kOp);
  const double scale = scale_opt.value_or(1.0 / std::sqrt(static_cast<double>(d.E)));
  // A mask that wants its own gradient takes the composite path (the kernel has no mask gradient).
  if (attn_mask.defined() && attn_mask.requires_grad() && GradMode::is_enabled())
    return std::get<0>(_scaled_dot_product_attention_math(q0, k0, v0, attn_mask, dropout_p, is_causal, {}, scale));
  // Broadcast batch dims become real ones (their gradients are summed back by expand's backward).
  auto full = [&](const Tensor& t, int64_t rows, int64_t cols) {
    Shape want = with_last(d.batch, rows, cols);
    return t.sizes() == want ? t : t.expand(want);
  };
  Tensor q = full(q0, d.L, d.E), k = full(k0, d.S, d.E), v = full(v0, d.S, d.Ev);
  Tensor mask = attn_mask.defined() && attn_mask.dtype() != kBool ? attn_mask.to(q.dtype()).detach() : attn_mask;
  const uint64_t seed = draw_seed(dropout_p);
  Tensor out = empty(with_last(d.batch, d.L, d.Ev), q.dtype()), lse = empty(with_last(d.batch, d.L), q.dtype());
  dispatch_floating(q.dtype(), kOp, [&]<class T>() {
    kernels::flash_attention_forward<T>(make_problem<T>(q.data_ptr<T>(), k.data_ptr<T>(), v.data_ptr<T>(), mask, d, scale, is_causal,
                                    dropout_p, seed),
                                        out.data_ptr<T>(), lse.data_ptr<T>());
  });
  return record("ScaledDotProductFlashAttentionBackward", {q, k, v}, out, {q, k, v, out},
                [=](const BackwardCtx& c) -> TensorList {
                  const Tensor &q = c.saved[0], &k = c.saved[1], &v = c.saved[2], &g = c.grad;
                  if (GradMode::is_enabled())  // create_graph: the composite formula, differentiable again
                    return composite_backward(q, k, v, g, mask, is_causal, scale, dropout_p, seed, d);
                  Tensor dq = empty_like(q), dk = empty_like(k), dv = empty_like(v);
                  dispatch_floating(q.dtype(), kOp, [&]<class T>() {
                    kernels::flash_attention_backward<T>(make_problem<T>(q.data_ptr<T>(), k.data_ptr<T>(), v.data_ptr<T>(), mask, d, scale, is_causal,
                                    dropout_p, seed),
                                                         c.saved[3].data_ptr<T>(), lse.data_ptr<T>(),
                                                         g.data_ptr<T>(), dq.data_ptr<T>(), dk.data_ptr<T>(),
                                                         dv.data_ptr<T>());
                  });
                  return {dq, dk, dv};
                });
}

Tensor _packed_multi_head_attention(const Tensor& q_or_qkv, const Tensor& kv, int64_t H, const Tensor& attn_mask,
                                    double dropout_p, bool is_causal) {
  const char* op = "_packed_multi_head_attention";
  const bool self = !kv.defined();
  const Tensor& qs = q_or_qkv;
  XG_CHECK(qs.defined() && qs.dim() == 3 && (self || kv.dim() == 3), op, ": q_or_qkv must be (B, L, width)",
           self ? "" : " and kv (B, S, width)", ", got ", qs.defined() ? qs.sizes() : Shape{},
           self ? Shape{} : kv.sizes());
  XG_CHECK(H >= 1, op, ": num_heads must be positive, got ", H);
  const int64_t B = qs.sizes()[0], L = qs.sizes()[1], E = self ? qs.sizes()[2] / 3 : qs.sizes()[2];
  const int64_t S = self ? L : kv.sizes()[1];
  XG_CHECK(E % H == 0 && (!self || qs.sizes()[2] == 3 * E) &&
               (self || (kv.sizes()[0] == B && kv.sizes()[2] == 2 * E && kv.dtype() == qs.dtype())),
           op, ": shapes ", qs.sizes(), self ? Shape{} : kv.sizes(), " don't fit ",
           self ? "qkv (B, L, 3·H·hd)" : "q (B, L, H·hd) and kv (B, S, 2·H·hd)", " with num_heads ", H);
  const Tensor& ks = self ? qs : kv;
  const int64_t hd = E / H;
  // Dims of the permuted heads (B, H, ·, hd): the mask broadcasts against (B, H, L, S) as in sdpa.
  const Dims d{{B, H}, L, S, hd, hd, B * H};
  XG_CHECK(qs.is_floating_point(), op, ": needs floating inputs, got ", dtype_name(qs.dtype()));
  check_mask_and_dropout(attn_mask, dropout_p, d, op);
  const double scale = 1.0 / std::sqrt(static_cast<double>(hd));
  Tensor mask = attn_mask.defined() && attn_mask.dtype() != kBool ? attn_mask.to(qs.dtype()).detach() : attn_mask;
  const uint64_t seed = draw_seed(dropout_p);
  const int64_t qw = qs.sizes()[2], kw = ks.sizes()[2];
  const int64_t k_col = self ? E : 0, v_col = self ? 2 * E : E;
  // The problem over base pointers (q, k, v or their gradients): head h of batch b at column h·hd.
  auto problem = [=]<class T>(const T* q, const T* k, const T* v) {
    kernels::AttentionProblem<T> p =
        make_problem<T>(q, k + k_col, v + v_col, mask, d, scale, is_causal, dropout_p, seed);
    p.heads = H;
    p.q_layout = {L * qw, hd, qw};
    p.k_layout = {S * kw, hd, kw};
    p.v_layout = {S * kw, hd, kw};
    p.out_layout = {L * E, hd, E};
    return p;
  };
  Tensor out = empty({B, L, E}, qs.dtype()), lse = empty({B * H, L}, qs.dtype());
  dispatch_floating(qs.dtype(), op, [&]<class T>() {
    kernels::flash_attention_forward<T>(problem(qs.data_ptr<T>(), ks.data_ptr<T>(), ks.data_ptr<T>()),
                                        out.data_ptr<T>(), lse.data_ptr<T>());
  });
  TensorList inputs = self ? TensorList{qs} : TensorList{qs, kv};
  return record("PackedMultiHeadAttentionBackward", inputs, out, self ? TensorList{qs, out} : TensorList{qs, kv, out},
                [=](const BackwardCtx& c) -> TensorList {
                  const Tensor &qs = c.saved[0], &ks = self ? c.saved[0] : c.saved[1], &o = c.saved[self ? 1 : 2];
                  const Tensor& g = c.grad;
                  if (GradMode::is_enabled()) {  // create_graph: the composite formula on the permuted heads
                    auto heads = [&](const Tensor& t, int64_t col, int64_t rows) {
                      return t.narrow(2, col, E).reshape({B, rows, H, hd}).permute({0, 2, 1, 3});
                    };
                    auto merge = [&](const Tensor& t, int64_t rows) { return t.permute({0, 2, 1, 3}).reshape({B, rows, E}); };
                    TensorList grads = composite_backward(heads(qs, 0, L), heads(ks, k_col, S), heads(ks, v_col, S),
                                                          heads(g, 0, L), mask, is_causal, scale, dropout_p, seed, d);
                    Tensor dk_dv = cat({merge(grads[1], S), merge(grads[2], S)}, 2);
                    if (self) return {cat({merge(grads[0], L), dk_dv}, 2)};
                    return {merge(grads[0], L), dk_dv};
                  }
                  // The gradients' columns partition the sources' widths: every element is written.
                  Tensor dqs = empty_like(qs), dks = self ? dqs : empty_like(ks);
                  dispatch_floating(qs.dtype(), op, [&]<class T>() {
                    auto p = problem(qs.data_ptr<T>(), ks.data_ptr<T>(), ks.data_ptr<T>());
                    kernels::flash_attention_backward<T>(p, o.data_ptr<T>(), lse.data_ptr<T>(), g.data_ptr<T>(),
                                                         dqs.data_ptr<T>(), dks.data_ptr<T>() + k_col,
                                                         dks.data_ptr<T>() + v_col);
                  });
                  if (self) return {dqs};
                  return {dqs, dks};
                });
}

}  // namespace xgrad
