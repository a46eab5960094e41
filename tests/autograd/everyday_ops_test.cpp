// The everyday ops beyond their gradients (ops_gradcheck_test) and PyTorch parity (parity_test): the
// values of integer results, dtypes, the corner cases PyTorch defines, and the errors.
#include <cmath>
#include <sstream>

#include "helpers.hpp"

using namespace xg::indexing;

namespace {
std::vector<int64_t> ints(const xg::Tensor& t) {
  xg::Tensor c = t.to(xg::kInt64);
  return {c.data_ptr<int64_t>(), c.data_ptr<int64_t>() + c.numel()};
}
std::vector<double> reals(const xg::Tensor& t) {
  xg::Tensor c = t.detach().to(xg::kFloat64);
  return {c.data_ptr<double>(), c.data_ptr<double>() + c.numel()};
}
}  // namespace

TEST_CASE("shapes and dtypes stream with <<", "[ops]") {
  std::ostringstream os;
  xg::Tensor t = xg::zeros({2, 3}, xg::kFloat64);
  os << t.sizes() << " " << t.dtype() << " " << xg::kInt64;
  CHECK(os.str() == "[2, 3] Float64 Int64");
}

TEST_CASE("sort, argsort and topk: stable, NaN last, indices", "[ops]") {
  xg::Tensor x = xg::tensor({3.0, 1.0, std::nan(""), 1.0, 2.0});
  auto [v, i] = xg::sort(x);
  CHECK(ints(i) == std::vector<int64_t>{1, 3, 4, 0, 2});
  auto [vd, id] = xg::sort(x, 0, true);
  CHECK(ints(id) == std::vector<int64_t>{2, 0, 4, 1, 3});  // NaN first when descending, ties keep order
  CHECK(ints(xg::argsort(xg::tensor({2, 0, 1}))) == std::vector<int64_t>{1, 2, 0});
  xg::Tensor m = xg::tensor({5.0, 1.0, 4.0, 2.0, 8.0, 0.0}).reshape({2, 3});
  auto [tv, ti] = xg::topk(m, 2, 1);
  CHECK(reals(tv) == std::vector<double>{5, 4, 8, 2});
  CHECK(ints(ti) == std::vector<int64_t>{0, 2, 1, 0});
  auto [sv, si] = m.topk(1, 0, false);
  CHECK(reals(sv) == std::vector<double>{2, 1, 0});
  CHECK_THROWS_WITH(xg::topk(m, 4, 1), Catch::Contains("topk: k (4) is out of range"));
  CHECK(ints(xg::argmin(m, 1)) == std::vector<int64_t>{1, 2});
  CHECK(xg::argmax(m).item<int64_t>() == 4);
  CHECK(xg::argmin(m).item<int64_t>() == 5);
}

TEST_CASE("cumsum and cumprod: integer inputs in Int64, zeros in cumprod's gradient", "[ops]") {
  xg::Tensor b = xg::tensor({true, false, true});
  CHECK(xg::cumsum(b, 0).dtype() == xg::kInt64);
  CHECK(ints(xg::cumsum(b, 0)) == std::vector<int64_t>{1, 1, 2});
  CHECK(ints(xg::cumprod(xg::tensor({2, 3, 4}), 0)) == std::vector<int64_t>{2, 6, 24});
  // d/dx of Σ cumprod([a, 0, c]) = [1 + 0 + 0, a + a·c, 0]
  xg::Tensor x = xg::tensor({2.0, 0.0, 3.0}, xg::kFloat64).requires_grad_();
  xg::cumprod(x, 0).sum().backward();
  CHECK(reals(x.grad()) == std::vector<double>{1.0, 2.0 + 6.0, 0.0});
  // its second derivative at a zero is refused, not wrong
  xg::Tensor y = xg::tensor({2.0, 0.0, 3.0}, xg::kFloat64).requires_grad_();
  CHECK_THROWS_WITH(xg::grad({xg::cumprod(y, 0).sum()}, {y}, {}, true, true),
                    Catch::Contains("second derivative of cumprod"));
}

