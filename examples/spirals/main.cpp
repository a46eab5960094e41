// A define-by-run example: a two-layer MLP learns to separate two interleaved spirals, with plain
// gradient descent written against the autograd API. Prints the loss as it learns, the accuracy,
// and the decision regions it found as a text picture.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>
#include <xgrad/xgrad.hpp>

namespace xg = xgrad;

struct Spirals {
  std::vector<double> points;  // x0, y0, x1, y1, ...
  std::vector<int64_t> labels;
};

// Two spirals of n/2 points each.
Spirals make_spirals(int64_t n) {
  Spirals s;
  for (int64_t i = 0; i < n; ++i) {
    int64_t cls = i % 2;
    double t = 0.25 + 3.0 * static_cast<double>(i / 2) / (n / 2);
    double a = t * 2.6 + cls * M_PI;
    s.points.push_back(t * std::cos(a) / 3.3);
    s.points.push_back(t * std::sin(a) / 3.3);
    s.labels.push_back(cls);
  }
  return s;
}

// What the model learned: the class it predicts over the plane (. and #), training points as o and x.
template <class Model>
void draw_regions(Model& model, const Spirals& data) {
  std::printf("\ndecision regions (class 0 '.', class 1 '#'; training points o / x):\n");
  const int W = 60, H = 28;
  std::vector<double> grid;
  for (int r = 0; r < H; ++r)
    for (int c = 0; c < W; ++c) {
      grid.push_back(-1.0 + 2.0 * c / (W - 1));
      grid.push_back(1.0 - 2.0 * r / (H - 1));
    }
  xg::NoGradGuard no_grad;
  xg::Tensor pred = xg::argmax(model(xg::tensor(grid, xg::kFloat32).reshape({W * H, 2})), 1);
  std::vector<std::string> canvas(H, std::string(W, ' '));
  for (int r = 0; r < H; ++r)
    for (int c = 0; c < W; ++c) canvas[r][c] = pred.data_ptr<int64_t>()[r * W + c] ? '#' : '.';
  for (size_t i = 0; i < data.labels.size(); ++i) {
    int c = static_cast<int>(std::lround((data.points[2 * i] + 1.0) / 2.0 * (W - 1)));
    int r = static_cast<int>(std::lround((1.0 - data.points[2 * i + 1]) / 2.0 * (H - 1)));
    if (r >= 0 && r < H && c >= 0 && c < W) canvas[r][c] = data.labels[i] ? 'x' : 'o';
  }
  for (auto& line : canvas) std::printf("  %s\n", line.c_str());
}

int main() {
  xg::manual_seed(0);
  const int64_t n = 400, hidden = 64;
  const Spirals data = make_spirals(n);
  xg::Tensor x = xg::tensor(data.points, xg::kFloat32).reshape({n, 2}) + xg::randn({n, 2}) * 0.02;  // a little noise
  xg::Tensor y = xg::tensor(data.labels);

  auto param = [](xg::Shape s, double scale) { return (xg::randn(s) * scale).detach().requires_grad_(); };
  xg::Tensor w1 = param({hidden, 2}, 1.0), b1 = param({hidden}, 0.1);
  xg::Tensor w2 = param({hidden, hidden}, 1.0 / std::sqrt(hidden)), b2 = param({hidden}, 0.1);
  xg::Tensor w3 = param({2, hidden}, 1.0 / std::sqrt(hidden)), b3 = param({2}, 0.0);
  xg::TensorList params{w1, b1, w2, b2, w3, b3};
  auto model = [&](const xg::Tensor& in) {
    xg::Tensor h = xg::tanh(xg::linear(in, w1, b1));
    h = xg::tanh(xg::linear(h, w2, b2));
    return xg::linear(h, w3, b3);
  };

  // Gradient descent with momentum, written out by hand.
  std::vector<xg::Tensor> velocity;
  for (auto& p : params) velocity.push_back(xg::zeros_like(p));
  const double lr = 0.1, momentum = 0.9;
  auto start = std::chrono::steady_clock::now();
  double acc = 0;
  for (int step = 0; step <= 3000; ++step) {
    xg::Tensor logits = model(x);
    xg::Tensor loss = xg::cross_entropy(logits, y);
    for (auto& p : params) p.set_grad({});
    loss.backward();
    {
      xg::NoGradGuard no_grad;
      for (size_t k = 0; k < params.size(); ++k) {
        velocity[k].mul_(momentum).add_(params[k].grad());
        params[k].sub_(velocity[k], lr);
      }
      acc = (xg::argmax(logits, 1) == y).to(xg::kFloat64).mean().item<double>();
    }
    if (step % 500 == 0) std::printf("step %4d  loss %.4f  accuracy %5.1f%%\n", step, loss.item<double>(), 100 * acc);
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("\ntrained 3000 full-batch steps on %lld points in %.2f s; final training accuracy %.1f%%\n",
              static_cast<long long>(n), secs, 100 * acc);
  draw_regions(model, data);
  return acc > 0.95 ? 0 : 1;
}
