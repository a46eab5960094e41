#pragma once
// Finite-difference gradient checks in float64, as torch.autograd.gradcheck / gradgradcheck.
#include <functional>
#include <string>

#include "xgrad/options.hpp"
#include "xgrad/tensor.hpp"

namespace xgrad {

// torch.autograd.gradcheck's eps, atol and rtol: an entry passes when
// |analytical − numerical| ≤ atol + rtol·|numerical|, numerical from central differences of step eps.
struct GradcheckOptions {
  XG_ARG(double, eps) = 1e-6;
  XG_ARG(double, atol) = 1e-5;
  XG_ARG(double, rtol) = 1e-3;
};

struct GradcheckReport {
  bool ok = true;
  double max_abs_error = 0;  // max |analytical − numerical| over every Jacobian entry
  double max_rel_error = 0;  // max |analytical − numerical| / max(|analytical|, |numerical|)
  // Names the entry that fails by the most (or, when all pass, the one with the largest error): the
  // output and its element, the input and its element, both values.
  std::string message;
};

using Fn = std::function<Tensor(const TensorList&)>;
using MultiFn = std::function<TensorList(const TensorList&)>;

// Compares the Jacobian built from backward (one vector-Jacobian product per output element) with
// central differences, for every floating input that requires grad (Float64 required).
GradcheckReport gradcheck(const Fn& fn, const TensorList& inputs, const GradcheckOptions& options = {});
GradcheckReport gradcheck(const MultiFn& fn, const TensorList& inputs, const GradcheckOptions& options = {});

// gradcheck of the map (inputs, v) ↦ vᵀ·J(inputs), with random v: checks second derivatives.
GradcheckReport gradgradcheck(const Fn& fn, const TensorList& inputs, const GradcheckOptions& options = {});
GradcheckReport gradgradcheck(const MultiFn& fn, const TensorList& inputs, const GradcheckOptions& options = {});

}  // namespace xgrad
