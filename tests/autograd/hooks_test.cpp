// Gradient hooks (Tensor::register_hook, register_post_accumulate_grad_hook) and
// autograd::queue_callback, with PyTorch's semantics.
#include <vector>

#include "helpers.hpp"

TEST_CASE("a hook on a non-leaf sees its gradient and can replace it") {
  xg::Tensor x = rnd({4});
  xg::Tensor y = x * x;  // dy/dx = 2x
  xg::Tensor seen;
  y.register_hook([&](const xg::Tensor& g) { seen = g.clone(); });
  y.register_hook([](const xg::Tensor& g) { return g * 3.0; });
  (y * 5.0).sum().backward();
  CHECK(xg::allclose(seen, xg::full({4}, 5.0, xg::kFloat64)));  // before the replacing hook
  CHECK(xg::allclose(x.grad(), 30.0 * x));
}

TEST_CASE("a hook on a leaf replaces the gradient before it is accumulated, once per backward") {
  xg::Tensor x = rnd({2, 3});
  int calls = 0;
  x.register_hook([&](const xg::Tensor& g) {
    ++calls;
    return g + 1.0;
  });
  (x * x + x).sum().backward();  // x used twice: the hook sees the sum, 2x + 1
  CHECK(calls == 1);
  CHECK(xg::allclose(x.grad(), 2.0 * x + 2.0));
  (x * 2.0).sum().backward();
  CHECK(calls == 2);
  CHECK(xg::allclose(x.grad(), 2.0 * x + 5.0));
}

TEST_CASE("a non-leaf's hook still runs after the tensor itself is gone (it lives on the graph)") {
  xg::Tensor x = rnd({3});
  xg::Tensor loss;
  int calls = 0;
  {
    xg::Tensor y = x.exp();
    y.register_hook([&](const xg::Tensor& g) {
      ++calls;
      return g * 0.0;
    });
    loss = y.sum();
  }
  loss.backward();
  CHECK(calls == 1);
  CHECK(xg::allclose(x.grad(), xg::zeros({3}, xg::kFloat64)));
}

TEST_CASE("remove_hook unregisters exactly that hook") {
  xg::Tensor x = rnd({3});
  xg::Tensor y = x * 1.0;
  unsigned a = y.register_hook([](const xg::Tensor& g) { return g * 2.0; });
  y.register_hook([](const xg::Tensor& g) { return g * 3.0; });
  CHECK(y.remove_hook(a));
  CHECK_FALSE(y.remove_hook(a));
  y.sum().backward();
  CHECK(xg::allclose(x.grad(), xg::full({3}, 3.0, xg::kFloat64)));

  unsigned b = x.register_hook([](const xg::Tensor& g) { return g * 0.0; });
  CHECK(x.remove_hook(b));
  x.grad().zero_();
  (x * 1.0).sum().backward();
  CHECK(xg::allclose(x.grad(), xg::ones({3}, xg::kFloat64)));
}

TEST_CASE("a hook that changes the gradient's shape or dtype is an error naming both") {
  xg::Tensor x = rnd({2, 2});
  xg::Tensor y = x * 2.0;
  y.register_hook([](const xg::Tensor& g) { return g.sum(); });
  CHECK_THROWS_WITH(y.sum().backward(), Catch::Contains("changed the size") && Catch::Contains("[2, 2]") &&
                                            Catch::Contains("[]"));
  xg::Tensor z = rnd({2});
  z.register_hook([](const xg::Tensor& g) { return g.to(xg::kFloat32); });
  CHECK_THROWS_WITH((z * 2.0).sum().backward(), Catch::Contains("changed the dtype") && Catch::Contains("Float32"));
  xg::Tensor c = xg::randn({2}, xg::kFloat64);
  CHECK_THROWS_WITH(c.register_hook([](const xg::Tensor&) {}), Catch::Contains("doesn't require gradient"));
}

TEST_CASE("xg::grad applies the hooks to the gradients it returns and leaves .grad() alone") {
  xg::Tensor x = rnd({3});
  int post = 0;
  x.register_hook([](const xg::Tensor& g) { return -g; });
  x.register_post_accumulate_grad_hook([&](const xg::Tensor&) { ++post; });
  auto gs = xg::grad({(x * x).sum()}, {x});
  CHECK(xg::allclose(gs[0], -2.0 * x));
  CHECK_FALSE(x.grad().defined());
  CHECK(post == 0);
}

TEST_CASE("post-accumulate hooks fire once per backward with the leaf's final .grad()") {
  xg::Tensor w = rnd({3});
  xg::Tensor b = rnd({3});
  std::vector<std::string> order;
  xg::Tensor seen;
  w.register_post_accumulate_grad_hook([&](const xg::Tensor& p) {
    order.push_back("w");
    seen = p.grad().clone();
  });
  b.register_post_accumulate_grad_hook([&](const xg::Tensor&) { order.push_back("b"); });
  // w is used early and late in the forward: its hook waits for both contributions.
  xg::Tensor h = (w * 2.0 + b).tanh();
  xg::Tensor loss = (h * w).sum();
  loss.backward();
  REQUIRE(order.size() == 2);
  CHECK(xg::allclose(seen, w.grad()));
  xg::Tensor th = (w.detach() * 2.0 + b.detach()).tanh();
  CHECK(xg::allclose(w.grad(), th + 2.0 * w.detach() * (1.0 - th * th)));
  // A second backward: the hook sees the accumulated sum.
  (w * 1.0).sum().backward();
  CHECK(xg::allclose(seen, w.grad()));
  CHECK_THROWS_WITH(h.register_post_accumulate_grad_hook([](const xg::Tensor&) {}), Catch::Contains("non-leaf"));
}

TEST_CASE("hooks compose with create_graph: the replaced gradient stays differentiable") {
  xg::Tensor x = rnd({3});
  xg::Tensor y = x * x * x;
  y.register_hook([](const xg::Tensor& g) { return g * 2.0; });
  auto g = xg::grad({y.sum()}, {x}, {}, std::nullopt, /*create_graph=*/true)[0];  // 6x^2
  CHECK(xg::allclose(g, 6.0 * x * x));
  g.sum().backward();  // d/dx 6x^2 = 12x (the hook is on the first graph only)
  CHECK(xg::allclose(x.grad(), 12.0 * x));
}

TEST_CASE("queue_callback runs after every gradient of the pass is accumulated") {
  xg::Tensor a = rnd({2});
  xg::Tensor b = rnd({2});
  std::vector<std::string> events;
  a.register_post_accumulate_grad_hook([&](const xg::Tensor&) {
    events.push_back("a");
    xg::autograd::queue_callback([&] {
      events.push_back("cb");
      CHECK(a.grad().defined());
      CHECK(b.grad().defined());
      xg::autograd::queue_callback([&] { events.push_back("cb2"); });
    });
  });
  b.register_post_accumulate_grad_hook([&](const xg::Tensor&) { events.push_back("b"); });
  (a * b).sum().backward();
  REQUIRE(events.size() == 4);
  CHECK(events[2] == "cb");
  CHECK(events[3] == "cb2");
  CHECK_THROWS_WITH(xg::autograd::queue_callback([] {}), Catch::Contains("no backward pass is running"));
}