TEST_CASE("std, var unbiased flag, norms", "[ops]") {
  xg::Tensor x = xg::tensor({1.0, 2.0, 3.0, 4.0}, xg::kFloat64);
  CHECK(xg::var(x, true).item<double>() == Approx(5.0 / 3.0));
  CHECK(xg::var(x, false).item<double>() == Approx(1.25));
  CHECK(xg::std(x).item<double>() == Approx(std::sqrt(5.0 / 3.0)));
  // a braced list is dims, an integer the correction (torch.var(x, dim=1) vs torch.var(x, unbiased))
  xg::Tensor m = xg::randn({3, 4}, xg::kFloat64);
  CHECK(xg::var(m, {1}).sizes() == xg::Shape{3});
  CHECK(xg::std(m, {0}, 0, true).sizes() == xg::Shape{1, 4});
  CHECK(xg::var(m, 0).sizes() == xg::Shape{});
  CHECK(xg::allclose(xg::var(m, {1}), m.var({1})));
  CHECK(xg::norm(x).item<double>() == Approx(std::sqrt(30.0)));
  CHECK(xg::norm(x, 1).item<double>() == 10.0);
  CHECK(xg::norm(x, INFINITY).item<double>() == 4.0);
  CHECK(xg::norm(xg::tensor({0.0, 3.0, 0.0}), 0).item<double>() == 1.0);
  // the gradient of a zero norm is 0 (PyTorch's subgradient), not NaN
  xg::Tensor z = xg::zeros({3}, xg::kFloat64).requires_grad_();
  xg::norm(z).backward();
  CHECK(reals(z.grad()) == std::vector<double>{0, 0, 0});
}

TEST_CASE("repeat, repeat_interleave, flip, roll", "[ops]") {
  xg::Tensor a = xg::tensor({1, 2, 3});
  CHECK(ints(a.repeat({2})) == std::vector<int64_t>{1, 2, 3, 1, 2, 3});
  CHECK(a.repeat({2, 1}).sizes() == xg::Shape{2, 3});
  CHECK(ints(a.repeat_interleave(2)) == std::vector<int64_t>{1, 1, 2, 2, 3, 3});
  CHECK(ints(xg::repeat_interleave(xg::tensor({2, 0, 1}))) == std::vector<int64_t>{0, 0, 2});
  CHECK(ints(xg::flip(a, {0})) == std::vector<int64_t>{3, 2, 1});
  CHECK(ints(xg::roll(a, {1})) == std::vector<int64_t>{3, 1, 2});
  CHECK(ints(xg::roll(a, {-4})) == std::vector<int64_t>{2, 3, 1});
  CHECK_THROWS_WITH(a.repeat({}), Catch::Contains("repeat: number of repeat dims"));
  CHECK_THROWS_WITH(xg::repeat_interleave(a, xg::tensor({1, 2}), 0), Catch::Contains("one entry per element"));
}

TEST_CASE("factories: eye, linspace, full, one_hot", "[ops]") {
  CHECK(reals(xg::eye(2, 3)) == std::vector<double>{1, 0, 0, 0, 1, 0});
  CHECK(xg::eye(3, xg::kFloat64).dtype() == xg::kFloat64);
  auto l = reals(xg::linspace(-1.0, 1.0, 5, xg::kFloat64));
  CHECK(l == std::vector<double>{-1.0, -0.5, 0.0, 0.5, 1.0});
  CHECK(xg::linspace(0, 1, 1).item<float>() == 0.0f);
  CHECK(xg::linspace(0, 1, 0).numel() == 0);
  CHECK(reals(xg::full({2}, 7.5)) == std::vector<double>{7.5, 7.5});
  CHECK(ints(xg::one_hot(xg::tensor({2, 0}))) == std::vector<int64_t>{0, 0, 1, 1, 0, 0});
  CHECK(xg::one_hot(xg::tensor({1}), 4).sizes() == xg::Shape{1, 4});
  CHECK_THROWS_WITH(xg::one_hot(xg::tensor({4}), 3), Catch::Contains("one_hot: class value 4 is out of range [0, 3)"));
}

