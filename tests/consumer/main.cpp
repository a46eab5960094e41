#include <xgrad/xgrad.hpp>
#include <iostream>
namespace xg = xgrad;

int main() {
  xg::Tensor x = xg::randn({2, 3}, xg::kFloat64).requires_grad_();
  (xg::softmax(x, -1) * x).sum().backward();
  std::cout << "consumer of xgrad " << XGRAD_VERSION << " ok, grad shape " << x.grad().sizes() << "\n";
  return x.grad().sizes() == xg::Shape{2, 3} ? 0 : 1;
}
