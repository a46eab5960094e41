#pragma once
// The recorded graph as a picture: Graphviz DOT text (render it with `dot -Tsvg graph.dot`;
// Graphviz is needed only to draw, never to build).
#include <string>

#include "xgrad/serialize.hpp"
#include "xgrad/tensor.hpp"

namespace xgrad::autograd {

// The graph behind `outputs`, drawn in the direction data flowed in the forward pass: one box per
// recorded op (its backward node's name, each output's shape and dtype), one per leaf that
// receives a gradient (named from `params`, e.g. a module's named_parameters(), else "leaf"), one
// per output. What each op saved for backward is marked: a dashed edge from the tensor it kept
// (a leaf or another op's output), "saves its output", or a box for a saved constant. Nothing is
// executed or freed; after a backward without retain_graph the saved tensors are gone and not drawn.
std::string to_dot(const TensorList& outputs, const NamedTensors& params = {});

}  // namespace xgrad::autograd
