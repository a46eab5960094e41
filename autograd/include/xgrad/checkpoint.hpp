#pragma once
// Activation checkpointing, torch.utils.checkpoint's semantics (its non-reentrant variant):
//
//   xg::Tensor y = xg::checkpoint([&](const xg::TensorList& in) { return block(in[0]); }, {x});
//
// None of the activations inside fn are kept: the forward records fn's graph only to find the
// parameters it uses, then drops it; backward runs fn again — with the global generator set back
// to its state at the forward (preserve_rng_state), so dropout draws the same masks — and
// backpropagates through that. Parameters fn uses get their gradients like any op's inputs (also
// when the inputs need none, and under xg::grad); grad-of-grad works (create_graph recomputes fn
// on the inputs themselves). fn must compute the same thing twice: no in-place updates of state.
#include <functional>
#include <type_traits>

#include "xgrad/tensor.hpp"

namespace xgrad {

TensorList checkpoint(const std::function<TensorList(const TensorList&)>& fn, const TensorList& inputs,
                      bool preserve_rng_state = true);

// fn returning one Tensor.
template <class F>
  requires std::is_convertible_v<std::invoke_result_t<F, const TensorList&>, Tensor>
Tensor checkpoint(F&& fn, const TensorList& inputs, bool preserve_rng_state = true) {
  // fn is kept by value: backward calls it again, long after this frame.
  auto many = [f = std::decay_t<F>(std::forward<F>(fn))](const TensorList& in) { return TensorList{f(in)}; };
  return checkpoint(std::function<TensorList(const TensorList&)>(many), inputs, preserve_rng_state)[0];
}

}  // namespace xgrad
