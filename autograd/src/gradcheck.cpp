#include "xgrad/gradcheck.hpp"

#include <cmath>
#include <functional>
#include <sstream>

#include "xgrad/engine.hpp"
#include "xgrad/grad_mode.hpp"
#include "xgrad/ops.hpp"

namespace xgrad {

namespace {

Shape unravel(int64_t flat, const Shape& sizes) {
  Shape idx(sizes.size());
  for (int64_t d = static_cast<int64_t>(sizes.size()) - 1; d >= 0; --d) {
    idx[d] = flat % sizes[d];
    flat /= sizes[d];
  }
  return idx;
}

// Outputs as float64 copies (values only), the undefined and non-floating ones left out.
std::vector<std::vector<double>> values_of(const TensorList& outs) {
  std::vector<std::vector<double>> v;
  for (const auto& o : outs) {
    if (!o.defined() || !o.is_floating_point()) { v.emplace_back(); continue; }
    Tensor d = o.detach().to(kFloat64);
    const double* p = d.data_ptr<double>();
    v.emplace_back(p, p + d.numel());
  }
  return v;
}

// The inputs gradcheck differentiates: those that require grad (Float64 required).
std::vector<size_t> differentiable_inputs(const TensorList& inputs) {
  std::vector<size_t> diff;
  for (size_t i = 0; i < inputs.size(); ++i) {
    const Tensor& t = inputs[i];
    if (!t.defined() || !t.requires_grad()) continue;
    XG_CHECK(t.dtype() == kFloat64, "gradcheck: input ", i, " is ", dtype_name(t.dtype()),
             "; gradcheck needs Float64 inputs (use .to(kFloat64)) to be meaningful");
    diff.push_back(i);
  }
  XG_CHECK(!diff.empty(), "gradcheck: no input requires grad");
  return diff;
}

// J[o][e][k][m] = d out_o[e] / d input_diff[k][m], one vector-Jacobian product per output element.
using Jacobian = std::vector<std::vector<std::vector<std::vector<double>>>>;

Jacobian analytical_jacobian(const TensorList& outs, const std::vector<std::vector<double>>& values,
                             const TensorList& diff_inputs) {
  Jacobian J(outs.size());
  for (size_t o = 0; o < outs.size(); ++o) {
    J[o].resize(values[o].size());
    for (size_t e = 0; e < values[o].size(); ++e) {
      auto& row = J[o][e];
      for (const auto& in : diff_inputs) row.emplace_back(static_cast<size_t>(in.numel()), 0.0);
      if (!outs[o].requires_grad()) continue;  // a constant output: zero row
      Tensor go = zeros(outs[o].sizes(), outs[o].dtype());
      dispatch_floating(go.dtype(), "gradcheck", [&]<class T>() { go.data_ptr<T>()[e] = T(1); });
      TensorList g = grad({outs[o]}, diff_inputs, {go}, /*retain_graph=*/true, false, /*allow_unused=*/true);
      for (size_t k = 0; k < g.size(); ++k) {
        if (!g[k].defined()) continue;
        Tensor gk = g[k].to(kFloat64);
        const double* p = gk.data_ptr<double>();
        std::copy(p, p + gk.numel(), row[k].begin());
      }
    }
  }
  return J;
}

// Folds one Jacobian entry's comparison into the report. The message names the entry that fails by
// the most (over atol + rtol·|numerical|), or, when all pass, the entry with the largest error.
struct EntryCheck {
  const GradcheckOptions& opt;
  GradcheckReport report;
  double worst_excess = -INFINITY, worst_abs = -1;

