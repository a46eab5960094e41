#pragma once
// Containers as libtorch has them: Sequential and ModuleList (children named "0", "1", ...),
// ModuleDict (children named by key), ParameterList and ParameterDict (parameters, likewise).
#include <functional>
#include <map>

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
  std::string name() const override { return "ModuleList"; }

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

// Modules by name, in insertion order: model->blocks["encoder"], registered as children "encoder", ...
class ModuleDictImpl : public Module {
 public:
  ModuleDictImpl() = default;
  explicit ModuleDictImpl(const std::vector<std::pair<std::string, std::shared_ptr<Module>>>& modules) {
    for (const auto& [k, m] : modules) insert(k, m);
  }
  void insert(const std::string& key, std::shared_ptr<Module> module) {
    XG_CHECK(!contains(key), "ModuleDict: key '", key, "' is already present");
    register_child(key, module);
    keys_.push_back(key);
    items_[key] = std::move(module);
  }
  template <class Holder>
    requires requires(const Holder& h) { h.ptr(); }
  void insert(const std::string& key, const Holder& holder) {
    insert(key, std::static_pointer_cast<Module>(holder.ptr()));
  }
  std::shared_ptr<Module> operator[](const std::string& key) const {
    auto it = items_.find(key);
    XG_CHECK(it != items_.end(), "ModuleDict: no module under key '", key, "'");
    return it->second;
  }
  template <class Impl>
  std::shared_ptr<Impl> at(const std::string& key) const {
    auto p = std::dynamic_pointer_cast<Impl>((*this)[key]);
    XG_CHECK(p, "ModuleDict: the module under key '", key, "' is not of the requested type");
    return p;
  }
  bool contains(const std::string& key) const { return items_.count(key) > 0; }
  const std::vector<std::string>& keys() const { return keys_; }
  std::vector<std::shared_ptr<Module>> values() const {
    std::vector<std::shared_ptr<Module>> out;
    for (const auto& k : keys_) out.push_back(items_.at(k));
    return out;
  }
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> items() const {
    std::vector<std::pair<std::string, std::shared_ptr<Module>>> out;
    for (const auto& k : keys_) out.emplace_back(k, items_.at(k));
    return out;
  }
  size_t size() const { return keys_.size(); }
  bool empty() const { return keys_.empty(); }

 private:
  std::vector<std::string> keys_;
  std::map<std::string, std::shared_ptr<Module>> items_;
};
XG_MODULE(ModuleDict);

// Parameters in a list, registered as "0", "1", ... (each becomes a leaf that requires grad).
class ParameterListImpl : public Module {
 public:
  ParameterListImpl() = default;
  explicit ParameterListImpl(const TensorList& params) {
    for (const auto& p : params) append(p);
  }
  void append(const Tensor& param) { items_.push_back(register_parameter(std::to_string(items_.size()), param)); }
  void extend(const TensorList& params) {
    for (const auto& p : params) append(p);
  }
  const Tensor& operator[](size_t i) const {
    XG_CHECK(i < items_.size(), "ParameterList: index ", i, " out of range (size ", items_.size(), ")");
    return items_[i];
  }
  size_t size() const { return items_.size(); }
  bool is_empty() const { return items_.empty(); }
  auto begin() const { return items_.begin(); }
  auto end() const { return items_.end(); }

 private:
  TensorList items_;
};
XG_MODULE(ParameterList);

// Parameters by name, in insertion order.
class ParameterDictImpl : public Module {
 public:
  ParameterDictImpl() = default;
  explicit ParameterDictImpl(const std::vector<std::pair<std::string, Tensor>>& params) {
    for (const auto& [k, p] : params) insert(k, p);
  }
  Tensor& insert(const std::string& key, const Tensor& param) {
    XG_CHECK(!contains(key), "ParameterDict: key '", key, "' is already present");
    keys_.push_back(key);
    return items_[key] = register_parameter(key, param);
  }
  const Tensor& operator[](const std::string& key) const { return get(key); }
  const Tensor& get(const std::string& key) const {
    auto it = items_.find(key);
    XG_CHECK(it != items_.end(), "ParameterDict: no parameter under key '", key, "'");
    return it->second;
  }
  bool contains(const std::string& key) const { return items_.count(key) > 0; }
  const std::vector<std::string>& keys() const { return keys_; }
  TensorList values() const {
    TensorList out;
    for (const auto& k : keys_) out.push_back(items_.at(k));
    return out;
  }
  size_t size() const { return keys_.size(); }
  bool empty() const { return keys_.empty(); }

 private:
  std::vector<std::string> keys_;
  std::map<std::string, Tensor> items_;
};
XG_MODULE(ParameterDict);

}  // namespace xgrad::nn
