// The program from the core issue, unchanged: it must compile and run.
#include <xgrad/xgrad.hpp>
#include <cassert>
namespace xg = xgrad;

int main() {
  xg::manual_seed(0);
  xg::Tensor x = xg::randn({3, 4}, xg::kFloat64).requires_grad_();
  xg::Tensor w = xg::randn({4, 2}, xg::kFloat64).requires_grad_();
  xg::Tensor b = xg::zeros({2}, xg::kFloat64).requires_grad_();
  xg::Tensor y = xg::tanh(xg::matmul(x, w) + b);               // the graph is recorded as the code runs
  xg::Tensor loss = (y * y).mean();
  loss.backward();                                              // x.grad(), w.grad(), b.grad() now set
  assert(b.grad().sizes() == std::vector<int64_t>{2});          // broadcast gradient reduced to b's shape
  double value = loss.item<double>();
  (void)value;

  { xg::NoGradGuard no_grad; assert(!(x * 2.0).requires_grad()); }

  // higher-order gradients
  xg::Tensor z = (x * x * x).sum();
  xg::Tensor g = xg::grad({z}, {x}, /*grad_outputs=*/{}, /*retain_graph=*/true, /*create_graph=*/true)[0];
  xg::Tensor gg = xg::grad({g.sum()}, {x})[0];
  assert(xg::allclose(gg, 6.0 * x));

  // gradient check of any function, in float64
  auto report = xg::gradcheck([](const std::vector<xg::Tensor>& in) {
    return xg::softmax(xg::matmul(in[0], in[1]), /*dim=*/-1);
  }, {x, w});
  assert(report.ok);

  // bad input: a clear exception, never a crash
  try { xg::matmul(x, x); assert(false); } catch (const xg::Error& e) { /* "matmul: ... [3, 4] ... [3, 4]" */ }

  // xtensor interop
  xt::xarray<double> v = xg::from_xarray(xt::xarray<double>{{1, 2}, {3, 4}}).to_xarray<double>();
}
