#pragma once
// The differentiable ops. Every one records its backward when an input requires grad, broadcasts
// where PyTorch broadcasts, and throws xgrad::Error naming itself on bad input.
// Negative dims count from the end, as in PyTorch.
#include <optional>
#include <string>
#include <tuple>

#include "xgrad/options.hpp"
#include "xgrad/shape.hpp"
#include "xgrad/tensor.hpp"

namespace xgrad {

// ---- broadcasting (broadcast_shapes in shape.hpp; sum_to is the one helper every backward uses to undo it)
// Sums `t` down to `shape` (the inverse of broadcasting `shape` up to t's shape).
Tensor sum_to(const Tensor& t, const Shape& shape);

// ---- elementwise, binary (tensor–tensor; scalars through the operators below)
Tensor add(const Tensor& a, const Tensor& b, double alpha = 1.0);  // a + alpha·b
Tensor sub(const Tensor& a, const Tensor& b, double alpha = 1.0);  // a − alpha·b
Tensor mul(const Tensor& a, const Tensor& b);
Tensor div(const Tensor& a, const Tensor& b);
Tensor pow(const Tensor& a, double exponent);
Tensor pow(const Tensor& a, const Tensor& exponent);
Tensor pow(double base, const Tensor& exponent);
Tensor maximum(const Tensor& a, const Tensor& b);  // ties share the gradient equally
Tensor minimum(const Tensor& a, const Tensor& b);
Tensor where(const Tensor& condition, const Tensor& a, const Tensor& b);
Tensor where(const Tensor& condition, const Tensor& a, double b);
Tensor where(const Tensor& condition, double a, const Tensor& b);
Tensor where(const Tensor& condition, double a, double b);  // Float32, as PyTorch's default dtype

// comparisons return kBool and are not differentiable
Tensor eq(const Tensor& a, const Tensor& b);
Tensor ne(const Tensor& a, const Tensor& b);
Tensor gt(const Tensor& a, const Tensor& b);
Tensor ge(const Tensor& a, const Tensor& b);
Tensor lt(const Tensor& a, const Tensor& b);
Tensor le(const Tensor& a, const Tensor& b);
Tensor logical_not(const Tensor& a);
Tensor logical_and(const Tensor& a, const Tensor& b);
Tensor logical_or(const Tensor& a, const Tensor& b);

// ---- elementwise, unary (integer inputs are promoted to Float32)
Tensor neg(const Tensor& x);
Tensor exp(const Tensor& x);
Tensor log(const Tensor& x);
Tensor sqrt(const Tensor& x);
Tensor rsqrt(const Tensor& x);
Tensor abs(const Tensor& x);
Tensor sign(const Tensor& x);
Tensor sin(const Tensor& x);
Tensor cos(const Tensor& x);
Tensor tanh(const Tensor& x);
Tensor sigmoid(const Tensor& x);
Tensor relu(const Tensor& x);
Tensor erf(const Tensor& x);
// approximate: "none" (x·Φ(x), the erf form) or "tanh".
Tensor gelu(const Tensor& x, const std::string& approximate = "none");
Tensor silu(const Tensor& x);
Tensor clamp(const Tensor& x, std::optional<double> min, std::optional<double> max = std::nullopt);
Tensor log1p(const Tensor& x);
Tensor expm1(const Tensor& x);
// log(1 + exp(beta·x)) / beta, and x itself where beta·x > threshold (PyTorch's numerics).
Tensor softplus(const Tensor& x, double beta = 1.0, double threshold = 20.0);
Tensor mish(const Tensor& x);  // x·tanh(softplus(x))
// clamp whose gradient is zero at the bounds, as PyTorch's hardtanh.
Tensor hardtanh(const Tensor& x, double min_val = -1.0, double max_val = 1.0);

// ---- reductions (empty dims = all dims)
Tensor sum(const Tensor& x);
Tensor sum(const Tensor& x, const Shape& dims, bool keepdim = false);
Tensor mean(const Tensor& x);
Tensor mean(const Tensor& x, const Shape& dims, bool keepdim = false);
Tensor var(const Tensor& x, int64_t correction = 1);
Tensor var(const Tensor& x, const Shape& dims, int64_t correction = 1, bool keepdim = false);
// correction 1 is the unbiased estimate (libtorch's unbiased=true; a bool converts to it), 0 the biased one.
Tensor std(const Tensor& x, int64_t correction = 1);
Tensor std(const Tensor& x, const Shape& dims, int64_t correction = 1, bool keepdim = false);
// var(x, {1}) and std(x, {1}) reduce dim 1: without these, a braced list would pick the correction.
inline Tensor var(const Tensor& x, std::initializer_list<int64_t> dims, int64_t correction = 1, bool keepdim = false) {
  return var(x, Shape(dims), correction, keepdim);
}
inline Tensor std(const Tensor& x, std::initializer_list<int64_t> dims, int64_t correction = 1, bool keepdim = false) {
  return std(x, Shape(dims), correction, keepdim);
}
// Vector p-norm over dims (all when empty): p = 2, 1, any p > 0, INFINITY (max |x|), -INFINITY
// (min |x|) or 0 (count of non-zeros). The gradient at a zero norm is 0, as PyTorch's.
Tensor norm(const Tensor& x, double p = 2.0);
Tensor norm(const Tensor& x, double p, const Shape& dims, bool keepdim = false);
Tensor linalg_vector_norm(const Tensor& x, double ord = 2.0, const Shape& dims = {}, bool keepdim = false);
Tensor amax(const Tensor& x, const Shape& dims = {}, bool keepdim = false);
Tensor amin(const Tensor& x, const Shape& dims = {}, bool keepdim = false);
Tensor logsumexp(const Tensor& x, const Shape& dims, bool keepdim = false);
Tensor argmax(const Tensor& x, int64_t dim, bool keepdim = false);  // kInt64, not differentiable
Tensor argmin(const Tensor& x, int64_t dim, bool keepdim = false);
Tensor argmax(const Tensor& x);  // index into the flattened tensor
Tensor argmin(const Tensor& x);

// ---- scans
// Integer and Bool inputs accumulate in Int64, as PyTorch; `dtype` converts the input first.
Tensor cumsum(const Tensor& x, int64_t dim, std::optional<ScalarType> dtype = std::nullopt);
Tensor cumprod(const Tensor& x, int64_t dim, std::optional<ScalarType> dtype = std::nullopt);

// ---- sorting and selection (indices are Int64; values are differentiable)
// Stable: equal values keep their order; NaN sorts as the largest value, as PyTorch.
std::tuple<Tensor, Tensor> sort(const Tensor& x, int64_t dim = -1, bool descending = false);
Tensor argsort(const Tensor& x, int64_t dim = -1, bool descending = false);
// The k largest (or smallest) along dim, sorted (largest first when largest) when `sorted`.
std::tuple<Tensor, Tensor> topk(const Tensor& x, int64_t k, int64_t dim = -1, bool largest = true, bool sorted = true);

// ---- linear algebra (OpenBLAS)
// numpy/PyTorch matmul: 1-D·1-D dot, 2-D·2-D, batched N-D with broadcast batch dims.
Tensor matmul(const Tensor& a, const Tensor& b);
// op(a)·op(b), op transposing the last two dims when asked, without copying (q·kᵀ in attention).
// a and b are at least 2-D; batch dims broadcast.
Tensor matmul_t(const Tensor& a, const Tensor& b, bool transpose_a, bool transpose_b);
// x·weightᵀ + bias, weight (out, in), bias (out) or undefined; x (..., in).
Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias = {});
// Batched products of 3-D tensors (b, n, m)·(b, m, p), no broadcasting (PyTorch's bmm).
Tensor bmm(const Tensor& a, const Tensor& b);
// beta·self + alpha·bmm(batch1, batch2), self broadcast to the result.
Tensor baddbmm(const Tensor& self, const Tensor& batch1, const Tensor& batch2, double beta = 1.0, double alpha = 1.0);
// Einstein summation, PyTorch's grammar: "bij,bjk->bik", implicit output ("ij,jk"), "..." for
// broadcast dims, a label repeated within an operand takes its diagonal. Operands are contracted
// two at a time on BLAS (a pair becomes one batched matmul).
Tensor einsum(const std::string& equation, const TensorList& tensors);

