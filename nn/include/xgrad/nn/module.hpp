#pragma once
// Module: the base of every layer, with libtorch's conventions — parameters, buffers and children
// registered by name, dotted names for nested modules, train/eval, dtype conversion, state dicts
// and .npz checkpoints. A layer is `XImpl : Module` plus a holder made by XG_MODULE(X).
#include <functional>
#include <memory>
#include <ostream>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "xgrad/serialize.hpp"
#include "xgrad/tensor.hpp"

namespace xgrad::nn {

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

  // ---- checkpoints: parameters and buffers by dotted name, as PyTorch's state_dict()
  NamedTensors state_dict() const;
  // All or nothing: missing/unexpected keys (when strict), wrong shapes or dtypes are listed in
  // one Error and nothing is changed.
  void load_state_dict(const NamedTensors& dict, bool strict = true);
  void save(const std::string& path) const;  // .npz, written atomically; numpy.load reads it
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
};

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

  template <class... Args>
    requires requires(Impl& m, Args&&... a) { m.forward(std::forward<Args>(a)...); }
  decltype(auto) operator()(Args&&... args) const {
    return get()->forward(std::forward<Args>(args)...);
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
