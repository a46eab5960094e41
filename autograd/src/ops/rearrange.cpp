// Ops that move or repeat elements: repeat, repeat_interleave, flip, roll, select, slice.
// All but flip are compositions of expand/reshape/index_select/narrow/cat, so their gradients (and
// gradients of gradients) come from those ops.
#include <numeric>

#include "kernels/strided_copy.hpp"
#include "dims.hpp"
#include "xgrad/ops.hpp"
#include "xgrad/record.hpp"

namespace xgrad {

using autograd::BackwardCtx;
using autograd::record;
using detail::wrap_dim;

Tensor repeat(const Tensor& x, const Shape& repeats) {
  XG_CHECK(x.defined(), "repeat: input is undefined");
  XG_CHECK(static_cast<int64_t>(repeats.size()) >= x.dim(), "repeat: number of repeat dims (", repeats.size(),
           ") can not be smaller than number of tensor dims (", x.dim(), "; repeats ", repeats, ", shape ",
           x.sizes(), ")");
  for (int64_t r : repeats) XG_CHECK(r >= 0, "repeat: repeats can't be negative, got ", repeats);
  // (s0, s1) tiled (r0, r1): view as (1, s0, 1, s1), expand to (r0, s0, r1, s1), merge the pairs.
  const size_t lead = repeats.size() - x.sizes().size();
  Shape padded(lead, 1);
  padded.insert(padded.end(), x.sizes().begin(), x.sizes().end());
  Shape pairs, expanded, out;
  for (size_t i = 0; i < repeats.size(); ++i) {
    pairs.insert(pairs.end(), {1, padded[i]});
    expanded.insert(expanded.end(), {repeats[i], padded[i]});
    out.push_back(repeats[i] * padded[i]);
  }
  return reshape(expand(reshape(x, pairs), expanded), out);
}

Tensor repeat_interleave(const Tensor& x, int64_t repeats, std::optional<int64_t> dim0) {
  XG_CHECK(x.defined(), "repeat_interleave: input is undefined");
  XG_CHECK(repeats >= 0, "repeat_interleave: repeats can not be negative, got ", repeats);
  Tensor in = dim0 ? x : reshape(x, {-1});
  int64_t dim = dim0 ? wrap_dim(*dim0, x.dim(), "repeat_interleave") : 0;
  if (in.dim() == 0) in = reshape(in, {1});
  // (.., n, ..) → (.., n, r, ..) expanded → (.., n·r, ..)
  Shape u = in.sizes(), e = in.sizes(), out = in.sizes();
  u.insert(u.begin() + dim + 1, 1);
  e.insert(e.begin() + dim + 1, repeats);
  out[dim] *= repeats;
  return reshape(expand(reshape(in, u), e), out);
}

Tensor repeat_interleave(const Tensor& repeats) {
  XG_CHECK(repeats.defined() && repeats.dtype() == kInt64 && repeats.dim() <= 1,
           "repeat_interleave: repeats must be a 0-D or 1-D Int64 tensor, got ",
           repeats.defined() ? dtype_name(repeats.dtype()) : "undefined",
           repeats.defined() ? str(" of shape ", repeats.sizes()) : "");
  const int64_t* r = repeats.data_ptr<int64_t>();
  int64_t total = 0;
  for (int64_t i = 0; i < repeats.numel(); ++i) {
    XG_CHECK(r[i] >= 0, "repeat_interleave: repeats can not be negative, got ", r[i], " at position ", i);
    total += r[i];
  }
  Tensor out = empty({total}, kInt64);
  int64_t* o = out.data_ptr<int64_t>();
  for (int64_t i = 0; i < repeats.numel(); ++i) o = std::fill_n(o, r[i], i);
  return out;
}

Tensor repeat_interleave(const Tensor& x, const Tensor& repeats, std::optional<int64_t> dim0) {
  XG_CHECK(x.defined(), "repeat_interleave: input is undefined");
  Tensor in = dim0 ? x : reshape(x, {-1});
  int64_t dim = dim0 ? wrap_dim(*dim0, x.dim(), "repeat_interleave") : 0;
  if (in.dim() == 0) in = reshape(in, {1});
  XG_CHECK(repeats.defined() && repeats.dtype() == kInt64, "repeat_interleave: repeats must be Int64");
  if (repeats.numel() == 1) return repeat_interleave(in, repeats.item<int64_t>(), dim);
  XG_CHECK(repeats.dim() == 1 && repeats.numel() == in.sizes()[dim], "repeat_interleave: repeats of shape ",
           repeats.sizes(), " must have one entry per element of dim ", dim, " (size ", in.sizes()[dim], ")");
  return index_select(in, dim, repeat_interleave(repeats));
}

Tensor flip(const Tensor& x, const Shape& dims0) {
  XG_CHECK(x.defined(), "flip: input is undefined");
  if (dims0.empty()) return x.clone();
  Shape dims = detail::wrap_dims(dims0, x.dim(), "flip");
  // A copy read backwards: negative strides along the flipped dims, starting at their last element.
  Shape strides = kernels::contiguous_strides(x.sizes());
  int64_t offset = 0;
  if (x.numel() > 0)
    for (int64_t d : dims) {
      offset += (x.sizes()[d] - 1) * strides[d];
      strides[d] = -strides[d];
    }
  Tensor out = empty(x.sizes(), x.dtype());
  if (x.numel() > 0) kernels::strided_copy(out.raw_data(), x.raw_data(), itemsize(x.dtype()), x.sizes(), strides, offset);
  return record("FlipBackward", {x}, out, {}, [dims](const BackwardCtx& c) -> TensorList { return {flip(c.grad, dims)}; });
}

Tensor roll(const Tensor& x, const Shape& shifts, const Shape& dims) {
  XG_CHECK(x.defined(), "roll: input is undefined");
  if (dims.empty()) {
    XG_CHECK(shifts.size() == 1, "roll: without dims, shifts must hold one value, got ", shifts);
    return reshape(roll(reshape(x, {-1}), shifts, {0}), x.sizes());
  }
  XG_CHECK(shifts.size() == dims.size(), "roll: shifts ", shifts, " and dims ", dims, " must have the same length");
  Tensor out = x;
  for (size_t i = 0; i < dims.size(); ++i) {
    int64_t d = wrap_dim(dims[i], x.dim(), "roll");
    int64_t n = x.sizes()[d];
    if (n == 0) continue;
    int64_t s = ((shifts[i] % n) + n) % n;  // the last s elements move to the front
    if (s == 0) continue;
    out = cat({narrow(out, d, n - s, s), narrow(out, d, 0, n - s)}, d);
  }
  return out.is_same(x) ? x.clone() : out;
}

Tensor select(const Tensor& x, int64_t dim0, int64_t index) {
  XG_CHECK(x.defined() && x.dim() > 0, "select: cannot be applied to a 0-dim tensor");
  int64_t dim = wrap_dim(dim0, x.dim(), "select");
  int64_t n = x.sizes()[dim];
  XG_CHECK(index >= -n && index < n, "select: index ", index, " is out of range for dimension ", dim0,
           " with size ", n, " (shape ", x.sizes(), ")");
  return squeeze(narrow(x, dim, index < 0 ? index + n : index, 1), dim);
}

Tensor slice(const Tensor& x, int64_t dim0, std::optional<int64_t> start0, std::optional<int64_t> end0, int64_t step) {
  XG_CHECK(x.defined() && x.dim() > 0, "slice: cannot be applied to a 0-dim tensor");
  XG_CHECK(step > 0, "slice: step must be greater than zero, got ", step);
  int64_t dim = wrap_dim(dim0, x.dim(), "slice");
  const int64_t n = x.sizes()[dim];
  // Python's clamping: negative counts from the end, then clamp into [0, n].
  auto clampi = [n](int64_t v) { return std::clamp<int64_t>(v < 0 ? v + n : v, 0, n); };
  int64_t start = clampi(start0.value_or(0)), end = clampi(end0.value_or(n));
  if (end < start) end = start;
  if (step == 1) return narrow(x, dim, start, end - start);
  return index_select(x, dim, arange(static_cast<double>(start), static_cast<double>(end), static_cast<double>(step), kInt64));
}

}  // namespace xgrad
