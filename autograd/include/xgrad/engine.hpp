#pragma once
// Running the graph backwards.
#include <functional>
#include <optional>

#include "xgrad/tensor.hpp"

namespace xgrad {

// Accumulates d(sum of outputs · grad_outputs)/d(leaf) into every leaf's .grad().
void backward(const TensorList& outputs, const TensorList& grad_outputs = {},
              std::optional<bool> retain_graph = std::nullopt, bool create_graph = false);

// Returns d(sum of outputs · grad_outputs)/d(input) for each input, without touching .grad().
// retain_graph defaults to create_graph. With create_graph the results are differentiable.
TensorList grad(const TensorList& outputs, const TensorList& inputs, const TensorList& grad_outputs = {},
                std::optional<bool> retain_graph = std::nullopt, bool create_graph = false,
                bool allow_unused = false);

namespace autograd {
// Runs `callback` once the backward pass now running has finished (all gradients accumulated), on
// the thread that runs it; callbacks may queue more. PyTorch's Engine::queue_callback. Throws when
// no backward pass is running on this thread (call it from a hook or a custom Function's backward).
void queue_callback(std::function<void()> callback);
}  // namespace autograd

}  // namespace xgrad