// ---- shape (reshape/view/squeeze/unsqueeze/flatten share storage, and so do narrow/split/chunk/unbind
// when the slice is one contiguous block of the input — along dim 0, or after dims of size 1; the
// rest copy). split/chunk/unbind are one node: their backward builds the input's gradient once.
Tensor reshape(const Tensor& x, const Shape& shape);  // one dim may be -1
Tensor view(const Tensor& x, const Shape& shape);
Tensor flatten(const Tensor& x, int64_t start_dim = 0, int64_t end_dim = -1);
Tensor transpose(const Tensor& x, int64_t dim0, int64_t dim1);
Tensor permute(const Tensor& x, const Shape& dims);
Tensor unsqueeze(const Tensor& x, int64_t dim);
Tensor squeeze(const Tensor& x);
Tensor squeeze(const Tensor& x, int64_t dim);
Tensor expand(const Tensor& x, const Shape& shape);  // -1 keeps a dim
Tensor narrow(const Tensor& x, int64_t dim, int64_t start, int64_t length);
Tensor cat(const TensorList& tensors, int64_t dim = 0);
Tensor stack(const TensorList& tensors, int64_t dim = 0);
TensorList split(const Tensor& x, int64_t split_size, int64_t dim = 0);
TensorList split(const Tensor& x, const Shape& split_sizes, int64_t dim = 0);
TensorList chunk(const Tensor& x, int64_t chunks, int64_t dim = 0);
TensorList unbind(const Tensor& x, int64_t dim = 0);  // the slices along dim, that dim removed
Tensor tril(const Tensor& x, int64_t diagonal = 0);
Tensor triu(const Tensor& x, int64_t diagonal = 0);
// Tiles x: repeats has one entry per dim (more entries add leading dims), as Tensor.repeat.
Tensor repeat(const Tensor& x, const Shape& repeats);
// Each element (or slice along dim) `repeats` times in a row; without dim, over the flattened input.
Tensor repeat_interleave(const Tensor& x, int64_t repeats, std::optional<int64_t> dim = std::nullopt);
Tensor repeat_interleave(const Tensor& x, const Tensor& repeats, std::optional<int64_t> dim = std::nullopt);
// [0, 0, 1, 2, 2, 2] from repeats [2, 1, 3]: index i repeated repeats[i] times.
Tensor repeat_interleave(const Tensor& repeats);
Tensor flip(const Tensor& x, const Shape& dims);
// Rotates along dims by shifts (elements leaving the end come back at the start); with no dims, the
// flattened tensor is rolled and the shape restored.
Tensor roll(const Tensor& x, const Shape& shifts, const Shape& dims = {});
// x[..., index, ...] along dim (that dim removed) and x[..., start:end:step, ...] (PyTorch's select
// and slice; start/end clamp like Python's slices, step > 0).
Tensor select(const Tensor& x, int64_t dim, int64_t index);
Tensor slice(const Tensor& x, int64_t dim = 0, std::optional<int64_t> start = std::nullopt,
             std::optional<int64_t> end = std::nullopt, int64_t step = 1);

