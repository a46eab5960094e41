#pragma once
// Tensor: a shared handle to a TensorImpl (contiguous row-major data + autograd metadata). The data
// is always contiguous; a view may start at an offset into a shared Storage (narrow, split and
// unbind along a leading dim share their input's memory).
// Copying a Tensor shares the same tensor, as in PyTorch; clone() copies the data.
#include <atomic>
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <optional>
#include <ostream>
#include <tuple>
#include <vector>

#include <xtensor/xadapt.hpp>
#include <xtensor/xarray.hpp>
#include <xtensor/xmath.hpp>

#include "xgrad/dtype.hpp"
#include "xgrad/error.hpp"
#include "xgrad/options.hpp"

namespace xgrad {

// Sizes, strides or dims: a std::vector<int64_t> (it converts both ways) that prints as [2, 3] with
// <<, found by argument-dependent lookup as libtorch's IntArrayRef is.
struct Shape : std::vector<int64_t> {
  using std::vector<int64_t>::vector;
  Shape() = default;
  Shape(const std::vector<int64_t>& v) : std::vector<int64_t>(v) {}             // NOLINT: implicit on purpose
  Shape(std::vector<int64_t>&& v) : std::vector<int64_t>(std::move(v)) {}       // NOLINT
};
inline std::ostream& operator<<(std::ostream& os, const Shape& s) {
  return os << str(static_cast<const std::vector<int64_t>&>(s));
}
// Dtypes print by name (Float32, Float64, Int64, Bool).
inline std::ostream& operator<<(std::ostream& os, ScalarType t) { return os << dtype_name(t); }
class Tensor;
using TensorList = std::vector<Tensor>;
namespace autograd { struct Node; struct TensorHooks; }
namespace indexing { class TensorIndex; }

// A flat, 64-byte aligned buffer. Several tensors may share one (reshape, view, squeeze).
// Up to 64 bytes live inside the Storage itself: tiny tensors cost no separate allocation.
struct alignas(64) Storage {
  explicit Storage(size_t nbytes);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;

  alignas(64) unsigned char inline_bytes[64];
  void* data = nullptr;
  size_t nbytes = 0;
  uint64_t version = 0;    // bumped by every in-place write; saved tensors compare against it
  bool inference = false;  // made under InferenceMode: never versioned, never saved for backward
  // Some other tensor aliases this buffer. Atomic: views of one parameter may be taken by several
  // threads running inference on one model.
  std::atomic<bool> has_views{false};
};

struct TensorImpl {
  std::shared_ptr<Storage> storage;
  int64_t storage_offset = 0;  // in elements: a view of rows of a larger tensor starts inside it
  Shape sizes;
  int64_t numel = 1;
  ScalarType dtype = kFloat32;

  // Autograd metadata. A tensor with a grad_fn is a non-leaf; a leaf that requires grad
  // accumulates into `grad` through its (lazily made, weakly held) grad accumulator.
  bool requires_grad = false;
  bool retains_grad = false;
  std::shared_ptr<TensorImpl> grad;
  std::shared_ptr<autograd::Node> grad_fn;
  uint32_t output_nr = 0;
  std::weak_ptr<autograd::Node> grad_accumulator;
  std::shared_ptr<autograd::TensorHooks> hooks;  // a leaf's gradient hooks (a non-leaf's live on its grad_fn)
};

// What factories take: a dtype (implicitly) or dtype + requires_grad, as libtorch's TensorOptions:
// zeros({2}, xg::kFloat64), zeros({2}, xg::TensorOptions().dtype(xg::kFloat64).requires_grad(true)),
// or zeros({2}, xg::dtype(xg::kFloat64).requires_grad(true)).
struct TensorOptions {
  TensorOptions() = default;
  TensorOptions(ScalarType t) : dtype_(t) {}  // NOLINT: implicit on purpose
  XG_ARG(ScalarType, dtype) = kFloat32;
  XG_ARG(bool, requires_grad) = false;
};
inline TensorOptions dtype(ScalarType t) { return TensorOptions(t); }
inline TensorOptions requires_grad(bool r = true) { return TensorOptions().requires_grad(r); }

class Tensor {
 public:
  Tensor() = default;
  explicit Tensor(std::shared_ptr<TensorImpl> impl) : impl_(std::move(impl)) {}