  void add(double numerical, double analytical, const std::function<std::string()>& where) {
    double abs_err = std::fabs(numerical - analytical);
    if (std::isnan(numerical) != std::isnan(analytical)) abs_err = INFINITY;
    if (std::isnan(numerical) && std::isnan(analytical)) abs_err = 0;
    // relative to the larger of the two (0 when both are 0): at most 2, never a division by ~0
    const double scale = std::max(std::fabs(numerical), std::fabs(analytical));
    const double rel_err = abs_err == 0 ? 0 : (scale > 0 && std::isfinite(scale) ? abs_err / scale : INFINITY);
    report.max_abs_error = std::max(report.max_abs_error, abs_err);
    report.max_rel_error = std::max(report.max_rel_error, rel_err);
    const double excess = abs_err - (opt.atol() + opt.rtol() * std::fabs(numerical));
    const bool failing = excess > 0;
    if (failing) report.ok = false;
    // Describe this entry if it is the new worst failure, or (no failure yet) the new largest error.
    bool describe = failing ? excess > worst_excess : (report.ok && abs_err > worst_abs);
    worst_excess = std::max(worst_excess, excess);
    worst_abs = std::max(worst_abs, abs_err);
    if (!describe) return;
    std::ostringstream os;
    os << (failing ? "Jacobian mismatch" : "largest error") << " for " << where() << ": numerical " << numerical
       << " vs analytical " << analytical << " (abs error " << abs_err << ", rel error " << rel_err << ")";
    report.message = os.str();
  }
};

}  // namespace

GradcheckReport gradcheck(const MultiFn& fn, const TensorList& inputs, const GradcheckOptions& opt) {
  const std::vector<size_t> diff = differentiable_inputs(inputs);
  TensorList diff_inputs;
  for (size_t i : diff) diff_inputs.push_back(inputs[i]);
  const TensorList outs = fn(inputs);
  const auto base = values_of(outs);
  const Jacobian analytic = analytical_jacobian(outs, base, diff_inputs);

  // Numerical Jacobian by central differences, perturbing each input element in place. Grad mode
  // stays on: fn may differentiate internally (gradgradcheck's does).
  EntryCheck check{opt, {}};
  for (size_t k = 0; k < diff.size(); ++k) {
    const Tensor& in = inputs[diff[k]];
    double* p = in.data_ptr<double>();
    for (int64_t m = 0; m < in.numel(); ++m) {
      const double orig = p[m];
      p[m] = orig + opt.eps();
      const auto plus = values_of(fn(inputs));
      p[m] = orig - opt.eps();
      const auto minus = values_of(fn(inputs));
      p[m] = orig;
      for (size_t o = 0; o < outs.size(); ++o) {
        XG_CHECK(plus[o].size() == base[o].size() && minus[o].size() == base[o].size(),
                 "gradcheck: output ", o, " changed size when input ", diff[k], " was perturbed");
        for (size_t e = 0; e < base[o].size(); ++e)
          check.add((plus[o][e] - minus[o][e]) / (2 * opt.eps()), analytic[o][e][k][m], [&] {
            return str("output ", o, " at ", unravel(static_cast<int64_t>(e), outs[o].sizes()), " with respect to input ",
                       diff[k], " at ", unravel(m, in.sizes()));
          });
      }
    }
  }
  return check.report;
}

GradcheckReport gradcheck(const Fn& fn, const TensorList& inputs, const GradcheckOptions& options) {
  return gradcheck(MultiFn([&](const TensorList& in) { return TensorList{fn(in)}; }), inputs, options);
}

GradcheckReport gradgradcheck(const MultiFn& fn, const TensorList& inputs, const GradcheckOptions& options) {
  std::vector<size_t> diff;
  for (size_t i = 0; i < inputs.size(); ++i)
    if (inputs[i].defined() && inputs[i].requires_grad()) diff.push_back(i);
  XG_CHECK(!diff.empty(), "gradgradcheck: no input requires grad");
  // Random grad_outputs become extra inputs, so the check covers their derivatives too.
  TensorList outs0;
  {
    NoGradGuard ng;
    outs0 = fn(inputs);
  }
  TensorList all = inputs;
  std::vector<size_t> out_slot;
  for (const auto& o : outs0) {
    if (o.defined() && o.is_floating_point()) {
      out_slot.push_back(all.size());
      all.push_back(randn(o.sizes(), kFloat64).requires_grad_());
    } else {
      out_slot.push_back(SIZE_MAX);
    }
  }
  const size_t n_in = inputs.size();
  MultiFn vjp = [&, n_in](const TensorList& a) -> TensorList {
    TensorList in(a.begin(), a.begin() + n_in);
    TensorList outs = fn(in);
    TensorList ys, gos, xs;
    for (size_t o = 0; o < outs.size(); ++o)
      if (out_slot[o] != SIZE_MAX && outs[o].requires_grad()) {
        ys.push_back(outs[o]);
        gos.push_back(a[out_slot[o]]);
      }
    for (size_t i : diff) xs.push_back(in[i]);
    if (ys.empty()) return TensorList(xs.size());
    return grad(ys, xs, gos, true, /*create_graph=*/true, /*allow_unused=*/true);
  };
  return gradcheck(vjp, all, options);
}

GradcheckReport gradgradcheck(const Fn& fn, const TensorList& inputs, const GradcheckOptions& options) {
  return gradgradcheck(MultiFn([&](const TensorList& in) { return TensorList{fn(in)}; }), inputs, options);
}

}  // namespace xgrad
