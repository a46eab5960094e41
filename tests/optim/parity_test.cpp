// torch.optim parity: the same parameters and 50 gradients through every optimizer configuration
// give the same parameters (float64 to 1e-12 relative, float32 to 1e-6); every schedule gives
// the same lr sequence; save at step 25, load into a fresh optimizer, continue = uninterrupted.
#include <filesystem>
#include <functional>
#include <map>

#include "helpers.hpp"

namespace fs = std::filesystem;
namespace optim = xg::optim;
using MakeOpt = std::function<std::unique_ptr<optim::Optimizer>(const xg::TensorList&)>;

namespace {

const std::map<std::string, MakeOpt>& optimizers() {
  using namespace optim;
  static const std::map<std::string, MakeOpt> m = {
      {"sgd", [](auto& p) { return std::make_unique<SGD>(p, SGDOptions(0.1)); }},
      {"sgd_momentum", [](auto& p) { return std::make_unique<SGD>(p, SGDOptions(0.1).momentum(0.9)); }},
      {"sgd_dampening_wd", [](auto& p) { return std::make_unique<SGD>(p, SGDOptions(0.05).momentum(0.9).dampening(0.1).weight_decay(0.01)); }},
      {"sgd_nesterov", [](auto& p) { return std::make_unique<SGD>(p, SGDOptions(0.05).momentum(0.9).nesterov(true).weight_decay(0.001)); }},
      {"adagrad", [](auto& p) { return std::make_unique<Adagrad>(p, AdagradOptions(0.1)); }},
      {"adagrad_options", [](auto& p) {
         return std::make_unique<Adagrad>(p, AdagradOptions(0.1).lr_decay(0.01).weight_decay(0.01).initial_accumulator_value(0.1));
       }},
      {"rmsprop", [](auto& p) { return std::make_unique<RMSprop>(p, RMSpropOptions(0.01)); }},
      {"rmsprop_centered_momentum", [](auto& p) {
         return std::make_unique<RMSprop>(p, RMSpropOptions(0.01).momentum(0.9).centered(true).weight_decay(0.01));
       }},
      {"rmsprop_alpha", [](auto& p) { return std::make_unique<RMSprop>(p, RMSpropOptions(0.01).alpha(0.9).eps(1e-6)); }},
      {"adadelta", [](auto& p) { return std::make_unique<Adadelta>(p, AdadeltaOptions()); }},
      {"adadelta_options", [](auto& p) { return std::make_unique<Adadelta>(p, AdadeltaOptions(0.5).rho(0.95).weight_decay(0.01)); }},
      {"adam", [](auto& p) { return std::make_unique<Adam>(p, AdamOptions(0.01)); }},
      {"adam_amsgrad_wd", [](auto& p) { return std::make_unique<Adam>(p, AdamOptions(0.01).amsgrad(true).weight_decay(0.01)); }},
      {"adam_betas_maximize", [](auto& p) {
         return std::make_unique<Adam>(p, AdamOptions(0.001).betas({0.8, 0.99}).eps(1e-6).maximize(true));
       }},
      {"adamw", [](auto& p) { return std::make_unique<AdamW>(p, AdamWOptions(0.01)); }},
      {"adamw_options", [](auto& p) {
         return std::make_unique<AdamW>(p, AdamWOptions(0.01).betas({0.9, 0.98}).eps(1e-9).weight_decay(0.1).amsgrad(true));
       }},
      {"radam", [](auto& p) { return std::make_unique<RAdam>(p, RAdamOptions(0.01)); }},
      {"radam_options", [](auto& p) {
         return std::make_unique<RAdam>(p, RAdamOptions(0.02).betas({0.8, 0.99}).eps(1e-6).weight_decay(0.01));
       }},
      {"nadam", [](auto& p) { return std::make_unique<NAdam>(p, NAdamOptions()); }},
      {"nadam_options", [](auto& p) {
         return std::make_unique<NAdam>(p, NAdamOptions(0.01).betas({0.85, 0.99}).eps(1e-6).weight_decay(0.01).momentum_decay(0.01));
       }},
  };
  return m;
}

fs::path root() { return fs::path(XGRAD_FIXTURES) / "optim"; }

struct Run {
  xg::TensorList params, grads;
};

Run load_run(const std::string& tag) {
  Run r;
  for (int i = 0; i < 2; ++i) {
    r.params.push_back(xg::load_npy(root() / "data" / tag / (xg::str("p", i, ".npy"))).requires_grad_());
    r.grads.push_back(xg::load_npy(root() / "data" / tag / (xg::str("g", i, ".npy"))));
  }
  return r;
}

void apply_grads(Run& r, int64_t step) {
  for (int i = 0; i < 2; ++i) r.params[i].set_grad(r.grads[i].narrow(0, step, 1).squeeze(0).clone());
}

double max_rel(const xg::Tensor& a, const xg::Tensor& b) {
  xg::Tensor x = a.detach().to(xg::kFloat64), y = b.to(xg::kFloat64);
  return xg::amax(xg::abs(x - y) / (xg::abs(y) + 1e-30)).item<double>();
}

// Float32: the largest difference relative to the tensor's scale (PyTorch's vector kernels fuse
// some multiply-adds, so elements that cancel to near zero can differ by more, relatively).
double max_rel_to_scale(const xg::Tensor& a, const xg::Tensor& b) {
  xg::Tensor x = a.detach().to(xg::kFloat64), y = b.to(xg::kFloat64);
  return xg::amax(xg::abs(x - y)).item<double>() / xg::amax(xg::abs(y)).item<double>();
}

}  // namespace