TEST_CASE("sampling: normal, bernoulli, multinomial follow their distributions and the seed", "[ops]") {
  xg::manual_seed(3);
  xg::Tensor n = xg::normal(2.0, 0.5, {20000}, xg::kFloat64);
  CHECK(xg::mean(n).item<double>() == Approx(2.0).margin(0.02));
  CHECK(xg::std(n).item<double>() == Approx(0.5).margin(0.02));
  xg::manual_seed(3);
  CHECK(xg::equal(n, xg::normal(2.0, 0.5, {20000}, xg::kFloat64)));
  xg::Tensor b = xg::bernoulli(xg::full({20000}, 0.3, xg::kFloat64));
  CHECK(xg::mean(b).item<double>() == Approx(0.3).margin(0.02));
  CHECK(reals(xg::bernoulli(xg::tensor({0.0, 1.0}))) == std::vector<double>{0, 1});
  CHECK_THROWS_WITH(xg::bernoulli(xg::tensor({1.5})), Catch::Contains("bernoulli: probabilities must be in [0, 1]"));
  // with replacement: frequencies ≈ weights; without: distinct indices, zero weights never drawn
  xg::Tensor w = xg::tensor({1.0, 0.0, 3.0});
  xg::Tensor s = xg::multinomial(w, 8000, true);
  xg::Tensor counts = xg::one_hot(s, 3).sum({0});
  CHECK(ints(counts)[1] == 0);
  CHECK(ints(counts)[2] / 8000.0 == Approx(0.75).margin(0.03));
  for (int trial = 0; trial < 20; ++trial) {
    auto d = ints(xg::multinomial(xg::tensor({0.2, 0.0, 0.5, 0.3}), 3));
    std::sort(d.begin(), d.end());
    CHECK(d == std::vector<int64_t>{0, 2, 3});
  }
  CHECK(xg::multinomial(xg::rand({4, 6}), 2).sizes() == xg::Shape{4, 2});
  CHECK_THROWS_WITH(xg::multinomial(w, 3), Catch::Contains("categories of non-zero probability"));
  CHECK_THROWS_WITH(xg::multinomial(xg::tensor({-1.0, 1.0}), 1), Catch::Contains("finite and non-negative"));
}

TEST_CASE("einsum equals the products it names", "[ops]") {
  xg::manual_seed(4);
  xg::Tensor a = xg::randn({3, 4}, xg::kFloat64), b = xg::randn({4, 5}, xg::kFloat64);
  CHECK(xg::allclose(xg::einsum("ij,jk->ik", {a, b}), xg::matmul(a, b), 1e-12, 1e-12));
  CHECK(xg::allclose(xg::einsum("ij,jk", {a, b}), xg::matmul(a, b), 1e-12, 1e-12));  // implicit output
  CHECK(xg::allclose(xg::einsum("ij->ji", {a}), a.t(), 0, 0));
  CHECK(xg::allclose(xg::einsum("ij->", {a}), a.sum(), 1e-12, 1e-12));
  xg::Tensor s = xg::randn({4, 4}, xg::kFloat64);
  CHECK(xg::einsum("ii", {s}).item<double>() == Approx(reals(s)[0] + reals(s)[5] + reals(s)[10] + reals(s)[15]));
  xg::Tensor x = xg::randn({2, 3, 4}, xg::kFloat64), y = xg::randn({2, 4, 3}, xg::kFloat64);
  CHECK(xg::allclose(xg::einsum("b i j, b j k -> b i k", {x, y}), xg::bmm(x, y), 1e-12, 1e-12));
  CHECK(xg::allclose(xg::einsum("...ij,...jk->...ik", {x, y}), xg::matmul(x, y), 1e-12, 1e-12));
  CHECK_THROWS_WITH(xg::einsum("ij,jk->ik", {a, a}), Catch::Contains("einsum: label sizes"));
  CHECK_THROWS_WITH(xg::einsum("ij->ik", {a}), Catch::Contains("output label not among"));
  CHECK_THROWS_WITH(xg::einsum("ijk->", {a}), Catch::Contains("operand 0 has 2 dims"));
  CHECK_THROWS_WITH(xg::einsum("i1->", {a}), Catch::Contains("invalid character '1'"));
}

