// Losses. cross_entropy is fused (log-softmax + NLL + label smoothing in one pass each way);
// nll_loss and mse_loss are compositions of differentiable ops.
#include <cmath>
#include <vector>

#include "dims.hpp"
#include "kernels/cross_entropy.hpp"
#include "kernels/dropout.hpp"
#include "xgrad/grad_mode.hpp"
#include "xgrad/ops.hpp"
#include "xgrad/random.hpp"
#include "xgrad/record.hpp"

namespace xgrad {

using autograd::BackwardCtx;
using autograd::record;

namespace {

// Brings (N, C, d1, ...) to rows (N·d1·..., C) and targets to (N·d1·...); (C) with a 0-D target to (1, C).
struct Rows {
  Tensor x, target;
  Shape none_shape;  // the shape of an unreduced loss
};

Rows to_rows(const Tensor& input, const Tensor& target, const char* op) {
  XG_CHECK(input.defined() && target.defined(), op, ": input or target is undefined");
  XG_CHECK(input.is_floating_point(), op, ": input must be floating, got ", dtype_name(input.dtype()));
  XG_CHECK(target.dtype() == kInt64, op, ": target must hold class indices as Int64, got ",
           dtype_name(target.dtype()));
  if (input.dim() == 1) {
    XG_CHECK(target.dim() == 0, op, ": for an input of shape ", input.sizes(), " the target must be 0-D, got ",
             target.sizes());
    return {unsqueeze(input, 0), reshape(target, {1}), {}};
  }
  XG_CHECK(input.dim() >= 2, op, ": input must be (C), (N, C) or (N, C, d1, ...), got ", input.sizes());
  Shape expect = input.sizes();
  expect.erase(expect.begin() + 1);
  XG_CHECK(target.sizes() == expect, op, ": expected target of shape ", expect, " for input of shape ",
           input.sizes(), ", got ", target.sizes());
  if (input.dim() == 2) return {input, target, expect};
  Shape perm{0};
  for (int64_t d = 2; d < input.dim(); ++d) perm.push_back(d);
  perm.push_back(1);
  return {reshape(permute(input, perm), {-1, input.sizes()[1]}), reshape(target, {-1}), expect};
}

Tensor reduce_rows(const Tensor& per_row, const Tensor& denom, Reduction r, const Shape& none_shape) {
  XG_CHECK(r != kBatchMean, "reduction kBatchMean is only defined for kl_div; use kMean, kSum or kNone");
  if (r == kNone) return reshape(per_row, none_shape);
  if (r == kSum) return sum(per_row);
  return sum(per_row) / denom;
}

void check_weight(const Tensor& w, int64_t C, const char* op) {
  XG_CHECK(!w.defined() || (w.dim() == 1 && w.sizes()[0] == C), op, ": weight must be 1-D with one entry per class (",
           C, "), got ", w.defined() ? w.sizes() : Shape{});
}

void check_targets(const Tensor& t, int64_t C, int64_t ignore, const char* op) {
  const int64_t* p = t.data_ptr<int64_t>();
  for (int64_t i = 0; i < t.numel(); ++i)
    XG_CHECK(p[i] == ignore || (p[i] >= 0 && p[i] < C), op, ": target ", p[i], " is out of bounds for ", C,
             " classes");
}

// kernels::cross_entropy_backward's formula (without the scale s_i) in differentiable ops, for
// create_graph: dx_ic = (1−ε)·w_t·(p_ic − [c = t]) + (ε/C)·(p_ic·Σw − w_c), 0 for ignored rows.
Tensor cross_entropy_grad_as_ops(const Tensor& logits, const Tensor& target, const Tensor& weight, double eps,
                                 int64_t ignore) {
  const int64_t C = logits.sizes()[1];
  const ScalarType dt = logits.dtype();
  Tensor keep = target != scalar_tensor(static_cast<double>(ignore), kInt64);
  Tensor safe = where(keep, target, scalar_tensor(0, kInt64));
  Tensor p = softmax(logits, 1);
  Tensor onehot = (unsqueeze(safe, 1) == arange(static_cast<double>(C))).to(dt);
  Tensor wt = keep.to(dt);
  if (weight.defined()) wt = wt * index_select(weight, 0, safe);
  Tensor d = unsqueeze(wt, 1) * (p - onehot) * (1.0 - eps);
  if (eps > 0) {
    Tensor wsum = weight.defined() ? sum(weight) : scalar_tensor(static_cast<double>(C), dt);
    Tensor wc = weight.defined() ? weight : ones({C}, dt);
    d = d + unsqueeze(keep.to(dt), 1) * (p * wsum - wc) * (eps / C);
  }
  return d;
}

}  // namespace

Tensor nll_loss(const Tensor& log_probs, const Tensor& target, const NLLLossOptions& o) {
  Rows r = to_rows(log_probs, target, "nll_loss");
  const int64_t C = r.x.sizes()[1];
  check_weight(o.weight(), C, "nll_loss");
  check_targets(r.target, C, o.ignore_index(), "nll_loss");
  Tensor keep = r.target != scalar_tensor(static_cast<double>(o.ignore_index()), kInt64);
  Tensor safe = where(keep, r.target, scalar_tensor(0, kInt64));
  Tensor picked = squeeze(gather(r.x, 1, unsqueeze(safe, 1)), 1);
  Tensor w = keep.to(r.x.dtype());
  if (o.weight().defined()) w = w * index_select(o.weight().to(r.x.dtype()).detach(), 0, safe);
  return reduce_rows(-picked * w, sum(w), o.reduction(), r.none_shape);
}

Tensor cross_entropy(const Tensor& logits, const Tensor& target, const CrossEntropyLossOptions& o) {
  XG_CHECK(o.label_smoothing() >= 0.0 && o.label_smoothing() <= 1.0,
           "cross_entropy: label_smoothing must be between 0.0 and 1.0, got ", o.label_smoothing());
  Rows r = to_rows(logits, target, "cross_entropy");
  const Tensor& x = r.x;
  const int64_t N = x.sizes()[0], C = x.sizes()[1];
  check_weight(o.weight(), C, "cross_entropy");
  check_targets(r.target, C, o.ignore_index(), "cross_entropy");
  const ScalarType dt = x.dtype();
  Tensor weight = o.weight().defined() ? o.weight().to(dt).detach() : Tensor();
  const double eps = o.label_smoothing();
  const int64_t ignore = o.ignore_index();
  const Reduction red = o.reduction();
  XG_CHECK(red != kBatchMean, "cross_entropy: reduction kBatchMean is only defined for kl_div");

  Tensor per_row = empty({N}, dt), lse = empty({N}, dt);
  double denom = 0;
  dispatch_floating(dt, "cross_entropy", [&]<class T>() {
    denom = kernels::cross_entropy_forward<T>(x.data_ptr<T>(), r.target.data_ptr<int64_t>(),
                                              weight.defined() ? weight.data_ptr<T>() : nullptr, N, C, eps, ignore,
                                              per_row.data_ptr<T>(), lse.data_ptr<T>());
  });
  Tensor den = scalar_tensor(denom, dt);
  Tensor loss;
  if (red == kNone) loss = detail::alias(per_row, r.none_shape);
  else if (red == kSum) loss = sum(per_row);
  else loss = sum(per_row) / den;

  return record("CrossEntropyBackward", {x}, loss, {x, r.target, weight, lse, den},
                [N, C, eps, ignore, red](const BackwardCtx& c) -> TensorList {
                  const Tensor &logits = c.saved[0], &target = c.saved[1], &weight = c.saved[2];
                  const Tensor &row_lse = c.saved[3], &denom = c.saved[4];
                  // Each row's share of the incoming gradient.
                  Tensor scale = red == kNone ? reshape(c.grad, {N}) : (red == kSum ? c.grad : c.grad / denom);
                  if (GradMode::is_enabled())  // create_graph: the kernel's formula as tensor ops
                    return {cross_entropy_grad_as_ops(logits, target, weight, eps, ignore) *
                            (red == kNone ? unsqueeze(scale, 1) : scale)};
                  Tensor dx = empty_like(logits);
                  dispatch_floating(logits.dtype(), "cross_entropy_backward", [&]<class T>() {
                    kernels::cross_entropy_backward<T>(logits.data_ptr<T>(), target.data_ptr<int64_t>(),
                                                       weight.defined() ? weight.data_ptr<T>() : nullptr,
                                                       row_lse.data_ptr<T>(), scale.data_ptr<T>(), red == kNone, N, C,
                                                       eps, ignore, dx.data_ptr<T>());
                  });
                  return {dx};
                });
}

Tensor mse_loss(const Tensor& input, const Tensor& target, const MSELossOptions& options) {
  const Reduction reduction = options.reduction();
  XG_CHECK(input.defined() && target.defined(), "mse_loss: input or target is undefined");
  XG_CHECK(input.sizes() == target.sizes(), "mse_loss: input shape ", input.sizes(), " and target shape ",
           target.sizes(), " differ");
  Tensor d = input - target;
  Tensor sq = d * d;
  XG_CHECK(reduction != kBatchMean, "mse_loss: reduction kBatchMean is only defined for kl_div");
  if (reduction == kNone) return sq;
  return reduction == kSum ? sum(sq) : mean(sq);
}

namespace {

Tensor dropout_apply(const Tensor& x, uint64_t seed, double p, bool mask_only) {
  Tensor y = empty(x.sizes(), x.dtype());
  dispatch_floating(x.dtype(), "dropout", [&]<class T>() {
    kernels::dropout<T>(mask_only ? nullptr : x.data_ptr<T>(), y.data_ptr<T>(), x.numel(), seed, p);
  });
  return y;
}

}  // namespace

// One fused pass (mask drawn and applied together, over the pool); nothing of x's size is saved:
// the backward draws the same mask again from the call's seed.
Tensor dropout(const Tensor& x, double p, bool train) {
  XG_CHECK(p >= 0.0 && p <= 1.0, "dropout: probability has to be between 0 and 1, but got ", p);
  XG_CHECK(x.defined(), "dropout: input is undefined");
  if (!train || p == 0.0) return x;
  XG_CHECK(x.is_floating_point(), "dropout: input must be floating, got ", dtype_name(x.dtype()));
  uint64_t seed;
  {
    std::lock_guard<std::mutex> lock(global_generator_mutex());
    seed = global_generator()();  // one draw per call, so runs stay reproducible
  }
  Tensor y = dropout_apply(x, seed, p, false);
  return record("DropoutBackward", {x}, y, {}, [seed, p](const BackwardCtx& c) -> TensorList {
    if (GradMode::is_enabled()) return {c.grad * dropout_apply(c.grad, seed, p, true)};  // create_graph
    return {dropout_apply(c.grad, seed, p, false)};
  });
}

}  // namespace xgrad
