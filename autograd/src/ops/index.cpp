// Indexing ops, in adjoint pairs: index_select ↔ index_add, gather ↔ scatter_add. Each pair's
// backward is the other, so both stay differentiable to any order.
#include <cstring>

#include "kernels/elementwise.hpp"
#include "ops/index_put.hpp"
#include "dims.hpp"
#include "xgrad/ops.hpp"
#include "xgrad/record.hpp"

namespace xgrad {

using autograd::BackwardCtx;
using autograd::record;
using detail::wrap_dim;

namespace {

void check_index(const Tensor& index, const char* op) {
  XG_CHECK(index.defined() && index.dtype() == kInt64, op, ": index must be an Int64 tensor, got ",
           index.defined() ? dtype_name(index.dtype()) : "undefined");
}

// The indices as a checked vector (negative values are errors, as in PyTorch's index_select).
std::vector<int64_t> checked_indices(const Tensor& index, int64_t bound, const char* op, const char* what) {
  const int64_t* p = index.data_ptr<int64_t>();
  std::vector<int64_t> out(p, p + index.numel());
  for (int64_t v : out)
    XG_CHECK(v >= 0 && v < bound, op, ": index ", v, " is out of range for ", what, " of size ", bound);
  return out;
}

// For gather/scatter: walks every element of `index` (shape `ishape`), calling f(index_pos, self_pos)
// where self_pos is the element of a tensor shaped `sshape` with the index's value along `dim`.
template <class F>
void for_each_indexed(const Tensor& index, const Shape& sshape, int64_t dim, const char* op, F&& f) {
  const Shape& ishape = index.sizes();
  const int64_t nd = static_cast<int64_t>(ishape.size());
  Shape sstride(nd, 1);
  for (int64_t d = nd - 2; d >= 0; --d) sstride[d] = sstride[d + 1] * sshape[d + 1];
  const int64_t* idx = index.data_ptr<int64_t>();
  Shape pos(nd, 0);
  for (int64_t i = 0; i < index.numel(); ++i) {
    int64_t v = idx[i];
    XG_CHECK(v >= 0 && v < sshape[dim], op, ": index ", v, " is out of bounds for dimension ", dim, " with size ",
             sshape[dim]);
    int64_t off = 0;
    for (int64_t d = 0; d < nd; ++d) off += (d == dim ? v : pos[d]) * sstride[d];
    f(i, off);
    for (int64_t d = nd - 1; d >= 0; --d) {
      if (++pos[d] < ishape[d]) break;
      pos[d] = 0;
    }
  }
}

void check_gather_shapes(const Tensor& x, int64_t dim, const Tensor& index, const char* op) {
  XG_CHECK(index.dim() == x.dim(), op, ": index ", index.sizes(), " must have as many dims as the tensor ",
           x.sizes());
  for (int64_t d = 0; d < x.dim(); ++d)
    XG_CHECK(d == dim || index.sizes()[d] <= x.sizes()[d], op, ": index ", index.sizes(),
             " is larger than the tensor ", x.sizes(), " apart from dimension ", dim);
}

// The checks gather and the scatters share: a defined tensor, an Int64 index of as many dims that fits
// it outside `dim`. Returns the wrapped dim.
int64_t checked_gather_dim(const Tensor& x, int64_t dim0, const Tensor& index, const char* op) {
  XG_CHECK(x.defined(), op, ": input is undefined");
  check_index(index, op);
  int64_t dim = wrap_dim(dim0, x.dim(), op);
  check_gather_shapes(x, dim, index, op);
  return dim;
}

// The part of src that index addresses: src may be larger than index in any dim (PyTorch's rule).
Tensor src_at_index(const Tensor& src, const Tensor& index, const char* op) {
  XG_CHECK(src.dim() == index.dim(), op, ": src ", src.sizes(), " must have as many dims as index ", index.sizes());
  Tensor out = src;
  for (int64_t d = 0; d < src.dim(); ++d) {
    XG_CHECK(index.sizes()[d] <= src.sizes()[d], op, ": index ", index.sizes(), " is larger than src ", src.sizes(),
             " in dimension ", d);
    if (index.sizes()[d] < src.sizes()[d]) out = narrow(out, d, 0, index.sizes()[d]);
  }
  return out;
}

}  // namespace

Tensor index_select(const Tensor& x, int64_t dim0, const Tensor& index) {
  XG_CHECK(x.defined(), "index_select: input is undefined");
  check_index(index, "index_select");
  XG_CHECK(index.dim() <= 1, "index_select: index must be 0-D or 1-D, got shape ", index.sizes());
  int64_t dim = wrap_dim(dim0, x.dim(), "index_select");
  auto s = detail::split_at(x.sizes(), dim);
  auto idx = checked_indices(index, s.size, "index_select", "a dimension");
  Shape out_shape = x.sizes();
  if (x.dim() > 0) out_shape[dim] = static_cast<int64_t>(idx.size());
  Tensor out = empty(out_shape, x.dtype());
  const size_t block = s.inner * itemsize(x.dtype());
  auto* dst = static_cast<char*>(out.raw_data());
  const auto* src = static_cast<const char*>(x.raw_data());
  for (int64_t o = 0; o < s.outer; ++o)
    for (size_t j = 0; j < idx.size(); ++j)
      std::memcpy(dst + (o * idx.size() + j) * block, src + (o * s.size + idx[j]) * block, block);
  return record("IndexSelectBackward", {x}, out, {index}, [in = x.sizes(), dim](const BackwardCtx& c) -> TensorList {
    return {index_add(zeros(in, c.grad.dtype()), dim, c.saved[0], c.grad)};
  });
}

Tensor index_add(const Tensor& self, int64_t dim0, const Tensor& index, const Tensor& source0) {
  XG_CHECK(self.defined() && source0.defined(), "index_add: self or source is undefined");
  check_index(index, "index_add");
  XG_CHECK(index.dim() <= 1, "index_add: index must be 0-D or 1-D, got shape ", index.sizes());
  int64_t dim = wrap_dim(dim0, self.dim(), "index_add");
  Tensor source = source0.to(self.dtype());
  Shape expect = self.sizes();
  if (self.dim() > 0) expect[dim] = index.numel();
  XG_CHECK(source.sizes() == expect || (source.dim() == 0 && expect.empty()), "index_add: source shape ",
           source.sizes(), " doesn't match ", expect, " (self ", self.sizes(), " with dim ", dim0, " of size ",
           index.numel(), ")");
  auto s = detail::split_at(self.sizes(), dim);
  auto idx = checked_indices(index, s.size, "index_add", "a dimension");
  Tensor out = detail::alias(self, self.sizes()).clone();
  dispatch_numeric(self.dtype(), "index_add", [&]<class T>() {
    T* dst = out.data_ptr<T>();
    const T* src = source.data_ptr<T>();
    const int64_t n = static_cast<int64_t>(idx.size());
    for (int64_t o = 0; o < s.outer; ++o)
      for (int64_t j = 0; j < n; ++j) {
        T* d = dst + (o * s.size + idx[j]) * s.inner;
        const T* r = src + (o * n + j) * s.inner;
        for (int64_t i = 0; i < s.inner; ++i) d[i] += r[i];
      }
  });
  return record("IndexAddBackward", {self, source}, out, {index}, [dim](const BackwardCtx& c) -> TensorList {
    return {c.grad, c.needs_input_grad(1) ? index_select(c.grad, dim, c.saved[0]) : Tensor()};
  });
}

Tensor gather(const Tensor& x, int64_t dim0, const Tensor& index) {
  const int64_t dim = checked_gather_dim(x, dim0, index, "gather");
  Tensor out = empty(index.sizes(), x.dtype());
  dispatch(x.dtype(), [&]<class T>() {
    const T* src = x.data_ptr<T>();
    T* dst = out.data_ptr<T>();
    for_each_indexed(index, x.sizes(), dim, "gather", [&](int64_t i, int64_t off) { dst[i] = src[off]; });
  });
  return record("GatherBackward", {x}, out, {index}, [in = x.sizes(), dim](const BackwardCtx& c) -> TensorList {
    return {scatter_add(zeros(in, c.grad.dtype()), dim, c.saved[0], c.grad)};
  });
}

Tensor scatter_add(const Tensor& self, int64_t dim0, const Tensor& index, const Tensor& src0) {
  XG_CHECK(src0.defined(), "scatter_add: src is undefined");
  const int64_t dim = checked_gather_dim(self, dim0, index, "scatter_add");
  Tensor src = src_at_index(src0, index, "scatter_add").to(self.dtype());
  Tensor out = detail::alias(self, self.sizes()).clone();
  dispatch_numeric(self.dtype(), "scatter_add", [&]<class T>() {
    T* dst = out.data_ptr<T>();
    const T* s = src.data_ptr<T>();
    for_each_indexed(index, self.sizes(), dim, "scatter_add", [&](int64_t i, int64_t off) { dst[off] += s[i]; });
  });
  return record("ScatterAddBackward", {self, src}, out, {index}, [dim](const BackwardCtx& c) -> TensorList {
    return {c.grad, c.needs_input_grad(1) ? gather(c.grad, dim, c.saved[0]) : Tensor()};
  });
}

// Writes, last one winning where an index repeats; overwritten elements (of self, and of src where an
// index repeats) get no gradient.
Tensor scatter(const Tensor& self, int64_t dim0, const Tensor& index, const Tensor& src0) {
  XG_CHECK(src0.defined(), "scatter: src is undefined");
  const int64_t dim = checked_gather_dim(self, dim0, index, "scatter");
  Tensor src = src_at_index(src0, index, "scatter").to(self.dtype());
  Tensor out = detail::alias(self, self.sizes()).clone();
  // Where each src element went: the last write to a position survives and alone gets a gradient
  // (the rule index_put uses too).
  Tensor pos = empty(index.sizes(), kInt64);
  int64_t* where_to = pos.data_ptr<int64_t>();
  dispatch(self.dtype(), [&]<class T>() {
    T* dst = out.data_ptr<T>();
    const T* s = src.data_ptr<T>();
    for_each_indexed(index, self.sizes(), dim, "scatter", [&](int64_t i, int64_t off) {
      dst[off] = s[i];
      where_to[i] = off;
    });
  });
  const Tensor survives = detail::last_writes(pos, self.numel(), false);
  return record("ScatterBackward", {self, src}, out, {index, survives}, [dim](const BackwardCtx& c) -> TensorList {
    return {c.needs_input_grad(0) ? scatter(c.grad, dim, c.saved[0], 0.0) : Tensor(),
            c.needs_input_grad(1) ? where(c.saved[1], gather(c.grad, dim, c.saved[0]), 0.0) : Tensor()};
  });
}

Tensor scatter(const Tensor& self, int64_t dim0, const Tensor& index, double value) {
  const int64_t dim = checked_gather_dim(self, dim0, index, "scatter");
  Tensor out = detail::alias(self, self.sizes()).clone();
  dispatch(self.dtype(), [&]<class T>() {
    T* dst = out.data_ptr<T>();
    const T v = static_cast<T>(value);
    for_each_indexed(index, self.sizes(), dim, "scatter", [&](int64_t, int64_t off) { dst[off] = v; });
  });
  return record("ScatterBackward", {self}, out, {index}, [dim](const BackwardCtx& c) -> TensorList {
    return {scatter(c.grad, dim, c.saved[0], 0.0)};
  });
}

Tensor embedding(const Tensor& indices, const Tensor& weight, std::optional<int64_t> padding_idx) {
  XG_CHECK(weight.defined() && weight.dim() == 2, "embedding: weight must be 2-D (num_embeddings, embedding_dim)");
  XG_CHECK(indices.defined() && indices.dtype() == kInt64, "embedding: indices must be an Int64 tensor, got ",
           indices.defined() ? dtype_name(indices.dtype()) : "undefined");
  const int64_t V = weight.sizes()[0], D = weight.sizes()[1];
  auto idx = checked_indices(indices, V, "embedding", "an embedding table (num_embeddings)");
  Shape out_shape = indices.sizes();
  out_shape.push_back(D);
  Tensor out = empty(out_shape, weight.dtype());
  const size_t row = D * itemsize(weight.dtype());
  for (size_t j = 0; j < idx.size(); ++j)
    std::memcpy(static_cast<char*>(out.raw_data()) + j * row, static_cast<const char*>(weight.raw_data()) + idx[j] * row, row);
  int64_t pad = padding_idx.value_or(-1);
  if (pad < 0 && padding_idx) pad += V;
  return record("EmbeddingBackward", {weight}, out, {indices}, [V, D, pad](const BackwardCtx& c) -> TensorList {
    Tensor flat = reshape(c.saved[0], {-1});
    Tensor g = reshape(c.grad, {-1, D});
    if (pad >= 0) g = masked_fill(g, unsqueeze(flat == scalar_tensor(static_cast<double>(pad), kInt64), 1), 0.0);
    return {index_add(zeros({V, D}, c.grad.dtype()), 0, flat, g)};
  });
}

Tensor masked_fill(const Tensor& x, const Tensor& mask, double value) {
  XG_CHECK(x.defined(), "masked_fill: input is undefined");
  XG_CHECK(mask.defined() && mask.dtype() == kBool, "masked_fill: mask must be a Bool tensor, got ",
           mask.defined() ? dtype_name(mask.dtype()) : "undefined");
  Shape b = broadcast_shapes(x.sizes(), mask.sizes(), "masked_fill");
  XG_CHECK(b == x.sizes(), "masked_fill: mask of shape ", mask.sizes(), " can't be broadcast to the input shape ",
           x.sizes());
  Tensor out = empty_like(x);
  dispatch(x.dtype(), [&]<class T>() {
    const bool* pm = mask.data_ptr<bool>();
    const T* px = x.data_ptr<T>();
    T* po = out.data_ptr<T>();
    const T v = static_cast<T>(value);
    kernels::broadcast_for_each<2>(x.sizes(), {&x.sizes(), &mask.sizes()},
                                   [&](int64_t i, int64_t ix, int64_t im) { po[i] = pm[im] ? v : px[ix]; });
  });
  return record("MaskedFillBackward", {x}, out, {mask}, [](const BackwardCtx& c) -> TensorList {
    return {masked_fill(c.grad, c.saved[0], 0.0)};
  });
}

}  // namespace xgrad