TEST_CASE("bmm and baddbmm check their shapes; baddbmm with beta 0 ignores NaN in self", "[ops]") {
  xg::Tensor a = xg::ones({2, 3, 4}), b = xg::ones({2, 4, 5});
  CHECK(xg::bmm(a, b).sizes() == xg::Shape{2, 3, 5});
  CHECK_THROWS_WITH(xg::bmm(a, xg::ones({3, 4, 5})), Catch::Contains("bmm: shapes [2, 3, 4] and [3, 4, 5]"));
  CHECK_THROWS_WITH(xg::bmm(xg::ones({3, 4}), b), Catch::Contains("bmm: both operands must be 3-D"));
  xg::Tensor out = xg::baddbmm(xg::full({5}, NAN), a, b, 0.0, 0.5);
  CHECK(reals(out)[0] == 2.0);
}

TEST_CASE("indexing follows PyTorch's rules", "[ops]") {
  xg::Tensor x = xg::arange(24.0).reshape({2, 3, 4});  // Int64
  CHECK(x.index({1}).sizes() == xg::Shape{3, 4});
  CHECK(x.index({Slice(), -1}).sizes() == xg::Shape{2, 4});
  CHECK(ints(x.index({0, 1, Slice(1, None, 2)})) == std::vector<int64_t>{5, 7});
  CHECK(ints(x.index({0, 0, Slice(-3, -1)})) == std::vector<int64_t>{1, 2});
  CHECK(x.index({0, 0, Slice(10, 20)}).numel() == 0);  // clamped like Python
  CHECK(x.index({None, Ellipsis, None}).sizes() == xg::Shape{1, 2, 3, 4, 1});
  CHECK(x.index({"...", 0}).sizes() == xg::Shape{2, 3});
  CHECK(x.index({true}).sizes() == xg::Shape{1, 2, 3, 4});
  CHECK(x.index({false}).sizes() == xg::Shape{0, 2, 3, 4});
  // advanced: adjacent index tensors keep their place, separated ones go first
  CHECK(x.index({Slice(), xg::tensor({0, 2}), xg::tensor({1, 3})}).sizes() == xg::Shape{2, 2});
  CHECK(x.index({xg::tensor({0, 1}), Slice(), xg::tensor({1, 3})}).sizes() == xg::Shape{2, 3});
  CHECK(ints(x.index({xg::tensor({1, 0}), 2, xg::tensor({-1, 0})})) == std::vector<int64_t>{23, 8});
  CHECK(x.index({Slice(), xg::tensor({0, 1, 2, 0}).reshape({2, 2})}).sizes() == xg::Shape{2, 2, 2, 4});
  xg::Tensor m = x.index({0}) > 6;
  CHECK(ints(x.index({0}).index({m})) == std::vector<int64_t>{7, 8, 9, 10, 11});
  CHECK(ints(xg::masked_select(x.index({0}), m)) == std::vector<int64_t>{7, 8, 9, 10, 11});
  CHECK(x.index({Slice(), m}).sizes() == xg::Shape{2, 5});
  CHECK(ints(xg::nonzero(xg::tensor({0, 3, 0, 1}).reshape({2, 2}))) == std::vector<int64_t>{0, 1, 1, 1});
  // errors name the op and the offending values
  CHECK_THROWS_WITH(x.index({2}), Catch::Contains("select: index 2 is out of range for dimension 0 with size 2"));
  CHECK_THROWS_WITH(x.index({0, 0, 0, 0}), Catch::Contains("too many indices for tensor of dimension 3"));
  CHECK_THROWS_WITH(x.index({Slice(), xg::tensor({3})}), Catch::Contains("index 3 is out of bounds for dimension 1 with size 3"));
  CHECK_THROWS_WITH(x.index({xg::tensor({true, false, true})}), Catch::Contains("the shape of the mask [3]"));
  CHECK_THROWS_WITH(x.index({xg::tensor({0.5})}), Catch::Contains("must be Int64 or Bool"));
  CHECK_THROWS_WITH(x.index({Ellipsis, Ellipsis}), Catch::Contains("single ellipsis"));
  CHECK_THROWS_WITH(x.index({Slice(0, 2, -1)}), Catch::Contains("step must be greater than zero"));
  CHECK_THROWS_WITH(x.index({"..x"}), Catch::Contains("the only string index is \"...\""));
}

