#include "xgrad/nn/init.hpp"

#include <cmath>

#include "xgrad/grad_mode.hpp"
#include "xgrad/ops.hpp"

namespace xgrad::nn::init {

std::pair<int64_t, int64_t> fan_in_and_fan_out(const Tensor& t) {
  XG_CHECK(t.dim() >= 2, "init: fan in and fan out can not be computed for a tensor with fewer than 2 dims (shape ",
           t.sizes(), ")");
  int64_t receptive = 1;
  for (int64_t d = 2; d < t.dim(); ++d) receptive *= t.sizes()[d];
  return {t.sizes()[1] * receptive, t.sizes()[0] * receptive};
}

double calculate_gain(const std::string& nl, double param) {
  if (nl == "linear" || nl == "sigmoid" || nl == "identity") return 1.0;
  if (nl == "tanh") return 5.0 / 3.0;
  if (nl == "relu") return std::sqrt(2.0);
  if (nl == "leaky_relu") return std::sqrt(2.0 / (1.0 + param * param));
  if (nl == "selu") return 3.0 / 4.0;
  throw Error(str("calculate_gain: unsupported nonlinearity '", nl, "'"));
}

namespace {
// Writes `src` (same shape) into t's storage without recording.
Tensor& assign(Tensor& t, const Tensor& src) {
  NoGradGuard ng;
  t.copy_(src.to(t.dtype()));
  return t;
}
}  // namespace

Tensor& uniform_(Tensor& t, double a, double b) { return assign(t, rand(t.sizes(), kFloat64) * (b - a) + a); }
Tensor& normal_(Tensor& t, double mean, double std) { return assign(t, randn(t.sizes(), kFloat64) * std + mean); }
Tensor& constant_(Tensor& t, double value) { return assign(t, full(t.sizes(), value, kFloat64)); }
Tensor& zeros_(Tensor& t) { return constant_(t, 0.0); }
Tensor& ones_(Tensor& t) { return constant_(t, 1.0); }

Tensor& xavier_uniform_(Tensor& t, double gain) {
  auto [fi, fo] = fan_in_and_fan_out(t);
  double a = gain * std::sqrt(6.0 / static_cast<double>(fi + fo));
  return uniform_(t, -a, a);
}

Tensor& xavier_normal_(Tensor& t, double gain) {
  auto [fi, fo] = fan_in_and_fan_out(t);
  return normal_(t, 0.0, gain * std::sqrt(2.0 / static_cast<double>(fi + fo)));
}

namespace {
double kaiming_std(const Tensor& t, double a, const std::string& mode, const std::string& nl) {
  XG_CHECK(mode == "fan_in" || mode == "fan_out", "kaiming init: mode must be fan_in or fan_out, got ", mode);
  auto [fi, fo] = fan_in_and_fan_out(t);
  return calculate_gain(nl, a) / std::sqrt(static_cast<double>(mode == "fan_in" ? fi : fo));
}
}  // namespace

Tensor& kaiming_uniform_(Tensor& t, double a, const std::string& mode, const std::string& nl) {
  double bound = std::sqrt(3.0) * kaiming_std(t, a, mode, nl);
  return uniform_(t, -bound, bound);
}

Tensor& kaiming_normal_(Tensor& t, double a, const std::string& mode, const std::string& nl) {
  return normal_(t, 0.0, kaiming_std(t, a, mode, nl));
}

}  // namespace xgrad::nn::init
