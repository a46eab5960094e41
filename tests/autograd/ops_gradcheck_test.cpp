// Every differentiable op: gradcheck and gradgradcheck in float64 on random inputs, with broadcasting.
#include <functional>

#include "helpers.hpp"

namespace {

struct Case {
  std::string name;
  xg::Fn fn;
  std::function<xg::TensorList()> inputs;
};

using namespace xg::indexing;

std::vector<Case> cases() {
  using L = xg::TensorList;
  auto pos = [](xg::Shape s) { return rnd_in(s, 0.5, 2.0); };
  return {
      {"add broadcast", [](const L& i) { return i[0] + i[1]; }, [] { return L{rnd({3, 4}), rnd({4})}; }},
      {"add alpha", [](const L& i) { return xg::add(i[0], i[1], 2.5); }, [] { return L{rnd({2, 1, 3}), rnd({4, 1})}; }},
      {"sub broadcast", [](const L& i) { return i[0] - i[1]; }, [] { return L{rnd({2, 3}), rnd({2, 1})}; }},
      {"mul broadcast", [](const L& i) { return i[0] * i[1]; }, [] { return L{rnd({2, 3, 4}), rnd({3, 1})}; }},
      {"div broadcast", [](const L& i) { return i[0] / i[1]; }, [pos] { return L{rnd({3, 4}), pos({4})}; }},
      {"scalar ops", [](const L& i) { return (2.0 - i[0]) * 3.0 / 1.5 + 1.0 - 4.0 / (i[0] * i[0] + 1.0); },
       [] { return L{rnd({5})}; }},
      {"neg", [](const L& i) { return -i[0]; }, [] { return L{rnd({3})}; }},
      {"pow scalar", [](const L& i) { return xg::pow(i[0], 2.7); }, [pos] { return L{pos({2, 3})}; }},
      {"pow square", [](const L& i) { return xg::pow(i[0], 2.0); }, [] { return L{rnd({2, 3})}; }},
      {"pow tensor", [](const L& i) { return xg::pow(i[0], i[1]); }, [pos] { return L{pos({2, 3}), rnd({3})}; }},
      {"pow scalar base", [](const L& i) { return xg::pow(1.7, i[0]); }, [] { return L{rnd({4})}; }},
      {"exp", [](const L& i) { return xg::exp(i[0]); }, [] { return L{rnd({3, 2})}; }},
      {"log", [](const L& i) { return xg::log(i[0]); }, [pos] { return L{pos({3, 2})}; }},
      {"sqrt", [](const L& i) { return xg::sqrt(i[0]); }, [pos] { return L{pos({3, 2})}; }},
      {"rsqrt", [](const L& i) { return xg::rsqrt(i[0]); }, [pos] { return L{pos({3, 2})}; }},
      {"abs", [](const L& i) { return xg::abs(i[0]); }, [] { return L{rnd({6})}; }},
      {"sin cos", [](const L& i) { return xg::sin(i[0]) * xg::cos(i[0]); }, [] { return L{rnd({6})}; }},
      {"tanh", [](const L& i) { return xg::tanh(i[0]); }, [] { return L{rnd({3, 3})}; }},
      {"sigmoid", [](const L& i) { return xg::sigmoid(i[0]); }, [] { return L{rnd({3, 3})}; }},
      {"relu", [](const L& i) { return xg::relu(i[0]); }, [] { return L{rnd({4, 3})}; }},
      {"erf", [](const L& i) { return xg::erf(i[0]); }, [] { return L{rnd({4})}; }},
      {"gelu", [](const L& i) { return xg::gelu(i[0]); }, [] { return L{rnd({4, 3})}; }},
      {"gelu tanh", [](const L& i) { return xg::gelu(i[0], "tanh"); }, [] { return L{rnd({4, 3})}; }},
      {"silu", [](const L& i) { return xg::silu(i[0]); }, [] { return L{rnd({4, 3})}; }},
      {"clamp", [](const L& i) { return xg::clamp(i[0], -0.5, 0.7); }, [] { return L{rnd({10})}; }},
      {"maximum", [](const L& i) { return xg::maximum(i[0], i[1]); }, [] { return L{rnd({3, 4}), rnd({4})}; }},
      {"minimum", [](const L& i) { return xg::minimum(i[0], i[1]); }, [] { return L{rnd({3, 1}), rnd({4})}; }},
      {"where", [](const L& i) { return xg::where(i[0] > 0.0, i[0] * 2.0, i[1]); },
       [] { return L{rnd({3, 4}), rnd({4})}; }},
      {"sum all", [](const L& i) { return i[0].sum(); }, [] { return L{rnd({2, 3})}; }},
      {"sum dims", [](const L& i) { return xg::sum(i[0], {0, 2}); }, [] { return L{rnd({2, 3, 4})}; }},
      {"sum keepdim", [](const L& i) { return xg::sum(i[0], {-1}, true); }, [] { return L{rnd({2, 3})}; }},
      {"mean", [](const L& i) { return xg::mean(i[0], {1}); }, [] { return L{rnd({2, 3, 2})}; }},
      {"var", [](const L& i) { return xg::var(i[0], {1}); }, [] { return L{rnd({3, 5})}; }},
      {"var all biased", [](const L& i) { return xg::var(i[0], {}, 0); }, [] { return L{rnd({3, 5})}; }},
      {"amax", [](const L& i) { return xg::amax(i[0], {1}); }, [] { return L{rnd({3, 5})}; }},
      {"amin keepdim", [](const L& i) { return xg::amin(i[0], {0}, true); }, [] { return L{rnd({3, 5})}; }},
      {"logsumexp", [](const L& i) { return xg::logsumexp(i[0], {-1}); }, [] { return L{rnd({3, 5})}; }},
      {"matmul 2d", [](const L& i) { return xg::matmul(i[0], i[1]); }, [] { return L{rnd({3, 4}), rnd({4, 2})}; }},
      {"matmul 1d·1d", [](const L& i) { return xg::matmul(i[0], i[1]); }, [] { return L{rnd({4}), rnd({4})}; }},
      {"matmul 1d·3d", [](const L& i) { return xg::matmul(i[0], i[1]); }, [] { return L{rnd({4}), rnd({2, 4, 3})}; }},
      {"matmul 3d·1d", [](const L& i) { return xg::matmul(i[0], i[1]); }, [] { return L{rnd({2, 3, 4}), rnd({4})}; }},
      {"matmul batched broadcast", [](const L& i) { return xg::matmul(i[0], i[1]); },
       [] { return L{rnd({2, 1, 3, 4}), rnd({3, 4, 2})}; }},
      {"matmul 3d·2d", [](const L& i) { return xg::matmul(i[0], i[1]); }, [] { return L{rnd({2, 3, 4}), rnd({4, 5})}; }},
      {"matmul_t", [](const L& i) { return xg::matmul_t(i[0], i[1], true, true); },
       [] { return L{rnd({2, 4, 3}), rnd({5, 4})}; }},
      {"linear", [](const L& i) { return xg::linear(i[0], i[1], i[2]); },
       [] { return L{rnd({2, 3, 4}), rnd({5, 4}), rnd({5})}; }},
      {"linear no bias 1d", [](const L& i) { return xg::linear(i[0], i[1]); }, [] { return L{rnd({4}), rnd({2, 4})}; }},
      {"reshape view flatten", [](const L& i) { return xg::flatten(xg::view(xg::reshape(i[0], {3, -1}), {2, 6}) * 2.0); },
       [] { return L{rnd({2, 3, 2})}; }},
      {"transpose permute", [](const L& i) { return xg::permute(xg::transpose(i[0], 0, 2), {1, 0, 2}); },
       [] { return L{rnd({2, 3, 4})}; }},
      {"squeeze unsqueeze", [](const L& i) { return xg::unsqueeze(xg::squeeze(i[0]), -1); }, [] { return L{rnd({3, 1, 2})}; }},
      {"expand", [](const L& i) { return xg::expand(i[0], {2, 3, 4}); }, [] { return L{rnd({3, 1})}; }},
      {"narrow", [](const L& i) { return xg::narrow(i[0], 1, 1, 2); }, [] { return L{rnd({2, 4})}; }},
      {"narrow dim 0 (a view)", [](const L& i) { return xg::narrow(i[0], 0, 1, 2) * xg::narrow(i[0], 0, 0, 2); },
       [] { return L{rnd({4, 3})}; }},
      {"split sizes, one piece unused", [](const L& i) { auto p = i[0].split({1, 2, 2}, 1); return p[0] * p[2]; },
       [] { return L{rnd({2, 5})}; }},
      {"unbind", [](const L& i) { auto p = xg::unbind(i[0], 0); return p[0] * p[1] + p[2]; }, [] { return L{rnd({3, 2, 2})}; }},
      {"unbind dim 1", [](const L& i) { auto p = xg::unbind(i[0], 1); return p[0] - p[1] * p[1]; }, [] { return L{rnd({3, 2})}; }},
      {"cat", [](const L& i) { return xg::cat({i[0], i[1]}, 1); }, [] { return L{rnd({2, 3}), rnd({2, 2})}; }},
      {"stack", [](const L& i) { return xg::stack({i[0], i[1]}, -1); }, [] { return L{rnd({2, 3}), rnd({2, 3})}; }},
      {"split chunk", [](const L& i) { auto p = xg::chunk(i[0], 3, 0); return p[0] * p[2] + xg::split(i[0], 2, 0)[1]; },
       [] { return L{rnd({6, 2})}; }},
      {"tril triu", [](const L& i) { return xg::tril(i[0], -1) + xg::triu(i[0], 1) * 3.0; }, [] { return L{rnd({2, 3, 3})}; }},
      {"index_select", [](const L& i) { return xg::index_select(i[0], 1, xg::tensor({2, 0, 2})); },
       [] { return L{rnd({2, 3, 2})}; }},
      {"index_add", [](const L& i) { return xg::index_add(i[0], 0, xg::tensor({1, 1, 0}), i[1]); },
       [] { return L{rnd({2, 3}), rnd({3, 3})}; }},
      {"gather", [](const L& i) { return xg::gather(i[0], 1, xg::tensor({0, 2, 2, 1}).reshape({2, 2})); },
       [] { return L{rnd({2, 3})}; }},
      {"scatter_add", [](const L& i) { return xg::scatter_add(i[0], 1, xg::tensor({0, 2, 2, 1}).reshape({2, 2}), i[1]); },
       [] { return L{rnd({2, 3}), rnd({2, 2})}; }},
      {"embedding", [](const L& i) { return xg::embedding(xg::tensor({3, 0, 3, 1}).reshape({2, 2}), i[0]); },
       [] { return L{rnd({4, 3})}; }},
      {"masked_fill", [](const L& i) { return xg::masked_fill(i[0], xg::tensor({true, false, true}), -1.5); },
       [] { return L{rnd({2, 3})}; }},
      {"softmax", [](const L& i) { return xg::softmax(i[0], -1); }, [] { return L{rnd({3, 4})}; }},
      {"softmax dim 1 of 3", [](const L& i) { return xg::softmax(i[0], 1); }, [] { return L{rnd({2, 3, 4})}; }},
      {"log_softmax", [](const L& i) { return xg::log_softmax(i[0], 0); }, [] { return L{rnd({3, 4})}; }},
      {"layer_norm", [](const L& i) { return xg::layer_norm(i[0], {4}, i[1], i[2]); },
       [] { return L{rnd({2, 3, 4}), rnd({4}), rnd({4})}; }},
      {"layer_norm 2 dims no affine", [](const L& i) { return xg::layer_norm(i[0], {3, 4}); }, [] { return L{rnd({2, 3, 4})}; }},
      {"layer_norm weight only", [](const L& i) { return xg::layer_norm(i[0], {4}, i[1], xg::Tensor()); },
       [] { return L{rnd({2, 3, 4}), rnd({4})}; }},
      {"layer_norm of a constant input (weight and bias grads only)",
       [](const L& i) {
         static const xg::Tensor x = xg::randn({5, 4}, xg::kFloat64);
         return xg::layer_norm(x, {4}, i[0], i[1]);
       },
       [] { return L{rnd({4}), rnd({4})}; }},
      {"cross_entropy", [](const L& i) { return xg::cross_entropy(i[0], xg::tensor({1, 0, 3})); }, [] { return L{rnd({3, 4})}; }},
      {"cross_entropy full options",
       [](const L& i) {
         return xg::cross_entropy(i[0], xg::tensor({1, -100, 3, 2}),
                                  xg::CrossEntropyLossOptions().weight(xg::tensor({1.0, 2.0, 0.5, 1.5}, xg::kFloat64))
                                      .label_smoothing(0.2).ignore_index(-100));
       },
       [] { return L{rnd({4, 4})}; }},
      {"cross_entropy none 3d",
       [](const L& i) {
         return xg::cross_entropy(i[0], xg::tensor({1, 0, 2, 2, 1, 0}).reshape({2, 3}),
                                  xg::CrossEntropyLossOptions().reduction(xg::kNone).label_smoothing(0.1));
       },
       [] { return L{rnd({2, 3, 3})}; }},
      {"cross_entropy sum", [](const L& i) { return xg::cross_entropy(i[0], xg::tensor({2, 0}), xg::CrossEntropyLossOptions().reduction(xg::kSum)); },
       [] { return L{rnd({2, 3})}; }},
      {"nll_loss", [](const L& i) { return xg::nll_loss(xg::log_softmax(i[0], 1), xg::tensor({1, 0, 3})); },
       [] { return L{rnd({3, 4})}; }},
      {"mse_loss", [](const L& i) { return xg::mse_loss(i[0], i[1]); }, [] { return L{rnd({3, 4}), rnd({3, 4})}; }},
      // ---- the everyday ops (issue 12)
      {"log1p expm1", [](const L& i) { return xg::log1p(i[0]) + xg::expm1(i[0]); }, [pos] { return L{pos({4})}; }},
      {"softplus", [](const L& i) { return xg::softplus(i[0] * 3.0, 0.7, 2.0); }, [] { return L{rnd({3, 4})}; }},
      {"mish", [](const L& i) { return xg::mish(i[0]); }, [] { return L{rnd({3, 4})}; }},
      {"hardtanh", [](const L& i) { return xg::hardtanh(i[0] * 2.0, -1.0, 0.5); }, [] { return L{rnd({10})}; }},
      {"std", [](const L& i) { return xg::std(i[0], {1}) + xg::std(i[0], {0}, 0, true).sum(); }, [] { return L{rnd({3, 5})}; }},
      {"norm 2", [](const L& i) { return xg::norm(i[0], 2.0, {1}); }, [] { return L{rnd({3, 4})}; }},
      {"norm 1, 3, inf, all", [](const L& i) {
         return xg::norm(i[0], 1.0) + xg::norm(i[0], 3.0, {0}, true).sum() + xg::linalg_vector_norm(i[0], INFINITY, {1}).sum();
       }, [] { return L{rnd({3, 4})}; }},
      {"cumsum", [](const L& i) { return xg::cumsum(i[0], 1) * xg::cumsum(i[0], -1); }, [] { return L{rnd({2, 4, 3})}; }},
      {"cumprod", [](const L& i) { return xg::cumprod(i[0], 0); }, [pos] { return L{pos({4, 3})}; }},
      {"sort values", [](const L& i) { return std::get<0>(xg::sort(i[0], 1, true)) * xg::arange(4.0, xg::kFloat64); },
       [] { return L{rnd({3, 4})}; }},
      {"topk values", [](const L& i) { return std::get<0>(xg::topk(i[0], 2, 0, false)); }, [] { return L{rnd({5, 3})}; }},
      {"repeat", [](const L& i) { return i[0].repeat({2, 1, 3}); }, [] { return L{rnd({2, 3})}; }},
      {"repeat_interleave", [](const L& i) {
         return xg::repeat_interleave(i[0], 2, 1).sum({0}) + xg::repeat_interleave(i[0], xg::tensor({1, 0, 3}), 1).sum();
       }, [] { return L{rnd({2, 3})}; }},
      {"flip roll", [](const L& i) { return xg::flip(i[0], {0, 2}) * xg::roll(i[0], {1, -2}, {1, 2}) + xg::roll(i[0], {5}); },
       [] { return L{rnd({2, 3, 4})}; }},
      {"bmm baddbmm", [](const L& i) { return xg::baddbmm(i[0], i[1], i[2], 0.5, 2.0) + xg::bmm(i[1], i[2]); },
       [] { return L{rnd({3, 1}), rnd({2, 3, 4}), rnd({2, 4, 3})}; }},
      {"einsum bij,bjk->bik", [](const L& i) { return xg::einsum("bij,bjk->bik", {i[0], i[1]}); },
       [] { return L{rnd({2, 3, 4}), rnd({2, 4, 5})}; }},
      {"einsum three operands, diagonal, ellipsis", [](const L& i) {
         return xg::einsum("ii,...i,ij->...j", {i[0], i[1], i[2]});
       }, [] { return L{rnd({3, 3}), rnd({2, 3}), rnd({3, 2})}; }},
      {"einsum implicit outer, trace", [](const L& i) { return xg::einsum("i,j", {i[0], i[1]}) * xg::einsum("ii", {i[2]}); },
       [] { return L{rnd({3}), rnd({2}), rnd({2, 2})}; }},
      {"index slices and integers", [](const L& i) {
         using namespace xg::indexing;
         return i[0].index({Slice(), -1, Slice(1, None, 2)}) * 2.0 + i[0].index({0, Ellipsis, None}).sum();
       }, [] { return L{rnd({3, 4, 5})}; }},
      {"index bool mask", [](const L& i) { return i[0].index({i[0].detach() > 0.0}); }, [] { return L{rnd({3, 4})}; }},
      {"index tensors (adjacent, broadcast)", [](const L& i) {
         using namespace xg::indexing;
         return i[0].index({Slice(), xg::tensor({2, 0, -1}).reshape({3, 1}), xg::tensor({1, 1})});
       }, [] { return L{rnd({2, 3, 4})}; }},
      {"index tensors (separated: result dims first)", [](const L& i) {
         using namespace xg::indexing;
         return i[0].index({xg::tensor({1, 0, 1}), Slice(), xg::tensor({3, 0, 0})});
       }, [] { return L{rnd({2, 3, 4})}; }},
      {"index_put and accumulate", [](const L& i) {
         using namespace xg::indexing;
         xg::Tensor a = xg::index_put(i[0], {Slice(), xg::tensor({0, 2})}, i[1]);
         return xg::index_put(a, {xg::tensor({1, 1, 0})}, i[2], true);
       }, [] { return L{rnd({3, 4}), rnd({3, 1}), rnd({4})}; }},
      {"index_put_ in place on a non-leaf", [](const L& i) {
         using namespace xg::indexing;
         xg::Tensor t = i[0] * 1.0;
         t.index_put_({Slice(None, 2), 1}, i[1]);
         return t;
       }, [] { return L{rnd({3, 4}), rnd({2})}; }},
      {"masked_select", [](const L& i) { return xg::masked_select(i[0], xg::tensor({true, false, true, true})); },
       [] { return L{rnd({2, 4})}; }},
      {"masked_scatter", [](const L& i) { return xg::masked_scatter(i[0], xg::tensor({false, true, true}), i[1]); },
       [] { return L{rnd({2, 3}), rnd({2, 3})}; }},
      {"scatter src and value", [](const L& i) {
         xg::Tensor idx = xg::tensor({2, 0, 1, 2}).reshape({2, 2});
         return xg::scatter(i[0], 1, idx, i[1]) + xg::scatter(i[0], 1, idx, 0.5);
       }, [] { return L{rnd({2, 3}), rnd({3, 3})}; }},
      {"scatter dim 0, scatter_add with a larger src", [](const L& i) {
         xg::Tensor idx = xg::tensor({1, 0, 0, 1, 1, 0}).reshape({2, 3});
         return xg::scatter(i[0], 0, idx, i[1]) * xg::scatter_add(i[0], 0, idx, i[1]);
       }, [] { return L{rnd({2, 3}), rnd({3, 4})}; }},
      {"gather, scatter, scatter_add along every dim of a 3-d tensor", [](const L& i) {
         xg::Tensor out = xg::zeros({}, xg::kFloat64);
         for (int64_t d : {0, 1, -1}) {
           xg::Shape s = i[0].sizes();
           const int64_t n = s[d < 0 ? d + 3 : d];
           std::vector<int64_t> v(12);
           for (int64_t k = 0; k < 12; ++k) v[k] = (k * (d + 5)) % n;  // repeats in every dim
           xg::Tensor idx = xg::tensor(v).reshape({2, 3, 2});
           out = out + (xg::gather(i[0], d, idx) * xg::scatter(i[0], d, idx, i[1]).index({Slice(None, 2), Slice(None, 3), Slice(None, 2)})).sum() +
                 (xg::scatter_add(i[0], d, idx, i[1]) * i[0]).sum();
         }
         return out;
       }, [] { return L{rnd({3, 4, 3}), rnd({2, 3, 2})}; }},
      {"normal is mean + std·eps (seeded)", [](const L& i) {
         xg::manual_seed(7);
         return xg::normal(i[0], i[1]);
       }, [pos] { return L{rnd({2, 3}), pos({3})}; }},
      {"l1 smooth_l1 huber", [](const L& i) {
         return xg::l1_loss(i[0], i[1]) + xg::smooth_l1_loss(i[0], i[1], xg::SmoothL1LossOptions().beta(0.8)) +
                xg::huber_loss(i[0], i[1], xg::HuberLossOptions(xg::kSum).delta(0.6));
       }, [] { return L{rnd({3, 4}), rnd({3, 4})}; }},
      {"binary_cross_entropy (input and target)", [](const L& i) {
         return xg::binary_cross_entropy(i[0], i[1], xg::BCELossOptions().weight(xg::tensor({0.5, 2.0, 1.0}, xg::kFloat64)));
       }, [] { return L{rnd_in({2, 3}, 0.1, 0.9), rnd_in({2, 3}, 0.0, 1.0)}; }},
      {"binary_cross_entropy_with_logits pos_weight", [](const L& i) {
         return xg::binary_cross_entropy_with_logits(i[0] * 3.0, i[1], xg::BCEWithLogitsLossOptions().pos_weight(i[2]));
       }, [] { return L{rnd({2, 3}), rnd_in({2, 3}, 0.0, 1.0), rnd_in({3}, 0.5, 2.0)}; }},
      {"kl_div batchmean and log_target", [](const L& i) {
         return xg::kl_div(i[0], i[1], xg::kBatchMean) + xg::kl_div(i[0], i[0] * 0.5, xg::KLDivLossOptions(xg::kSum).log_target(true));
       }, [] { return L{rnd({3, 4}), rnd_in({3, 4}, 0.1, 1.0)}; }},
      {"clone", [](const L& i) { return i[0].clone() * i[0]; }, [] { return L{rnd({3})}; }},
      {"in-place chain on a non-leaf (add_, mul_, div_, sub_ with broadcasting)",
       [](const L& i) {
         xg::Tensor t = i[0] * 1.0;
         t.mul_(i[1]).add_(i[1], 2.0).div_(i[1] * i[1] + 1.0).sub_(i[2]);
         return t;
       },
       [] { return L{rnd({2, 3}), rnd({3}), rnd({2, 1})}; }},
      {"in-place on itself (x.mul_(x), x.div_(x + 3))",
       [](const L& i) {
         xg::Tensor t = i[0] + 0.0;
         t.mul_(t);
         t.div_(t + 3.0);
         return t;
       },
       [] { return L{rnd({4})}; }},
      {"copy_ and fill_ into a non-leaf",
       [](const L& i) {
         xg::Tensor t = i[0] * 2.0;
         xg::Tensor u = i[0] * 3.0;
         u.fill_(1.5);
         t.copy_(i[1]);  // broadcast (3) into (2, 3): i[0] gets no gradient through t
         return t * u + i[0];
       },
       [] { return L{rnd({2, 3}), rnd({3})}; }},
  };
}

}  // namespace

