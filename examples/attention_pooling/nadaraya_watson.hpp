#pragma once
// d2l 10.2: attention pooling as Nadaraya–Watson kernel regression. Queries are inputs x, keys the
// training inputs, values the training outputs; a Gaussian kernel of width 1/w gives the attention
// weights softmax(−((q − k)·w)²/2) over the keys, and the estimate is their weighted sum of values.
// w = 1 is the non-parametric estimator; the parametric one learns w by SGD, each training input
// attending to every other training example (leave one out: with itself among the keys, w → ∞
// would fit the noise exactly).
#include <cmath>

#include <xgrad/xgrad.hpp>

namespace attention_pooling {

namespace xg = xgrad;
namespace nn = xg::nn;

inline xg::Tensor truth(const xg::Tensor& x) { return 2.0 * xg::sin(x) + xg::pow(x, 0.8); }

// d2l's data: n sorted training inputs uniform on [0, 5), y = 2 sin x + x^0.8 + N(0, 0.5²); test
// inputs 0, 0.1, …, 4.9 and their noiseless outputs. Float64, from the global generator.
struct Data {
  xg::Tensor x_train, y_train, x_test, y_truth;
};
inline Data make_data(int64_t n_train = 50) {
  Data d;
  d.x_train = std::get<0>(xg::sort(xg::rand({n_train}, xg::kFloat64) * 5.0));
  d.y_train = truth(d.x_train) + 0.5 * xg::randn({n_train}, xg::kFloat64);
  d.x_test = xg::arange(0.0, 5.0, 0.1, xg::kFloat64);
  d.y_truth = truth(d.x_test);
  return d;
}

// Attention weights (queries, keys): row i is softmax over j of −((q_i − k_ij)·w)²/2; keys are
// (queries, m), or (m) shared by every query. w: a scalar tensor (learnable or not).
inline xg::Tensor gaussian_attention(const xg::Tensor& queries, const xg::Tensor& keys, const xg::Tensor& w) {
  const xg::Tensor d = (queries.unsqueeze(1) - keys) * w;
  return xg::softmax(-(d * d) / 2.0, 1);
}

// Each query's estimate: its attention-weighted sum of values (values shaped like the keys).
inline xg::Tensor pool(const xg::Tensor& weights, const xg::Tensor& values) {
  const xg::Tensor v = values.dim() == 1 ? values.unsqueeze(0).expand(weights.sizes()) : values;
  return xg::bmm(weights.unsqueeze(1), v.unsqueeze(-1)).reshape({-1});
}

// The parametric estimator: one learnable width w, initialised U(0, 1) as d2l's.
class NWKernelRegressionImpl : public nn::Module {
 public:
  NWKernelRegressionImpl() { w = register_parameter("w", xg::rand({1}, xg::kFloat64)); }
  xg::Tensor forward(const xg::Tensor& queries, const xg::Tensor& keys, const xg::Tensor& values) {
    attention_weights = gaussian_attention(queries, keys, w);
    return pool(attention_weights, values);
  }
  xg::Tensor w;
  xg::Tensor attention_weights;  // of the last forward
};
XG_MODULE(NWKernelRegression);

// Row i: every element of x but x_i ((n, n − 1)): the keys (and values) training input i sees.
inline xg::Tensor leave_one_out(const xg::Tensor& x) {
  const int64_t n = x.size(0);
  const xg::Tensor keep = xg::logical_not(xg::eye(n).to(xg::kBool));
  return xg::masked_select(x.unsqueeze(0).expand({n, n}), keep).reshape({n, n - 1});
}

// d2l's training: SGD on the summed squared error of the leave-one-out estimates, full batch.
// Returns each epoch's loss (the sum) — w after each epoch in `ws` if given.
inline std::vector<double> train(NWKernelRegression& net, const Data& d, int epochs, double lr,
                                 std::vector<double>* ws = nullptr) {
  const xg::Tensor keys = leave_one_out(d.x_train), values = leave_one_out(d.y_train);
  xg::optim::SGD sgd(net->parameters(), xg::optim::SGDOptions(lr));
  std::vector<double> losses;
  for (int epoch = 0; epoch < epochs; ++epoch) {
    sgd.zero_grad();
    const xg::Tensor err = net(d.x_train, keys, values) - d.y_train;
    const xg::Tensor loss = (err * err).sum();
    loss.backward();
    sgd.step();
    losses.push_back(loss.item<double>());
    if (ws) ws->push_back(net->w.item<double>());
  }
  return losses;
}

inline double mse(const xg::Tensor& a, const xg::Tensor& b) { return xg::mean((a - b) * (a - b)).item<double>(); }

}  // namespace attention_pooling
