// Convergence on least squares, clipping, parameter groups, and bad input.
#include <cmath>

#include "helpers.hpp"

namespace optim = xg::optim;

namespace {
// min ‖Xw − y‖² / n on a well-conditioned random problem; returns the final loss.
template <class Opt, class Options>
double least_squares(Options options, int steps) {
  xg::manual_seed(11);
  xg::Tensor X = xg::randn({64, 5}, xg::kFloat64), w_true = xg::randn({5}, xg::kFloat64);
  xg::Tensor y = xg::matmul(X, w_true);
  xg::Tensor w = xg::zeros({5}, xg::kFloat64).requires_grad_();
  Opt opt({w}, options);
  double loss = 0;
  for (int s = 0; s < steps; ++s) {
    opt.zero_grad();
    xg::Tensor l = xg::mse_loss(xg::matmul(X, w), y);
    l.backward();
    opt.step();
    loss = l.item<double>();
  }
  return loss;
}
}  // namespace

TEST_CASE("every optimizer converges on least squares", "[optim]") {
  CHECK(least_squares<optim::SGD>(optim::SGDOptions(0.1), 300) < 1e-6);
  CHECK(least_squares<optim::SGD>(optim::SGDOptions(0.05).momentum(0.9).nesterov(true), 300) < 1e-6);
  CHECK(least_squares<optim::Adagrad>(optim::AdagradOptions(0.5), 500) < 1e-4);
  CHECK(least_squares<optim::RMSprop>(optim::RMSpropOptions(0.01), 1500) < 1e-3);  // constant-size steps: it hovers
  CHECK(least_squares<optim::Adadelta>(optim::AdadeltaOptions(1.0), 3000) < 1e-2);
  CHECK(least_squares<optim::Adam>(optim::AdamOptions(0.1), 500) < 1e-4);
  CHECK(least_squares<optim::AdamW>(optim::AdamWOptions(0.1).weight_decay(0.0), 500) < 1e-4);
}

TEST_CASE("step with a closure returns the loss", "[optim]") {
  xg::Tensor w = xg::ones({3}, xg::kFloat64).requires_grad_();
  optim::SGD opt({w}, optim::SGDOptions(0.1));
  double loss = opt.step([&] {
    opt.zero_grad();
    xg::Tensor l = (w * w).sum();
    l.backward();
    return l.item<double>();
  });
  CHECK(loss == 3.0);
  CHECK(xg::allclose(w, xg::full({3}, 0.8, xg::kFloat64)));
}

TEST_CASE("parameter groups with their own options; weight-decay split", "[optim]") {
  xg::nn::Linear lin(4, 3);
  auto [decay, no_decay] = optim::split_weight_decay(lin->named_parameters());
  CHECK(decay.size() == 1);
  CHECK(no_decay.size() == 1);
  optim::AdamW opt({{decay, optim::AdamWOptions(1e-3).weight_decay(0.1)}, {no_decay, optim::AdamWOptions(1e-3).weight_decay(0.0)}});
  CHECK(opt.num_param_groups() == 2);
  CHECK(opt.hyper(1).at("weight_decay") == 0.0);
  opt.set_lr(0, 0.5);
  CHECK(opt.lr(0) == 0.5);
  CHECK(opt.lr(1) == 1e-3);
}

TEST_CASE("clip_grad_norm_ scales all gradients together; clip_grad_value_ clamps", "[optim]") {
  xg::Tensor a = xg::zeros({2}, xg::kFloat64).requires_grad_(), b = xg::zeros({1}, xg::kFloat64).requires_grad_();
  a.set_grad(xg::tensor({3.0, 0.0}, xg::kFloat64));
  b.set_grad(xg::tensor({4.0}, xg::kFloat64));
  double norm = xg::nn::utils::clip_grad_norm_({a, b}, 1.0);
  CHECK(norm == Approx(5.0));
  CHECK(a.grad().data_ptr<double>()[0] == Approx(0.6).epsilon(1e-6));
  CHECK(b.grad().data_ptr<double>()[0] == Approx(0.8).epsilon(1e-6));
  CHECK(xg::nn::utils::clip_grad_norm_({a, b}, 10.0, INFINITY) == Approx(0.8).epsilon(1e-6));
  b.set_grad(xg::tensor({NAN}, xg::kFloat64));
  CHECK_THROWS_WITH(xg::nn::utils::clip_grad_norm_({a, b}, 1.0, 2.0, true), Catch::Contains("non-finite"));
  a.set_grad(xg::tensor({3.0, -7.0}, xg::kFloat64));
  xg::nn::utils::clip_grad_value_({a}, 2.0);
  CHECK(xg::equal(a.grad(), xg::tensor({2.0, -2.0}, xg::kFloat64)));
}