TEST_CASE("optimizers match torch.optim over 50 steps", "[optim][parity]") {
  for (auto& [name, make] : optimizers()) {
    for (std::string tag : {"float64", "float32"}) {
      DYNAMIC_SECTION(name << " " << tag) {
        const double tol = tag == "float64" ? 1e-12 : 1e-6;
        Run r = load_run(tag);
        auto opt = make(r.params);
        for (int64_t step = 0; step < 50; ++step) {
          apply_grads(r, step);
          opt->step();
          if (step + 1 == 25 || step + 1 == 50)
            for (int i = 0; i < 2; ++i) {
              auto want = xg::load_npy(root() / name / tag / (xg::str("p", i, "_step", step + 1, ".npy")));
              INFO("param " << i << " after step " << step + 1);
              CHECK((tag == "float64" ? max_rel(r.params[i], want) : max_rel_to_scale(r.params[i], want)) < tol);
            }
        }
      }
    }
  }
}

TEST_CASE("save at step 25, load into a fresh optimizer, continue: identical to uninterrupted", "[optim]") {
  for (auto& [name, make] : optimizers()) {
    DYNAMIC_SECTION(name) {
      Run a = load_run("float64"), b = load_run("float64");
      auto oa = make(a.params);
      auto ob = make(b.params);
      std::string path = (fs::temp_directory_path() / (xg::str("xgrad_opt_", name, ".npz"))).string();
      for (int64_t step = 0; step < 50; ++step) {
        apply_grads(a, step);
        oa->step();
        apply_grads(b, step);
        ob->step();
        if (step == 24) {
          ob->save(path);
          ob = make(b.params);  // a fresh optimizer on the same parameters
          ob->load(path);
        }
      }
      for (int i = 0; i < 2; ++i) CHECK(xg::equal(a.params[i], b.params[i]));
      std::remove(path.c_str());
    }
  }
}

