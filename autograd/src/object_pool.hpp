#pragma once
// make_pooled<T>(...): std::make_shared whose memory comes from a per-thread free list.
//
// Why: every recorded op allocates a TensorImpl, a Storage and a graph node, and frees them when
// the graph goes. The node (with its 512-byte arena) is too big for glibc's per-thread cache, so
// malloc and free took ~30% of a recorded op (perf, bench BM_OpOverheadForward). Blocks here are
// 64-byte aligned, kept per size class (64-byte steps up to 2 KiB) and at most kMaxPerClass per
// class and thread; anything else goes to operator new/delete. A block freed on another thread
// joins that thread's list, which is fine: every block is a plain operator-new block.
// Under AddressSanitizer the pool is bypassed so use-after-free stays visible.
#include <array>
#include <cstddef>
#include <memory>
#include <new>

namespace xgrad::detail {

class ObjectPool {
 public:
  static constexpr size_t kAlign = 64, kClasses = 32, kMaxPerClass = 4096;

  static void* allocate(size_t bytes) {
    const size_t c = size_class(bytes);
    Lists& l = lists();
    if (c < kClasses && l.alive && l.head[c]) {
      Block* b = l.head[c];
      l.head[c] = b->next;
      --l.count[c];
      return b;
    }
    return ::operator new(c < kClasses ? (c + 1) * kAlign : bytes, std::align_val_t(kAlign));
  }

  static void deallocate(void* p, size_t bytes) noexcept {
    const size_t c = size_class(bytes);
    Lists& l = lists();
    if (c < kClasses && l.alive && l.count[c] < kMaxPerClass) {
      l.head[c] = new (p) Block{l.head[c]};
      ++l.count[c];
      return;
    }
    ::operator delete(p, std::align_val_t(kAlign));
  }

 private:
  struct Block {
    Block* next;
  };
  // Trivially destructible, so it stays usable while other thread-locals and statics are torn
  // down; `alive` turns false once the thread's blocks have been returned.
  struct Lists {
    std::array<Block*, kClasses> head{};
    std::array<size_t, kClasses> count{};
    bool alive = true;
  };
  struct Drain {
    Lists* lists;
    ~Drain();
  };

  static size_t size_class(size_t bytes) {
#if defined(__SANITIZE_ADDRESS__)
    (void)bytes;
    return kClasses;  // never pooled
#else
    return bytes == 0 ? 0 : (bytes - 1) / kAlign;
#endif
  }
  static Lists& lists() {
    thread_local Lists l;
    thread_local Drain drain{&l};  // made with the lists; returns their blocks at thread exit
    (void)drain;
    return l;
  }
  friend struct Drain;
};

inline ObjectPool::Drain::~Drain() {
  Lists& l = *lists;
  l.alive = false;
  for (size_t c = 0; c < kClasses; ++c)
    while (Block* b = l.head[c]) {
      l.head[c] = b->next;
      ::operator delete(b, std::align_val_t(kAlign));
    }
}

// An allocator for std::allocate_shared (which rebinds it to its control block type).
template <class T>
struct PoolAllocator {
  using value_type = T;
  PoolAllocator() = default;
  template <class U>
  PoolAllocator(const PoolAllocator<U>&) noexcept {}  // NOLINT: rebinding is implicit
  T* allocate(size_t n) {
    static_assert(alignof(T) <= ObjectPool::kAlign);
    return static_cast<T*>(ObjectPool::allocate(n * sizeof(T)));
  }
  void deallocate(T* p, size_t n) noexcept { ObjectPool::deallocate(p, n * sizeof(T)); }
  template <class U>
  bool operator==(const PoolAllocator<U>&) const noexcept { return true; }
};

template <class T, class... Args>
std::shared_ptr<T> make_pooled(Args&&... args) {
  return std::allocate_shared<T>(PoolAllocator<T>(), std::forward<Args>(args)...);
}

}  // namespace xgrad::detail
