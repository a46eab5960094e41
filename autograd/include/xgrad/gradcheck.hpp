#pragma once
// Finite-difference gradient checks in float64, as torch.autograd.gradcheck / gradgradcheck.
#include <functional>
#include <string>

#include "xgrad/tensor.hpp"

namespace xgrad {

struct GradcheckOptions {
  GradcheckOptions& eps(double v) { eps_ = v; return *this; }
  GradcheckOptions& atol(double v) { atol_ = v; return *this; }
  GradcheckOptions& rtol(double v) { rtol_ = v; return *this; }
  double eps_ = 1e-6;   // central-difference step
  double atol_ = 1e-5;  // |analytical − numerical| ≤ atol + rtol·|numerical|
  double rtol_ = 1e-3;
};

struct GradcheckReport {
  bool ok = true;
  double max_abs_error = 0;  // over every Jacobian entry
  double max_rel_error = 0;
  std::string message;       // names the worst entry: output, input, element, both values
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
