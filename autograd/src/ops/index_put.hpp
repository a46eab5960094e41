#pragma once
// What index_put (out of place, ops/advanced_index.cpp) and Tensor::index_put_ (in place,
// tensor.cpp) share: positions into the flattened tensor, the write, and the backward.
#include "xgrad/indexing.hpp"
#include "xgrad/record.hpp"

namespace xgrad::detail {

struct IndexPut {
  Tensor pos;     // Int64, the flat position of every indexed element, in the indexed shape
  Tensor values;  // the values broadcast to pos's shape, in the destination's dtype (recorded ops)
};
IndexPut prepare_index_put(const Tensor& x, const std::vector<indexing::TensorIndex>& indices, const Tensor& values,
                           const char* op);
// dst.flat[pos[i]] = values[i] (or +=); the last write wins where a position repeats.
void write_index_put(const Tensor& dst, const Tensor& pos, const Tensor& values, bool accumulate);
// Bool, pos's shape: true where that write is the last to its position (undefined when accumulating).
Tensor last_writes(const Tensor& pos, int64_t numel, bool accumulate);
// The backward of a recorded index_put: inputs (x, values), saved {pos, last_writes(pos, ...)}.
autograd::BackwardFn index_put_backward(bool accumulate);

}  // namespace xgrad::detail
