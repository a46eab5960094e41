// Sorting and selection along a dim: sort, argsort, topk, argmin/argmax. The values' gradient goes
// back to the positions they came from (scatter_add into zeros, itself differentiable).
#include <algorithm>
#include <cmath>
#include <numeric>

#include "kernels/reduce.hpp"
#include "dims.hpp"
#include "xgrad/ops.hpp"
#include "xgrad/record.hpp"

namespace xgrad {

using autograd::BackwardCtx;
using autograd::record;
using detail::split_at;
using detail::wrap_dim;

namespace {

// NaN counts as larger than every number (PyTorch's order).
template <class T>
bool less_nan_last(T a, T b) {
  if constexpr (std::is_floating_point_v<T>) {
    if (std::isnan(a)) return false;
    if (std::isnan(b)) return true;
  }
  return a < b;
}

// For every line along dim: the positions of its k first elements in ascending (or descending)
// order, stable; values and Int64 indices shaped like x with dim's size k.
std::tuple<Tensor, Tensor> sorted_lines(const Tensor& x, int64_t dim, int64_t k, bool descending, bool full_sort,
                                        const char* op) {
  auto s = split_at(x.sizes(), dim);
  Shape shape = x.sizes();
  if (x.dim() > 0) shape[dim] = k;
  Tensor values = empty(shape, x.dtype()), indices = empty(shape, kInt64);
  dispatch_numeric(x.dtype(), op, [&]<class T>() {
    const T* in = x.data_ptr<T>();
    T* vo = values.data_ptr<T>();
    int64_t* io = indices.data_ptr<int64_t>();
    std::vector<int64_t> order(s.size);
    auto before = [&](const T* line, int64_t a, int64_t b) {
      T va = line[a * s.inner], vb = line[b * s.inner];
      return descending ? less_nan_last(vb, va) : less_nan_last(va, vb);
    };
    for (int64_t o = 0; o < s.outer; ++o)
      for (int64_t i = 0; i < s.inner; ++i) {
        const T* line = in + o * s.size * s.inner + i;
        std::iota(order.begin(), order.end(), 0);
        auto cmp = [&](int64_t a, int64_t b) { return before(line, a, b); };
        if (full_sort) std::stable_sort(order.begin(), order.end(), cmp);
        else std::partial_sort(order.begin(), order.begin() + k, order.end(),
                               [&](int64_t a, int64_t b) { return cmp(a, b) || (!cmp(b, a) && a < b); });
        for (int64_t j = 0; j < k; ++j) {
          int64_t at = o * k * s.inner + j * s.inner + i;
          io[at] = order[j];
          vo[at] = line[order[j] * s.inner];
        }
      }
  });
  return {values, indices};
}

// Values taken at `indices` along dim: gradient scattered back into an input-shaped zero tensor.
Tensor record_taken(const char* name, const Tensor& x, Tensor values, const Tensor& indices, int64_t dim) {
  if (x.dim() == 0)
    return record(name, {x}, values, {}, [](const BackwardCtx& c) -> TensorList { return {c.grad}; });
  return record(name, {x}, values, {indices}, [in = x.sizes(), dim](const BackwardCtx& c) -> TensorList {
    return {scatter_add(zeros(in, c.grad.dtype()), dim, c.saved[0], c.grad)};
  });
}

}  // namespace

std::tuple<Tensor, Tensor> sort(const Tensor& x, int64_t dim0, bool descending) {
  XG_CHECK(x.defined(), "sort: input is undefined");
  int64_t dim = wrap_dim(dim0, x.dim(), "sort");
  int64_t n = x.dim() == 0 ? 1 : x.sizes()[dim];
  auto [values, indices] = sorted_lines(x, dim, n, descending, true, "sort");
  return {record_taken("SortBackward", x, values, indices, dim), indices};
}

Tensor argsort(const Tensor& x, int64_t dim, bool descending) { return std::get<1>(sort(x.detach(), dim, descending)); }

std::tuple<Tensor, Tensor> topk(const Tensor& x, int64_t k, int64_t dim0, bool largest, bool sorted) {
  XG_CHECK(x.defined(), "topk: input is undefined");
  int64_t dim = wrap_dim(dim0, x.dim(), "topk");
  int64_t n = x.dim() == 0 ? 1 : x.sizes()[dim];
  XG_CHECK(k >= 0 && k <= n, "topk: k (", k, ") is out of range for dimension ", dim0, " of size ", n, " (shape ",
           x.sizes(), ")");
  // Always sorted: the unsorted order PyTorch may return is unspecified, sorted is one valid answer.
  (void)sorted;
  auto [values, indices] = sorted_lines(x, dim, k, largest, false, "topk");
  return {record_taken("TopkBackward", x, values, indices, dim), indices};
}

namespace {
Tensor arg_extreme(const Tensor& x, std::optional<int64_t> dim0, bool keepdim, bool is_max) {
  const char* op = is_max ? "argmax" : "argmin";
  XG_CHECK(x.defined() && x.dtype() != kBool, op, ": needs a numeric tensor");
  XG_CHECK(x.numel() > 0, op, ": cannot reduce an empty tensor (shape ", x.sizes(), ")");
  if (!dim0) return arg_extreme(reshape(x.detach(), {-1}), 0, false, is_max);
  int64_t dim = wrap_dim(*dim0, x.dim(), op);
  auto s = split_at(x.sizes(), dim);
  Shape keep = x.sizes();
  if (x.dim() > 0) keep[dim] = 1;
  Tensor vals = empty(keep, x.dtype()), idx = empty(keep, kInt64);
  dispatch_numeric(x.dtype(), op, [&]<class T>() {
    kernels::extreme_dim<T>(x.data_ptr<T>(), vals.data_ptr<T>(), idx.data_ptr<int64_t>(), s.outer, s.size, s.inner,
                            is_max);
  });
  return keepdim ? idx : reshape(idx, detail::reduced_shape(x.sizes(), {dim}, false));
}
}  // namespace

Tensor argmax(const Tensor& x, int64_t dim, bool keepdim) { return arg_extreme(x, dim, keepdim, true); }
Tensor argmin(const Tensor& x, int64_t dim, bool keepdim) { return arg_extreme(x, dim, keepdim, false); }
Tensor argmax(const Tensor& x) { return arg_extreme(x, std::nullopt, false, true); }
Tensor argmin(const Tensor& x) { return arg_extreme(x, std::nullopt, false, false); }

}  // namespace xgrad