TEST_CASE("every op passes gradcheck in float64", "[gradcheck]") {
  xg::manual_seed(1);
  for (auto& c : cases()) {
    DYNAMIC_SECTION(c.name) {
      auto in = c.inputs();
      CHECK_GRADCHECK(c.fn, in);
    }
  }
}

TEST_CASE("every op passes gradgradcheck in float64", "[gradgradcheck]") {
  xg::manual_seed(2);
  for (auto& c : cases()) {
    DYNAMIC_SECTION(c.name) {
      auto in = c.inputs();
      CHECK_GRADGRADCHECK(c.fn, in);
    }
  }
}

// The fused ops' backward runs a kernel normally and differentiable tensor ops under create_graph;
// both must give the same numbers (to rounding), for every op in the table.
TEST_CASE("backward with and without create_graph agree element by element in float64", "[gradcheck]") {
  xg::manual_seed(4);
  for (auto& c : cases()) {
    DYNAMIC_SECTION(c.name) {
      auto in = c.inputs();
      xg::TensorList wrt;
      for (auto& t : in)
        if (t.requires_grad()) wrt.push_back(t);
      xg::Tensor out = c.fn(in);
      xg::Tensor v = xg::randn(out.sizes(), xg::kFloat64);
      auto plain = xg::grad({out}, wrt, {v}, /*retain_graph=*/true, /*create_graph=*/false, /*allow_unused=*/true);
      auto graph = xg::grad({out}, wrt, {v}, /*retain_graph=*/true, /*create_graph=*/true, /*allow_unused=*/true);
      for (size_t i = 0; i < wrt.size(); ++i) {
        INFO("input " << i);
        REQUIRE(plain[i].defined() == graph[i].defined());
        if (!plain[i].defined()) continue;
        const double scale = 1 + xg::amax(xg::abs(plain[i])).item<double>();
        CHECK(xg::amax(xg::abs(plain[i] - graph[i].detach())).item<double>() <= 1e-12 * scale);
      }
    }
  }
}

