// The autograd engine's contract: accumulation, retain_graph, xg::grad, higher order, no_grad,
// in-place version checks, anomaly detection, deep graphs.
#include <cmath>

#include "helpers.hpp"

TEST_CASE("leaf gradients accumulate across backward calls and zero_() resets them") {
  xg::Tensor x = rnd({3});
  (x * 2.0).sum().backward();
  (x * 3.0).sum().backward();
  CHECK(xg::allclose(x.grad(), xg::full({3}, 5.0, xg::kFloat64)));
  x.grad().zero_();
  CHECK(xg::allclose(x.grad(), xg::zeros({3}, xg::kFloat64)));
  (x * x).sum().backward();
  CHECK(xg::allclose(x.grad(), 2.0 * x));
}

TEST_CASE("a tensor used twice gets both contributions") {
  xg::Tensor x = rnd({4});
  xg::Tensor y = x * x + x;  // dy/dx = 2x + 1
  y.sum().backward();
  CHECK(xg::allclose(x.grad(), 2.0 * x + 1.0));
}

TEST_CASE("backward needs a gradient for non-scalar outputs") {
  xg::Tensor x = rnd({2, 2});
  xg::Tensor y = x * 2.0;
  CHECK_THROWS_AS(y.backward(), xg::Error);
  CHECK_THROWS_WITH(y.backward(), Catch::Contains("scalar"));
  y.backward(xg::ones({2, 2}, xg::kFloat64));
  CHECK(xg::allclose(x.grad(), xg::full({2, 2}, 2.0, xg::kFloat64)));
  CHECK_THROWS_WITH((x * 2.0).backward(xg::ones({3}, xg::kFloat64)), Catch::Contains("shape"));
}

TEST_CASE("a second backward through a freed graph throws; retain_graph keeps it") {
  xg::Tensor x = rnd({3});
  xg::Tensor loss = (xg::exp(x) * x).sum();
  loss.backward(xg::Tensor(), /*retain_graph=*/true);
  loss.backward();
  CHECK(xg::allclose(x.grad(), 2.0 * (xg::exp(x) * (x + 1.0))));
  CHECK_THROWS_WITH(loss.backward(), Catch::Contains("second time"));
}

TEST_CASE("backward of a tensor that does not require grad throws") {
  xg::Tensor x = xg::randn({3});
  CHECK_THROWS_WITH(x.sum().backward(), Catch::Contains("does not require grad"));
}

TEST_CASE("no_grad records nothing and restores the mode") {
  xg::Tensor x = rnd({3});
  {
    xg::NoGradGuard ng;
    xg::Tensor y = x * 2.0;
    CHECK_FALSE(y.requires_grad());
    CHECK(y.is_leaf());
  }
  CHECK((x * 2.0).requires_grad());
}

TEST_CASE("retain_grad keeps a non-leaf's gradient") {
  xg::Tensor x = rnd({3});
  xg::Tensor h = x * 3.0;
  h.retain_grad();
  (h * h).sum().backward();
  CHECK(xg::allclose(h.grad(), 2.0 * h));
  CHECK_FALSE(x.grad().defined() == false);
}

TEST_CASE("xg::grad returns gradients without touching .grad()") {
  xg::Tensor x = rnd({3}), w = rnd({3});
  xg::Tensor y = (x * w).sum();
  auto g = xg::grad({y}, {x, w});
  CHECK(xg::allclose(g[0], w));
  CHECK(xg::allclose(g[1], x));
  CHECK_FALSE(x.grad().defined());
  CHECK_FALSE(g[0].requires_grad());
}

TEST_CASE("xg::grad with an unused input needs allow_unused") {
  xg::Tensor x = rnd({3}), z = rnd({3});
  xg::Tensor y = (x * x).sum();
  CHECK_THROWS_WITH(xg::grad({y}, {x, z}, {}, true), Catch::Contains("allow_unused"));
  auto g = xg::grad({y}, {x, z}, {}, true, false, /*allow_unused=*/true);
  CHECK(g[0].defined());
  CHECK_FALSE(g[1].defined());
}