TEST_CASE("index_put_, masked_scatter and scatter write where PyTorch writes", "[ops]") {
  xg::Tensor x = xg::zeros({3, 4}, xg::kFloat64);
  x.index_put_({Slice(), 1}, 5.0);
  x.index_put_({xg::tensor({0, 2}), xg::tensor({3, 0})}, xg::tensor({7.0, 8.0}, xg::kFloat64));
  CHECK(reals(x) == std::vector<double>{0, 5, 0, 7, 0, 5, 0, 0, 8, 5, 0, 0});
  x.index_put_({x > 6.0}, -1.0);
  CHECK(reals(x)[3] == -1.0);
  CHECK(reals(x)[8] == -1.0);
  CHECK_THROWS_WITH(x.index_put_({0}, xg::ones({3})), Catch::Contains("cannot be broadcast to indexing result of shape [4]"));
  // accumulate adds at repeated positions
  xg::Tensor acc = xg::index_put(xg::zeros({3}), {xg::tensor({0, 0, 2})}, xg::ones({3}), true);
  CHECK(reals(acc) == std::vector<double>{2, 0, 1});
  // a leaf that requires grad is refused, as PyTorch
  xg::Tensor leaf = xg::zeros({2}).requires_grad_();
  CHECK_THROWS_WITH(leaf.index_put_({0}, 1.0), Catch::Contains("a leaf tensor that requires grad"));
  xg::Tensor ms = xg::masked_scatter(xg::zeros({2, 2}), xg::tensor({true, false, false, true}).reshape({2, 2}),
                                     xg::tensor({1.0, 2.0, 3.0}));
  CHECK(reals(ms) == std::vector<double>{1, 0, 0, 2});
  CHECK_THROWS_WITH(xg::masked_scatter(xg::zeros({2}), xg::tensor({true, true}), xg::ones({1})),
                    Catch::Contains("the mask has 2 true elements but source has only 1"));
  xg::Tensor sc = xg::zeros({2, 3}).scatter(1, xg::tensor({2, 0}).reshape({2, 1}), 9.0);
  CHECK(reals(sc) == std::vector<double>{0, 0, 9, 9, 0, 0});
  CHECK_THROWS_WITH(xg::zeros({2, 3}).scatter(1, xg::tensor({3, 0}).reshape({2, 1}), 1.0),
                    Catch::Contains("index 3 is out of bounds for dimension 1 with size 3"));
  // a repeated index: the last write wins and only it gets the gradient
  xg::Tensor src = xg::tensor({1.0, 2.0}, xg::kFloat64).requires_grad_();
  xg::Tensor r = xg::scatter(xg::zeros({1}, xg::kFloat64), 0, xg::tensor({0, 0}), src);
  CHECK(r.item<double>() == 2.0);
  r.sum().backward();
  CHECK(reals(src.grad()) == std::vector<double>{0, 1});
}

