// Storage, factories, conversions, autograd flags and printing of Tensor.
#include "xgrad/tensor.hpp"

#include <cmath>
#include <cstdlib>
#include <xtensor/xio.hpp>

#include "allocator.hpp"
#include "kernels/elementwise.hpp"
#include "object_pool.hpp"
#include "ops/index_put.hpp"
#include "xgrad/engine.hpp"
#include "xgrad/grad_mode.hpp"
#include "xgrad/graph.hpp"
#include "xgrad/ops.hpp"
#include "xgrad/random.hpp"
#include "xgrad/record.hpp"

namespace xgrad {

Storage::Storage(size_t n) : nbytes(n), inference(InferenceMode::is_enabled()) {
  if (n <= sizeof(inline_bytes)) {
    data = inline_bytes;
    return;
  }
  data = detail::alloc_buffer(n);
}

Storage::~Storage() {
  if (data != inline_bytes) detail::free_buffer(data, nbytes);
}

TensorImpl& Tensor::impl() const {
  if (!impl_) throw Error("Tensor: this tensor is undefined (default-constructed)");
  return *impl_;
}

int64_t Tensor::size(int64_t d) const {
  int64_t n = dim();
  XG_CHECK(d >= -n && d < n, "size: dim ", d, " is out of range for a tensor of shape ", sizes());
  return sizes()[d < 0 ? d + n : d];
}

// ---------------------------------------------------------------- factories

Tensor empty(Shape sizes, TensorOptions options) {
  const int64_t n = checked_numel(sizes, "empty");
  XG_CHECK(n <= std::numeric_limits<int64_t>::max() / static_cast<int64_t>(itemsize(options.dtype())), "empty: shape ",
           sizes, " of ", dtype_name(options.dtype()), " needs more bytes than a buffer can hold");
  auto impl = detail::make_pooled<TensorImpl>();
  impl->storage = detail::make_pooled<Storage>(static_cast<size_t>(n) * itemsize(options.dtype()));
  impl->sizes = std::move(sizes);
  impl->numel = n;
  impl->dtype = options.dtype();
  Tensor t(std::move(impl));
  if (options.requires_grad()) t.requires_grad_(true);
  return t;
}

Tensor full(const Shape& sizes, double value, TensorOptions options) {
  bool rg = options.requires_grad();
  Tensor t = empty(sizes, options.requires_grad(false));
  dispatch(t.dtype(), [&]<class T>() { std::fill_n(t.data_ptr<T>(), t.numel(), static_cast<T>(value)); });
  if (rg) t.requires_grad_(true);
  return t;
}

Tensor zeros(const Shape& sizes, TensorOptions options) { return full(sizes, 0.0, options); }
Tensor ones(const Shape& sizes, TensorOptions options) { return full(sizes, 1.0, options); }
Tensor scalar_tensor(double value, TensorOptions options) { return full({}, value, options); }

Tensor arange(double end, std::optional<ScalarType> dtype) { return arange(0.0, end, 1.0, dtype); }

Tensor arange(double start, double end, double step, std::optional<ScalarType> dtype) {
  XG_CHECK(step != 0 && std::isfinite(step) && std::isfinite(start) && std::isfinite(end),
           "arange: start, end and step must be finite and step non-zero (got ", start, ", ", end, ", ", step, ")");
  XG_CHECK((end - start) * step >= 0, "arange: step ", step, " does not lead from ", start, " to ", end);
  bool whole = start == std::floor(start) && end == std::floor(end) && step == std::floor(step);
  ScalarType dt = dtype.value_or(whole ? kInt64 : kFloat32);
  auto n = static_cast<int64_t>(std::ceil((end - start) / step));
  Tensor t = empty({n}, dt);
  dispatch(dt, [&]<class T>() {
    T* p = t.data_ptr<T>();
    for (int64_t i = 0; i < n; ++i) p[i] = static_cast<T>(start + static_cast<double>(i) * step);
  });
  return t;
}

namespace {
template <class Dist>
Tensor random_fill(const Shape& sizes, TensorOptions options, Dist dist, const char* op) {
  bool rg = options.requires_grad();
  Tensor t = empty(sizes, options.requires_grad(false));
  std::lock_guard<std::mutex> lock(global_generator_mutex());  // the whole tensor from one stretch
  auto& gen = global_generator();
  dispatch(t.dtype(), [&]<class T>() {
    if constexpr (std::is_same_v<T, bool>) {
      throw Error(str(op, ": Bool is not a supported dtype"));
    } else {
      T* p = t.data_ptr<T>();
      for (int64_t i = 0; i < t.numel(); ++i) p[i] = static_cast<T>(dist(gen));
    }
  });
  if (rg) t.requires_grad_(true);
  return t;
}
}  // namespace

Tensor rand(const Shape& sizes, TensorOptions options) {
  XG_CHECK(is_floating(options.dtype()), "rand: dtype must be floating, got ", dtype_name(options.dtype()));
  return random_fill(sizes, options, std::uniform_real_distribution<double>(0.0, 1.0), "rand");
}

Tensor randn(const Shape& sizes, TensorOptions options) {
  XG_CHECK(is_floating(options.dtype()), "randn: dtype must be floating, got ", dtype_name(options.dtype()));
  return random_fill(sizes, options, std::normal_distribution<double>(0.0, 1.0), "randn");
}

Tensor randint(int64_t low, int64_t high, const Shape& sizes, TensorOptions options) {
  XG_CHECK(low < high, "randint: low (", low, ") must be less than high (", high, ")");
  return random_fill(sizes, options, std::uniform_int_distribution<int64_t>(low, high - 1), "randint");
}

Tensor empty_like(const Tensor& t) { return empty(t.sizes(), t.dtype()); }
Tensor zeros_like(const Tensor& t) { return zeros(t.sizes(), t.dtype()); }
Tensor ones_like(const Tensor& t) { return ones(t.sizes(), t.dtype()); }
Tensor full_like(const Tensor& t, double value) { return full(t.sizes(), value, t.dtype()); }
Tensor rand_like(const Tensor& t) { return rand(t.sizes(), t.dtype()); }
Tensor randn_like(const Tensor& t) { return randn(t.sizes(), t.dtype()); }

// ---------------------------------------------------------------- copies and conversion

Tensor Tensor::to(ScalarType target) const {
  if (dtype() == target) return *this;
  Tensor out = empty(sizes(), target);
  dispatch(dtype(), [&]<class S>() {
    dispatch(target, [&]<class D>() {
      const S* src = data_ptr<S>();
      D* dst = out.data_ptr<D>();
      for (int64_t i = 0; i < numel(); ++i) dst[i] = static_cast<D>(src[i]);
    });
  });
  if (!is_floating(dtype()) || !is_floating(target)) return out;
  ScalarType from = dtype();
  return autograd::record("ToCopyBackward", {*this}, out, {}, [from](const autograd::BackwardCtx& c) -> TensorList {
    return {c.grad.to(from)};
  });
}

Tensor Tensor::clone() const {
  Tensor out = empty(sizes(), dtype());
  if (numel() > 0) std::memcpy(out.raw_data(), raw_data(), numel() * itemsize(dtype()));
  return autograd::record("CloneBackward", {*this}, out, {},
                          [](const autograd::BackwardCtx& c) -> TensorList { return {c.grad}; });
}

Tensor Tensor::detach() const {
  if (!impl().storage->inference) impl().storage->has_views.store(true, std::memory_order_relaxed);  // a user-visible alias: in-place writes through it are seen
  return variable_data();
}

Tensor Tensor::variable_data() const {
  auto impl = detail::make_pooled<TensorImpl>();
  impl->storage = this->impl().storage;
  impl->storage_offset = this->impl().storage_offset;
  impl->sizes = sizes();
  impl->numel = numel();
  impl->dtype = dtype();
  return Tensor(std::move(impl));
}

Tensor& Tensor::detach_() {
  auto& i = impl();
  i.grad_fn.reset();
  i.output_nr = 0;
  i.requires_grad = false;
  return *this;
}

void Tensor::set_data(const Tensor& other) const {
  XG_CHECK(other.defined(), "set_data: source is undefined");
  auto& i = impl();
  XG_CHECK(!i.requires_grad || is_floating(other.dtype()), "set_data: a tensor that requires grad can't take ",
           dtype_name(other.dtype()), " data");
  i.storage = other.impl().storage;
  i.storage_offset = other.impl().storage_offset;
  i.sizes = other.sizes();
  i.numel = other.numel();
  i.dtype = other.dtype();
  if (i.grad && (Tensor(i.grad).sizes() != i.sizes || i.grad->dtype != i.dtype)) i.grad.reset();
}

// ---------------------------------------------------------------- autograd flags

Tensor& Tensor::requires_grad_(bool requires_grad) {
  XG_CHECK(is_leaf() || requires_grad,
           "requires_grad_: you can only change requires_grad of leaf tensors; use detach() for a non-leaf");
  XG_CHECK(!requires_grad || is_floating(dtype()),
           "requires_grad_: only floating tensors can require gradients, this one is ", dtype_name(dtype()));
  impl().requires_grad = requires_grad;
  return *this;
}

Tensor Tensor::grad() const { return Tensor(impl().grad); }

void Tensor::set_grad(const Tensor& g) const {
  if (g.defined()) {
    XG_CHECK(g.sizes() == sizes(), "set_grad: gradient shape ", g.sizes(), " doesn't match tensor shape ", sizes());
    XG_CHECK(g.dtype() == dtype(), "set_grad: gradient dtype ", dtype_name(g.dtype()),
             " doesn't match tensor dtype ", dtype_name(dtype()));
  }
  impl().grad = g.impl_ptr();
}

Tensor& Tensor::retain_grad() {
  XG_CHECK(requires_grad(), "retain_grad: can't retain_grad on a tensor that has requires_grad=false");
  if (is_leaf()) return *this;  // leaves keep their grad anyway
  auto& i = impl();
  i.retains_grad = true;
  auto& r = i.grad_fn->retained;
  if (r.size() <= i.output_nr) r.resize(i.output_nr + 1);
  r[i.output_nr] = impl_;
  return *this;
}

namespace {
std::atomic<unsigned> next_hook_id{1};

// Where this tensor's hooks live: on the leaf itself, or on its grad_fn for its output number.
autograd::TensorHooks& hooks_for(const Tensor& t, const char* op) {
  XG_CHECK(t.requires_grad(), op, ": cannot register a hook on a tensor that doesn't require gradient");
  auto& impl = t.impl();
  std::shared_ptr<autograd::TensorHooks>* slot;
  if (impl.grad_fn) {
    auto& v = impl.grad_fn->tensor_hooks;
    if (v.size() <= impl.output_nr) v.resize(impl.output_nr + 1);
    slot = &v[impl.output_nr];
  } else {
    slot = &impl.hooks;
  }
  if (!*slot) *slot = std::make_shared<autograd::TensorHooks>();
  return **slot;
}
}  // namespace

unsigned Tensor::_add_grad_hook(std::function<Tensor(const Tensor&)> hook) const {
  XG_CHECK(hook, "register_hook: the hook is empty");
  auto& h = hooks_for(*this, "register_hook");
  unsigned id = next_hook_id++;
  h.grad.emplace_back(id, std::move(hook));
  return id;
}

unsigned Tensor::register_post_accumulate_grad_hook(std::function<void(const Tensor&)> hook) const {
  XG_CHECK(hook, "register_post_accumulate_grad_hook: the hook is empty");
  XG_CHECK(is_leaf(), "register_post_accumulate_grad_hook: post accumulate grad hooks cannot be registered on "
           "non-leaf tensors (this one comes from ", grad_fn()->name(), ")");
  auto& h = hooks_for(*this, "register_post_accumulate_grad_hook");
  unsigned id = next_hook_id++;
  h.post_accumulate.emplace_back(id, std::move(hook));
  return id;
}

bool Tensor::remove_hook(unsigned id) const {
  auto& impl = this->impl();
  autograd::TensorHooks* h = impl.grad_fn ? autograd::hooks_of(*impl.grad_fn, impl.output_nr) : impl.hooks.get();
  if (!h) return false;
  auto drop = [id](auto& v) {
    auto n = v.size();
    std::erase_if(v, [id](const auto& e) { return e.first == id; });
    return v.size() != n;
  };
  return drop(h->grad) || drop(h->post_accumulate);
}

void Tensor::backward(const Tensor& gradient, std::optional<bool> retain_graph, bool create_graph) const {
  xgrad::backward({*this}, {gradient}, retain_graph, create_graph);
}

// ---------------------------------------------------------------- in-place ops

namespace {

// In-place writes that autograd must see: the write happens in self's memory, then a node is
// recorded whose inputs are self's history before the write (and the other operand), and self
// takes that node as its history (PyTorch's rebase_history). Old values are cloned only where a
// gradient needs them (mul_ by an operand that requires grad).
bool inplace_needs_graph(const Tensor& self, const Tensor& other, const char* op) {
  XG_CHECK(!self.impl().storage->inference || InferenceMode::is_enabled(), op,
           ": in-place update to an inference tensor outside InferenceMode is not allowed; clone() it first (shape ",
           self.sizes(), ")");
  if (!GradMode::is_enabled()) return false;
  bool needs = self.requires_grad() || (other.defined() && other.requires_grad());
  if (!needs) return false;
  XG_CHECK(!(self.is_leaf() && self.requires_grad()), op,
           ": a leaf tensor that requires grad is being used in an in-place operation "
           "(wrap the update in NoGradGuard, or clone() the tensor first)");
  XG_CHECK(!self.impl().storage->has_views.load(std::memory_order_relaxed), op,
           ": in-place update of a tensor that shares storage with another (a view) is not supported "
           "while recording gradients; use the out-of-place op");
  return true;
}

// Every in-place write bumps the storage's version (saved tensors check it), except in inference
// tensors, which can never be saved.
void bump_version(const Tensor& t) {
  Storage& s = *t.impl().storage;
  if (!s.inference) s.version++;
}

// A handle carrying self's autograd identity before an in-place write: the new node's first input.
Tensor history_before_write(const Tensor& self) {
  Tensor before = self.variable_data();
  const TensorImpl& s = self.impl();
  TensorImpl& b = before.impl();
  b.grad_fn = s.grad_fn;
  b.output_nr = s.output_nr;
  b.requires_grad = s.requires_grad;
  return before;
}

// The operand of self op= other, safe to read after self is written (x.mul_(x)).
Tensor operand_for(const Tensor& self, const Tensor& other) {
  return other.impl().storage == self.impl().storage ? other.clone() : other;
}

}  // namespace

Tensor& Tensor::add_(const Tensor& other, double alpha) {
  const bool graph = inplace_needs_graph(*this, other, "add_");
  Tensor before = graph ? history_before_write(*this) : Tensor();
  kernels::inplace_numeric(*this, other, "add_", [&](auto& s, auto& o) {
    using T = typename std::decay_t<decltype(s)>::value_type;
    if (alpha == 1.0) xt::noalias(s) += o; else xt::noalias(s) += static_cast<T>(alpha) * o;
  });
  bump_version(*this);
  if (graph)
    autograd::record("AddBackward", {before, other}, *this, {}, [alpha](const autograd::BackwardCtx& c) -> TensorList {
      return {c.grad, c.needs_input_grad(1) ? (alpha == 1.0 ? c.grad : c.grad * alpha) : Tensor()};
    });
  return *this;
}

Tensor& Tensor::sub_(const Tensor& other, double alpha) { return add_(other, -alpha); }

Tensor& Tensor::mul_(const Tensor& other0) {
  const bool graph = inplace_needs_graph(*this, other0, "mul_");
  const Tensor other = graph ? operand_for(*this, other0) : other0;
  Tensor before = graph ? history_before_write(*this) : Tensor();
  Tensor old_self = graph && other.requires_grad() ? before.clone() : Tensor();  // other's gradient needs it
  kernels::inplace_numeric(*this, other, "mul_", [](auto& s, auto& o) { xt::noalias(s) *= o; });
  bump_version(*this);
  if (graph)
    autograd::record("MulBackward", {before, other}, *this, {other, old_self},
                     [](const autograd::BackwardCtx& c) -> TensorList {
                       const Tensor &other = c.saved[0], &old_self = c.saved[1];
                       return {c.needs_input_grad(0) ? c.grad * other : Tensor(),
                               c.needs_input_grad(1) ? c.grad * old_self : Tensor()};
                     });
  return *this;
}

Tensor& Tensor::div_(const Tensor& other0) {
  XG_CHECK(is_floating(dtype()), "div_: in-place division needs a floating tensor, got ", dtype_name(dtype()));
  const bool graph = inplace_needs_graph(*this, other0, "div_");
  const Tensor other = graph ? operand_for(*this, other0) : other0;
  Tensor before = graph ? history_before_write(*this) : Tensor();
  Tensor old_self = graph && other.requires_grad() ? before.clone() : Tensor();  // other's gradient needs it
  kernels::inplace_numeric(*this, other, "div_", [](auto& s, auto& o) { xt::noalias(s) /= o; });
  bump_version(*this);
  if (graph)
    autograd::record("DivBackward", {before, other}, *this, {other, old_self},
                     [](const autograd::BackwardCtx& c) -> TensorList {
                       const Tensor &other = c.saved[0], &old_self = c.saved[1];
                       return {c.needs_input_grad(0) ? c.grad / other : Tensor(),
                               c.needs_input_grad(1) ? -c.grad * old_self / (other * other) : Tensor()};
                     });
  return *this;
}

Tensor& Tensor::add_(double other) { return add_(scalar_like(other, *this)); }
Tensor& Tensor::sub_(double other) { return add_(scalar_like(-other, *this)); }
Tensor& Tensor::mul_(double other) { return mul_(scalar_like(other, *this)); }
Tensor& Tensor::div_(double other) { return div_(scalar_like(other, *this)); }

Tensor& Tensor::fill_(double value) {
  const bool graph = inplace_needs_graph(*this, Tensor(), "fill_");
  Tensor before = graph ? history_before_write(*this) : Tensor();
  dispatch(dtype(), [&]<class T>() { std::fill_n(data_ptr<T>(), numel(), static_cast<T>(value)); });
  bump_version(*this);
  // The old values no longer matter: no gradient reaches the old history.
  if (graph)
    autograd::record("FillBackward", {before}, *this, {}, [](const autograd::BackwardCtx&) -> TensorList { return {Tensor()}; });
  return *this;
}

Tensor& Tensor::zero_() { return fill_(0.0); }

Tensor& Tensor::copy_(const Tensor& src) {
  Shape b = broadcast_shapes(sizes(), src.sizes(), "copy_");
  XG_CHECK(b == sizes(), "copy_: source of shape ", src.sizes(), " can't be broadcast to ", sizes());
  const bool graph = inplace_needs_graph(*this, src, "copy_");
  Tensor before = graph ? history_before_write(*this) : Tensor();
  {
    NoGradGuard no_grad;  // the conversions below are part of this op's own record
    Tensor s = src.dtype() == dtype() ? src : src.to(dtype());
    if (s.sizes() != sizes()) s = s.expand(sizes());
    if (numel() > 0 && s.raw_data() != raw_data()) std::memmove(raw_data(), s.raw_data(), numel() * itemsize(dtype()));
  }
  bump_version(*this);
  // The old values are overwritten: the gradient goes to src only (reduced to its shape and dtype).
  if (graph)
    autograd::record("CopyBackward", {before, src}, *this, {}, [](const autograd::BackwardCtx& c) -> TensorList {
      return {Tensor(), c.needs_input_grad(1) ? c.grad : Tensor()};
    });
  return *this;
}

Tensor& Tensor::index_put_(const std::vector<indexing::TensorIndex>& indices, const Tensor& values) {
  detail::IndexPut p = detail::prepare_index_put(*this, indices, values, "index_put_");
  const bool graph = inplace_needs_graph(*this, p.values, "index_put_");
  Tensor before = graph ? history_before_write(*this) : Tensor();
  const Tensor v = operand_for(*this, p.values);  // x.index_put_(i, x) must read x before writing it
  detail::write_index_put(*this, p.pos, v, false);
  bump_version(*this);
  if (graph)
    autograd::record("IndexPutBackward", {before, v}, *this, {p.pos, detail::last_writes(p.pos, numel(), false)},
                     detail::index_put_backward(false));
  return *this;
}

Tensor& Tensor::index_put_(const std::vector<indexing::TensorIndex>& indices, double value) {
  return index_put_(indices, scalar_tensor(value, dtype()));
}

// ---------------------------------------------------------------- printing

std::ostream& operator<<(std::ostream& os, const Tensor& t) {
  if (!t.defined()) return os << "[ Tensor (undefined) ]";
  dispatch(t.dtype(), [&]<class T>() { os << t.xt<T>(); });
  os << "\n[ " << dtype_name(t.dtype()) << str(t.sizes());
  if (t.grad_fn()) os << ", grad_fn=" << t.grad_fn()->name();
  else if (t.requires_grad()) os << ", requires_grad";
  return os << " ]";
}

}  // namespace xgrad
