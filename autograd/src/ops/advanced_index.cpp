// Indexing with TensorIndex lists (x.index({Slice(), 0, mask})) and the ops built on flat positions:
// index_put, masked_select, masked_scatter, nonzero. Reads are compositions of select/slice/
// unsqueeze/permute/index_select, so their gradients come from those ops; writes are one recorded op
// (put_flat) whose backward reads the same positions back.
#include "ops/index_put.hpp"

#include "dims.hpp"
#include "xgrad/grad_mode.hpp"
#include "xgrad/ops.hpp"

namespace xgrad {

namespace indexing {
TensorIndex::TensorIndex(const char* s) : v_(EllipsisIndexType{}) {
  XG_CHECK(s != nullptr && std::string(s) == "...", "index: the only string index is \"...\", got \"",
           s ? s : "(null)", "\"");
}
}  // namespace indexing

using autograd::BackwardCtx;
using autograd::record;
using indexing::TensorIndex;

namespace {

// Int64 index values wrapped (negative count from the end) and checked against the dim's size.
Tensor wrapped_index(const Tensor& idx, int64_t size, int64_t dim) {
  Tensor out = idx.clone();
  int64_t* p = out.data_ptr<int64_t>();
  for (int64_t i = 0; i < out.numel(); ++i) {
    XG_CHECK(p[i] >= -size && p[i] < size, "index: index ", p[i], " is out of bounds for dimension ", dim,
             " with size ", size);
    if (p[i] < 0) p[i] += size;
  }
  return out;
}

// x[i0, i1, ...] for Int64 index tensors on dims `dims` of x (numpy's advanced indexing).
Tensor advanced(const Tensor& x, const Shape& dims, const TensorList& idx) {
  Shape B = idx[0].sizes();
  for (size_t k = 1; k < idx.size(); ++k) B = broadcast_shapes(B, idx[k].sizes(), "index (index tensors)");
  // Flat position within the indexed dims: Σ idx_k · stride_k (row-major over their sizes).
  Tensor lin;
  int64_t stride = 1, count = 1;
  for (int64_t k = static_cast<int64_t>(dims.size()) - 1; k >= 0; --k) {
    Tensor term = wrapped_index(idx[k], x.sizes()[dims[k]], dims[k]) * scalar_tensor(static_cast<double>(stride), kInt64);
    lin = lin.defined() ? lin + term : term;
    stride *= x.sizes()[dims[k]];
  }
  count = stride;
  if (lin.sizes() != B) lin = expand(lin, B);
  // Indexed dims first, the rest after: (count, rest) rows, picked by index_select.
  Shape perm = dims, rest_sizes;
  for (int64_t d = 0; d < x.dim(); ++d)
    if (std::find(dims.begin(), dims.end(), d) == dims.end()) {
      perm.push_back(d);
      rest_sizes.push_back(x.sizes()[d]);
    }
  int64_t rest = 1;
  for (int64_t s : rest_sizes) rest *= s;
  Tensor rows = reshape(permute(x, perm), {count, rest});
  Tensor picked = index_select(rows, 0, reshape(lin, {-1}));
  Shape out_shape = B;
  out_shape.insert(out_shape.end(), rest_sizes.begin(), rest_sizes.end());
  Tensor out = reshape(picked, out_shape);
  // Adjacent indexed dims: the result's dims go where the first was (numpy's rule); else in front.
  bool adjacent = true;
  for (size_t k = 1; k < dims.size(); ++k) adjacent &= dims[k] == dims[k - 1] + 1;
  if (!adjacent || dims[0] == 0) return out;
  const int64_t nb = static_cast<int64_t>(B.size());
  Shape p;
  for (int64_t d = 0; d < dims[0]; ++d) p.push_back(nb + d);
  for (int64_t d = 0; d < nb; ++d) p.push_back(d);
  for (int64_t d = nb + dims[0]; d < out.dim(); ++d) p.push_back(d);
  return permute(out, p);
}

// The flat positions (Int64, 1-D) of mask's true elements.
Tensor true_positions(const Tensor& mask) {
  const bool* m = mask.data_ptr<bool>();
  int64_t n = 0;
  for (int64_t i = 0; i < mask.numel(); ++i) n += m[i];
  Tensor pos = empty({n}, kInt64);
  int64_t* p = pos.data_ptr<int64_t>();
  for (int64_t i = 0; i < mask.numel(); ++i)
    if (m[i]) *p++ = i;
  return pos;
}

// x with x.flat[pos] = values (or +=), recorded: values already have pos's shape and x's dtype.
Tensor put_flat(const Tensor& x, const Tensor& pos, const Tensor& values, bool accumulate) {
  Tensor out = x.detach().clone();
  detail::write_index_put(out, pos, values, accumulate);
  return record("IndexPutBackward", {x, values}, out, {pos, detail::last_writes(pos, x.numel(), accumulate)},
                detail::index_put_backward(accumulate));
}

}  // namespace

namespace detail {

void write_index_put(const Tensor& dst, const Tensor& pos, const Tensor& values, bool accumulate) {
  dispatch(dst.dtype(), [&]<class T>() {
    T* d = dst.data_ptr<T>();
    const T* v = values.data_ptr<T>();
    const int64_t* p = pos.data_ptr<int64_t>();
    for (int64_t i = 0; i < pos.numel(); ++i) {
      if constexpr (std::is_same_v<T, bool>) d[p[i]] = accumulate ? (d[p[i]] || v[i]) : v[i];
      else d[p[i]] = accumulate ? d[p[i]] + v[i] : v[i];
    }
  });
}

Tensor last_writes(const Tensor& pos, int64_t numel, bool accumulate) {
  if (accumulate) return {};
  std::vector<int64_t> writer(static_cast<size_t>(numel), -1);
  const int64_t* p = pos.data_ptr<int64_t>();
  for (int64_t i = 0; i < pos.numel(); ++i) writer[p[i]] = i;
  Tensor survives = zeros(pos.sizes(), kBool);
  for (int64_t w : writer)
    if (w >= 0) survives.data_ptr<bool>()[w] = true;
  return survives;
}

autograd::BackwardFn index_put_backward(bool accumulate) {
  return [accumulate](const BackwardCtx& c) -> TensorList {
    const Tensor &pos = c.saved[0], &survives = c.saved[1];
    Tensor gx, gv;
    if (c.needs_input_grad(0))  // overwritten positions get no gradient
      gx = accumulate ? c.grad : put_flat(c.grad, pos, zeros(pos.sizes(), c.grad.dtype()), false);
    if (c.needs_input_grad(1)) {
      gv = reshape(index_select(reshape(c.grad, {-1}), 0, reshape(pos, {-1})), pos.sizes());
      if (!accumulate) gv = where(survives, gv, 0.0);  // a value overwritten by a later one has no effect
    }
    return {gx, gv};
  };
}

IndexPut prepare_index_put(const Tensor& x, const std::vector<TensorIndex>& indices, const Tensor& values,
                           const char* op) {
  XG_CHECK(x.defined() && values.defined(), op, ": self or values is undefined");
  IndexPut r;
  {
    NoGradGuard ng;
    r.pos = index(reshape(arange(0.0, static_cast<double>(x.numel()), 1.0, kInt64), x.sizes()), indices);
  }
  const Shape &v = values.sizes(), &want = r.pos.sizes();
  bool fits = v.size() <= want.size();
  for (size_t k = 0; fits && k < v.size(); ++k) fits = v[v.size() - 1 - k] == 1 || v[v.size() - 1 - k] == want[want.size() - 1 - k];
  XG_CHECK(fits, op, ": shape mismatch: value tensor of shape ", values.sizes(),
           " cannot be broadcast to indexing result of shape ", r.pos.sizes());
  r.values = values.to(x.dtype());
  if (r.values.sizes() != r.pos.sizes()) r.values = expand(r.values, r.pos.sizes());
  return r;
}

}  // namespace detail

Tensor index(const Tensor& x, const std::vector<TensorIndex>& indices) {
  XG_CHECK(x.defined(), "index: input is undefined");
  int64_t consumed = 0, ellipses = 0;
  for (const TensorIndex& i : indices) {
    if (i.is_integer() || i.is_slice()) consumed += 1;
    else if (i.is_tensor()) {
      XG_CHECK(i.tensor().defined(), "index: an index tensor is undefined");
      consumed += i.tensor().dtype() == kBool ? i.tensor().dim() : 1;
    } else if (i.is_ellipsis()) ellipses += 1;
  }
  XG_CHECK(ellipses <= 1, "index: an index can only have a single ellipsis ('...')");
  XG_CHECK(consumed <= x.dim(), "index: too many indices for tensor of dimension ", x.dim(), " (shape ", x.sizes(),
           ", ", consumed, " dims indexed)");
  Tensor t = x;
  int64_t d = 0;
  Shape adv_dims;
  TensorList adv;
  for (const TensorIndex& i : indices) {
    if (i.is_none()) {
      t = unsqueeze(t, d++);
    } else if (i.is_ellipsis()) {
      d += x.dim() - consumed;
    } else if (i.is_integer()) {
      XG_CHECK(d < t.dim(), "index: too many indices for tensor of dimension ", x.dim());
      t = select(t, d, i.integer());
    } else if (i.is_slice()) {
      const indexing::Slice& s = i.slice();
      t = slice(t, d++, s.start(), s.stop(), s.step());
    } else if (i.is_boolean()) {
      t = unsqueeze(t, d);
      if (!i.boolean()) t = narrow(t, d, 0, 0);
      ++d;
    } else {
      const Tensor& ix = i.tensor();
      if (ix.dtype() == kBool && ix.dim() == 0) {  // like a bool scalar, but an advanced index
        t = unsqueeze(t, d);
        adv_dims.push_back(d++);
        adv.push_back(ix.item<bool>() ? zeros({1}, kInt64) : empty({0}, kInt64));
      } else if (ix.dtype() == kBool) {
        for (int64_t k = 0; k < ix.dim(); ++k)
          XG_CHECK(d + k < t.dim() && ix.sizes()[k] == t.sizes()[d + k], "index: the shape of the mask ", ix.sizes(),
                   " at index ", k, " does not match the shape of the indexed tensor ", t.sizes(), " at index ", d + k);
        Tensor nz = nonzero(ix);
        for (int64_t k = 0; k < ix.dim(); ++k) {
          adv_dims.push_back(d + k);
          adv.push_back(select(nz, 1, k));
        }
        d += ix.dim();
      } else {
        XG_CHECK(ix.dtype() == kInt64, "index: tensors used as indices must be Int64 or Bool, got ",
                 dtype_name(ix.dtype()));
        adv_dims.push_back(d++);
        adv.push_back(ix);
      }
    }
  }
  return adv.empty() ? t : advanced(t, adv_dims, adv);
}

Tensor index_put(const Tensor& x, const std::vector<TensorIndex>& indices, const Tensor& values, bool accumulate) {
  detail::IndexPut p = detail::prepare_index_put(x, indices, values, "index_put");
  return put_flat(x, p.pos, p.values, accumulate);
}

Tensor nonzero(const Tensor& x) {
  XG_CHECK(x.defined(), "nonzero: input is undefined");
  Tensor mask = x.dtype() == kBool ? x : ne(x, zeros({}, x.dtype()));
  Tensor flat = true_positions(mask);
  const int64_t n = flat.numel(), nd = x.dim();
  Tensor out = empty({n, nd}, kInt64);
  const int64_t* f = flat.data_ptr<int64_t>();
  int64_t* o = out.data_ptr<int64_t>();
  for (int64_t i = 0; i < n; ++i)
    for (int64_t d = nd - 1, rem = f[i]; d >= 0; --d) {
      o[i * nd + d] = rem % x.sizes()[d];
      rem /= x.sizes()[d];
    }
  return out;
}

Tensor masked_select(const Tensor& x, const Tensor& mask) {
  XG_CHECK(x.defined(), "masked_select: input is undefined");
  XG_CHECK(mask.defined() && mask.dtype() == kBool, "masked_select: mask must be a Bool tensor, got ",
           mask.defined() ? dtype_name(mask.dtype()) : "undefined");
  Shape b = broadcast_shapes(x.sizes(), mask.sizes(), "masked_select");
  Tensor xe = x.sizes() == b ? x : expand(x, b);
  Tensor me = mask.sizes() == b ? mask : expand(mask, b);
  return index_select(reshape(xe, {-1}), 0, true_positions(me));
}

Tensor masked_scatter(const Tensor& x, const Tensor& mask, const Tensor& source) {
  XG_CHECK(x.defined() && source.defined(), "masked_scatter: self or source is undefined");
  XG_CHECK(mask.defined() && mask.dtype() == kBool, "masked_scatter: mask must be a Bool tensor, got ",
           mask.defined() ? dtype_name(mask.dtype()) : "undefined");
  Shape b = broadcast_shapes(x.sizes(), mask.sizes(), "masked_scatter");
  XG_CHECK(b == x.sizes(), "masked_scatter: mask of shape ", mask.sizes(), " can't be broadcast to the input shape ",
           x.sizes());
  Tensor pos = true_positions(mask.sizes() == b ? mask : expand(mask, b));
  XG_CHECK(source.numel() >= pos.numel(), "masked_scatter: the mask has ", pos.numel(),
           " true elements but source has only ", source.numel(), " (shape ", source.sizes(), ")");
  Tensor src = narrow(reshape(source, {-1}), 0, 0, pos.numel()).to(x.dtype());
  return put_flat(x, pos, src, false);
}

Tensor one_hot(const Tensor& x, int64_t num_classes) {
  XG_CHECK(x.defined() && x.dtype() == kInt64, "one_hot: class values must be an Int64 tensor, got ",
           x.defined() ? dtype_name(x.dtype()) : "undefined");
  const int64_t* p = x.data_ptr<int64_t>();
  if (num_classes == -1) {
    XG_CHECK(x.numel() > 0, "one_hot: can not infer the total number of classes from an empty tensor");
    num_classes = *std::max_element(p, p + x.numel()) + 1;
  }
  XG_CHECK(num_classes >= 0, "one_hot: num_classes must be -1 or non-negative, got ", num_classes);
  Shape shape = x.sizes();
  shape.push_back(num_classes);
  Tensor out = zeros(shape, kInt64);
  int64_t* o = out.data_ptr<int64_t>();
  for (int64_t i = 0; i < x.numel(); ++i) {
    XG_CHECK(p[i] >= 0 && p[i] < num_classes, "one_hot: class value ", p[i], " is out of range [0, ", num_classes,
             ")");
    o[i * num_classes + p[i]] = 1;
  }
  return out;
}

}  // namespace xgrad
