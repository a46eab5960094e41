// Shape ops. reshape/view/squeeze/unsqueeze/flatten alias the input's storage; permute, expand,
// narrow and cat copy through one strided-copy kernel.
#include <cstring>
#include <numeric>

#include "kernels/strided_copy.hpp"
#include "dims.hpp"
#include "xgrad/ops.hpp"
#include "xgrad/record.hpp"

namespace xgrad {

using autograd::BackwardCtx;
using autograd::record;
using detail::wrap_dim;

namespace {

Shape infer_shape(const Shape& shape, int64_t numel, const Shape& from, const char* op) {
  Shape out = shape;
  int64_t known = 1, infer_at = -1;
  for (size_t i = 0; i < out.size(); ++i) {
    if (out[i] == -1) {
      XG_CHECK(infer_at < 0, op, ": only one dimension can be inferred (-1) in ", shape);
      infer_at = static_cast<int64_t>(i);
    } else {
      XG_CHECK(out[i] >= 0, op, ": invalid shape dimension ", out[i], " in ", shape);
      known *= out[i];
    }
  }
  if (infer_at >= 0) {
    XG_CHECK(known != 0 && numel % known == 0, op, ": shape ", shape, " is invalid for input of size ", numel,
             " (shape ", from, ")");
    out[infer_at] = numel / known;
  } else {
    XG_CHECK(known == numel, op, ": shape ", shape, " is invalid for input of size ", numel, " (shape ", from, ")");
  }
  return out;
}

// A user-visible alias of x with another shape, recorded so gradients flow back reshaped.
Tensor alias_view(const Tensor& x, const Shape& shape, const char* node) {
  Tensor out = detail::alias(x, shape);
  if (!x.impl().storage->inference) x.impl().storage->has_views.store(true, std::memory_order_relaxed);
  return record(node, {x}, out, {}, [in = x.sizes()](const BackwardCtx& c) -> TensorList {
    return {reshape(c.grad, in)};
  });
}

// Copies x into a new contiguous tensor of `sizes`, reading x's element at Σ idx·strides + offset.
Tensor gather_strided(const Tensor& x, const Shape& sizes, const Shape& strides, int64_t offset) {
  Tensor out = empty(sizes, x.dtype());
  kernels::strided_copy(out.raw_data(), x.raw_data(), itemsize(x.dtype()), sizes, strides, offset);
  return out;
}

}  // namespace

Tensor reshape(const Tensor& x, const Shape& shape) {
  XG_CHECK(x.defined(), "reshape: input is undefined");
  Shape s = infer_shape(shape, x.numel(), x.sizes(), "reshape");
  if (s == x.sizes()) return x;
  return alias_view(x, s, "ReshapeBackward");
}

Tensor view(const Tensor& x, const Shape& shape) {
  XG_CHECK(x.defined(), "view: input is undefined");
  return alias_view(x, infer_shape(shape, x.numel(), x.sizes(), "view"), "ViewBackward");
}

Tensor flatten(const Tensor& x, int64_t start_dim, int64_t end_dim) {
  if (x.dim() == 0) return reshape(x, {1});
  int64_t s = wrap_dim(start_dim, x.dim(), "flatten"), e = wrap_dim(end_dim, x.dim(), "flatten");
  XG_CHECK(s <= e, "flatten: start_dim ", start_dim, " must not come after end_dim ", end_dim);
  Shape out(x.sizes().begin(), x.sizes().begin() + s);
  int64_t n = 1;
  for (int64_t i = s; i <= e; ++i) n *= x.sizes()[i];
  out.push_back(n);
  out.insert(out.end(), x.sizes().begin() + e + 1, x.sizes().end());
  return reshape(x, out);
}

Tensor unsqueeze(const Tensor& x, int64_t dim) {
  XG_CHECK(x.defined(), "unsqueeze: input is undefined");
  int64_t d = wrap_dim(dim, x.dim() + 1, "unsqueeze");
  Shape s = x.sizes();
  s.insert(s.begin() + d, 1);
  return alias_view(x, s, "UnsqueezeBackward");
}

Tensor squeeze(const Tensor& x) {
  Shape s;
  for (int64_t v : x.sizes())
    if (v != 1) s.push_back(v);
  return s == x.sizes() ? x : alias_view(x, s, "SqueezeBackward");
}

Tensor squeeze(const Tensor& x, int64_t dim) {
  if (x.dim() == 0) return x;
  int64_t d = wrap_dim(dim, x.dim(), "squeeze");
  if (x.sizes()[d] != 1) return x;
  Shape s = x.sizes();
  s.erase(s.begin() + d);
  return alias_view(x, s, "SqueezeBackward");
}

Tensor permute(const Tensor& x, const Shape& dims) {
  XG_CHECK(x.defined(), "permute: input is undefined");
  XG_CHECK(static_cast<int64_t>(dims.size()) == x.dim(), "permute: number of dims in ", dims,
           " doesn't match the tensor's ", x.dim(), " dims (shape ", x.sizes(), ")");
  Shape p(dims.size()), inverse(dims.size());
  std::vector<bool> seen(dims.size());
  for (size_t i = 0; i < dims.size(); ++i) {
    p[i] = wrap_dim(dims[i], x.dim(), "permute");
    XG_CHECK(!seen[p[i]], "permute: dim ", dims[i], " repeats in ", dims);
    seen[p[i]] = true;
    inverse[p[i]] = static_cast<int64_t>(i);
  }
  bool identity = true;
  for (size_t i = 0; i < p.size(); ++i) identity &= p[i] == static_cast<int64_t>(i);
  if (identity) return x;
  Shape st = kernels::contiguous_strides(x.sizes()), sizes(p.size()), strides(p.size());
  for (size_t i = 0; i < p.size(); ++i) {
    sizes[i] = x.sizes()[p[i]];
    strides[i] = st[p[i]];
  }
  Tensor out = gather_strided(x, sizes, strides, 0);
  return record("PermuteBackward", {x}, out, {}, [inverse](const BackwardCtx& c) -> TensorList {
    return {permute(c.grad, inverse)};
  });
}

Tensor transpose(const Tensor& x, int64_t dim0, int64_t dim1) {
  XG_CHECK(x.defined(), "transpose: input is undefined");
  if (x.dim() == 0) return x;
  int64_t a = wrap_dim(dim0, x.dim(), "transpose"), b = wrap_dim(dim1, x.dim(), "transpose");
  Shape p(x.dim());
  std::iota(p.begin(), p.end(), 0);
  std::swap(p[a], p[b]);
  return permute(x, p);
}

Tensor expand(const Tensor& x, const Shape& shape) {
  XG_CHECK(x.defined(), "expand: input is undefined");
  XG_CHECK(shape.size() >= x.sizes().size(), "expand: the number of sizes provided (", shape.size(),
           ") must be greater or equal to the number of dimensions in the tensor (", x.dim(), ")");
  size_t lead = shape.size() - x.sizes().size();
  Shape st = kernels::contiguous_strides(x.sizes()), sizes(shape.size()), strides(shape.size(), 0);
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i < lead) {
      XG_CHECK(shape[i] >= 0, "expand: a new leading dim can't be ", shape[i], " (", shape, ")");
      sizes[i] = shape[i];
      continue;
    }
    int64_t have = x.sizes()[i - lead], want = shape[i] == -1 ? have : shape[i];
    XG_CHECK(want == have || have == 1, "expand: the expanded size of the tensor (", want,
             ") must match the existing size (", have, ") at non-singleton dimension ", i, ".  Target sizes: ",
             shape, ".  Tensor sizes: ", x.sizes());
    sizes[i] = want;
    strides[i] = have == want ? st[i - lead] : 0;
  }
  if (sizes == x.sizes()) return x;
  Tensor out = gather_strided(x, sizes, strides, 0);
  return record("ExpandBackward", {x}, out, {}, [in = x.sizes()](const BackwardCtx& c) -> TensorList {
    return {sum_to(c.grad, in)};
  });
}

