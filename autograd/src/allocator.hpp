#pragma once
// Tensor buffers. Large blocks are kept after free and reused for the next request of the same
// size class: a training step allocates the same shapes every time, and fresh pages from the
// kernel (mmap + page faults) cost more than the kernels that fill them.
#include <cstddef>

namespace xgrad::detail {

void* alloc_buffer(size_t nbytes);  // 64-byte aligned
void free_buffer(void* p, size_t nbytes);

}  // namespace xgrad::detail
