#include "allocator.hpp"

#include <cstdlib>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "xgrad/error.hpp"
#include "xgrad/tensor.hpp"

namespace xgrad {

namespace {

constexpr size_t kCacheFrom = 64 * 1024;         // smaller blocks go straight to malloc
constexpr size_t kMaxCached = size_t{2} << 30;   // at most 2 GiB held idle

// Size classes: below kCacheFrom, 64-byte multiples; above, 8 classes per power of two
// (at most 12.5% slack), so a step's repeated shapes land in the same class.
size_t size_class(size_t n) {
  if (n < kCacheFrom) return ((n + 63) / 64) * 64;
  size_t p = size_t{1} << (63 - __builtin_clzll(n));
  size_t step = p / 8;
  return ((n + step - 1) / step) * step;
}

struct Cache {
  std::mutex mu;
  std::unordered_map<size_t, std::vector<void*>> free_blocks;
  size_t cached = 0;
};

Cache& cache() {
  static Cache* c = new Cache();  // never destroyed: tensors may outlive static destructors
  return *c;
}

}  // namespace

namespace detail {

void* alloc_buffer(size_t nbytes) {
  size_t sz = size_class(nbytes == 0 ? 1 : nbytes);
  if (sz >= kCacheFrom) {
    Cache& c = cache();
    std::lock_guard<std::mutex> lock(c.mu);
    auto it = c.free_blocks.find(sz);
    if (it != c.free_blocks.end() && !it->second.empty()) {
      void* p = it->second.back();
      it->second.pop_back();
      c.cached -= sz;
      return p;
    }
  }
  void* p = std::aligned_alloc(64, sz);
  if (!p) {
    empty_cache();
    p = std::aligned_alloc(64, sz);
  }
  XG_CHECK(p, "out of memory allocating ", nbytes, " bytes");
  return p;
}

void free_buffer(void* p, size_t nbytes) {
  size_t sz = size_class(nbytes == 0 ? 1 : nbytes);
  if (sz >= kCacheFrom) {
    Cache& c = cache();
    std::lock_guard<std::mutex> lock(c.mu);
    if (c.cached + sz <= kMaxCached) {
      c.free_blocks[sz].push_back(p);
      c.cached += sz;
      return;
    }
  }
  std::free(p);
}

}  // namespace detail

void empty_cache() {
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mu);
  for (auto& [sz, blocks] : c.free_blocks)
    for (void* p : blocks) std::free(p);
  c.free_blocks.clear();
  c.cached = 0;
}

}  // namespace xgrad
