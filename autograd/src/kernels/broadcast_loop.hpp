#pragma once
// A raw broadcasting loop over up to three operands. Used where xtensor + xsimd can't go:
// Bool results and Bool conditions (xsimd's batch_bool does not mix with other element types).
#include <array>
#include <cstdint>
#include <utility>

#include "kernels/parallel.hpp"
#include "xgrad/tensor.hpp"

namespace xgrad::kernels {

// Calls f(out_index, index_in_operand_0, ..., index_in_operand_{N-1}) for every element of `out`,
// each operand shape right-aligned and broadcast (size-1 dims repeat). Large outputs are split
// into row ranges over the pool: f must only write element out_index.
template <size_t N, class F>
void broadcast_for_each(const Shape& out, const std::array<const Shape*, N>& shapes, F&& f) {
  const int64_t nd = static_cast<int64_t>(out.size());
  int64_t total = 1;
  for (int64_t s : out) total *= s;
  bool same = true;
  for (auto* s : shapes) same &= *s == out;
  if (same) {
    parallel_for(total, 1, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) {
        std::array<int64_t, N> idx;
        idx.fill(i);
        std::apply([&](auto... k) { f(i, k...); }, idx);
      }
    });
    return;
  }
  // Strides of each operand in the output's index space (0 where broadcast).
  std::array<Shape, N> st;
  for (size_t k = 0; k < N; ++k) {
    const Shape& s = *shapes[k];
    st[k].assign(nd, 0);
    int64_t stride = 1;
    for (int64_t d = nd - 1, sd = static_cast<int64_t>(s.size()) - 1; sd >= 0; --d, --sd) {
      if (s[sd] != 1) st[k][d] = stride;
      stride *= s[sd];
    }
  }
  // The innermost dimension runs as a plain loop (vectorisable when its strides are 0 or 1); an
  // odometer over the outer dimensions moves the operands' offsets between rows.
  const int64_t inner = out[nd - 1];
  if (inner == 0 || total == 0) return;
  std::array<int64_t, N> ist;
  for (size_t k = 0; k < N; ++k) ist[k] = st[k][nd - 1];
  parallel_for(total / inner, inner, [&](int64_t row_begin, int64_t row_end) {
    Shape pos(nd, 0);
    std::array<int64_t, N> off{};
    for (int64_t d = nd - 2, r = row_begin; d >= 0; --d) {  // the odometer's start at row_begin
      pos[d] = r % out[d];
      r /= out[d];
      for (size_t k = 0; k < N; ++k) off[k] += pos[d] * st[k][d];
    }
    for (int64_t i = row_begin * inner; i < row_end * inner; i += inner) {
      for (int64_t j = 0; j < inner; ++j)
        [&]<size_t... K>(std::index_sequence<K...>) { f(i + j, (off[K] + j * ist[K])...); }(std::make_index_sequence<N>());
      for (int64_t d = nd - 2; d >= 0; --d) {
        for (size_t k = 0; k < N; ++k) off[k] += st[k][d];
        if (++pos[d] < out[d]) break;
        for (size_t k = 0; k < N; ++k) off[k] -= st[k][d] * out[d];
        pos[d] = 0;
      }
    }
  });
}

}  // namespace xgrad::kernels
