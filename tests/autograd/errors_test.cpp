// Bad input: every family gets an xg::Error that names the op and what was wrong.
#include "helpers.hpp"

using Catch::Contains;

TEST_CASE("shape errors name the op and both shapes") {
  xg::Tensor a = xg::randn({3, 4}), b = xg::randn({3, 4});
  CHECK_THROWS_WITH(xg::matmul(a, b), Contains("matmul") && Contains("[3, 4]"));
  CHECK_THROWS_WITH(a + xg::randn({2, 4}), Contains("add") && Contains("[3, 4]") && Contains("[2, 4]"));
  CHECK_THROWS_WITH(a.reshape({5, -1}), Contains("reshape") && Contains("[5, -1]"));
  CHECK_THROWS_WITH(a.reshape({-1, -1}), Contains("only one dimension"));
  CHECK_THROWS_WITH(a.view({7}), Contains("view"));
  CHECK_THROWS_WITH(a.expand({3, 5}), Contains("expand"));
  CHECK_THROWS_WITH(xg::cat({a, xg::randn({2, 3})}, 0), Contains("cat") && Contains("[2, 3]"));
  CHECK_THROWS_WITH(xg::stack({a, xg::randn({2, 4})}), Contains("stack"));
  CHECK_THROWS_WITH(xg::linear(a, xg::randn({2, 5})), Contains("linear"));
  CHECK_THROWS_WITH(xg::linear(a, xg::randn({2, 4}), xg::randn({3})), Contains("bias"));
  CHECK_THROWS_WITH(xg::layer_norm(a, {3}), Contains("layer_norm") && Contains("normalized_shape"));
  CHECK_THROWS_WITH(xg::mse_loss(a, xg::randn({4, 3})), Contains("mse_loss"));
  CHECK_THROWS_WITH(xg::where(xg::ones({2}, xg::kBool), a, b), Contains("where"));
  CHECK_THROWS_WITH(xg::masked_fill(a, xg::ones({3, 4, 1}, xg::kBool), 0.0), Contains("masked_fill"));
  CHECK_THROWS_WITH(xg::narrow(a, 1, 3, 2), Contains("narrow"));
  CHECK_THROWS_WITH(xg::tril(xg::randn({3})), Contains("tril"));
}

TEST_CASE("dim errors give the valid range") {
  xg::Tensor a = xg::randn({3, 4});
  CHECK_THROWS_WITH(a.sum({2}), Contains("sum") && Contains("out of range"));
  CHECK_THROWS_WITH(a.sum({0, -2}), Contains("more than once"));
  CHECK_THROWS_WITH(xg::softmax(a, 5), Contains("softmax") && Contains("[-2, 1]"));
  CHECK_THROWS_WITH(a.transpose(0, 2), Contains("transpose"));
  CHECK_THROWS_WITH(a.permute({0, 0}), Contains("permute"));
  CHECK_THROWS_WITH(a.unsqueeze(4), Contains("unsqueeze"));
  CHECK_THROWS_WITH(a.size(3), Contains("size"));
}

TEST_CASE("index errors name the offending index") {
  xg::Tensor w = xg::randn({5, 2});
  CHECK_THROWS_WITH(xg::embedding(xg::tensor({1, 7}), w), Contains("embedding") && Contains("7"));
  CHECK_THROWS_WITH(xg::embedding(xg::tensor({1.0, 2.0}), w), Contains("Int64"));
  CHECK_THROWS_WITH(xg::index_select(w, 0, xg::tensor({-1})), Contains("index_select") && Contains("-1"));
  CHECK_THROWS_WITH(xg::gather(w, 1, xg::tensor({0, 2}).reshape({1, 2})), Contains("gather") && Contains("2"));
  CHECK_THROWS_WITH(xg::cross_entropy(w, xg::tensor({0, 0, 0, 0, 5})), Contains("cross_entropy") && Contains("5"));
  CHECK_THROWS_WITH(xg::cross_entropy(w, xg::tensor({0, 1})), Contains("target"));
  CHECK_THROWS_WITH(xg::cross_entropy(w, xg::tensor({0, 0, 0, 0, 1}), xg::CrossEntropyLossOptions().label_smoothing(1.5)),
                    Contains("label_smoothing"));
}

TEST_CASE("dtype errors say which dtype was wrong") {
  xg::Tensor i = xg::arange(6).reshape({2, 3});
  CHECK(i.dtype() == xg::kInt64);
  CHECK_THROWS_WITH(xg::matmul(i, i.t()), Contains("matmul") && Contains("Int64"));
  CHECK_THROWS_WITH(i.requires_grad_(), Contains("floating"));
  CHECK_THROWS_WITH(xg::mean(i), Contains("mean"));
  CHECK_THROWS_WITH(i.data_ptr<float>(), Contains("Int64"));
  CHECK(xg::where(i > 2, i, xg::zeros_like(i)).sum().item<int64_t>() == 12);
}

TEST_CASE("value errors") {
  xg::Tensor a = xg::randn({3});
  CHECK_THROWS_WITH(xg::dropout(a, 1.5), Contains("dropout"));
  CHECK_THROWS_WITH(xg::gelu(a, "fast"), Contains("gelu"));
  CHECK_THROWS_WITH(xg::randn({2, -1}), Contains("negative dimension"));
  CHECK_THROWS_WITH(xg::arange(0, 5, 0), Contains("arange"));
  CHECK_THROWS_WITH(xg::randint(3, 3, {2}), Contains("randint"));
  CHECK_THROWS_WITH(a.item<double>(), Contains("item"));
  CHECK_THROWS_WITH(xg::Tensor().sizes(), Contains("undefined"));
  CHECK_THROWS_WITH(xg::split(a, 0), Contains("split"));
  CHECK_THROWS_WITH(xg::clamp(a, std::nullopt, std::nullopt), Contains("clamp"));
}

TEST_CASE("gradcheck refuses float32 inputs and functions without differentiable inputs") {
  xg::Tensor f = xg::randn({3}).requires_grad_();
  CHECK_THROWS_WITH(xg::gradcheck([](const xg::TensorList& i) { return i[0] * 2.0; }, {f}), Contains("Float64"));
  CHECK_THROWS_WITH(xg::gradcheck([](const xg::TensorList& i) { return i[0] * 2.0; }, {xg::randn({3})}),
                    Contains("no input requires grad"));
}