TEST_CASE("bad optimizer input is a clear error", "[optim]") {
  xg::Tensor w = xg::zeros({3}).requires_grad_();
  CHECK_THROWS_WITH(optim::SGD({w}, optim::SGDOptions(-0.1)), Catch::Contains("learning rate"));
  CHECK_THROWS_WITH(optim::Adam({w}, optim::AdamOptions(NAN)), Catch::Contains("learning rate"));
  CHECK_THROWS_WITH(optim::Adam({w}, optim::AdamOptions().betas({0.9, 1.0})), Catch::Contains("beta"));
  CHECK_THROWS_WITH(optim::Adam({w}, optim::AdamOptions().betas({-0.1, 0.9})), Catch::Contains("beta"));
  CHECK_THROWS_WITH(optim::SGD({w, w}, optim::SGDOptions(0.1)), Catch::Contains("more than once"));
  CHECK_THROWS_WITH(optim::SGD({xg::zeros({2})}, optim::SGDOptions(0.1)), Catch::Contains("requires grad"));
  CHECK_THROWS_WITH(optim::SGD({w}, optim::SGDOptions(0.1).nesterov(true)), Catch::Contains("Nesterov"));
  xg::Tensor v = xg::zeros({4}).requires_grad_();
  optim::Adam a({w}, optim::AdamOptions());
  w.set_grad(xg::ones({3}));
  a.step();
  optim::Adam b({v}, optim::AdamOptions());
  CHECK_THROWS_WITH(b.load_state_dict(a.state_dict()), Catch::Contains("different set of parameters"));
  optim::Adam c({w, v}, optim::AdamOptions());
  CHECK_THROWS_WITH(c.load_state_dict(a.state_dict()), Catch::Contains("different set of parameters"));
}

TEST_CASE("hyper-parameters come from one field list: lookup, partial updates, validation", "[optim]") {
  xg::Tensor w = xg::zeros({3}).requires_grad_();
  optim::Adam adam({w}, optim::AdamOptions(0.01).betas({0.8, 0.99}).amsgrad(true));
  optim::Hyper h = adam.hyper(0);
  CHECK(h == optim::Hyper{{"lr", 0.01}, {"beta1", 0.8}, {"beta2", 0.99}, {"eps", 1e-8}, {"weight_decay", 0.0},
                          {"amsgrad", 1.0}, {"maximize", 0.0}});
  adam.set_hyper(0, {{"beta1", 0.5}});  // names not given keep their values
  CHECK(adam.options(0).betas().first == 0.5);
  CHECK(adam.options(0).amsgrad());
  CHECK_THROWS_WITH(adam.set_hyper(0, {{"eps", -1.0}}), Catch::Contains("Adam") && Catch::Contains("eps"));
  CHECK(adam.options(0).eps() == 1e-8);  // a refused update changes nothing
  optim::AdamW adamw({w}, optim::AdamWOptions());
  CHECK(adamw.hyper(0).at("weight_decay") == 0.01);
  CHECK_THROWS_WITH(optim::AdamW({w}, optim::AdamWOptions().weight_decay(-1)), Catch::Contains("AdamW"));
  CHECK(optim::SGD({w}, optim::SGDOptions(0.1).nesterov(true).momentum(0.9)).hyper(0).at("nesterov") == 1.0);
}

TEST_CASE("ReduceLROnPlateau: mode kMax and absolute thresholds", "[optim]") {
  xg::Tensor w = xg::zeros({3}).requires_grad_();
  optim::SGD opt({w}, optim::SGDOptions(1.0));
  optim::ReduceLROnPlateau up(opt, optim::ReduceLROnPlateauOptions().mode(optim::kMax).patience(1));
  for (double m : {1.0, 2.0, 3.0, 4.0}) up.step(m);  // improving accuracy: no change
  CHECK(opt.lr(0) == 1.0);
  for (double m : {3.0, 3.0}) up.step(m);  // two bad epochs > patience 1
  CHECK(opt.lr(0) == Approx(0.1));
  optim::SGD opt2({w}, optim::SGDOptions(1.0));
  optim::ReduceLROnPlateau abs(opt2, optim::ReduceLROnPlateauOptions().threshold_mode(optim::kAbs).threshold(0.5).patience(0));
  abs.step(10.0);
  abs.step(9.7);  // better by 0.3 < 0.5: not an improvement in absolute mode
  CHECK(opt2.lr(0) == Approx(0.1));
}