// ---- indexing
Tensor index_select(const Tensor& x, int64_t dim, const Tensor& index);
// self with source's slices added at index along dim (out of place).
Tensor index_add(const Tensor& self, int64_t dim, const Tensor& index, const Tensor& source);
Tensor gather(const Tensor& x, int64_t dim, const Tensor& index);
// src may be larger than index in any dim: src's elements at index's positions are used, as PyTorch.
Tensor scatter_add(const Tensor& self, int64_t dim, const Tensor& index, const Tensor& src);
// self with self[index[i][j]][j] = src[i][j] (dim 0; likewise for every dim). Where an index repeats,
// the last write wins.
Tensor scatter(const Tensor& self, int64_t dim, const Tensor& index, const Tensor& src);
Tensor scatter(const Tensor& self, int64_t dim, const Tensor& index, double value);
// The coordinates of non-zero elements, (n, x.dim()) Int64, in row-major order.
Tensor nonzero(const Tensor& x);
// The elements where mask (broadcast with x) is true, as a 1-D tensor.
Tensor masked_select(const Tensor& x, const Tensor& mask);
// x with the positions where mask is true filled, in order, from source's first elements.
Tensor masked_scatter(const Tensor& x, const Tensor& mask, const Tensor& source);
// (…, num_classes) Int64 with a 1 at each index; num_classes -1 means max(x) + 1.
Tensor one_hot(const Tensor& x, int64_t num_classes = -1);
// weight rows picked by indices: out shape indices.shape + [D]. Rows at padding_idx get no gradient.
Tensor embedding(const Tensor& indices, const Tensor& weight, std::optional<int64_t> padding_idx = std::nullopt);
Tensor masked_fill(const Tensor& x, const Tensor& mask, double value);