namespace {

// Pieces [starts[k], starts[k] + lengths[k]) of dim, each contiguous: a view into x's memory when
// the piece is one block of it (every dim before `dim` has size 1), else a copy.
Tensor slice_along(const Tensor& x, int64_t dim, int64_t start, int64_t length) {
  Shape sizes = x.sizes();
  sizes[dim] = length;
  const Shape st = kernels::contiguous_strides(x.sizes());
  int64_t leading = 1;
  for (int64_t d = 0; d < dim; ++d) leading *= x.sizes()[d];
  if (leading != 1) return gather_strided(x, sizes, st, start * st[dim]);
  Tensor view = detail::alias(x, sizes);
  view.impl().numel = length * st[dim];
  view.impl().storage_offset += start * st[dim];
  if (!x.impl().storage->inference) x.impl().storage->has_views.store(true, std::memory_order_relaxed);  // a user-visible alias: in-place writes through it are seen
  return view;
}

// The gradient of x from its pieces' gradients (undefined ones are zero): one cat.
Tensor join_pieces(const TensorList& grads, const Shape& in, int64_t dim, const Shape& starts, const Shape& lengths) {
  TensorList parts;
  int64_t at = 0;
  for (size_t k = 0; k < grads.size(); ++k) {
    Shape gap = in;
    gap[dim] = starts[k] - at;
    if (gap[dim] > 0) parts.push_back(zeros(gap, grads[0].dtype()));
    parts.push_back(grads[k]);
    at = starts[k] + lengths[k];
  }
  Shape tail = in;
  tail[dim] = in[dim] - at;
  if (tail[dim] > 0) parts.push_back(zeros(tail, grads[0].dtype()));
  return parts.size() == 1 ? parts[0] : cat(parts, dim);
}

// split/chunk/unbind: consecutive pieces of dim as one node, whose backward builds the whole
// gradient once (not one zero-padded full-size gradient per piece).
TensorList split_pieces(const Tensor& x, int64_t dim, const Shape& lengths) {
  TensorList out;
  Shape starts;
  int64_t at = 0;
  for (int64_t len : lengths) {
    starts.push_back(at);
    out.push_back(slice_along(x, dim, at, len));
    at += len;
  }
  return autograd::record_outputs("SplitBackward", {&x, 1}, std::move(out), {},
                                  [in = x.sizes(), dim, starts, lengths](const BackwardCtx& c) -> TensorList {
                                    TensorList grads = c.grads;
                                    ScalarType t = kFloat32;
                                    for (auto& g : grads)
                                      if (g.defined()) t = g.dtype();
                                    for (size_t k = 0; k < grads.size(); ++k)
                                      if (!grads[k].defined()) {
                                        Shape piece = in;
                                        piece[dim] = lengths[k];
                                        grads[k] = zeros(piece, t);
                                      }
                                    return {join_pieces(grads, in, dim, starts, lengths)};
                                  });
}

}  // namespace

