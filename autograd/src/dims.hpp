#pragma once
// Dim arguments: negative dims wrap, out-of-range dims and duplicates are errors naming the op.
#include <algorithm>

#include "xgrad/tensor.hpp"

namespace xgrad::detail {

inline int64_t wrap_dim(int64_t dim, int64_t ndim, const char* op) {
  int64_t lo = ndim == 0 ? -1 : -ndim, hi = ndim == 0 ? 0 : ndim - 1;  // 0-dim tensors accept 0 and -1
  XG_CHECK(dim >= lo && dim <= hi, op, ": dim ", dim, " is out of range for a tensor with ", ndim,
           " dims (expected to be in range of [", lo, ", ", hi, "])");
  return dim < 0 ? dim + std::max<int64_t>(ndim, 1) : dim;
}

// Sorted, wrapped dims; empty means all dims.
inline Shape wrap_dims(const Shape& dims, int64_t ndim, const char* op) {
  Shape out;
  if (dims.empty()) {
    for (int64_t d = 0; d < ndim; ++d) out.push_back(d);
    return out;
  }
  for (int64_t d : dims) out.push_back(wrap_dim(d, ndim, op));
  std::sort(out.begin(), out.end());
  XG_CHECK(std::adjacent_find(out.begin(), out.end()) == out.end(), op, ": a dim appears more than once in ", dims);
  return out;
}

// Sizes as (outer, dim size, inner) around one dim.
struct Split3 {
  int64_t outer = 1, size = 1, inner = 1;
};
inline Split3 split_at(const Shape& sizes, int64_t dim) {
  Split3 s;
  for (int64_t i = 0; i < static_cast<int64_t>(sizes.size()); ++i) {
    if (i < dim) s.outer *= sizes[i];
    else if (i == dim) s.size = sizes[i];
    else s.inner *= sizes[i];
  }
  return s;
}

// `sizes` with the reduced dims kept as 1 (keepdim) or dropped.
inline Shape reduced_shape(const Shape& sizes, const Shape& dims, bool keepdim) {
  Shape out;
  for (int64_t i = 0; i < static_cast<int64_t>(sizes.size()); ++i) {
    bool red = std::find(dims.begin(), dims.end(), i) != dims.end();
    if (!red) out.push_back(sizes[i]);
    else if (keepdim) out.push_back(1);
  }
  return out;
}

// A new handle on t's storage with another shape of the same numel, no autograd history, and not
// marked as a user-visible view: for ops reshaping a result they just computed.
inline Tensor alias(const Tensor& t, const Shape& shape) {
  Tensor a = t.variable_data();
  a.impl().sizes = shape;
  return a;
}

}  // namespace xgrad::detail