// ---- fused kernels (one pass forward, one pass backward; twice differentiable)
Tensor softmax(const Tensor& x, int64_t dim);
Tensor log_softmax(const Tensor& x, int64_t dim);
// Their backward as ops (PyTorch's names): the input's gradient from grad_output and the forward's
// output; differentiable in both, so softmax is differentiable to any order.
Tensor _softmax_backward_data(const Tensor& grad_output, const Tensor& output, int64_t dim);
Tensor _log_softmax_backward_data(const Tensor& grad_output, const Tensor& output, int64_t dim);
Tensor layer_norm(const Tensor& x, const Shape& normalized_shape, const Tensor& weight = {},
                  const Tensor& bias = {}, double eps = 1e-5);
// Zeroes each element with probability p and scales the rest by 1/(1-p) when train is true.
Tensor dropout(const Tensor& x, double p = 0.5, bool train = true);
// softmax(scale·q·kᵀ + mask)·v over the last two dims (PyTorch 2's signature): q (..., L, E),
// k (..., S, E), v (..., S, Ev), leading dims broadcast; scale defaults to 1/√E. attn_mask broadcasts
// to (..., L, S): Bool (true = may attend) or floating (added). is_causal: key j ≤ query i only
// (may be combined with attn_mask, which PyTorch refuses). dropout_p applies to the weights.
// Fused (FlashAttention-2 on the CPU): memory linear in L and S; a row whose keys are all masked
// gives 0 and gradient 0, not NaN. Its dropout mask comes from a counter-based generator keyed by
// one draw of the global generator (never stored: the backward regenerates it); a float mask
// that requires grad, and backward under create_graph, take the composite formula.
Tensor scaled_dot_product_attention(const Tensor& query, const Tensor& key, const Tensor& value,
                                    const Tensor& attn_mask = {}, double dropout_p = 0.0, bool is_causal = false,
                                    std::optional<double> scale = std::nullopt);
// MultiheadAttention's fused path: the heads read in place from the input projections and the
// output written as (B, L, H·hd), so no head-layout copy is made in forward or backward. Either
// qkv (B, L, 3·H·hd) = [q | k | v] for self-attention (kv undefined), or q (B, L, H·hd) and
// kv (B, S, 2·H·hd) = [k | v]. attn_mask broadcasts to (B, H, L, S) as scaled_dot_product_attention's;
// scale 1/√hd. The same numbers as scaled_dot_product_attention on the permuted heads.
Tensor _packed_multi_head_attention(const Tensor& q_or_qkv, const Tensor& kv, int64_t num_heads,
                                    const Tensor& attn_mask = {}, double dropout_p = 0.0, bool is_causal = false);
