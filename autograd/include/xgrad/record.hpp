#pragma once
// How an op joins the graph: compute the result, then record(name, inputs, result, saved, backward).
// The backward lambda is written with differentiable tensor ops, so grad-of-grad works for free.
//
//   Tensor exp(const Tensor& x) {
//     Tensor y = kernels::exp(x);
//     return record("ExpBackward", {x}, y, {y}, [](const BackwardCtx& c) -> TensorList {
//       return {c.grad * c.saved[0]};
//     });
//   }
#include <functional>
#include <initializer_list>
#include <span>
#include <string>

#include "xgrad/graph.hpp"

namespace xgrad::autograd {

struct BackwardCtx {
  const TensorList& saved;  // the tensors passed as `saved`, unpacked (version-checked)
  const Tensor& grad;       // gradient of output 0; never undefined for single-output ops
  const std::vector<bool>& needs;  // needs[i]: input i wants a gradient
  const TensorList& grads;  // every output's gradient (multi-output ops); undefined means zero
  bool needs_input_grad(size_t i) const { return i < needs.size() && needs[i]; }
};
using BackwardFn = std::function<TensorList(const BackwardCtx&)>;

// True when an op on these inputs must be recorded (grad mode on, some input requires grad).
bool any_requires_grad(std::span<const Tensor> inputs);

// Connects `output` to a new node running `backward`. `saved` may contain `output` itself.
// Returns `output`. Does nothing (cheaply) when no input requires grad or grad mode is off.
Tensor record(const char* name, std::span<const Tensor> inputs, Tensor output, std::span<const Tensor> saved,
              BackwardFn backward);
// The same for an op with several outputs (split, unbind): one node, whose backward sees every
// output's gradient in ctx.grads (undefined for outputs that received none). Returns `outputs`.
TensorList record_outputs(const char* name, std::span<const Tensor> inputs, TensorList outputs,
                          std::span<const Tensor> saved, BackwardFn backward);
// The same for braced lists, record("X", {a, b}, out, {a}, ...), without building vectors.
inline Tensor record(const char* name, std::initializer_list<Tensor> inputs, Tensor output,
                     std::initializer_list<Tensor> saved, BackwardFn backward) {
  return record(name, std::span<const Tensor>(inputs.begin(), inputs.size()), std::move(output),
                std::span<const Tensor>(saved.begin(), saved.size()), std::move(backward));
}

}  // namespace xgrad::autograd
