// Tensor's op methods: each forwards to the free function of the same name in ops.hpp.
#include "xgrad/indexing.hpp"
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

Tensor Tensor::std(const Shape& d, int64_t c, bool k) const { return xgrad::std(*this, d, c, k); }
Tensor Tensor::norm(double p) const { return xgrad::norm(*this, p); }
Tensor Tensor::norm(double p, const Shape& d, bool k) const { return xgrad::norm(*this, p, d, k); }
Tensor Tensor::argmax(int64_t d, bool k) const { return xgrad::argmax(*this, d, k); }
Tensor Tensor::argmin(int64_t d, bool k) const { return xgrad::argmin(*this, d, k); }
Tensor Tensor::cumsum(int64_t d) const { return xgrad::cumsum(*this, d); }
Tensor Tensor::cumprod(int64_t d) const { return xgrad::cumprod(*this, d); }
std::tuple<Tensor, Tensor> Tensor::sort(int64_t d, bool desc) const { return xgrad::sort(*this, d, desc); }
Tensor Tensor::argsort(int64_t d, bool desc) const { return xgrad::argsort(*this, d, desc); }
std::tuple<Tensor, Tensor> Tensor::topk(int64_t k, int64_t d, bool largest, bool sorted) const {
  return xgrad::topk(*this, k, d, largest, sorted);
}
Tensor Tensor::repeat(const Shape& r) const { return xgrad::repeat(*this, r); }
Tensor Tensor::repeat_interleave(int64_t r, std::optional<int64_t> d) const { return xgrad::repeat_interleave(*this, r, d); }
Tensor Tensor::flip(const Shape& d) const { return xgrad::flip(*this, d); }
Tensor Tensor::roll(const Shape& s, const Shape& d) const { return xgrad::roll(*this, s, d); }
Tensor Tensor::select(int64_t d, int64_t i) const { return xgrad::select(*this, d, i); }
Tensor Tensor::slice(int64_t d, std::optional<int64_t> s, std::optional<int64_t> e, int64_t step) const {
  return xgrad::slice(*this, d, s, e, step);
}
Tensor Tensor::scatter(int64_t d, const Tensor& i, const Tensor& src) const { return xgrad::scatter(*this, d, i, src); }
Tensor Tensor::scatter(int64_t d, const Tensor& i, double v) const { return xgrad::scatter(*this, d, i, v); }
Tensor Tensor::scatter_add(int64_t d, const Tensor& i, const Tensor& src) const { return xgrad::scatter_add(*this, d, i, src); }
Tensor Tensor::masked_select(const Tensor& m) const { return xgrad::masked_select(*this, m); }
Tensor Tensor::masked_scatter(const Tensor& m, const Tensor& src) const { return xgrad::masked_scatter(*this, m, src); }
Tensor Tensor::nonzero() const { return xgrad::nonzero(*this); }
Tensor Tensor::bmm(const Tensor& o) const { return xgrad::bmm(*this, o); }
Tensor Tensor::softplus(double beta, double threshold) const { return xgrad::softplus(*this, beta, threshold); }
Tensor Tensor::index(const std::vector<indexing::TensorIndex>& i) const { return xgrad::index(*this, i); }

}  // namespace xgrad
