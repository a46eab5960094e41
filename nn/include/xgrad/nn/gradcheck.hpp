#pragma once
// gradcheck of a module: its floating inputs and every parameter, in float64.
#include "xgrad/gradcheck.hpp"
#include "xgrad/nn/module.hpp"

namespace xgrad {

// Checks module(inputs...) (a forward taking 1 to 3 tensors and returning a tensor) against
// finite differences with respect to the inputs and all the module's parameters.
template <class Impl>
GradcheckReport gradcheck(const nn::ModuleHolder<Impl>& module, const TensorList& inputs,
                          const GradcheckOptions& options = {}) {
  TensorList all;
  for (const auto& t : inputs) {
    Tensor c = t.detach().clone();
    if (c.is_floating_point()) c.requires_grad_();
    all.push_back(c);
  }
  const size_t n = inputs.size();
  XG_CHECK(n >= 1 && n <= 3, "gradcheck(module): the module's forward must take 1 to 3 tensors, got ", n);
  for (auto& p : module->parameters()) all.push_back(p);  // perturbed in place: the module sees it
  return gradcheck([&module, n](const TensorList& a) -> Tensor {
    Impl& m = *module;
    if constexpr (requires(const Tensor& t) { m.forward(t); })
      if (n == 1) return m.forward(a[0]);
    if constexpr (requires(const Tensor& t) { m.forward(t, t); })
      if (n == 2) return m.forward(a[0], a[1]);
    if constexpr (requires(const Tensor& t) { m.forward(t, t, t); })
      if (n == 3) return m.forward(a[0], a[1], a[2]);
    throw Error(str("gradcheck(module): ", m.name(), "::forward does not take ", n, " tensors"));
  }, all, options);
}

}  // namespace xgrad
