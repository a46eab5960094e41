#include "xgrad/nn/module.hpp"

#include <cxxabi.h>

#include <algorithm>
#include <map>
#include <set>
#include <sstream>

#include "xgrad/grad_mode.hpp"
#include "xgrad/ops.hpp"

namespace xgrad::nn {

namespace {
void check_name(const std::string& name, const char* what) {
  XG_CHECK(!name.empty() && name.find('.') == std::string::npos, what, ": name '", name,
           "' must be non-empty and contain no '.'");
}
template <class V>
bool has_name(const V& v, const std::string& name) {
  return std::any_of(v.begin(), v.end(), [&](const auto& p) { return p.first == name; });
}
}  // namespace

Tensor Module::register_parameter(const std::string& name, Tensor t, bool requires_grad) {
  check_name(name, "register_parameter");
  XG_CHECK(!has_name(params_, name) && !has_name(buffers_, name) && !has_name(children_, name),
           "register_parameter: '", name, "' is already registered");
  if (t.defined()) {
    t = t.detach();  // a parameter is a leaf of its own
    if (requires_grad) t.requires_grad_(true);
  }
  params_.emplace_back(name, t);
  return t;
}

Tensor Module::register_buffer(const std::string& name, Tensor t) {
  check_name(name, "register_buffer");
  XG_CHECK(!has_name(params_, name) && !has_name(buffers_, name) && !has_name(children_, name),
           "register_buffer: '", name, "' is already registered");
  buffers_.emplace_back(name, t);
  return t;
}

void Module::register_child(const std::string& name, std::shared_ptr<Module> m) {
  check_name(name, "register_module");
  XG_CHECK(m != nullptr, "register_module: module '", name, "' is empty");
  XG_CHECK(!has_name(params_, name) && !has_name(buffers_, name) && !has_name(children_, name),
           "register_module: '", name, "' is already registered");
  children_.emplace_back(name, std::move(m));
}

// Own entries of `member` (params_ or buffers_), then each child's under "child.".
NamedTensors Module::named(std::vector<std::pair<std::string, Tensor>> Module::*member, bool recurse) const {
  NamedTensors out;
  for (const auto& [n, t] : this->*member)
    if (t.defined()) out.emplace_back(n, t);
  if (recurse)
    for (const auto& [cn, c] : children_)
      for (auto& [n, t] : c->named(member, true)) out.emplace_back(cn + "." + n, t);
  return out;
}

NamedTensors Module::named_parameters(bool recurse) const { return named(&Module::params_, recurse); }

TensorList Module::parameters(bool recurse) const {
  TensorList out;
  for (auto& [n, t] : named_parameters(recurse)) out.push_back(t);
  return out;
}

NamedTensors Module::named_buffers(bool recurse) const { return named(&Module::buffers_, recurse); }

TensorList Module::buffers(bool recurse) const {
  TensorList out;
  for (auto& [n, t] : named_buffers(recurse)) out.push_back(t);
  return out;
}

std::vector<std::shared_ptr<Module>> Module::children() const {
  std::vector<std::shared_ptr<Module>> out;
  for (const auto& [n, c] : children_) out.push_back(c);
  return out;
}

std::vector<std::pair<std::string, std::shared_ptr<Module>>> Module::named_children() const { return children_; }

std::vector<std::pair<std::string, std::shared_ptr<Module>>> Module::named_modules(const std::string& prefix) {
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> out{{prefix, shared_from_this()}};
  for (const auto& [n, c] : children_)
    for (auto& p : c->named_modules(prefix.empty() ? n : prefix + "." + n)) out.push_back(std::move(p));
  return out;
}

std::vector<std::shared_ptr<Module>> Module::modules() {
  std::vector<std::shared_ptr<Module>> out;
  for (auto& [n, m] : named_modules()) out.push_back(m);
  return out;
}

void Module::train(bool on) {
  training_ = on;
  for (auto& [n, c] : children_) c->train(on);
}

void Module::to(ScalarType dtype) {
  NoGradGuard ng;
  for (auto& [n, t] : named_parameters())
    if (t.is_floating_point() && t.dtype() != dtype) t.set_data(t.detach().to(dtype));
  for (auto& [n, t] : named_buffers())
    if (t.is_floating_point() && t.dtype() != dtype) t.set_data(t.detach().to(dtype));
}

void Module::zero_grad(bool set_to_none) {
  for (auto& p : parameters()) {
    if (!p.grad().defined()) continue;
    if (set_to_none) p.set_grad({});
    else p.grad().zero_();
  }
}

void Module::apply(const std::function<void(Module&)>& fn) {
  for (auto& m : modules()) fn(*m);
}

int64_t Module::num_parameters() const {
  int64_t n = 0;
  for (auto& p : parameters()) n += p.numel();
  return n;
}

NamedTensors Module::state_dict() const {
  NamedTensors out = named_parameters();
  for (auto& b : named_buffers()) out.push_back(b);
  return out;
}

void Module::load_state_dict(const NamedTensors& dict, bool strict) {
  std::map<std::string, Tensor> given(dict.begin(), dict.end());
  std::vector<std::string> problems;
  NamedTensors mine = state_dict();
  std::set<std::string> known;
  for (auto& [name, t] : mine) {
    known.insert(name);
    auto it = given.find(name);
    if (it == given.end()) {
      if (strict) problems.push_back("missing key '" + name + "'");
      continue;
    }
    const Tensor& src = it->second;
    if (src.sizes() != t.sizes())
      problems.push_back(str("'", name, "': shape ", src.sizes(), " in the checkpoint, ", t.sizes(), " in the model"));
    else if (src.is_floating_point() != t.is_floating_point() || (!t.is_floating_point() && src.dtype() != t.dtype()))
      problems.push_back(str("'", name, "': dtype ", dtype_name(src.dtype()), " in the checkpoint, ",
                             dtype_name(t.dtype()), " in the model"));
  }
  if (strict)
    for (auto& [name, t] : given)
      if (!known.count(name)) problems.push_back("unexpected key '" + name + "'");
  if (!problems.empty()) {
    std::ostringstream os;
    os << "load_state_dict: nothing was loaded; " << problems.size() << " problem(s):";
    for (auto& p : problems) os << "\n  " << p;
    throw Error(os.str());
  }
  NoGradGuard ng;
  for (auto& [name, t] : mine) {
    auto it = given.find(name);
    if (it == given.end()) continue;
    // Floating data converts to the model's dtype (a float64 checkpoint loads into float32).
    t.set_data(it->second.to(t.dtype()).clone());
  }
}

namespace {
bool is_safetensors(const std::string& path) {
  const std::string ext = ".safetensors";
  return path.size() >= ext.size() && path.compare(path.size() - ext.size(), ext.size(), ext) == 0;
}
}  // namespace

void Module::save(const std::string& path) const {
  if (is_safetensors(path)) save_safetensors(path, state_dict(), {{"format", "pt"}});
  else save_npz(path, state_dict());
}

void Module::load(const std::string& path, bool strict) {
  load_state_dict(is_safetensors(path) ? load_safetensors(path) : load_npz(path), strict);
}

// ---------------------------------------------------------------- hooks

HookHandle Module::register_forward_pre_hook(ForwardPreHook hook) {
  XG_CHECK(hook, name(), ": register_forward_pre_hook: the hook is empty");
  pre_hooks_.emplace_back(next_hook_id_, std::move(hook));
  return {weak_from_this(), next_hook_id_++};
}

HookHandle Module::register_forward_hook(ForwardHook hook) {
  XG_CHECK(hook, name(), ": register_forward_hook: the hook is empty");
  hooks_.emplace_back(next_hook_id_, std::move(hook));
  return {weak_from_this(), next_hook_id_++};
}

// Each hook sees the inputs as the previous one left them; nullopt means "unchanged".
std::optional<TensorList> Module::run_forward_pre_hooks(const TensorList& inputs) {
  std::optional<TensorList> current;
  auto hooks = pre_hooks_;  // a hook may remove itself
  for (auto& [id, h] : hooks)
    if (auto r = h(*this, current ? *current : inputs)) current = std::move(r);
  return current;
}

std::optional<TensorList> Module::run_forward_hooks(const TensorList& inputs, const TensorList& outputs) {
  std::optional<TensorList> current;
  auto hooks = hooks_;
  for (auto& [id, h] : hooks)
    if (auto r = h(*this, inputs, current ? *current : outputs)) {
      XG_CHECK(r->size() == outputs.size(), name(), ": a forward hook returned ", r->size(), " tensors for ",
               outputs.size(), " outputs");
      current = std::move(r);
    }
  return current;
}

void Module::remove_hook(uint64_t id) {
  std::erase_if(pre_hooks_, [id](const auto& h) { return h.first == id; });
  std::erase_if(hooks_, [id](const auto& h) { return h.first == id; });
}

void HookHandle::remove() {
  if (auto m = module_.lock()) m->remove_hook(id_);
  module_.reset();
}

// ---------------------------------------------------------------- printing

std::string Module::name() const {
  int status = 0;
  char* d = abi::__cxa_demangle(typeid(*this).name(), nullptr, nullptr, &status);
  std::string s = status == 0 && d ? d : typeid(*this).name();
  std::free(d);
  s = s.substr(0, s.find('<'));  // ModuleListOf<xgrad::nn::Linear> → ModuleListOf
  auto colon = s.rfind("::");
  if (colon != std::string::npos) s = s.substr(colon + 2);
  if (s.size() > 4 && s.compare(s.size() - 4, 4, "Impl") == 0) s.resize(s.size() - 4);
  return s;
}

void Module::pretty_print(std::ostream& os) const { os << name(); }

void Module::print_tree(std::ostream& os, const std::string& indent) const {
  pretty_print(os);
  if (children_.empty()) {
    os << "  [" << num_parameters() << " params]";
    return;
  }
  os << "(  [" << num_parameters() << " params]\n";
  for (const auto& [n, c] : children_) {
    os << indent << "  (" << n << "): ";
    c->print_tree(os, indent + "  ");
    os << "\n";
  }
  os << indent << ")";
}

std::ostream& operator<<(std::ostream& os, const Module& m) {
  m.print_tree(os, "");
  return os;
}

}  // namespace xgrad::nn