TEST_CASE("activations: softplus's threshold, hardtanh's zero gradient at the bounds, where with scalars", "[ops]") {
  xg::Tensor x = xg::tensor({-1.0, 0.0, 30.0}, xg::kFloat64).requires_grad_();
  xg::Tensor y = xg::softplus(x);
  CHECK(reals(y)[1] == Approx(std::log(2.0)));
  CHECK(reals(y)[2] == 30.0);  // linear above the threshold, no overflow
  xg::Tensor h = xg::tensor({-1.0, 0.5, 1.0}, xg::kFloat64).requires_grad_();
  xg::hardtanh(h).sum().backward();
  CHECK(reals(h.grad()) == std::vector<double>{0, 1, 0});
  xg::Tensor w = xg::where(xg::tensor({true, false}), 1.5, -2.0);
  CHECK(w.dtype() == xg::kFloat32);
  CHECK(reals(w) == std::vector<double>{1.5, -2.0});
}

TEST_CASE("matrix products refuse mixed floating dtypes, as PyTorch", "[ops]") {
  xg::Tensor a = xg::ones({2, 3}), b = xg::ones({3, 2}, xg::kFloat64);
  CHECK_THROWS_WITH(xg::matmul(a, b), Catch::Contains("matmul: the first operand is Float32 but the second is Float64"));
  CHECK_THROWS_WITH(xg::linear(b.t(), xg::ones({4, 3})), Catch::Contains("linear: input is Float64 but weight is Float32"));
  CHECK_THROWS_WITH(xg::layer_norm(b, {2}, xg::ones({2})), Catch::Contains("layer_norm: input is Float64 but weight is Float32"));
  // elementwise ops still promote
  CHECK((a + b.t()).dtype() == xg::kFloat64);
}

TEST_CASE("losses: modules, PyTorch's edge values, errors", "[ops]") {
  xg::nn::BCEWithLogitsLoss bce(xg::BCEWithLogitsLossOptions().pos_weight(xg::tensor({2.0})));
  // large logits stay finite (no exp overflow): loss of a confident right answer is ~0, of a wrong one ~|x|
  xg::Tensor x = xg::tensor({100.0, -100.0}), t = xg::tensor({1.0, 1.0});
  auto per = reals(xg::binary_cross_entropy_with_logits(x, t, xg::BCEWithLogitsLossOptions().reduction(xg::kNone)));
  CHECK(per[0] == Approx(0.0).margin(1e-30));
  CHECK(per[1] == Approx(100.0));
  CHECK(bce(x, t).item<double>() == Approx(100.0));  // mean of 0 and 2·100
  // BCE's logs are clamped at -100, as PyTorch's
  CHECK(xg::binary_cross_entropy(xg::tensor({0.0}), xg::tensor({1.0})).item<double>() == 100.0);
  CHECK_THROWS_WITH(xg::binary_cross_entropy(xg::tensor({1.5}), xg::tensor({1.0})),
                    Catch::Contains("all elements of input should be between 0 and 1"));
  CHECK_THROWS_WITH(xg::l1_loss(xg::ones({2}), xg::ones({3})), Catch::Contains("l1_loss: input shape [2] and target shape [3] differ"));
  CHECK_THROWS_WITH(xg::l1_loss(xg::ones({2}), xg::ones({2}), xg::kBatchMean), Catch::Contains("only defined for kl_div"));
  CHECK_THROWS_WITH(xg::cross_entropy(xg::ones({2, 3}), xg::tensor({0, 1}), xg::CrossEntropyLossOptions().reduction(xg::kBatchMean)),
                    Catch::Contains("only defined for kl_div"));
  // kl_div: target 0 contributes 0 (and a finite gradient), batchmean divides by the batch size
  xg::Tensor lp = xg::log(xg::tensor({0.5, 0.5, 0.25, 0.75}, xg::kFloat64)).reshape({2, 2}).requires_grad_();
  xg::Tensor tgt = xg::tensor({1.0, 0.0, 0.5, 0.5}, xg::kFloat64).reshape({2, 2}).requires_grad_();
  xg::nn::KLDivLoss kl(xg::kBatchMean);
  xg::Tensor k = kl(lp, tgt);
  double want = (1.0 * std::log(1.0 / 0.5) + 0.5 * std::log(0.5 / 0.25) + 0.5 * std::log(0.5 / 0.75)) / 2;
  CHECK(k.item<double>() == Approx(want));
  k.backward();
  for (double g : reals(tgt.grad())) CHECK(std::isfinite(g));
  xg::nn::SmoothL1Loss sl1(xg::SmoothL1LossOptions().beta(0.0));
  CHECK(sl1(xg::tensor({1.0, -3.0}), xg::zeros({2})).item<double>() == 2.0);  // beta 0 is l1
  xg::nn::HuberLoss hub(xg::kSum);
  CHECK(hub(xg::tensor({0.5, 3.0}), xg::zeros({2})).item<double>() == Approx(0.125 + 2.5));
  xg::nn::L1Loss l1;
  xg::nn::BCELoss bcel;
  CHECK(l1(xg::ones({2}), xg::zeros({2})).item<double>() == 1.0);
  CHECK(bcel(xg::full({2}, 0.5), xg::ones({2})).item<double>() == Approx(std::log(2.0)));
}

