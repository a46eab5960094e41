#pragma once
// Module: the base of every layer, with libtorch's conventions — parameters, buffers and children
// registered by name, dotted names for nested modules, train/eval, dtype conversion, state dicts
// and .npz checkpoints. A layer is `XImpl : Module` plus a holder made by XG_MODULE(X).
#include <array>
#include <functional>
#include <memory>
#include <optional>
#include <ostream>
#include <tuple>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "xgrad/serialize.hpp"
#include "xgrad/tensor.hpp"

namespace xgrad::nn {

class Module;

// What register_forward_hook / register_forward_pre_hook return: remove() unregisters the hook
// (a no-op once the module is gone or the hook already removed), as PyTorch's RemovableHandle.
class HookHandle {
 public:
  HookHandle() = default;
  HookHandle(std::weak_ptr<Module> module, uint64_t id) : module_(std::move(module)), id_(id) {}
  void remove();

 private:
  std::weak_ptr<Module> module_;
  uint64_t id_ = 0;
};

class Module : public std::enable_shared_from_this<Module> {
 public:
  virtual ~Module() = default;

  // ---- registration (names must be unique within a module and contain no '.')
  Tensor register_parameter(const std::string& name, Tensor tensor, bool requires_grad = true);
  Tensor register_buffer(const std::string& name, Tensor tensor);
  template <class Holder>
  Holder register_module(const std::string& name, Holder holder) {
    register_child(name, holder.ptr());
    return holder;
  }
  void register_child(const std::string& name, std::shared_ptr<Module> module);

  // ---- traversal (dotted names: "encoder.layers.0.self_attn.in_proj_weight")
  TensorList parameters(bool recurse = true) const;
  NamedTensors named_parameters(bool recurse = true) const;
  TensorList buffers(bool recurse = true) const;
  NamedTensors named_buffers(bool recurse = true) const;
  std::vector<std::shared_ptr<Module>> children() const;
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> named_children() const;
  std::vector<std::shared_ptr<Module>> modules();  // this module first, then all descendants
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> named_modules(const std::string& prefix = "");

  // ---- mode, dtype, gradients
  virtual void train(bool on = true);
  void eval() { train(false); }
  bool is_training() const { return training_; }
  // Converts parameters and buffers in place (every handle to them sees the new dtype).
  void to(ScalarType dtype);
  void zero_grad(bool set_to_none = true);
  void apply(const std::function<void(Module&)>& fn);
  int64_t num_parameters() const;

  // ---- forward hooks. They run when the module is called through its holder (model(x), PyTorch's
  // __call__); calling forward() directly runs none. The hooks see the call's Tensor arguments and
  // its outputs (a Tensor, or each Tensor of a tuple); returning a list replaces them.
  using ForwardPreHook = std::function<std::optional<TensorList>(Module&, const TensorList& inputs)>;
  using ForwardHook =
      std::function<std::optional<TensorList>(Module&, const TensorList& inputs, const TensorList& outputs)>;
  HookHandle register_forward_pre_hook(ForwardPreHook hook);
  HookHandle register_forward_hook(ForwardHook hook);
  bool has_forward_hooks() const { return !pre_hooks_.empty() || !hooks_.empty(); }
  bool has_forward_post_hooks() const { return !hooks_.empty(); }
  std::optional<TensorList> run_forward_pre_hooks(const TensorList& inputs);
  std::optional<TensorList> run_forward_hooks(const TensorList& inputs, const TensorList& outputs);
  void remove_hook(uint64_t id);

  // ---- checkpoints: parameters and buffers by dotted name, as PyTorch's state_dict()
  NamedTensors state_dict() const;
  // All or nothing: missing/unexpected keys (when strict), wrong shapes or dtypes are listed in
  // one Error and nothing is changed.
  void load_state_dict(const NamedTensors& dict, bool strict = true);
  // .safetensors by extension (Hugging Face's format), else .npz (numpy.load reads it); atomic.
  void save(const std::string& path) const;
  void load(const std::string& path, bool strict = true);

  // ---- printing: the tree with each module's parameter count
  virtual std::string name() const;
  virtual void pretty_print(std::ostream& os) const;
  void print_tree(std::ostream& os, const std::string& indent) const;

 protected:
  Module() = default;

