// Custom ops through xg::autograd::Function, and gradcheck catching a wrong backward.
#include "helpers.hpp"

using xg::autograd::AutogradContext;

namespace {

// y = x·w + c, with c a plain double: backward returns one gradient per forward argument.
struct MulAdd : xg::autograd::Function<MulAdd> {
  static xg::Tensor forward(AutogradContext* ctx, xg::Tensor x, xg::Tensor w, double c) {
    ctx->save_for_backward({x, w});
    ctx->saved_data["c"] = c;
    return x * w + c;
  }
  static xg::TensorList backward(AutogradContext* ctx, xg::TensorList grads) {
    auto saved = ctx->get_saved_variables();
    return {grads[0] * saved[1], grads[0] * saved[0], xg::Tensor()};
  }
};

// exp with a backward that is off by 3%: gradcheck must notice.
struct BadExp : xg::autograd::Function<BadExp> {
  static xg::Tensor forward(AutogradContext* ctx, xg::Tensor x) {
    xg::Tensor y = xg::exp(x);
    ctx->save_for_backward({y});
    return y;
  }
  static xg::TensorList backward(AutogradContext* ctx, xg::TensorList grads) {
    return {grads[0] * ctx->get_saved_variables()[0] * 1.03};
  }
};

// The same without the error, saving its own output: a correct custom op.
struct GoodExp : xg::autograd::Function<GoodExp> {
  static xg::Tensor forward(AutogradContext* ctx, xg::Tensor x) {
    xg::Tensor y = xg::exp(x);
    ctx->save_for_backward({y});
    return y;
  }
  static xg::TensorList backward(AutogradContext* ctx, xg::TensorList grads) {
    return {grads[0] * ctx->get_saved_variables()[0]};
  }
};

// Two outputs; the backward receives zeros for an output that was not used.
struct SplitHalves : xg::autograd::Function<SplitHalves> {
  static xg::TensorList forward(AutogradContext*, xg::Tensor x) {
    return {x.narrow(0, 0, 2) * 1.0, x.narrow(0, 2, 2) * 2.0};
  }
  static xg::TensorList backward(AutogradContext*, xg::TensorList g) {
    return {xg::cat({g[0], g[1] * 2.0}, 0)};
  }
};

// Returns a gradient of the wrong shape: the engine must say so.
struct WrongShape : xg::autograd::Function<WrongShape> {
  static xg::Tensor forward(AutogradContext*, xg::Tensor x) { return x * 1.0; }
  static xg::TensorList backward(AutogradContext*, xg::TensorList g) { return {xg::ones({7}, g[0].dtype())}; }
};

// exp with a backward wrong at one element only (flat index 4): gradcheck must point at it.
struct OffAtOne : xg::autograd::Function<OffAtOne> {
  static xg::Tensor forward(AutogradContext* ctx, xg::Tensor x) {
    xg::Tensor y = xg::exp(x);
    ctx->save_for_backward({y});
    return y;
  }
  static xg::TensorList backward(AutogradContext* ctx, xg::TensorList g) {
    xg::Tensor bump = xg::zeros({6}, xg::kFloat64);
    bump.data_ptr<double>()[4] = 0.5;
    return {g[0] * (ctx->get_saved_variables()[0] + bump.reshape({2, 3}))};
  }
};

}  // namespace

TEST_CASE("gradcheck's report names the worst element and gives true max errors") {
  xg::Tensor x = rnd({2, 3});
  auto r = xg::gradcheck([](const xg::TensorList& i) { return OffAtOne::apply(i[0]); }, {x});
  CHECK_FALSE(r.ok);
  INFO(r.message);
  CHECK_THAT(r.message, Catch::Contains("Jacobian mismatch for output 0 at [1, 1] with respect to input 0 at [1, 1]"));
  CHECK(r.max_abs_error == Approx(0.5).epsilon(1e-4));
  const double e = std::exp(x.data_ptr<double>()[4]);
  CHECK(r.max_rel_error == Approx(0.5 / std::max(e, e + 0.5)).epsilon(1e-4));
  // all passing: the message names the largest error, and the maxima are the true ones (tiny)
  auto ok = xg::gradcheck([](const xg::TensorList& i) { return xg::exp(i[0]); }, {x});
  CHECK(ok.ok);
  CHECK_THAT(ok.message, Catch::Contains("largest error"));
  CHECK(ok.max_rel_error < 1e-7);
  CHECK(ok.max_abs_error < 1e-7);
}

TEST_CASE("a custom Function computes gradients for its tensor arguments") {
  xg::Tensor x = rnd({3}), w = rnd({3});
  xg::Tensor y = MulAdd::apply(x, w, 2.5);
  CHECK(xg::allclose(y, x * w + 2.5));
  CHECK(y.grad_fn()->name().find("MulAdd") != std::string::npos);
  y.sum().backward();
  CHECK(xg::allclose(x.grad(), w));
  CHECK(xg::allclose(w.grad(), x));
  CHECK_GRADCHECK([](const xg::TensorList& i) { return MulAdd::apply(i[0], i[1], -1.0); }, (xg::TensorList{rnd({4}), rnd({4})}));
}

TEST_CASE("gradcheck fails on a backward that is off by a few percent, naming the element") {
  xg::Tensor x = rnd({2, 3});
  auto bad = xg::gradcheck([](const xg::TensorList& i) { return BadExp::apply(i[0]); }, {x});
  CHECK_FALSE(bad.ok);
  CHECK(bad.max_rel_error > 0.02);
  CHECK(bad.max_rel_error < 0.04);
  CHECK_THAT(bad.message, Catch::Contains("input 0") && Catch::Contains("numerical"));
  auto good = xg::gradcheck([](const xg::TensorList& i) { return GoodExp::apply(i[0]); }, {x});
  INFO(good.message);
  CHECK(good.ok);
  CHECK(good.max_abs_error < 1e-6);
}

TEST_CASE("custom Functions are twice differentiable when their backward uses tensor ops") {
  CHECK_GRADGRADCHECK([](const xg::TensorList& i) { return GoodExp::apply(i[0]); }, xg::TensorList{rnd({3})});
}

TEST_CASE("custom Function with two outputs, one unused") {
  xg::Tensor x = rnd({4});
  auto outs = SplitHalves::apply(x);
  REQUIRE(outs.size() == 2);
  outs[1].sum().backward();
  CHECK(xg::allclose(x.grad(), xg::tensor({0.0, 0.0, 2.0, 2.0}, xg::kFloat64)));
}

TEST_CASE("a custom backward returning a wrong shape is an error, not a crash") {
  xg::Tensor x = rnd({3});
  CHECK_THROWS_WITH(WrongShape::apply(x).sum().backward(), Catch::Contains("invalid gradient"));
}

TEST_CASE("no graph is recorded when no input requires grad") {
  xg::Tensor y = MulAdd::apply(xg::randn({3}), xg::randn({3}), 1.0);
  CHECK_FALSE(y.requires_grad());
}