TEST_CASE("the new ops on empty and 0-d tensors give PyTorch's shapes or an Error, never a crash", "[ops]") {
  xg::Tensor e = xg::zeros({0, 3}), s = xg::scalar_tensor(2.0);
  CHECK(std::get<0>(xg::sort(e, 0)).sizes() == xg::Shape{0, 3});
  CHECK(std::get<0>(xg::sort(s)).item<float>() == 2.0f);
  CHECK(std::get<0>(xg::topk(e, 0, 0)).sizes() == xg::Shape{0, 3});
  CHECK(xg::cumsum(e, 0).sizes() == xg::Shape{0, 3});
  CHECK(xg::cumprod(s, 0).item<float>() == 2.0f);
  CHECK(xg::flip(e, {0, 1}).sizes() == xg::Shape{0, 3});
  CHECK(xg::roll(e, {2}, {1}).sizes() == xg::Shape{0, 3});
  CHECK(xg::repeat(e, {2, 2}).sizes() == xg::Shape{0, 6});
  CHECK(xg::repeat(s, {3}).sizes() == xg::Shape{3});
  CHECK(xg::repeat_interleave(e, 2, 1).sizes() == xg::Shape{0, 6});
  CHECK(xg::norm(e).item<float>() == 0.0f);
  CHECK(xg::nonzero(e).sizes() == xg::Shape{0, 2});
  CHECK(xg::nonzero(s).sizes() == xg::Shape{1, 0});
  CHECK(xg::masked_select(e, xg::zeros({0, 3}, xg::kBool)).numel() == 0);
  CHECK(xg::einsum("ij->j", {e}).sizes() == xg::Shape{3});
  CHECK(xg::einsum(",", {s, s}).item<float>() == 4.0f);
  CHECK(xg::bmm(xg::zeros({0, 2, 3}), xg::zeros({0, 3, 4})).sizes() == xg::Shape{0, 2, 4});
  CHECK(xg::one_hot(xg::zeros({0}, xg::kInt64), 3).sizes() == xg::Shape{0, 3});
  CHECK(e.index({Slice(), 1}).sizes() == xg::Shape{0});
  CHECK(s.index({None}).sizes() == xg::Shape{1});
  CHECK(xg::index_put(e, {Slice(), 0}, xg::ones({1})).sizes() == xg::Shape{0, 3});
  CHECK(xg::linspace(0, 1, 0).numel() == 0);
  CHECK(xg::eye(0).sizes() == xg::Shape{0, 0});
  CHECK(xg::std(xg::ones({1})).item<float>() != xg::std(xg::ones({1})).item<float>());  // NaN, as PyTorch (n − 1 = 0)
  CHECK_THROWS_AS(xg::argmax(e), xg::Error);
  CHECK_THROWS_AS(xg::multinomial(xg::zeros({0}), 1), xg::Error);
  CHECK_THROWS_AS(xg::select(s, 0, 0), xg::Error);
  CHECK_THROWS_AS(xg::one_hot(xg::zeros({0}, xg::kInt64)), xg::Error);
}
