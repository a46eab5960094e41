#pragma once
// Shape rules shared by ops and kernels (no graph, no tensors).
#include "xgrad/tensor.hpp"

namespace xgrad {

// The number of elements of `shape`: an Error naming `op` for a negative dimension, or for a product
// too large for any buffer (over 2^62 elements: it would wrap), never a silently wrapped count.
int64_t checked_numel(const Shape& shape, const char* op);

// The shape a and b broadcast to (numpy's rules); an Error naming `op` if they don't.
Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op = "broadcast");

}  // namespace xgrad