TEST_CASE("schedules give torch's lr sequences", "[optim][parity]") {
  using namespace optim;
  fs::path d = root() / "schedules";
  using Make = std::function<std::shared_ptr<LRScheduler>(Optimizer&)>;
  std::map<std::string, std::pair<Make, std::string>> cases = {
      {"lambda", {[](Optimizer& o) { return std::make_shared<LambdaLR>(o, [](int64_t e) { return std::pow(0.95, e); }); }, "sgd"}},
      {"step", {[](Optimizer& o) { return std::make_shared<StepLR>(o, StepLROptions(7).gamma(0.5)); }, "sgd"}},
      {"multistep", {[](Optimizer& o) { return std::make_shared<MultiStepLR>(o, std::vector<int64_t>{10, 25, 25, 40}, 0.3); }, "sgd"}},
      {"exponential", {[](Optimizer& o) { return std::make_shared<ExponentialLR>(o, 0.93); }, "sgd"}},
      {"cosine", {[](Optimizer& o) { return std::make_shared<CosineAnnealingLR>(o, CosineAnnealingLROptions(20).eta_min(0.001)); }, "sgd"}},
      {"warm_restarts", {[](Optimizer& o) { return std::make_shared<CosineAnnealingWarmRestarts>(o, 5, 2, 0.01); }, "sgd"}},
      {"linear", {[](Optimizer& o) { return std::make_shared<LinearLR>(o, 0.2, 1.0, 10); }, "sgd"}},
      {"onecycle", {[](Optimizer& o) { return std::make_shared<OneCycleLR>(o, 1.0, 61); }, "sgd_momentum"}},
      {"onecycle_adam_linear_three_phase", {[](Optimizer& o) {
         return std::make_shared<OneCycleLR>(
             o, OneCycleLROptions(0.01, 61).anneal_strategy(kLinear).three_phase(true).pct_start(0.25));
       }, "adam"}},
      {"sequential", {[](Optimizer& o) {
         auto warm = std::make_shared<LinearLR>(o, 0.1, 1.0, 5);
         auto cos = std::make_shared<CosineAnnealingLR>(o, 30);
         return std::make_shared<SequentialLR>(o, SequentialLROptions({warm, cos}, {5}));
       }, "sgd"}},
      {"noam", {[](Optimizer& o) { return std::make_shared<NoamLR>(o, 64, 10, 2.0); }, "sgd_lr1"}},
      {"warmup_cosine", {[](Optimizer& o) { return std::make_shared<LinearWarmupCosine>(o, LinearWarmupCosineOptions(10, 50).min_lr(0.001)); }, "sgd"}},
  };
  for (auto& [name, c] : cases) {
    DYNAMIC_SECTION(name) {
      xg::Tensor p = xg::zeros({2}).requires_grad_();
      std::unique_ptr<Optimizer> opt;
      if (c.second == "adam") opt = std::make_unique<Adam>(xg::TensorList{p}, AdamOptions(0.01));
      else if (c.second == "sgd_momentum") opt = std::make_unique<SGD>(xg::TensorList{p}, SGDOptions(0.1).momentum(0.9));
      else opt = std::make_unique<SGD>(xg::TensorList{p}, SGDOptions(c.second == "sgd_lr1" ? 1.0 : 0.1));
      auto sched = c.first(*opt);
      auto want_lr = xg::load_npy(d / (xg::str(name, "_lr.npy")));
      auto want_m = xg::load_npy(d / (xg::str(name, "_momentum.npy")));
      auto mom = [&] { auto h = opt->hyper(0); return h.count("beta1") ? h["beta1"] : h["momentum"]; };
      std::vector<double> lrs{opt->lr(0)}, moms{mom()};
      for (int step = 0; step < 60; ++step) {
        opt->step();
        sched->step();
        lrs.push_back(opt->lr(0));
        moms.push_back(mom());
      }
      CHECK(max_rel(xg::tensor(lrs, xg::kFloat64), want_lr) < 1e-12);
      CHECK(max_rel(xg::tensor(moms, xg::kFloat64), want_m) < 1e-12);
    }
  }
  SECTION("plateau") {
    xg::Tensor p = xg::zeros({2}).requires_grad_();
    SGD opt({p}, SGDOptions(0.1));
    ReduceLROnPlateau sched(opt, ReduceLROnPlateauOptions().patience(3).factor(0.5).cooldown(2));
    auto metrics = xg::load_npy(d / "plateau_metrics.npy");
    std::vector<double> lrs{opt.lr(0)};
    for (int step = 0; step < 60; ++step) {
      sched.step(metrics.data_ptr<double>()[step]);
      lrs.push_back(opt.lr(0));
    }
    CHECK(max_rel(xg::tensor(lrs, xg::kFloat64), xg::load_npy(d / "plateau_lr.npy")) < 1e-12);
  }
}