  // ---- metadata
  bool defined() const { return impl_ != nullptr; }
  const Shape& sizes() const { return impl().sizes; }
  Shape shape() const { return impl().sizes; }
  int64_t size(int64_t dim) const;
  int64_t dim() const { return static_cast<int64_t>(impl().sizes.size()); }
  int64_t numel() const { return impl().numel; }
  ScalarType dtype() const { return impl().dtype; }
  ScalarType scalar_type() const { return impl().dtype; }
  bool is_floating_point() const { return is_floating(dtype()); }
  bool is_inference() const { return impl().storage->inference; }
  uint64_t _version() const { return impl().storage->version; }
  TensorImpl& impl() const;
  const std::shared_ptr<TensorImpl>& impl_ptr() const { return impl_; }
  bool is_same(const Tensor& o) const { return impl_ == o.impl_; }

  // ---- data access
  template <class T> T* data_ptr() const;
  void* raw_data() const {
    const TensorImpl& i = impl();
    return static_cast<unsigned char*>(i.storage->data) + i.storage_offset * static_cast<int64_t>(itemsize(i.dtype));
  }
  int64_t storage_offset() const { return impl().storage_offset; }
  template <class T> T item() const;
  // A zero-copy xtensor view of the data, valid while this tensor lives.
  template <class T> auto xt() const {
    xt::svector<size_t, 4> shp(sizes().begin(), sizes().end());  // inline up to 4 dims: no allocation
    return xt::adapt(data_ptr<T>(), static_cast<size_t>(numel()), xt::no_ownership(), shp);
  }
  template <class T> xt::xarray<T> to_xarray() const;

  // ---- conversion and copies
  Tensor to(ScalarType dtype) const;
  Tensor clone() const;
  Tensor detach() const;
  // Another handle on the same data with no autograd history, not counted as a user view
  // (PyTorch's variable_data): for saved tensors and results an op reshapes internally.
  Tensor variable_data() const;
  Tensor& detach_();
  // Makes this tensor use other's data, shape and dtype, keeping its own autograd identity
  // (a parameter stays the same leaf). Used by Module::to and load_state_dict.
  void set_data(const Tensor& other) const;
  Tensor contiguous() const { return *this; }  // data is always contiguous

  // ---- autograd
  bool requires_grad() const { return impl().requires_grad; }
  Tensor& requires_grad_(bool requires_grad = true);
  bool is_leaf() const { return impl().grad_fn == nullptr; }
  const std::shared_ptr<autograd::Node>& grad_fn() const { return impl().grad_fn; }
  Tensor grad() const;
  void set_grad(const Tensor& g) const;
  Tensor& retain_grad();
  bool retains_grad() const { return impl().retains_grad; }
  // Gradient hooks, as libtorch's: `hook(grad)` runs when this tensor's gradient has been computed
  // (before a leaf accumulates it, before a non-leaf's grad_fn runs, and on what xg::grad returns);
  // a hook that returns a tensor replaces the gradient (same shape and dtype), one returning void
  // or an undefined tensor only looks. Hooks run in registration order, never on an undefined
  // gradient. Returns the id remove_hook takes.
  template <class F>
  unsigned register_hook(F&& hook) const {
    if constexpr (std::is_void_v<std::invoke_result_t<F&, const Tensor&>>)
      return _add_grad_hook([h = std::forward<F>(hook)](const Tensor& g) mutable { h(g); return Tensor(); });
    else
      return _add_grad_hook(std::function<Tensor(const Tensor&)>(std::forward<F>(hook)));
  }
  // A leaf's hook run once its .grad() is final for this backward (after accumulation; not under
  // xg::grad, which leaves .grad() alone): PyTorch's register_post_accumulate_grad_hook.
  unsigned register_post_accumulate_grad_hook(std::function<void(const Tensor&)> hook) const;
  // Removes a hook registered on this tensor by either call; false if it was not there.
  bool remove_hook(unsigned id) const;
  void backward(const Tensor& gradient = {}, std::optional<bool> retain_graph = std::nullopt,
                bool create_graph = false) const;