// The composite formula, returning (output, weights after dropout). dropout_mask: an optional Bool
// keep mask of the weights' shape, used instead of a fresh draw (as PyTorch's, for tests).
std::tuple<Tensor, Tensor> _scaled_dot_product_attention_math(const Tensor& query, const Tensor& key,
                                                              const Tensor& value, const Tensor& attn_mask = {},
                                                              double dropout_p = 0.0, bool is_causal = false,
                                                              const Tensor& dropout_mask = {},
                                                              std::optional<double> scale = std::nullopt);

// ---- losses
// BatchMean (sum / batch size) is kl_div's only: other losses refuse it.
enum class Reduction { None, Mean, Sum, BatchMean };
inline constexpr Reduction kNone = Reduction::None;
inline constexpr Reduction kMean = Reduction::Mean;
inline constexpr Reduction kSum = Reduction::Sum;
inline constexpr Reduction kBatchMean = Reduction::BatchMean;

// The loss options, as libtorch names them (the module's XLossOptions; XFuncOptions for the
// functional form is the same struct).
struct NLLLossOptions {
  XG_ARG(Tensor, weight);  // per-class weight (C), or undefined
  XG_ARG(int64_t, ignore_index) = -100;
  XG_ARG(Reduction, reduction) = kMean;
};
struct CrossEntropyLossOptions {
  XG_ARG(Tensor, weight);
  XG_ARG(int64_t, ignore_index) = -100;
  XG_ARG(Reduction, reduction) = kMean;
  XG_ARG(double, label_smoothing) = 0.0;
};
struct MSELossOptions {
  MSELossOptions(Reduction reduction = kMean) : reduction_(reduction) {}  // NOLINT: libtorch's implicit form
  XG_ARG(Reduction, reduction);
};
struct L1LossOptions {
  L1LossOptions(Reduction reduction = kMean) : reduction_(reduction) {}  // NOLINT: libtorch's implicit form
  XG_ARG(Reduction, reduction);
};
struct SmoothL1LossOptions {
  SmoothL1LossOptions(Reduction reduction = kMean) : reduction_(reduction) {}  // NOLINT
  XG_ARG(Reduction, reduction);
  XG_ARG(double, beta) = 1.0;
};
struct HuberLossOptions {
  HuberLossOptions(Reduction reduction = kMean) : reduction_(reduction) {}  // NOLINT
  XG_ARG(Reduction, reduction);
  XG_ARG(double, delta) = 1.0;
};
struct BCELossOptions {
  XG_ARG(Tensor, weight);  // broadcast to the input, or undefined
  XG_ARG(Reduction, reduction) = kMean;
};
struct BCEWithLogitsLossOptions {
  XG_ARG(Tensor, weight);
  XG_ARG(Reduction, reduction) = kMean;
  XG_ARG(Tensor, pos_weight);  // weight of positive examples, per class (broadcast along the last dim)
};
struct KLDivLossOptions {
  KLDivLossOptions(Reduction reduction = kMean) : reduction_(reduction) {}  // NOLINT
  XG_ARG(Reduction, reduction);  // kBatchMean gives the true KL divergence per example
  XG_ARG(bool, log_target) = false;
};
using NLLLossFuncOptions = NLLLossOptions;
using CrossEntropyFuncOptions = CrossEntropyLossOptions;
using MSELossFuncOptions = MSELossOptions;
using L1LossFuncOptions = L1LossOptions;
using SmoothL1LossFuncOptions = SmoothL1LossOptions;
using HuberLossFuncOptions = HuberLossOptions;
using BinaryCrossEntropyFuncOptions = BCELossOptions;
using BinaryCrossEntropyWithLogitsFuncOptions = BCEWithLogitsLossOptions;
using KLDivFuncOptions = KLDivLossOptions;

