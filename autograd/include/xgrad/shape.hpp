#pragma once
// Shape rules shared by ops and kernels (no graph, no tensors).
#include "xgrad/tensor.hpp"

namespace xgrad {

// The shape a and b broadcast to (numpy's rules); an Error naming `op` if they don't.
Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op = "broadcast");

}  // namespace xgrad