 private:
  NamedTensors named(std::vector<std::pair<std::string, Tensor>> Module::*member, bool recurse) const;
  bool training_ = true;
  std::vector<std::pair<std::string, Tensor>> params_;
  std::vector<std::pair<std::string, Tensor>> buffers_;
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> children_;
  std::vector<std::pair<uint64_t, ForwardPreHook>> pre_hooks_;
  std::vector<std::pair<uint64_t, ForwardHook>> hooks_;
  uint64_t next_hook_id_ = 1;
};

namespace detail {

template <class A>
inline constexpr bool is_tensor_arg = std::is_same_v<std::decay_t<A>, Tensor>;

// The Tensor arguments' positions among the Tensor arguments (-1 for the others).
template <class... Args>
constexpr std::array<int, sizeof...(Args)> tensor_slots() {
  std::array<int, sizeof...(Args)> slot{};
  constexpr bool is_t[] = {is_tensor_arg<Args>..., false};
  int k = 0;
  for (size_t i = 0; i < sizeof...(Args); ++i) slot[i] = is_t[i] ? k++ : -1;
  return slot;
}

template <int Slot, class A>
decltype(auto) hooked_arg(const TensorList& inputs, A&& a) {
  if constexpr (Slot >= 0) return Tensor(inputs[Slot]);
  else return std::forward<A>(a);
}

template <class Out>
TensorList outputs_of(const Out& out) {
  if constexpr (std::is_same_v<Out, Tensor>) return {out};
  else return std::apply([](const auto&... t) { return TensorList{Tensor(t)...}; }, out);
}

template <class Out, size_t... I>
Out tuple_from(const TensorList& l, std::index_sequence<I...>) {
  return Out{l.at(I)...};
}

template <class Out>
Out outputs_from(const TensorList& l) {
  if constexpr (std::is_same_v<Out, Tensor>) return l.at(0);
  else return tuple_from<Out>(l, std::make_index_sequence<std::tuple_size_v<Out>>{});
}

template <class Out>
inline constexpr bool hookable_output = std::is_same_v<Out, Tensor>;
template <class... T>
inline constexpr bool hookable_output<std::tuple<T...>> = (std::is_same_v<T, Tensor> && ...);
template <>
inline constexpr bool hookable_output<std::pair<Tensor, Tensor>> = true;

// forward(args...) with the module's pre- and post-hooks around it.
template <class Impl, class... Args, size_t... I>
auto call_with_hooks(Impl& m, std::index_sequence<I...>, Args&&... args) {
  TensorList inputs;
  (
      [&] {
        if constexpr (is_tensor_arg<Args>) inputs.push_back(args);
      }(),
      ...);
  if (auto replaced = m.run_forward_pre_hooks(inputs)) {
    XG_CHECK(replaced->size() == inputs.size(), m.name(), ": a forward pre-hook returned ", replaced->size(),
             " tensors for ", inputs.size(), " tensor arguments");
    inputs = std::move(*replaced);
  }
  constexpr auto slots = tensor_slots<Args...>();
  auto out = m.forward(hooked_arg<slots[I]>(inputs, std::forward<Args>(args))...);
  using Out = decltype(out);
  if constexpr (hookable_output<Out>) {
    if (auto replaced = m.run_forward_hooks(inputs, outputs_of(out))) return outputs_from<Out>(*replaced);
  } else {
    XG_CHECK(!m.has_forward_post_hooks(), m.name(), ": forward hooks need a forward returning Tensor or a tuple (or pair) of Tensors");
  }
  return out;
}

}  // namespace detail

std::ostream& operator<<(std::ostream& os, const Module& m);

// A shared handle to an XImpl: copying the holder shares the module, so nothing dangles.
template <class Impl>
class ModuleHolder {
 public:
  using ContainedType = Impl;

  ModuleHolder(std::nullptr_t) {}  // NOLINT: an empty holder, assigned later
  ModuleHolder()
    requires std::is_default_constructible_v<Impl>
      : impl_(std::make_shared<Impl>()) {}
  template <class A0, class... Args>
    requires(!std::is_base_of_v<ModuleHolder, std::decay_t<A0>> && !std::is_same_v<std::decay_t<A0>, std::nullptr_t> &&
             std::is_constructible_v<Impl, A0, Args...>)
  explicit ModuleHolder(A0&& a0, Args&&... args)
      : impl_(std::make_shared<Impl>(std::forward<A0>(a0), std::forward<Args>(args)...)) {}
  explicit ModuleHolder(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}

  Impl* operator->() const { return get(); }
  Impl& operator*() const { return *get(); }
  Impl* get() const {
    if (!impl_) throw Error("ModuleHolder: accessing an empty module holder (constructed with nullptr)");
    return impl_.get();
  }
  const std::shared_ptr<Impl>& ptr() const { return impl_; }
  bool is_empty() const { return impl_ == nullptr; }

  // holder[key] is (*holder)[key], as libtorch's ModuleHolder (ModuleList, ModuleDict, ParameterDict).
  template <class Key>
    requires requires(Impl& m, Key&& k) { m[std::forward<Key>(k)]; }
  decltype(auto) operator[](Key&& key) const {
    return (*get())[std::forward<Key>(key)];
  }

  template <class... Args>
    requires requires(Impl& m, Args&&... a) { m.forward(std::forward<Args>(a)...); }
  auto operator()(Args&&... args) const {
    Impl* m = get();
    if (!m->has_forward_hooks()) return m->forward(std::forward<Args>(args)...);
    return detail::call_with_hooks(*m, std::index_sequence_for<Args...>{}, std::forward<Args>(args)...);
  }

 private:
  std::shared_ptr<Impl> impl_;
};

template <class Impl>
std::ostream& operator<<(std::ostream& os, const ModuleHolder<Impl>& m) {
  return os << *m;
}

}  // namespace xgrad::nn

// XG_MODULE(Linear) makes `Linear`, the holder of `LinearImpl`.
#define XG_MODULE(Name)                                              \
  class Name : public ::xgrad::nn::ModuleHolder<Name##Impl> {        \
   public:                                                           \
    using ::xgrad::nn::ModuleHolder<Name##Impl>::ModuleHolder;       \
  }