Tensor narrow(const Tensor& x, int64_t dim0, int64_t start, int64_t length) {
  XG_CHECK(x.defined() && x.dim() > 0, "narrow: needs a tensor with at least one dim");
  int64_t dim = wrap_dim(dim0, x.dim(), "narrow");
  int64_t n = x.sizes()[dim];
  if (start < 0) start += n;
  XG_CHECK(start >= 0 && length >= 0 && start + length <= n, "narrow: start ", start, " + length ", length,
           " exceeds dimension size ", n, " (dim ", dim0, ", shape ", x.sizes(), ")");
  Tensor out = slice_along(x, dim, start, length);
  return record("NarrowBackward", {x}, out, {}, [in = x.sizes(), dim, start, length](const BackwardCtx& c) -> TensorList {
    return {join_pieces({c.grad}, in, dim, {start}, {length})};
  });
}

Tensor cat(const TensorList& tensors0, int64_t dim0) {
  XG_CHECK(!tensors0.empty(), "cat: expected a non-empty list of tensors");
  ScalarType t = tensors0[0].dtype();
  for (const auto& x : tensors0) {
    XG_CHECK(x.defined(), "cat: a tensor in the list is undefined");
    t = promote_types(t, x.dtype());
  }
  TensorList tensors;
  for (const auto& x : tensors0) tensors.push_back(x.to(t));
  const Tensor& first = tensors[0];
  XG_CHECK(first.dim() > 0, "cat: zero-dimensional tensor cannot be concatenated");
  int64_t dim = wrap_dim(dim0, first.dim(), "cat");
  Shape out_shape = first.sizes();
  out_shape[dim] = 0;
  for (size_t k = 0; k < tensors.size(); ++k) {
    const Shape& s = tensors[k].sizes();
    bool ok = s.size() == first.sizes().size();
    for (size_t i = 0; ok && i < s.size(); ++i) ok = static_cast<int64_t>(i) == dim || s[i] == first.sizes()[i];
    XG_CHECK(ok, "cat: sizes of tensors must match except in dimension ", dim, "; tensor 0 has shape ",
             first.sizes(), " and tensor ", k, " has shape ", s);
    out_shape[dim] += s[dim];
  }
  Tensor out = empty(out_shape, t);
  auto split = detail::split_at(out_shape, dim);
  const size_t item = itemsize(t);
  auto* dst = static_cast<char*>(out.raw_data());
  int64_t offset = 0;  // in elements along one output row of size (dim size · inner)
  for (const auto& x : tensors) {
    int64_t block = x.sizes()[dim] * split.inner;
    auto* src = static_cast<const char*>(x.raw_data());
    for (int64_t o = 0; o < split.outer; ++o)
      std::memcpy(dst + (o * split.size * split.inner + offset) * item, src + o * block * item, block * item);
    offset += block;
  }
  Shape lengths;
  for (const auto& x : tensors) lengths.push_back(x.sizes()[dim]);
  return record("CatBackward", tensors, out, {}, [lengths, dim](const BackwardCtx& c) -> TensorList {
    TensorList grads;
    int64_t start = 0;
    for (size_t i = 0; i < lengths.size(); ++i) {
      grads.push_back(c.needs_input_grad(i) ? narrow(c.grad, dim, start, lengths[i]) : Tensor());
      start += lengths[i];
    }
    return grads;
  });
}

