// The optimizer tour of the d2l optimisation chapter, from the command line:
//   1. trajectories of GD, momentum, AdaGrad, RMSProp, Adadelta and Adam on f = 0.1·x1² + 2·x2²
//   2. minibatch linear regression with every optimizer (generated data, or --csv file)
//   3. the shape of each learning-rate schedule
// Each writes an SVG into --out and prints what it measured.
#include <CLI/CLI.hpp>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <xgrad/xgrad.hpp>

#include "common/plot.hpp"

namespace xg = xgrad;
namespace optim = xg::optim;
using xg::examples::Panel;
using xg::examples::Series;

namespace {

using MakeOpt = std::function<std::unique_ptr<optim::Optimizer>(const xg::TensorList&)>;

// ---------------------------------------------------------------- 1. trajectories

void trajectories(const std::string& out, int steps) {
  auto f = [](double x1, double x2) { return 0.1 * x1 * x1 + 2 * x2 * x2; };
  // The chapter's hyper-parameters for this function.
  std::vector<std::pair<std::string, MakeOpt>> opts = {
      {"GD (lr 0.4)", [](auto& p) { return std::make_unique<optim::SGD>(p, optim::SGDOptions(0.4)); }},
      {"momentum (lr 0.6, 0.5)", [](auto& p) { return std::make_unique<optim::SGD>(p, optim::SGDOptions(0.6).momentum(0.5)); }},
      {"AdaGrad (lr 0.4)", [](auto& p) { return std::make_unique<optim::Adagrad>(p, optim::AdagradOptions(0.4)); }},
      {"RMSProp (lr 0.4, 0.9)", [](auto& p) { return std::make_unique<optim::RMSprop>(p, optim::RMSpropOptions(0.4).alpha(0.9)); }},
      {"Adadelta (rho 0.9, lr 10)", [](auto& p) { return std::make_unique<optim::Adadelta>(p, optim::AdadeltaOptions(10.0).rho(0.9)); }},
      {"Adam (lr 0.5)", [](auto& p) { return std::make_unique<optim::Adam>(p, optim::AdamOptions(0.5)); }},
  };
  Panel panel{"f(x1, x2) = 0.1 x1^2 + 2 x2^2, " + std::to_string(steps) + " steps from (-5, -2)", "x1", "x2"};
  panel.contour = f;
  panel.contour_levels = {0.1, 0.5, 1, 2, 4, 6, 9, 12, 16};
  panel.x_lo = -5.5, panel.x_hi = 1.5, panel.y_lo = -3, panel.y_hi = 3;
  std::printf("%-28s %12s %12s %12s\n", "optimizer", "x1", "x2", "f");
  for (auto& [name, make] : opts) {
    xg::Tensor x = xg::tensor({-5.0, -2.0}, xg::kFloat64).requires_grad_();
    auto opt = make({x});
    Series s{name, {-5.0}, {-2.0}, true};
    for (int t = 0; t < steps; ++t) {
      opt->zero_grad();
      (0.1 * x.narrow(0, 0, 1) * x.narrow(0, 0, 1) + 2.0 * x.narrow(0, 1, 1) * x.narrow(0, 1, 1)).sum().backward();
      opt->step();
      s.x.push_back(x.data_ptr<double>()[0]);
      s.y.push_back(x.data_ptr<double>()[1]);
    }
    std::printf("%-28s %12.5f %12.5f %12.6f\n", name.c_str(), s.x.back(), s.y.back(), f(s.x.back(), s.y.back()));
    panel.series.push_back(std::move(s));
  }
  xg::examples::write_svg(out + "/trajectories.svg", {panel}, 1);
}

// ---------------------------------------------------------------- 2. minibatch regression

// Standardised columns: zero mean, unit variance.
xg::Tensor standardise(const xg::Tensor& t) { return (t - t.mean({0}, true)) / (xg::sqrt(t.var({0}, 1, true)) + 1e-8); }

// Reads a whitespace- or comma-separated table; the last column is the target. Features and
// target are standardised, as d2l does for the airfoil data.
std::pair<xg::Tensor, xg::Tensor> read_csv(const std::string& path) {
  std::ifstream f(path);
  if (!f) throw xg::Error("optimizers: cannot open --csv file '" + path + "'");
  std::vector<std::vector<double>> rows;
  std::string line;
  size_t lineno = 0;
  while (std::getline(f, line)) {
    ++lineno;
    for (char& c : line)
      if (c == ',' || c == '\t' || c == ';') c = ' ';
    std::istringstream is(line);
    std::vector<double> r;
    std::string tok;
    while (is >> tok) {
      char* end = nullptr;
      double v = std::strtod(tok.c_str(), &end);
      if (*end != '\0') {
        r.clear();
        break;  // a header or a non-numeric row
      }
      r.push_back(v);
    }
    if (r.empty()) continue;
    if (!rows.empty() && r.size() != rows[0].size())
      throw xg::Error(xg::str("optimizers: line ", lineno, " of '", path, "' has ", r.size(), " columns, expected ",
                              rows[0].size()));
    rows.push_back(r);
  }
  if (rows.size() < 2 || rows[0].size() < 2)
    throw xg::Error("optimizers: '" + path + "' needs at least 2 numeric rows of at least 2 columns");
  const int64_t n = static_cast<int64_t>(rows.size()), d = static_cast<int64_t>(rows[0].size());
  std::vector<double> flat;
  for (auto& r : rows) flat.insert(flat.end(), r.begin(), r.end());
  xg::Tensor t = xg::tensor(flat, xg::kFloat32).reshape({n, d});
  t = standardise(t);
  return {t.narrow(1, 0, d - 1), t.narrow(1, d - 1, 1).squeeze(1)};
}

// y = X·w + 4.2 + noise over 5 features, standardised like the CSV path.
std::pair<xg::Tensor, xg::Tensor> generated_data(int64_t n) {
  xg::Tensor X = xg::randn({n, 5});
  xg::Tensor w = xg::tensor({2.0, -3.4, 1.5, 0.5, -1.0});
  xg::Tensor y = xg::matmul(X, w) + 4.2 + xg::randn({n}) * 0.5;
  xg::Tensor t = standardise(xg::cat({X, y.unsqueeze(1)}, 1));
  return {t.narrow(1, 0, 5), t.narrow(1, 5, 1).squeeze(1)};
}

void regression(const std::string& out, const std::string& csv, int epochs, int64_t batch) {
  xg::manual_seed(0);
  const auto data = csv.empty() ? generated_data(1500) : read_csv(csv);  // named: lambdas below use X and y
  const xg::Tensor &X = data.first, &y = data.second;
  const int64_t n = X.size(0), d = X.size(1);
  std::printf("%s: %lld examples, %lld features, batch %lld, %d epochs\n", csv.empty() ? "generated data" : csv.c_str(),
              static_cast<long long>(n), static_cast<long long>(d), static_cast<long long>(batch), epochs);
  std::vector<std::pair<std::string, MakeOpt>> opts = {
      {"SGD (lr 0.05)", [](auto& p) { return std::make_unique<optim::SGD>(p, optim::SGDOptions(0.05)); }},
      {"momentum (0.005, 0.9)", [](auto& p) { return std::make_unique<optim::SGD>(p, optim::SGDOptions(0.005).momentum(0.9)); }},
      {"AdaGrad (0.1)", [](auto& p) { return std::make_unique<optim::Adagrad>(p, optim::AdagradOptions(0.1)); }},
      {"RMSProp (0.01, 0.9)", [](auto& p) { return std::make_unique<optim::RMSprop>(p, optim::RMSpropOptions(0.01).alpha(0.9)); }},
      {"Adadelta (rho 0.9)", [](auto& p) { return std::make_unique<optim::Adadelta>(p, optim::AdadeltaOptions(1.0).rho(0.9)); }},
      {"Adam (0.01)", [](auto& p) { return std::make_unique<optim::Adam>(p, optim::AdamOptions(0.01)); }},
  };
  Panel by_epoch{"training loss (full data) against epochs", "epoch", "loss"};
  Panel by_time{"training loss against time", "seconds", "loss"};
  by_epoch.log_y = by_time.log_y = true;
  std::printf("%-24s %12s %12s\n", "optimizer", "final loss", "seconds");
  for (auto& [name, make] : opts) {
    xg::manual_seed(1);
    xg::nn::Linear model(d, 1);
    auto opt = make(model->parameters());
    auto full_loss = [&] {
      xg::NoGradGuard ng;
      return xg::mse_loss(model(X).squeeze(1), y).item<double>() / 2;
    };
    Series se{name, {0.0}, {full_loss()}}, st{name, {0.0}, {full_loss()}};
    double measured = 0;  // time spent training, without the evaluations
    for (int e = 0; e < epochs; ++e) {
      std::vector<int64_t> order(n);
      for (int64_t i = 0; i < n; ++i) order[i] = i;
      std::shuffle(order.begin(), order.end(), xg::global_generator());
      xg::Tensor perm = xg::tensor(order);
      for (int64_t s = 0; s < n; s += batch) {
        auto t0 = std::chrono::steady_clock::now();
        xg::Tensor idx = perm.narrow(0, s, std::min(batch, n - s));
        opt->zero_grad();
        xg::Tensor loss = xg::mse_loss(model(X.index_select(0, idx)).squeeze(1), y.index_select(0, idx)) * 0.5;
        loss.backward();
        opt->step();
        measured += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        if ((s / batch) % 10 == 9 || s + batch >= n) {
          double l = full_loss();
          se.x.push_back(e + static_cast<double>(std::min(s + batch, n)) / n);
          se.y.push_back(l);
          st.x.push_back(measured);
          st.y.push_back(l);
        }
      }
    }
    std::printf("%-24s %12.6f %12.4f\n", name.c_str(), se.y.back(), measured);
    by_epoch.series.push_back(std::move(se));
    by_time.series.push_back(std::move(st));
  }
  xg::examples::write_svg(out + "/regression.svg", {by_epoch, by_time}, 2);
}

// ---------------------------------------------------------------- 3. schedules

void schedules(const std::string& out, int steps) {
  using Make = std::function<std::shared_ptr<optim::LRScheduler>(optim::Optimizer&)>;
  std::vector<std::pair<std::string, Make>> all = {
      {"StepLR(30, 0.5)", [](auto& o) { return std::make_shared<optim::StepLR>(o, 30, 0.5); }},
      {"ExponentialLR(0.97)", [](auto& o) { return std::make_shared<optim::ExponentialLR>(o, 0.97); }},
      {"CosineAnnealingLR", [steps](auto& o) { return std::make_shared<optim::CosineAnnealingLR>(o, steps); }},
      {"WarmRestarts(20, 2)", [](auto& o) { return std::make_shared<optim::CosineAnnealingWarmRestarts>(o, 20, 2); }},
      {"OneCycleLR", [steps](auto& o) { return std::make_shared<optim::OneCycleLR>(o, 0.1, steps + 1); }},
      {"warmup 10 + cosine", [steps](auto& o) { return std::make_shared<optim::LinearWarmupCosine>(o, 10, steps, 1e-3); }},
      {"Noam(d=64, warmup 10)/10", [](auto& o) { return std::make_shared<optim::NoamLR>(o, 64, 10, 0.1); }},
  };
  Panel p{"learning-rate schedules (base lr 0.1)", "step", "lr"};
  for (auto& [name, make] : all) {
    xg::Tensor w = xg::zeros({1}).requires_grad_();
    optim::SGD opt({w}, optim::SGDOptions(0.1).momentum(0.9));
    auto sched = make(opt);
    Series s{name, {0.0}, {opt.lr(0)}};
    for (int t = 1; t <= steps; ++t) {
      sched->step();
      s.x.push_back(t);
      s.y.push_back(opt.lr(0));
    }
    std::printf("%-26s lr at 0, %d/2, %d: %.5f %.5f %.5f\n", name.c_str(), steps, steps, s.y[0], s.y[steps / 2],
                s.y.back());
    p.series.push_back(std::move(s));
  }
  xg::examples::write_svg(out + "/schedules.svg", {p}, 1);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"xgrad optimizer tour: the d2l optimisation chapter's experiments"};
  std::string experiment = "all", out = "runs/optimizers", csv;
  int steps = 20, epochs = 2, schedule_steps = 100;
  int64_t batch = 10;
  app.add_option("--experiment", experiment, "which experiment to run")
      ->check(CLI::IsMember({"all", "trajectories", "regression", "schedules"}))
      ->capture_default_str();
  app.add_option("--out", out, "folder for the SVG pictures")->capture_default_str();
  app.add_option("--csv", csv, "regression data: whitespace- or comma-separated, last column the target")
      ->check(CLI::ExistingFile);
  app.add_option("--steps", steps, "optimizer steps on the 2-D function")->check(CLI::Range(1, 100000))->capture_default_str();
  app.add_option("--epochs", epochs, "regression epochs")->check(CLI::Range(1, 10000))->capture_default_str();
  app.add_option("--batch-size", batch, "regression minibatch size")->check(CLI::Range(1, 1000000))->capture_default_str();
  app.add_option("--schedule-steps", schedule_steps, "steps shown per schedule")->check(CLI::Range(10, 100000))->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  try {
    std::filesystem::create_directories(out);
    if (experiment == "all" || experiment == "trajectories") {
      std::printf("== 1. trajectories on f(x1, x2) = 0.1 x1^2 + 2 x2^2\n");
      trajectories(out, steps);
    }
    if (experiment == "all" || experiment == "regression") {
      std::printf("\n== 2. minibatch linear regression\n");
      regression(out, csv, epochs, batch);
    }
    if (experiment == "all" || experiment == "schedules") {
      std::printf("\n== 3. learning-rate schedules\n");
      schedules(out, schedule_steps);
    }
    std::printf("\npictures in %s/\n", out.c_str());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