TEST_CASE("xg::grad of a non-leaf input, and of several outputs with grad_outputs") {
  xg::Tensor x = rnd({3});
  xg::Tensor h = xg::sin(x);
  xg::Tensor a = h * 2.0, b = h * h;
  auto g = xg::grad({a, b}, {h}, {xg::ones({3}, xg::kFloat64), xg::full({3}, 0.5, xg::kFloat64)});
  CHECK(xg::allclose(g[0], 2.0 + h));
}

TEST_CASE("third-order gradients") {
  xg::Tensor x = rnd({4});
  xg::Tensor y = (x * x * x * x).sum();  // d3/dx3 = 24x
  auto g1 = xg::grad({y}, {x}, {}, true, true)[0];
  auto g2 = xg::grad({g1.sum()}, {x}, {}, true, true)[0];
  auto g3 = xg::grad({g2.sum()}, {x})[0];
  CHECK(xg::allclose(g3, 24.0 * x));
}

TEST_CASE("create_graph makes .grad() differentiable") {
  xg::Tensor x = rnd({3});
  (x * x * x).sum().backward(xg::Tensor(), true, /*create_graph=*/true);
  xg::Tensor g = x.grad();  // 3x²
  CHECK(g.requires_grad());
  auto gg = xg::grad({g.sum()}, {x})[0];
  CHECK(xg::allclose(gg, 6.0 * x));
  x.set_grad({});  // x → grad → its graph → x is a cycle, as in PyTorch: break it
}

TEST_CASE("in-place ops bump the version and modified saved tensors are caught at backward") {
  xg::Tensor x = rnd({3});
  xg::Tensor h = x * 2.0;
  xg::Tensor y = xg::exp(h);  // saves its output
  auto v = y._version();
  {
    xg::NoGradGuard ng;
    y.add_(1.0);
  }
  CHECK(y._version() == v + 1);
  CHECK_THROWS_WITH(y.sum().backward(), Catch::Contains("modified by an inplace operation"));
}

TEST_CASE("in-place ops on non-leaves are differentiable") {
  xg::Tensor x = rnd({3}), w = rnd({3});
  xg::Tensor h = x * 1.0;
  h.mul_(w);
  h.add_(x, 2.0);
  h.sum().backward();
  CHECK(xg::allclose(x.grad(), w + 2.0));
  CHECK(xg::allclose(w.grad(), x));
}

TEST_CASE("in-place on a leaf that requires grad throws, but works under no_grad") {
  xg::Tensor x = rnd({3});
  CHECK_THROWS_WITH(x.add_(1.0), Catch::Contains("leaf"));
  xg::Tensor before = x.detach().clone();
  {
    xg::NoGradGuard ng;
    x.sub_(xg::ones({3}, xg::kFloat64), 0.5);
  }
  CHECK(xg::allclose(x, before - 0.5));
}

TEST_CASE("fill_, zero_ and copy_ keep gradients right") {
  xg::Tensor x = rnd({3}), s = rnd({3});
  xg::Tensor h = x * 2.0;
  h.copy_(s * 3.0);  // old history of h is overwritten
  h.sum().backward();
  CHECK(xg::allclose(s.grad(), xg::full({3}, 3.0, xg::kFloat64)));
  CHECK_FALSE(x.grad().defined());
  xg::Tensor t = xg::ones({2});
  t.fill_(4.0);
  CHECK(t.sum().item<double>() == 8.0);
  t.zero_();
  CHECK(t.sum().item<double>() == 0.0);
}

TEST_CASE("DetectAnomalyGuard names the op that produced NaN in backward") {
  xg::Tensor x = xg::zeros({2}, xg::kFloat64).requires_grad_();
  xg::Tensor y = xg::sqrt(x).sum();  // d sqrt at 0 = inf
  xg::DetectAnomalyGuard guard;
  CHECK_THROWS_WITH(y.backward(), Catch::Contains("SqrtBackward"));
}

