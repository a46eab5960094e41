#pragma once
// What every optimizer step shares: walking the groups' parameters that have gradients, lazily
// made state, and the raw per-element loop over (param, grad, state...) in the param's dtype.
#include "xgrad/grad_mode.hpp"
#include "xgrad/ops.hpp"
#include "xgrad/optim/optimizer.hpp"

namespace xgrad::optim::detail {

// Calls f(group, index, param, grad) for each parameter with a gradient, without recording.
template <class F>
void for_each_param_with_grad(const std::vector<TensorList>& groups, const char* who, F&& f) {
  NoGradGuard ng;
  for (size_t g = 0; g < groups.size(); ++g)
    for (size_t i = 0; i < groups[g].size(); ++i) {
      const Tensor& p = groups[g][i];
      Tensor grad = p.grad();
      if (!grad.defined()) continue;
      XG_CHECK(grad.sizes() == p.sizes() && grad.dtype() == p.dtype(), who, ": gradient of parameter ", i,
               " in group ", g, " has shape ", grad.sizes(), " and dtype ", dtype_name(grad.dtype()),
               ", the parameter ", p.sizes(), " and ", dtype_name(p.dtype()));
      f(g, i, p, grad);
      p.impl().storage->version++;  // written in place below autograd's view
    }
}

// The state buffer `name`, created as zeros like p (or filled with `init`) on first use.
inline Tensor& buffer(std::map<std::string, Tensor>& st, const std::string& name, const Tensor& p, double init = 0.0) {
  auto it = st.find(name);
  if (it == st.end()) it = st.emplace(name, full(p.sizes(), init, p.dtype())).first;
  return it->second;
}

// The step counter (a 0-d Float64 tensor in the state, so it saves with it), incremented.
inline double increment_step(std::map<std::string, Tensor>& st) {
  auto it = st.find("step");
  if (it == st.end()) it = st.emplace("step", scalar_tensor(0.0, kFloat64)).first;
  double* s = it->second.data_ptr<double>();
  return ++*s;
}

template <class T>
T* ptr(const Tensor& t) {
  return t.defined() ? t.data_ptr<T>() : nullptr;
}

}  // namespace xgrad::optim::detail