  // ---- in-place ops (bump the version counter)
  Tensor& add_(const Tensor& other, double alpha = 1.0);
  Tensor& add_(double other);
  Tensor& sub_(const Tensor& other, double alpha = 1.0);
  Tensor& sub_(double other);
  Tensor& mul_(const Tensor& other);
  Tensor& mul_(double other);
  Tensor& div_(const Tensor& other);
  Tensor& div_(double other);
  Tensor& zero_();
  Tensor& fill_(double value);
  Tensor& copy_(const Tensor& src);

  // ---- ops as methods (see ops.hpp for their meaning)
  Tensor add(const Tensor& o) const;
  Tensor sub(const Tensor& o) const;
  Tensor mul(const Tensor& o) const;
  Tensor div(const Tensor& o) const;
  Tensor neg() const;
  Tensor pow(double exponent) const;
  Tensor pow(const Tensor& exponent) const;
  Tensor exp() const;
  Tensor log() const;
  Tensor sqrt() const;
  Tensor rsqrt() const;
  Tensor abs() const;
  Tensor tanh() const;
  Tensor sigmoid() const;
  Tensor relu() const;
  Tensor clamp(std::optional<double> min, std::optional<double> max = std::nullopt) const;
  Tensor sum() const;
  Tensor sum(const Shape& dims, bool keepdim = false) const;
  Tensor mean() const;
  Tensor mean(const Shape& dims, bool keepdim = false) const;
  Tensor var(const Shape& dims, int64_t correction = 1, bool keepdim = false) const;
  Tensor amax(const Shape& dims, bool keepdim = false) const;
  Tensor amin(const Shape& dims, bool keepdim = false) const;
  Tensor logsumexp(const Shape& dims, bool keepdim = false) const;
  Tensor matmul(const Tensor& o) const;
  Tensor reshape(const Shape& shape) const;
  Tensor view(const Shape& shape) const;
  Tensor flatten(int64_t start_dim = 0, int64_t end_dim = -1) const;
  Tensor transpose(int64_t dim0, int64_t dim1) const;
  Tensor t() const;
  Tensor permute(const Shape& dims) const;
  Tensor unsqueeze(int64_t dim) const;
  Tensor squeeze() const;
  Tensor squeeze(int64_t dim) const;
  Tensor expand(const Shape& shape) const;
  Tensor narrow(int64_t dim, int64_t start, int64_t length) const;
  Tensor index_select(int64_t dim, const Tensor& index) const;
  Tensor gather(int64_t dim, const Tensor& index) const;
  Tensor masked_fill(const Tensor& mask, double value) const;
  Tensor tril(int64_t diagonal = 0) const;
  Tensor triu(int64_t diagonal = 0) const;
  Tensor softmax(int64_t dim) const;
  Tensor log_softmax(int64_t dim) const;
  TensorList split(int64_t split_size, int64_t dim = 0) const;
  TensorList split(const Shape& split_sizes, int64_t dim = 0) const;
  TensorList chunk(int64_t chunks, int64_t dim = 0) const;
  TensorList unbind(int64_t dim = 0) const;
  Tensor std(const Shape& dims, int64_t correction = 1, bool keepdim = false) const;
  Tensor norm(double p = 2.0) const;
  Tensor norm(double p, const Shape& dims, bool keepdim = false) const;
  Tensor argmax(int64_t dim, bool keepdim = false) const;
  Tensor argmin(int64_t dim, bool keepdim = false) const;
  Tensor cumsum(int64_t dim) const;
  Tensor cumprod(int64_t dim) const;
  std::tuple<Tensor, Tensor> sort(int64_t dim = -1, bool descending = false) const;
  Tensor argsort(int64_t dim = -1, bool descending = false) const;
  std::tuple<Tensor, Tensor> topk(int64_t k, int64_t dim = -1, bool largest = true, bool sorted = true) const;
  Tensor repeat(const Shape& repeats) const;
  Tensor repeat_interleave(int64_t repeats, std::optional<int64_t> dim = std::nullopt) const;
  Tensor flip(const Shape& dims) const;
  Tensor roll(const Shape& shifts, const Shape& dims = {}) const;
  Tensor select(int64_t dim, int64_t index) const;
  Tensor slice(int64_t dim = 0, std::optional<int64_t> start = std::nullopt, std::optional<int64_t> end = std::nullopt,
               int64_t step = 1) const;
  Tensor scatter(int64_t dim, const Tensor& index, const Tensor& src) const;
  Tensor scatter(int64_t dim, const Tensor& index, double value) const;
  Tensor scatter_add(int64_t dim, const Tensor& index, const Tensor& src) const;
  Tensor masked_select(const Tensor& mask) const;
  Tensor masked_scatter(const Tensor& mask, const Tensor& source) const;
  Tensor nonzero() const;
  Tensor bmm(const Tensor& o) const;
  Tensor softplus(double beta = 1.0, double threshold = 20.0) const;

