// xg::checkpoint: the same gradients as without it (dropout included), gradchecked, and its limits.
#include "helpers.hpp"

namespace {
double max_abs_diff(const xg::Tensor& a, const xg::Tensor& b) {
  return xg::amax(xg::abs(a.detach() - b.detach())).item<double>();
}
}  // namespace

TEST_CASE("checkpoint gives the gradients of the plain computation, dropout masks included", "[checkpoint]") {
  xg::manual_seed(21);
  xg::nn::Linear lin(6, 5);
  lin->to(xg::kFloat64);
  auto block = [&](const xg::TensorList& in) {
    return xg::dropout(xg::gelu(lin(in[0]) * in[1]), 0.5, true).sum({1});
  };
  xg::Tensor x = rnd({4, 6}), s = rnd({4, 5});
  auto run = [&](bool ckpt) {
    lin->zero_grad();
    x.set_grad({}), s.set_grad({});
    xg::manual_seed(99);
    xg::Tensor y = ckpt ? xg::checkpoint(block, {x, s}) : block({x, s});
    xg::Tensor after = xg::rand({3}, xg::kFloat64);  // the draw after the block: the stream goes on alike
    (y * xg::arange(4.0).to(xg::kFloat64)).sum().backward();
    return xg::TensorList{y, after, x.grad(), s.grad(), lin->weight.grad(), lin->bias.grad()};
  };
  auto plain = run(false), ckpt = run(true);
  for (size_t i = 0; i < plain.size(); ++i) {
    INFO("item " << i);
    CHECK(max_abs_diff(plain[i], ckpt[i]) == 0);
  }
}

TEST_CASE("checkpoint gradchecks in float64, with several inputs and outputs", "[checkpoint]") {
  auto fn = [](const xg::TensorList& in) {
    return xg::checkpoint(
        [](const xg::TensorList& t) { return xg::TensorList{xg::tanh(t[0] * t[1]), xg::exp(t[1]).sum()}; }, in);
  };
  xg::TensorList in{rnd({3, 4}), rnd({3, 4})};
  auto rep = xg::gradcheck(xg::MultiFn(fn), in);
  INFO(rep.message);
  CHECK(rep.ok);
  // Only one output used; an input that needs no gradient.
  xg::Tensor a = rnd({5}), b = xg::randn({5}, xg::kFloat64);
  CHECK_GRADCHECK([&](const xg::TensorList& t) { return fn({t[0], b})[0]; }, (xg::TensorList{a}));
}

TEST_CASE("checkpoint without inputs that need grad records nothing; an input passed through is copied",
          "[checkpoint]") {
  xg::Tensor x = xg::randn({3});
  xg::Tensor y = xg::checkpoint([](const xg::TensorList& in) { return in[0] * 2.0; }, {x});
  CHECK(!y.requires_grad());
  xg::Tensor z = rnd({3});
  auto outs = xg::checkpoint(
      [](const xg::TensorList& in) { return xg::TensorList{in[0], in[0] * 3.0}; }, xg::TensorList{z});
  CHECK(!outs[0].is_same(z));
  (outs[0].sum() + outs[1].sum()).backward();
  CHECK(xg::allclose(z.grad(), xg::full({3}, 4.0, xg::kFloat64)));
}

TEST_CASE("checkpoint gradgradchecks, and parameters get gradients when the inputs need none", "[checkpoint]") {
  CHECK_GRADGRADCHECK(
      [](const xg::TensorList& in) {
        return xg::checkpoint([](const xg::TensorList& t) { return xg::tanh(t[0] * t[1]).sum({0}); }, in);
      },
      (xg::TensorList{rnd({3, 4}), rnd({3, 4})}));
  xg::Tensor w = rnd({4});
  xg::Tensor x = xg::randn({3, 4}, xg::kFloat64);  // needs no gradient: w's still flows
  xg::Tensor y = xg::checkpoint([&](const xg::TensorList& in) { return (xg::exp(in[0] * w)).sum(); }, {x});
  xg::Tensor gw = xg::grad({y}, {w})[0];
  CHECK(xg::allclose(gw, (x * xg::exp(x * w)).sum({0})));
  CHECK(!w.grad().defined());  // xg::grad leaves .grad() alone
}
