#pragma once
// Sequential and ModuleList: containers whose children are named "0", "1", ... as in PyTorch.
#include <functional>

#include "xgrad/nn/module.hpp"

namespace xgrad::nn {

// Runs its modules in order on one tensor. Holds any module whose forward maps Tensor → Tensor.
class SequentialImpl : public Module {
 public:
  SequentialImpl() = default;
  template <class... Holders>
  explicit SequentialImpl(Holders... holders) {
    (push_back(std::move(holders)), ...);
  }
  template <class Holder>
  void push_back(Holder holder) {
    auto impl = holder.ptr();
    register_child(std::to_string(steps_.size()), impl);
    steps_.push_back([impl](const Tensor& x) { return impl->forward(x); });
  }
  Tensor forward(Tensor x) {
    for (auto& f : steps_) x = f(x);
    return x;
  }
  size_t size() const { return steps_.size(); }

 private:
  std::vector<std::function<Tensor(const Tensor&)>> steps_;
};
XG_MODULE(Sequential);

// A list of modules of one type, indexable, registered as "0", "1", ...
template <class Holder>
class ModuleListOf : public Module {
 public:
  void push_back(Holder h) {
    register_child(std::to_string(items_.size()), h.ptr());
    items_.push_back(std::move(h));
  }
  Holder& operator[](size_t i) {
    XG_CHECK(i < items_.size(), "ModuleList: index ", i, " out of range (size ", items_.size(), ")");
    return items_[i];
  }
  size_t size() const { return items_.size(); }
  auto begin() { return items_.begin(); }
  auto end() { return items_.end(); }

 private:
  std::vector<Holder> items_;
};

// A list of modules of any type (as Module pointers).
class ModuleListImpl : public Module {
 public:
  template <class Holder>
  void push_back(Holder h) {
    register_child(std::to_string(items_.size()), h.ptr());
    items_.push_back(h.ptr());
  }
  std::shared_ptr<Module> operator[](size_t i) const {
    XG_CHECK(i < items_.size(), "ModuleList: index ", i, " out of range (size ", items_.size(), ")");
    return items_[i];
  }
  template <class Impl>
  std::shared_ptr<Impl> at(size_t i) const {
    auto p = std::dynamic_pointer_cast<Impl>((*this)[i]);
    XG_CHECK(p, "ModuleList: element ", i, " is not of the requested type");
    return p;
  }
  size_t size() const { return items_.size(); }

 private:
  std::vector<std::shared_ptr<Module>> items_;
};
XG_MODULE(ModuleList);

}  // namespace xgrad::nn