TEST_CASE("very deep graphs neither overflow the stack in backward nor when freed") {
  xg::Tensor x = xg::ones({1}, xg::kFloat64).requires_grad_();
  xg::Tensor y = x;
  for (int i = 0; i < 100000; ++i) y = y * 1.0;
  y.sum().backward();
  CHECK(x.grad().item<double>() == 1.0);
}

TEST_CASE("gradient of a broadcast input is reduced to its shape") {
  xg::Tensor a = rnd({3, 1, 4}), b = rnd({5, 1});
  (a * b).sum().backward();
  CHECK(a.grad().sizes() == xg::Shape{3, 1, 4});
  CHECK(b.grad().sizes() == xg::Shape{5, 1});
  CHECK(xg::allclose(b.grad(), xg::sum(a, {}).expand({5, 1}) * 1.0));
}

TEST_CASE("detach cuts the graph and shares storage") {
  xg::Tensor x = rnd({3});
  xg::Tensor d = (x * 2.0).detach();
  CHECK_FALSE(d.requires_grad());
  xg::Tensor y = (x * d).sum();
  y.backward();
  CHECK(xg::allclose(x.grad(), d));
}

TEST_CASE("embedding rows at padding_idx get no gradient") {
  xg::Tensor w = rnd({4, 3});
  xg::embedding(xg::tensor({3, 0, 3, 1}), w, 3).sum().backward();
  xg::Tensor expect = xg::tensor({1.0, 1.0, 0.0, 0.0}, xg::kFloat64).unsqueeze(1).expand({4, 3});
  CHECK(xg::allclose(w.grad(), expect));
}

TEST_CASE("dtype conversion is differentiable between floating types") {
  xg::Tensor x = rnd({3});
  (x.to(xg::kFloat32) * 2.0).sum().backward();
  CHECK(x.grad().dtype() == xg::kFloat64);
  CHECK(xg::allclose(x.grad(), xg::full({3}, 2.0, xg::kFloat64)));
}

TEST_CASE("dropout is seeded, scaled and identity in eval") {
  xg::Tensor x = xg::ones({1000});
  xg::manual_seed(7);
  xg::Tensor a = xg::dropout(x, 0.3, true);
  xg::manual_seed(7);
  xg::Tensor b = xg::dropout(x, 0.3, true);
  CHECK(xg::equal(a, b));
  double kept = (a > 0.0).to(xg::kFloat64).sum().item<double>();
  CHECK(kept > 600);
  CHECK(kept < 800);
  CHECK(xg::allclose(xg::amax(a), xg::scalar_tensor(1.0 / 0.7)));
  CHECK(xg::equal(xg::dropout(x, 0.3, false), x));
  xg::Tensor w = rnd({50});
  xg::Tensor y = xg::dropout(w, 0.5, true);
  y.sum().backward();
  CHECK(xg::allclose(w.grad() * w, y));  // the gradient is the same scaled mask
}