TEST_CASE("softmax and log_softmax are differentiable to third order through their backward ops", "[gradcheck]") {
  using L = xg::TensorList;
  xg::manual_seed(5);
  for (bool log : {false, true}) {
    DYNAMIC_SECTION((log ? "log_softmax" : "softmax")) {
      xg::Tensor v = xg::randn({3, 5}, xg::kFloat64);
      auto first = [log, v](const L& i) {  // x ↦ ∂(Σ v·f(x))/∂x, itself differentiated twice by gradgradcheck
        xg::AutoGradMode on(true);  // gradcheck evaluates fn under no_grad for its finite differences
        xg::Tensor y = log ? xg::log_softmax(i[0], 1) : xg::softmax(i[0], 1);
        return xg::grad({(y * v).sum()}, {i[0]}, {}, true, /*create_graph=*/true)[0];
      };
      L in{rnd({3, 5})};
      CHECK_GRADCHECK(first, in);
      CHECK_GRADGRADCHECK(first, in);
      // the backward op on its own, in both inputs
      auto data = [log](const L& i) {
        return log ? xg::_log_softmax_backward_data(i[0], i[1], -1) : xg::_softmax_backward_data(i[0], i[1], -1);
      };
      L gy{rnd({2, 4}), xg::softmax(xg::randn({2, 4}, xg::kFloat64), -1).detach().requires_grad_()};
      CHECK_GRADCHECK(data, gy);
      CHECK_GRADGRADCHECK(data, gy);
    }
  }
}
