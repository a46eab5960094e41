#pragma once
// Gathers a strided layout into a contiguous buffer: the one loop behind permute, transpose,
// expand (stride 0) and narrow (offset).
#include <cstddef>
#include <cstdint>

#include "xgrad/tensor.hpp"

namespace xgrad::kernels {

// dst[i0..in] = src[offset + Σ ik·strides[k]] for the index space `sizes`; strides in elements.
void strided_copy(void* dst, const void* src, size_t itemsize, const Shape& sizes, const Shape& strides,
                  int64_t offset);

// Row-major strides (in elements) of a contiguous tensor of this shape.
Shape contiguous_strides(const Shape& sizes);

}  // namespace xgrad::kernels
