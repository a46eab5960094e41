#pragma once
// Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC 2011): a
// counter-based generator. The n-th number of a stream is a pure function of (key, n), so a
// kernel can regenerate any part of its random stream, in any order, on any thread — the fused
// attention's backward recomputes its dropout mask from the forward's key instead of storing it.
#include <array>
#include <cstdint>

namespace xgrad::kernels {

class Philox4x32 {
 public:
  explicit Philox4x32(uint64_t key) : k0_(static_cast<uint32_t>(key)), k1_(static_cast<uint32_t>(key >> 32)) {}

  // The four 32-bit words of block (counter_hi·2⁶⁴ + counter).
  std::array<uint32_t, 4> block(uint64_t counter, uint64_t counter_hi = 0) const {
    uint32_t c0 = static_cast<uint32_t>(counter), c1 = static_cast<uint32_t>(counter >> 32);
    uint32_t c2 = static_cast<uint32_t>(counter_hi), c3 = static_cast<uint32_t>(counter_hi >> 32);
    uint32_t k0 = k0_, k1 = k1_;
    for (int round = 0; round < 10; ++round) {
      const uint64_t p0 = uint64_t{0xD2511F53u} * c0, p1 = uint64_t{0xCD9E8D57u} * c2;
      const uint32_t hi0 = static_cast<uint32_t>(p0 >> 32), lo0 = static_cast<uint32_t>(p0);
      const uint32_t hi1 = static_cast<uint32_t>(p1 >> 32), lo1 = static_cast<uint32_t>(p1);
      c0 = hi1 ^ c1 ^ k0;
      c1 = lo1;
      c2 = hi0 ^ c3 ^ k1;
      c3 = lo0;
      k0 += 0x9E3779B9u;
      k1 += 0xBB67AE85u;
    }
    return {c0, c1, c2, c3};
  }

  // Word i of the stream: word i % 4 of block i / 4.
  uint32_t operator()(uint64_t i) const { return block(i >> 2)[i & 3]; }

  // f(j, word) for the words first … first + count − 1 of the stream, one block per four words.
  template <class F>
  void words(uint64_t first, int64_t count, F&& f) const {
    int64_t j = 0;
    while (j < count) {
      const uint64_t i = first + static_cast<uint64_t>(j);
      const auto b = block(i >> 2);
      for (uint64_t w = i & 3; w < 4 && j < count; ++w, ++j) f(j, b[w]);
    }
  }

 private:
  uint32_t k0_, k1_;
};

}  // namespace xgrad::kernels
