#include "xgrad/nn/positional.hpp"

#include <cmath>

#include "xgrad/nn/init.hpp"
#include "xgrad/ops.hpp"

namespace xgrad::nn {

PositionalEncodingImpl::PositionalEncodingImpl(const PositionalEncodingOptions& o) : options(o) {
  const int64_t d = o.num_hiddens(), max_len = o.max_len();
  XG_CHECK(d > 0 && max_len > 0, "PositionalEncoding: num_hiddens and max_len must be positive, got ", d, " and ", max_len);
  XG_CHECK(o.dropout() >= 0 && o.dropout() <= 1, "PositionalEncoding: dropout must be in [0, 1], got ", o.dropout());
  P = empty({max_len, d}, kFloat64);
  double* p = P.data_ptr<double>();
  for (int64_t t = 0; t < max_len; ++t)
    for (int64_t j = 0; j < d; ++j) {
      double angle = static_cast<double>(t) / std::pow(10000.0, static_cast<double>(j - j % 2) / static_cast<double>(d));
      p[t * d + j] = j % 2 == 0 ? std::sin(angle) : std::cos(angle);
    }
  P_float_ = P.to(kFloat32);
}

Tensor PositionalEncodingImpl::forward(const Tensor& X, int64_t offset) {
  const int64_t num_hiddens = options.num_hiddens(), max_len = options.max_len();
  XG_CHECK(X.dim() == 3 && X.sizes()[2] == num_hiddens, "PositionalEncoding: expected (batch, seq, ", num_hiddens,
           "), got ", X.sizes());
  const int64_t T = X.sizes()[1];
  XG_CHECK(offset >= 0 && offset + T <= max_len, "PositionalEncoding: positions ", offset, "..", offset + T - 1,
           " exceed max_len ", max_len);
  XG_CHECK(X.is_floating_point(), "PositionalEncoding: input must be floating, got ", dtype_name(X.dtype()));
  const Tensor& table = X.dtype() == kFloat64 ? P : P_float_;
  return xgrad::dropout(X + table.narrow(0, offset, T), options.dropout(), is_training());
}

LearnedPositionalEncodingImpl::LearnedPositionalEncodingImpl(const LearnedPositionalEncodingOptions& o) : options(o) {
  const int64_t d = o.num_hiddens(), max_len = o.max_len();
  XG_CHECK(d > 0 && max_len > 0, "LearnedPositionalEncoding: num_hiddens and max_len must be positive, got ", d,
           " and ", max_len);
  XG_CHECK(o.dropout() >= 0 && o.dropout() <= 1, "LearnedPositionalEncoding: dropout must be in [0, 1], got ",
           o.dropout());
  weight = register_parameter("weight", empty({max_len, d}));
  init::normal_(weight, 0.0, 0.02);
}

Tensor LearnedPositionalEncodingImpl::forward(const Tensor& X, int64_t offset) {
  const int64_t max_len = weight.sizes()[0], d = weight.sizes()[1];
  XG_CHECK(X.dim() == 3 && X.sizes()[2] == d, "LearnedPositionalEncoding: expected (batch, seq, ", d, "), got ",
           X.sizes());
  const int64_t T = X.sizes()[1];
  XG_CHECK(offset >= 0 && offset + T <= max_len, "LearnedPositionalEncoding: positions ", offset, "..",
           offset + T - 1, " exceed max_len ", max_len);
  return xgrad::dropout(X + weight.narrow(0, offset, T), options.dropout(), is_training());
}

}  // namespace xgrad::nn
