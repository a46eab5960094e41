#include "kernels/strided_copy.hpp"

#include <algorithm>
#include <cstring>

#include "kernels/parallel.hpp"

namespace xgrad::kernels {

Shape contiguous_strides(const Shape& sizes) {
  Shape s(sizes.size(), 1);
  for (int64_t d = static_cast<int64_t>(sizes.size()) - 2; d >= 0; --d) s[d] = s[d + 1] * sizes[d + 1];
  return s;
}

namespace {

template <class T>
void copy_typed(T* dst, const T* src, const Shape& sizes, const Shape& strides, int64_t offset) {
  // Merge dims that are contiguous with each other, so most copies become a few long inner loops.
  Shape sz, st;
  for (size_t d = 0; d < sizes.size(); ++d) {
    if (sizes[d] == 1) continue;
    if (!sz.empty() && st.back() == strides[d] * sizes[d]) {
      sz.back() *= sizes[d];
      st.back() = strides[d];
    } else {
      sz.push_back(sizes[d]);
      st.push_back(strides[d]);
    }
  }
  if (sz.empty()) { *dst = src[offset]; return; }
  const int64_t nd = static_cast<int64_t>(sz.size());
  const int64_t inner = sz.back(), inner_stride = st.back();
  int64_t outer = 1;
  for (int64_t d = 0; d + 1 < nd; ++d) outer *= sz[d];
  // Runs of the inner dim, split over the pool; each chunk finds its first run's source offset.
  parallel_for(outer, inner, [&](int64_t o0, int64_t o1) {
    Shape idx(nd, 0);
    int64_t base = offset;
    for (int64_t d = nd - 2, rem = o0; d >= 0; --d) {
      idx[d] = rem % sz[d];
      rem /= sz[d];
      base += idx[d] * st[d];
    }
    T* out = dst + o0 * inner;
    for (int64_t o = o0; o < o1; ++o) {
      const T* in = src + base;
      if (inner_stride == 1) {
        if (inner * static_cast<int64_t>(sizeof(T)) <= 256) {  // a head's row: a call to memcpy costs more
          for (int64_t i = 0; i < inner; ++i) out[i] = in[i];
        } else {
          std::memcpy(out, in, inner * sizeof(T));
        }
      } else if (inner_stride == 0) {
        std::fill(out, out + inner, *in);
      } else {
        for (int64_t i = 0; i < inner; ++i) out[i] = in[i * inner_stride];
      }
      out += inner;
      // advance the outer multi-index (odometer)
      for (int64_t d = nd - 2; d >= 0; --d) {
        base += st[d];
        if (++idx[d] < sz[d]) break;
        base -= st[d] * sz[d];
        idx[d] = 0;
      }
    }
  });
}

}  // namespace

void strided_copy(void* dst, const void* src, size_t itemsize, const Shape& sizes, const Shape& strides,
                  int64_t offset) {
  int64_t n = 1;
  for (auto s : sizes) n *= s;
  if (n == 0) return;
  switch (itemsize) {
    case 1: copy_typed(static_cast<uint8_t*>(dst), static_cast<const uint8_t*>(src), sizes, strides, offset); break;
    case 4: copy_typed(static_cast<uint32_t*>(dst), static_cast<const uint32_t*>(src), sizes, strides, offset); break;
    case 8: copy_typed(static_cast<uint64_t*>(dst), static_cast<const uint64_t*>(src), sizes, strides, offset); break;
    default: throw Error("strided_copy: unsupported item size");
  }
}

}  // namespace xgrad::kernels
