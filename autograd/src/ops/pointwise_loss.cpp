// The pointwise losses: an elementwise formula, then the reduction. Compositions of differentiable
// ops (grad-of-grad for free), except binary_cross_entropy, whose backward is PyTorch's own formula
// (it stays finite where the clamped log's slope would be 0).
#include <cmath>

#include "xgrad/grad_mode.hpp"
#include "xgrad/ops.hpp"
#include "xgrad/record.hpp"

namespace xgrad {

using autograd::BackwardCtx;
using autograd::record;

namespace {

void check_pair(const Tensor& input, const Tensor& target, const char* op) {
  XG_CHECK(input.defined() && target.defined(), op, ": input or target is undefined");
  XG_CHECK(input.is_floating_point() && target.is_floating_point(), op, ": input and target must be floating, got ",
           dtype_name(input.dtype()), " and ", dtype_name(target.dtype()));
  XG_CHECK(input.sizes() == target.sizes(), op, ": input shape ", input.sizes(), " and target shape ", target.sizes(),
           " differ");
}

Tensor reduce(const Tensor& loss, Reduction r, const char* op) {
  switch (r) {
    case kNone: return loss;
    case kSum: return sum(loss);
    case kMean: return mean(loss);
    case kBatchMean: break;
  }
  throw Error(str(op, ": reduction kBatchMean is only defined for kl_div; use kMean, kSum or kNone"));
}

}  // namespace

Tensor l1_loss(const Tensor& input, const Tensor& target, const L1LossOptions& options) {
  check_pair(input, target, "l1_loss");
  return reduce(abs(input - target), options.reduction(), "l1_loss");
}

Tensor smooth_l1_loss(const Tensor& input, const Tensor& target, const SmoothL1LossOptions& options) {
  check_pair(input, target, "smooth_l1_loss");
  const double beta = options.beta();
  XG_CHECK(beta >= 0 && std::isfinite(beta), "smooth_l1_loss: beta must be finite and non-negative, got ", beta);
  Tensor d = abs(input - target);
  if (beta == 0) return reduce(d, options.reduction(), "smooth_l1_loss");
  return reduce(where(d < beta, d * d * (0.5 / beta), d - 0.5 * beta), options.reduction(), "smooth_l1_loss");
}

Tensor huber_loss(const Tensor& input, const Tensor& target, const HuberLossOptions& options) {
  check_pair(input, target, "huber_loss");
  const double delta = options.delta();
  XG_CHECK(delta > 0 && std::isfinite(delta), "huber_loss: delta must be finite and positive, got ", delta);
  Tensor d = abs(input - target);
  return reduce(where(d < delta, d * d * 0.5, (d - 0.5 * delta) * delta), options.reduction(), "huber_loss");
}

Tensor binary_cross_entropy(const Tensor& input, const Tensor& target, const BCELossOptions& options) {
  check_pair(input, target, "binary_cross_entropy");
  {
    Tensor lo = amin(input.detach()), hi = amax(input.detach());
    XG_CHECK(input.numel() == 0 || (lo.item<double>() >= 0 && hi.item<double>() <= 1),
             "binary_cross_entropy: all elements of input should be between 0 and 1 (got values in [",
             input.numel() ? lo.item<double>() : 0, ", ", input.numel() ? hi.item<double>() : 0, "])");
  }
  const Tensor& w = options.weight();
  if (w.defined()) broadcast_shapes(w.sizes(), input.sizes(), "binary_cross_entropy (weight)");
  Tensor loss;
  {
    NoGradGuard ng;
    Tensor log_x = clamp(log(input), -100.0), log_1mx = clamp(log(1.0 - input), -100.0);
    loss = -(target * log_x + (1.0 - target) * log_1mx);
  }
  // ∂/∂x = (x − t) / max(x(1 − x), 1e-12), ∂/∂t = log(1 − x) − log x (clamped logs), PyTorch's.
  loss = record("BinaryCrossEntropyBackward", {input, target}, loss, {input, target},
                [](const BackwardCtx& c) -> TensorList {
                  const Tensor &x = c.saved[0], &t = c.saved[1];
                  Tensor gx, gt;
                  if (c.needs_input_grad(0)) gx = c.grad * (x - t) / clamp(x * (1.0 - x), 1e-12);
                  if (c.needs_input_grad(1)) gt = c.grad * (clamp(log(1.0 - x), -100.0) - clamp(log(x), -100.0));
                  return {gx, gt};
                });
  if (w.defined()) loss = loss * w;
  return reduce(loss, options.reduction(), "binary_cross_entropy");
}

// (1 − t)·x + lw·(log(1 + e^−|x|) + max(−x, 0)), lw = 1 + (pos_weight − 1)·t: never exp of a large
// positive number.
Tensor binary_cross_entropy_with_logits(const Tensor& input, const Tensor& target,
                                        const BCEWithLogitsLossOptions& options) {
  check_pair(input, target, "binary_cross_entropy_with_logits");
  const Tensor &w = options.weight(), &pw = options.pos_weight();
  if (w.defined()) broadcast_shapes(w.sizes(), input.sizes(), "binary_cross_entropy_with_logits (weight)");
  if (pw.defined()) broadcast_shapes(pw.sizes(), input.sizes(), "binary_cross_entropy_with_logits (pos_weight)");
  Tensor soft = log1p(exp(-abs(input))) + relu(-input);
  Tensor loss = pw.defined() ? (1.0 - target) * input + (1.0 + (pw - 1.0) * target) * soft
                             : (1.0 - target) * input + soft;
  if (w.defined()) loss = loss * w;
  return reduce(loss, options.reduction(), "binary_cross_entropy_with_logits");
}

Tensor kl_div(const Tensor& input, const Tensor& target, const KLDivLossOptions& options) {
  XG_CHECK(input.defined() && target.defined(), "kl_div: input or target is undefined");
  XG_CHECK(input.is_floating_point() && target.is_floating_point(), "kl_div: input and target must be floating");
  broadcast_shapes(input.sizes(), target.sizes(), "kl_div");
  // t·log t is taken as 0 at t = 0 (xlogy), with a finite gradient there.
  Tensor loss = options.log_target() ? exp(target) * (target - input)
                                     : target * log(where(target > 0.0, target, 1.0)) - target * input;
  if (options.reduction() != kBatchMean) return reduce(loss, options.reduction(), "kl_div");
  return sum(loss) / static_cast<double>(input.dim() == 0 ? 1 : input.sizes()[0]);
}

}  // namespace xgrad