  // ---- indexing (indexing.hpp): x.index({Slice(), 0}) reads, x.index_put_({...}, v) writes in place
  Tensor index(const std::vector<indexing::TensorIndex>& indices) const;
  Tensor& index_put_(const std::vector<indexing::TensorIndex>& indices, const Tensor& values);
  Tensor& index_put_(const std::vector<indexing::TensorIndex>& indices, double value);

 private:
  unsigned _add_grad_hook(std::function<Tensor(const Tensor&)> hook) const;

  std::shared_ptr<TensorImpl> impl_;
};

std::ostream& operator<<(std::ostream& os, const Tensor& t);

// Returns the idle large buffers that xgrad keeps for reuse to the system.
void empty_cache();

// ---- factories
Tensor empty(Shape sizes, TensorOptions options = {});
Tensor zeros(const Shape& sizes, TensorOptions options = {});
Tensor ones(const Shape& sizes, TensorOptions options = {});
Tensor full(const Shape& sizes, double value, TensorOptions options = {});
// Int64 when start, end and step are whole numbers, else Float32, unless a dtype is given.
Tensor arange(double end, std::optional<ScalarType> dtype = std::nullopt);
Tensor arange(double start, double end, double step = 1.0, std::optional<ScalarType> dtype = std::nullopt);
Tensor rand(const Shape& sizes, TensorOptions options = {});
Tensor randn(const Shape& sizes, TensorOptions options = {});
Tensor randint(int64_t low, int64_t high, const Shape& sizes, TensorOptions options = kInt64);
// The identity (n × n) or (n × m) matrix.
Tensor eye(int64_t n, TensorOptions options = {});
Tensor eye(int64_t n, int64_t m, TensorOptions options = {});
// `steps` evenly spaced values from start to end, both included (PyTorch's arithmetic).
Tensor linspace(double start, double end, int64_t steps, TensorOptions options = {});
// Samples of N(mean, std²); the tensor forms draw one per element of the broadcast mean and std and
// are differentiable in both (the draw is mean + std·ε).
Tensor normal(double mean, double std, const Shape& sizes, TensorOptions options = {});
Tensor normal(const Tensor& mean, const Tensor& std);
Tensor normal(const Tensor& mean, double std = 1.0);
Tensor normal(double mean, const Tensor& std);
// 1 with probability p (each element of p, or the scalar p for every element of x's shape), else 0;
// the result has p's (x's) dtype and no gradient.
Tensor bernoulli(const Tensor& p);
Tensor bernoulli(const Tensor& x, double p);
// num_samples indices drawn from each row of probs (1-D or 2-D, non-negative weights, not
// necessarily normalised), with or without replacement: Int64 of shape (…, num_samples).
Tensor multinomial(const Tensor& probs, int64_t num_samples, bool replacement = false);
Tensor empty_like(const Tensor& t);
Tensor zeros_like(const Tensor& t);
Tensor ones_like(const Tensor& t);
Tensor full_like(const Tensor& t, double value);
Tensor rand_like(const Tensor& t);
Tensor randn_like(const Tensor& t);
Tensor scalar_tensor(double value, TensorOptions options = {});

// tensor({1.0, 2.0}) is Float32, tensor({1, 2}) is Int64, tensor({true}) is Bool, unless a dtype is given.
template <class T>
Tensor tensor(const std::vector<T>& values, std::optional<ScalarType> dtype = std::nullopt);
template <class T>
Tensor tensor(std::initializer_list<T> values, std::optional<ScalarType> dtype = std::nullopt) {
  return tensor(std::vector<T>(values), dtype);
}

// Copies an xtensor expression into a new tensor of the matching dtype.
template <class E>
Tensor from_xarray(const E& expr);

// ---- template definitions
template <class T>
T* Tensor::data_ptr() const {
  XG_CHECK(dtype_of<T>::value == dtype(), "data_ptr: tensor is ", dtype_name(dtype()),
           ", asked for ", dtype_name(dtype_of<T>::value));
  return static_cast<T*>(raw_data());
}

template <class T>
T Tensor::item() const {
  XG_CHECK(numel() == 1, "item: a Tensor with ", numel(), " elements (shape ", sizes(),
           ") cannot be converted to a scalar");
  return dispatch(dtype(), [&]<class S>() { return static_cast<T>(*static_cast<const S*>(raw_data())); });
}

template <class T>
xt::xarray<T> Tensor::to_xarray() const {
  Tensor src = dtype() == dtype_of<T>::value ? *this : to(dtype_of<T>::value);
  std::vector<size_t> shp(sizes().begin(), sizes().end());
  xt::xarray<T> out = xt::zeros<T>(shp);
  if (numel() > 0) std::memcpy(out.data(), src.raw_data(), numel() * sizeof(T));
  return out;
}

template <class T>
Tensor tensor(const std::vector<T>& values, std::optional<ScalarType> dtype) {
  using S = std::conditional_t<std::is_same_v<T, bool>, bool,
                               std::conditional_t<std::is_integral_v<T>, int64_t,
                                                  std::conditional_t<std::is_same_v<T, double>, double, float>>>;
  ScalarType natural = std::is_floating_point_v<T> ? kFloat32 : dtype_of<S>::value;
  Tensor t = empty({static_cast<int64_t>(values.size())}, dtype_of<S>::value);
  S* p = t.data_ptr<S>();
  for (size_t i = 0; i < values.size(); ++i) p[i] = static_cast<S>(values[i]);
  return t.to(dtype.value_or(natural));
}

template <class E>
Tensor from_xarray(const E& expr) {
  using T = std::decay_t<typename E::value_type>;
  using S = std::conditional_t<std::is_same_v<T, bool>, bool,
                               std::conditional_t<std::is_integral_v<T>, int64_t, T>>;
  static_assert(std::is_same_v<S, float> || std::is_same_v<S, double> || std::is_same_v<S, int64_t> ||
                    std::is_same_v<S, bool>,
                "from_xarray: element type must be float, double, an integer or bool");
  xt::xarray<S> a = xt::cast<S>(expr);
  Tensor t = empty(Shape(a.shape().begin(), a.shape().end()), dtype_of<S>::value);
  if (a.size() > 0) std::memcpy(t.raw_data(), a.data(), a.size() * sizeof(S));
  return t;
}

}  // namespace xgrad