// input (N, C) or (N, C, d1, ...) or (C); target class indices (N) or (N, d1, ...) or ().
Tensor nll_loss(const Tensor& log_probs, const Tensor& target, const NLLLossOptions& options = {});
Tensor cross_entropy(const Tensor& logits, const Tensor& target, const CrossEntropyLossOptions& options = {});
Tensor mse_loss(const Tensor& input, const Tensor& target, const MSELossOptions& options = {});
// The pointwise losses: input and target of one shape (PyTorch warns and broadcasts; xgrad refuses).
Tensor l1_loss(const Tensor& input, const Tensor& target, const L1LossOptions& options = {});
// 0.5·d²/beta where |d| < beta, else |d| − 0.5·beta (beta 0: l1_loss).
Tensor smooth_l1_loss(const Tensor& input, const Tensor& target, const SmoothL1LossOptions& options = {});
// 0.5·d² where |d| < delta, else delta·(|d| − 0.5·delta).
Tensor huber_loss(const Tensor& input, const Tensor& target, const HuberLossOptions& options = {});
// −w·(t·log x + (1 − t)·log(1 − x)), logs clamped at −100 (PyTorch's); input probabilities in [0, 1].
Tensor binary_cross_entropy(const Tensor& input, const Tensor& target, const BCELossOptions& options = {});
// The same on logits, computed stably; pos_weight scales the positive term.
Tensor binary_cross_entropy_with_logits(const Tensor& input, const Tensor& target,
                                        const BCEWithLogitsLossOptions& options = {});
// target·(log target − input) (input holds log-probabilities; with log_target so does target);
// target broadcasts to the input.
Tensor kl_div(const Tensor& input, const Tensor& target, const KLDivLossOptions& options = {});

// ---- comparisons of whole tensors (not recorded)
bool allclose(const Tensor& a, const Tensor& b, double rtol = 1e-5, double atol = 1e-8);
bool equal(const Tensor& a, const Tensor& b);

// ---- operators
Tensor operator+(const Tensor& a, const Tensor& b);
Tensor operator-(const Tensor& a, const Tensor& b);
Tensor operator*(const Tensor& a, const Tensor& b);
Tensor operator/(const Tensor& a, const Tensor& b);
Tensor operator+(const Tensor& a, double b);
Tensor operator-(const Tensor& a, double b);
Tensor operator*(const Tensor& a, double b);
Tensor operator/(const Tensor& a, double b);
Tensor operator+(double a, const Tensor& b);
Tensor operator-(double a, const Tensor& b);
Tensor operator*(double a, const Tensor& b);
Tensor operator/(double a, const Tensor& b);
Tensor operator-(const Tensor& a);
Tensor operator==(const Tensor& a, const Tensor& b);
Tensor operator!=(const Tensor& a, const Tensor& b);
Tensor operator>(const Tensor& a, const Tensor& b);
Tensor operator>=(const Tensor& a, const Tensor& b);
Tensor operator<(const Tensor& a, const Tensor& b);
Tensor operator<=(const Tensor& a, const Tensor& b);
Tensor operator==(const Tensor& a, double b);
Tensor operator!=(const Tensor& a, double b);
Tensor operator>(const Tensor& a, double b);
Tensor operator>=(const Tensor& a, double b);
Tensor operator<(const Tensor& a, double b);
Tensor operator<=(const Tensor& a, double b);
Tensor operator~(const Tensor& a);  // logical not of a Bool tensor
Tensor operator&(const Tensor& a, const Tensor& b);
Tensor operator|(const Tensor& a, const Tensor& b);

// The 0-dim tensor a scalar becomes next to `like` (its dtype if floating, else Int64 or Float32).
Tensor scalar_like(double value, const Tensor& like);

}  // namespace xgrad
