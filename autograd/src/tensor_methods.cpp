// Tensor's op methods: each forwards to the free function of the same name in ops.hpp.
#include "xgrad/ops.hpp"

namespace xgrad {

Tensor Tensor::add(const Tensor& o) const { return xgrad::add(*this, o); }
Tensor Tensor::sub(const Tensor& o) const { return xgrad::sub(*this, o); }
Tensor Tensor::mul(const Tensor& o) const { return xgrad::mul(*this, o); }
Tensor Tensor::div(const Tensor& o) const { return xgrad::div(*this, o); }
Tensor Tensor::neg() const { return xgrad::neg(*this); }
Tensor Tensor::pow(double e) const { return xgrad::pow(*this, e); }
Tensor Tensor::pow(const Tensor& e) const { return xgrad::pow(*this, e); }
Tensor Tensor::exp() const { return xgrad::exp(*this); }
Tensor Tensor::log() const { return xgrad::log(*this); }
Tensor Tensor::sqrt() const { return xgrad::sqrt(*this); }
Tensor Tensor::rsqrt() const { return xgrad::rsqrt(*this); }
Tensor Tensor::abs() const { return xgrad::abs(*this); }
Tensor Tensor::tanh() const { return xgrad::tanh(*this); }
Tensor Tensor::sigmoid() const { return xgrad::sigmoid(*this); }
Tensor Tensor::relu() const { return xgrad::relu(*this); }
Tensor Tensor::clamp(std::optional<double> lo, std::optional<double> hi) const { return xgrad::clamp(*this, lo, hi); }
Tensor Tensor::sum() const { return xgrad::sum(*this); }
Tensor Tensor::sum(const Shape& dims, bool keepdim) const { return xgrad::sum(*this, dims, keepdim); }
Tensor Tensor::mean() const { return xgrad::mean(*this); }
Tensor Tensor::mean(const Shape& dims, bool keepdim) const { return xgrad::mean(*this, dims, keepdim); }
Tensor Tensor::var(const Shape& dims, int64_t correction, bool keepdim) const {
  return xgrad::var(*this, dims, correction, keepdim);
}
Tensor Tensor::amax(const Shape& dims, bool keepdim) const { return xgrad::amax(*this, dims, keepdim); }
Tensor Tensor::amin(const Shape& dims, bool keepdim) const { return xgrad::amin(*this, dims, keepdim); }
Tensor Tensor::logsumexp(const Shape& dims, bool keepdim) const { return xgrad::logsumexp(*this, dims, keepdim); }
Tensor Tensor::matmul(const Tensor& o) const { return xgrad::matmul(*this, o); }
Tensor Tensor::reshape(const Shape& s) const { return xgrad::reshape(*this, s); }
Tensor Tensor::view(const Shape& s) const { return xgrad::view(*this, s); }
Tensor Tensor::flatten(int64_t s, int64_t e) const { return xgrad::flatten(*this, s, e); }
Tensor Tensor::transpose(int64_t a, int64_t b) const { return xgrad::transpose(*this, a, b); }
Tensor Tensor::t() const {
  XG_CHECK(dim() <= 2, "t: expects a tensor with <= 2 dimensions, but it has ", dim(), " (shape ", sizes(), ")");
  return dim() < 2 ? *this : xgrad::transpose(*this, 0, 1);
}
Tensor Tensor::permute(const Shape& d) const { return xgrad::permute(*this, d); }
Tensor Tensor::unsqueeze(int64_t d) const { return xgrad::unsqueeze(*this, d); }
Tensor Tensor::squeeze() const { return xgrad::squeeze(*this); }
Tensor Tensor::squeeze(int64_t d) const { return xgrad::squeeze(*this, d); }
Tensor Tensor::expand(const Shape& s) const { return xgrad::expand(*this, s); }
Tensor Tensor::narrow(int64_t d, int64_t s, int64_t l) const { return xgrad::narrow(*this, d, s, l); }
Tensor Tensor::index_select(int64_t d, const Tensor& i) const { return xgrad::index_select(*this, d, i); }
Tensor Tensor::gather(int64_t d, const Tensor& i) const { return xgrad::gather(*this, d, i); }
Tensor Tensor::masked_fill(const Tensor& m, double v) const { return xgrad::masked_fill(*this, m, v); }
Tensor Tensor::tril(int64_t k) const { return xgrad::tril(*this, k); }
Tensor Tensor::triu(int64_t k) const { return xgrad::triu(*this, k); }
Tensor Tensor::softmax(int64_t d) const { return xgrad::softmax(*this, d); }
Tensor Tensor::log_softmax(int64_t d) const { return xgrad::log_softmax(*this, d); }
TensorList Tensor::split(int64_t s, int64_t d) const { return xgrad::split(*this, s, d); }
TensorList Tensor::split(const Shape& s, int64_t d) const { return xgrad::split(*this, s, d); }
TensorList Tensor::chunk(int64_t c, int64_t d) const { return xgrad::chunk(*this, c, d); }
TensorList Tensor::unbind(int64_t d) const { return xgrad::unbind(*this, d); }

}  // namespace xgrad