TEST_CASE("narrow, split and unbind along a leading dim are views; elsewhere copies", "[views]") {
  xg::Tensor x = xg::arange(0.0, 24.0, 1.0, xg::kFloat64).reshape({4, 6});
  xg::Tensor rows = x.narrow(0, 1, 2);
  CHECK(rows.storage_offset() == 6);
  CHECK(rows.data_ptr<double>() == x.data_ptr<double>() + 6);
  auto pieces = x.split({1, 3}, 0);
  CHECK(pieces[1].data_ptr<double>() == x.data_ptr<double>() + 6);
  CHECK(pieces[1].sizes() == xg::Shape{3, 6});
  auto slices = x.reshape({2, 2, 6}).unbind(0);
  CHECK(slices[1].data_ptr<double>() == x.data_ptr<double>() + 12);
  CHECK(slices[1].sizes() == xg::Shape{2, 6});
  // Ops read a view at its offset (odd offsets too: no alignment is assumed).
  xg::Tensor odd = xg::arange(0.0, 7.0, 1.0, xg::kFloat64).narrow(0, 3, 4);
  CHECK(xg::equal(odd * 2.0 + odd.exp().log(), xg::tensor({9.0, 12.0, 15.0, 18.0}, xg::kFloat64)));
  CHECK(xg::equal(odd.sum(), xg::scalar_tensor(18.0, xg::kFloat64)));
  CHECK(xg::equal(odd.clone(), xg::tensor({3.0, 4.0, 5.0, 6.0}, xg::kFloat64)));
  // A write through a view is seen by the base (PyTorch's semantics), and bumps the shared version.
  const uint64_t v0 = x._version();
  rows.mul_(0.0);
  CHECK(x._version() > v0);
  CHECK(xg::equal(x.narrow(0, 1, 2), xg::zeros({2, 6}, xg::kFloat64)));
  // Not a block of memory (a column range): a copy.
  xg::Tensor cols = x.narrow(1, 0, 2);
  cols.fill_(7.0);
  CHECK(x.data_ptr<double>()[0] == 0.0);
}

TEST_CASE("split is one node: its backward builds the input's gradient once", "[views]") {
  xg::Tensor w = xg::randn({6, 3}, xg::kFloat64).requires_grad_();
  auto parts = w.chunk(3);
  CHECK(parts[0].grad_fn() == parts[2].grad_fn());
  CHECK(parts[0].grad_fn()->name() == "SplitBackward");
  (parts[2] * 3.0).sum().backward();  // only one piece used: the others get zeros
  xg::Tensor want = xg::cat({xg::zeros({4, 3}, xg::kFloat64), xg::full({2, 3}, 3.0, xg::kFloat64)});
  CHECK(xg::equal(w.grad(), want));
}

TEST_CASE("dropout: one fused pass, its mask regenerated in backward, the same at any thread count") {
  auto fn = [](const xg::TensorList& in) {
    xg::manual_seed(3);
    return xg::dropout(in[0], 0.4, true);
  };
  CHECK_GRADCHECK(fn, (xg::TensorList{rnd({7, 5})}));
  CHECK_GRADGRADCHECK(fn, (xg::TensorList{rnd({7, 5})}));
  // Large enough for several blocks and threads: the same bits on 1 and 2 threads.
  const int before = xg::get_num_threads();
  xg::Tensor x = xg::randn({300001});
  xg::Tensor g = xg::randn({300001});
  std::vector<xg::Tensor> outs;
  for (int threads : {1, 2, 3}) {
    xg::set_num_threads(threads);
    xg::Tensor w = x.detach().requires_grad_();
    xg::manual_seed(12);
    xg::Tensor y = xg::dropout(w, 0.25, true);
    y.backward(g);
    outs.push_back(y);
    outs.push_back(w.grad());
  }
  xg::set_num_threads(before);
  for (size_t i = 2; i < outs.size(); ++i) CHECK(xg::equal(outs[i], outs[i % 2]));
  const double kept = (outs[0] != 0.0).to(xg::kFloat64).mean().item<double>();
  CHECK(std::abs(kept - 0.75) < 0.005);
  // Neighbours (in a block, and a block apart) are kept independently: P(both) = 0.75².
  const xg::Tensor k = (outs[0] != 0.0).to(xg::kFloat64);
  const int64_t n = k.numel();
  for (int64_t lag : {int64_t{1}, int64_t{1} << 14}) {
    const double both = (k.narrow(0, 0, n - lag) * k.narrow(0, lag, n - lag)).mean().item<double>();
    CHECK(std::abs(both - 0.5625) < 0.005);
  }
  // A dropped NaN stays NaN (x·mask, as PyTorch).
  xg::Tensor nan = xg::full({64}, NAN);
  CHECK((xg::dropout(nan, 0.5, true) == xg::dropout(nan, 0.5, true)).to(xg::kFloat64).sum().item<double>() == 0);
}
