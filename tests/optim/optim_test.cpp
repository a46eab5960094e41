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
  CHECK(least_squares<optim::RAdam>(optim::RAdamOptions(0.1), 500) < 1e-4);
  CHECK(least_squares<optim::NAdam>(optim::NAdamOptions(0.1), 500) < 1e-4);
}

TEST_CASE("RAdam and NAdam: torch's defaults, option checks and their scalar state", "[optim]") {
  xg::Tensor w = xg::randn({3}).requires_grad_();
  optim::RAdam radam({w});
  CHECK(radam.hyper(0) == optim::Hyper{{"lr", 1e-3}, {"beta1", 0.9}, {"beta2", 0.999}, {"eps", 1e-8}, {"weight_decay", 0.0}});
  optim::NAdam nadam({w});
  CHECK(nadam.hyper(0) == optim::Hyper{{"lr", 2e-3}, {"beta1", 0.9}, {"beta2", 0.999}, {"eps", 1e-8},
                                       {"weight_decay", 0.0}, {"momentum_decay", 4e-3}});
  CHECK_THROWS_WITH(optim::RAdam({w}, optim::RAdamOptions().betas({0.9, 1.0})), Catch::Contains("RAdam") && Catch::Contains("beta2"));
  CHECK_THROWS_WITH(optim::NAdam({w}, optim::NAdamOptions().momentum_decay(-1)), Catch::Contains("NAdam") && Catch::Contains("momentum_decay"));

  // RAdam's first steps (ρₜ ≤ 5) are momentum SGD with a bias-corrected mean: p −= lr·g at step 1.
  const xg::Tensor before = w.detach().clone(), g = xg::randn({3});
  w.set_grad(g.clone());
  radam.step();
  CHECK(xg::allclose(w.detach(), before - 1e-3 * g, 1e-6, 1e-7));

  // NAdam keeps the product of its momentum schedule: saved, checked (a real in [0, 1]) and restored.
  w.set_grad(g.clone());
  nadam.step();
  const xg::NamedTensors sd = nadam.state_dict();
  auto mu = std::find_if(sd.begin(), sd.end(), [](auto& e) { return e.first == "state.0.0.mu_product"; });
  REQUIRE(mu != sd.end());
  CHECK(mu->second.item<double>() == Approx(0.9 * (1 - 0.5 * std::pow(0.96, 4e-3))).epsilon(1e-6));
  xg::NamedTensors bad = sd;
  for (auto& [k, v] : bad)
    if (k == "state.0.0.mu_product") v = xg::scalar_tensor(1.5, xg::kFloat64);
  optim::NAdam fresh({w});
  CHECK_THROWS_WITH(fresh.load_state_dict(bad), Catch::Contains("mu_product") && Catch::Contains("outside"));
  fresh.load_state_dict(sd);
  CHECK(fresh.state_dict().size() == sd.size());
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
  CHECK_THROWS_WITH(xg::nn::utils::clip_grad_norm_({a, b}, 1.0, INFINITY, true), Catch::Contains("non-finite"));
  // Float32 gradients of odd sizes (the vectorised 2-norm and its tail), norms 2, 3 and inf.
  for (double p : {2.0, 3.0, double(INFINITY)}) {
    xg::Tensor c = xg::zeros({1003}).requires_grad_(), d = xg::zeros({5, 7}).requires_grad_();
    c.set_grad(xg::randn({1003}));
    d.set_grad(xg::randn({5, 7}));
    double want = 0;
    for (const xg::Tensor& g : {c.grad(), d.grad()})
      for (int64_t i = 0; i < g.numel(); ++i) {
        const double v = std::fabs(static_cast<double>(g.data_ptr<float>()[i]));
        want = std::isinf(p) ? std::max(want, v) : want + std::pow(v, p);
      }
    if (!std::isinf(p)) want = std::pow(want, 1.0 / p);
    CHECK(xg::nn::utils::clip_grad_norm_({c, d}, 1e9, p) == Approx(want).epsilon(1e-12));
  }
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

TEST_CASE("optimizer state is checked entry by entry before anything loads", "[optim]") {
  xg::Tensor w = xg::randn({3, 2}).requires_grad_(), b = xg::randn({2}).requires_grad_();
  optim::Adam adam({{{w}, optim::AdamOptions(0.01)}, {{b}, optim::AdamOptions(0.02)}});
  w.set_grad(xg::ones({3, 2}));
  b.set_grad(xg::ones({2}));
  adam.step();
  const xg::NamedTensors good = adam.state_dict();
  auto with = [&](const std::string& key, const xg::Tensor& value) {
    xg::NamedTensors d = good;
    bool found = false;
    for (auto& [k, v] : d)
      if (k == key) v = value, found = true;
    if (!found) d.emplace_back(key, value);
    return d;
  };
  auto without = [&](const std::string& key) {
    xg::NamedTensors d;
    for (auto& [k, v] : good)
      if (k != key) d.emplace_back(k, v);
    return d;
  };
  optim::Adam fresh({{{w}, optim::AdamOptions(0.5)}, {{b}, optim::AdamOptions(0.5)}});
  const std::vector<std::pair<xg::NamedTensors, std::string>> bad{
      {with("state.0.0.exp_avg", xg::scalar_tensor(1.0)), "exp_avg"},               // 0-d where (3, 2) belongs
      {with("state.0.0.exp_avg_sq", xg::zeros({2, 3})), "exp_avg_sq"},              // wrong shape
      {with("state.0.0.exp_avg", xg::zeros({3, 2}, xg::kInt64)), "Int64"},          // wrong dtype
      {with("state.0.0.step", xg::scalar_tensor(NAN, xg::kFloat64)), "step"},       // NaN step
      {with("state.0.0.step", xg::scalar_tensor(-3.0, xg::kFloat64)), "step"},      // negative step
      {with("state.0.0.step", xg::scalar_tensor(2.5, xg::kFloat64)), "whole"},      // fractional step
      {with("state.0.0.step", xg::scalar_tensor(1e300, xg::kFloat64)), "step"},     // huge step
      {with("state.0.0.momentum_buffer", xg::zeros({3, 2})), "momentum_buffer"},    // not Adam's
      {with("state.7.0.exp_avg", xg::zeros({3, 2})), "names no parameter"},         // no group 7
      {with("state.0.5.exp_avg", xg::zeros({3, 2})), "names no parameter"},         // no parameter 5
      {with("group.1.lr", xg::scalar_tensor(-1.0, xg::kFloat64)), "learning rate"},  // out of range
      {with("group.1.beta1", xg::scalar_tensor(INFINITY, xg::kFloat64)), "beta1"},   // not finite
      {with("group.0.num_params", xg::scalar_tensor(1e30, xg::kFloat64)), "num_params"},
      {with("garbage", xg::zeros({1})), "unexpected entry"},
      {without("group.1.eps"), "group.1.eps"},                                      // missing
      {without("state.0.0.step"), "no step count"},
  };
  for (auto& [dict, needle] : bad) {
    INFO(needle);
    CHECK_THROWS_WITH(fresh.load_state_dict(dict), Catch::Contains(needle));
    CHECK(fresh.lr(0) == 0.5);  // all or nothing: group 0 untouched even when only group 1 is wrong
    CHECK(fresh.lr(1) == 0.5);
    CHECK(fresh.state_dict().size() == optim::Adam({{{w}, optim::AdamOptions(0.5)}, {{b}, optim::AdamOptions(0.5)}}).state_dict().size());
  }
  fresh.load_state_dict(good);  // and the good state still loads
  CHECK(fresh.lr(1) == 0.02);
  w.set_grad(xg::ones({3, 2}));
  b.set_grad(xg::ones({2}));
  fresh.step();
}

TEST_CASE("schedulers resume exactly and refuse bad saved state", "[optim]") {
  // A schedule restored mid-run continues as the uninterrupted one: warm restarts and sequential
  // schedules included (their own counters are saved too).
  auto run = [](auto make, int split) {
    xg::Tensor w = xg::zeros({2}).requires_grad_();
    optim::SGD opt({w}, optim::SGDOptions(0.1));
    auto sched = make(opt);
    for (int s = 0; s < split; ++s) sched->step();
    const auto opt_state = opt.state_dict();
    const auto sched_state = sched->state_dict();
    xg::Tensor w2 = xg::zeros({2}).requires_grad_();
    optim::SGD opt2({w2}, optim::SGDOptions(0.1));
    auto resumed = make(opt2);
    opt2.load_state_dict(opt_state);
    resumed->load_state_dict(sched_state);
    std::vector<double> a, b;
    for (int s = 0; s < 25; ++s) {
      sched->step(), resumed->step();
      a.push_back(opt.lr(0)), b.push_back(opt2.lr(0));
    }
    return std::pair{a, b};
  };
  auto warm = [](optim::Optimizer& o) {
    return std::make_shared<optim::CosineAnnealingWarmRestarts>(o, optim::CosineAnnealingWarmRestartsOptions(3).T_mult(2));
  };
  auto seq = [](optim::Optimizer& o) {
    auto a = std::make_shared<optim::LinearLR>(o, 0.1, 1.0, 4);
    auto b = std::make_shared<optim::CosineAnnealingWarmRestarts>(o, 5);
    return std::make_shared<optim::SequentialLR>(o, optim::SequentialLROptions({a, b}, {4}));
  };
  for (int split : {1, 4, 7, 11}) {
    INFO("split " << split);
    auto [a, b] = run(warm, split);
    CHECK(a == b);
    auto [c, d] = run(seq, split);
    CHECK(c == d);
  }
  xg::Tensor w = xg::zeros({2}).requires_grad_();
  optim::SGD opt({w}, optim::SGDOptions(0.1));
  optim::StepLR step(opt, 3);
  for (auto [key, value] : std::vector<std::pair<std::string, double>>{
           {"last_epoch", NAN}, {"last_epoch", 1e300}, {"last_epoch", -5}, {"last_epoch", 2.5}, {"base_lr.0", -1},
           {"last_lr.0", INFINITY}}) {
    INFO(key << " = " << value);
    xg::NamedTensors d = step.state_dict();
    for (auto& [k, v] : d)
      if (k == key) v = xg::scalar_tensor(value, xg::kFloat64);
    CHECK_THROWS_WITH(step.load_state_dict(d), Catch::Contains(key.substr(0, 6)) || Catch::Contains("finite"));
    CHECK(step.last_epoch() == 0);
  }
  optim::ReduceLROnPlateau plateau(opt);
  auto pd = plateau.state_dict();
  for (auto& [k, v] : pd)
    if (k == "num_bad_epochs") v = xg::scalar_tensor(-2.0, xg::kFloat64);
  CHECK_THROWS_WITH(plateau.load_state_dict(pd), Catch::Contains("num_bad_epochs"));
  pd = plateau.state_dict();
  for (auto& [k, v] : pd)
    if (k == "best") v = xg::scalar_tensor(NAN, xg::kFloat64);
  CHECK_THROWS_WITH(plateau.load_state_dict(pd), Catch::Contains("best"));
}