Tensor stack(const TensorList& tensors, int64_t dim) {
  XG_CHECK(!tensors.empty(), "stack: expected a non-empty list of tensors");
  for (size_t k = 0; k < tensors.size(); ++k)
    XG_CHECK(tensors[k].defined() && tensors[k].sizes() == tensors[0].sizes(),
             "stack: expects each tensor to be equal size, but got ", tensors[0].sizes(), " at entry 0 and ",
             tensors[k].defined() ? tensors[k].sizes() : Shape{}, " at entry ", k);
  int64_t d = wrap_dim(dim, tensors[0].dim() + 1, "stack");
  TensorList parts;
  for (const auto& x : tensors) parts.push_back(unsqueeze(x, d));
  return cat(parts, d);
}

TensorList split(const Tensor& x, int64_t split_size, int64_t dim0) {
  XG_CHECK(x.defined() && x.dim() > 0, "split: needs a tensor with at least one dim");
  XG_CHECK(split_size > 0, "split: split_size must be positive, got ", split_size);
  int64_t dim = wrap_dim(dim0, x.dim(), "split");
  Shape lengths;
  for (int64_t s = 0; s < x.sizes()[dim]; s += split_size) lengths.push_back(std::min(split_size, x.sizes()[dim] - s));
  return split_pieces(x, dim, lengths);
}

TensorList split(const Tensor& x, const Shape& sizes, int64_t dim0) {
  XG_CHECK(x.defined() && x.dim() > 0, "split: needs a tensor with at least one dim");
  int64_t dim = wrap_dim(dim0, x.dim(), "split");
  for (int64_t len : sizes) XG_CHECK(len >= 0, "split: split sizes must be non-negative, got ", sizes);
  int64_t total = std::accumulate(sizes.begin(), sizes.end(), int64_t{0});
  XG_CHECK(total == x.sizes()[dim], "split: split sizes ", sizes, " don't sum to the size ", x.sizes()[dim],
           " of dim ", dim0);
  return split_pieces(x, dim, sizes);
}

TensorList chunk(const Tensor& x, int64_t chunks, int64_t dim0) {
  XG_CHECK(chunks > 0, "chunk: number of chunks must be positive, got ", chunks);
  XG_CHECK(x.defined() && x.dim() > 0, "chunk: needs a tensor with at least one dim");
  int64_t n = x.sizes()[wrap_dim(dim0, x.dim(), "chunk")];
  return split(x, std::max<int64_t>((n + chunks - 1) / chunks, 1), dim0);
}

TensorList unbind(const Tensor& x, int64_t dim0) {
  XG_CHECK(x.defined() && x.dim() > 0, "unbind: needs a tensor with at least one dim");
  int64_t dim = wrap_dim(dim0, x.dim(), "unbind");
  TensorList pieces = split_pieces(x, dim, Shape(static_cast<size_t>(x.sizes()[dim]), 1));
  for (auto& p : pieces) p = squeeze(p, dim);
  return pieces;
}

namespace {
Tensor triangle(const Tensor& x, int64_t k, bool lower) {
  const char* op = lower ? "tril" : "triu";
  XG_CHECK(x.defined() && x.dim() >= 2, op, ": input must have at least 2 dims, got shape ",
           x.defined() ? x.sizes() : Shape{});
  Tensor out = detail::alias(x, x.sizes()).clone();  // a plain copy, not recorded
  int64_t R = x.sizes()[x.dim() - 2], C = x.sizes()[x.dim() - 1], batch = x.numel() / std::max<int64_t>(R * C, 1);
  dispatch(x.dtype(), [&]<class T>() {
    T* p = out.data_ptr<T>();
    for (int64_t b = 0; b < batch; ++b)
      for (int64_t i = 0; i < R; ++i)
        for (int64_t j = 0; j < C; ++j)
          if (lower ? j - i > k : j - i < k) p[(b * R + i) * C + j] = T(0);
  });
  return record(lower ? "TrilBackward" : "TriuBackward", {x}, out, {}, [k, lower](const BackwardCtx& c) -> TensorList {
    return {triangle(c.grad, k, lower)};
  });
}
}  // namespace

Tensor tril(const Tensor& x, int64_t diagonal) { return triangle(x, diagonal, true); }
Tensor triu(const Tensor& x, int64_t diagonal) { return triangle(x, diagonal, false); }

}  // namespace xgrad
