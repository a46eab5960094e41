#pragma once
// Running the graph backwards.
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

}  // namespace xgrad
