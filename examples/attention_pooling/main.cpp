// d2l 10.2, attention pooling: average pooling, the non-parametric Nadaraya–Watson estimator
// (Gaussian kernel, w = 1) and the parametric one (w learned by SGD) on d2l's data; the fitted
// curves and the attention weights (test inputs × training inputs) as pictures.
//   attention_pooling [--seed 0] [--epochs 5] [--lr 0.5] [--n-train 50] [--runs runs] [--name attention_pooling]
#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>

#include "attention_pooling/nadaraya_watson.hpp"
#include "common/plot.hpp"

namespace ap = attention_pooling;
namespace ex = xgrad::examples;
namespace xg = xgrad;

namespace {

std::vector<double> values(const xg::Tensor& t) {
  const xg::Tensor c = t.detach().to(xg::kFloat64).contiguous();
  return {c.data_ptr<double>(), c.data_ptr<double>() + c.numel()};
}

// One panel as d2l's plot_kernel_reg: the truth, the estimate, the training points.
ex::Panel fit_panel(const std::string& title, const ap::Data& d, const xg::Tensor& y_hat) {
  ex::Panel p(title, "x", "y");
  p.series = {{"truth", values(d.x_test), values(d.y_truth)},
              {"prediction", values(d.x_test), values(y_hat)},
              {"training data", values(d.x_train), values(d.y_train), true, false}};
  p.x_lo = 0, p.x_hi = 5, p.y_lo = -1, p.y_hi = 5;
  return p;
}

// Test inputs × training inputs, labelled every tenth row and column; the colours span 0 to the
// largest weight, as matplotlib's imshow in d2l's show_heatmaps.
ex::Heatmap heatmap(const std::string& title, const ap::Data& d, const xg::Tensor& weights) {
  const double top = xg::amax(weights).item<double>();
  char scale[32];
  std::snprintf(scale, sizeof scale, " (dark red = %.2f)", top);
  ex::Heatmap h{title + scale, {}, {}, values(weights), top};
  auto labels = [](const xg::Tensor& x) {
    std::vector<std::string> out;
    const auto v = values(x);
    for (size_t i = 0; i < v.size(); ++i) {
      char buf[16];
      std::snprintf(buf, sizeof buf, "%.1f", v[i]);
      out.push_back(i % 10 == 0 ? buf : "");
    }
    return out;
  };
  h.row_labels = labels(d.x_test), h.col_labels = labels(d.x_train);
  return h;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"d2l 10.2: attention pooling by Nadaraya-Watson kernel regression"};
  uint64_t seed = 0;
  int epochs = 5;
  double lr = 0.5;
  int64_t n_train = 50;
  std::string runs = "runs", name = "attention_pooling";
  app.add_option("--seed", seed, "seed for the data and w's initial value")->capture_default_str();
  app.add_option("--epochs", epochs, "SGD epochs (full batch) for the parametric estimator")->check(CLI::Range(0, 100000))->capture_default_str();
  app.add_option("--lr", lr, "SGD learning rate")->check(CLI::Range(0.0, 100.0))->capture_default_str();
  app.add_option("--n-train", n_train, "training examples")->check(CLI::Range(2, 100000))->capture_default_str();
  app.add_option("--runs", runs, "folder that holds run folders")->capture_default_str();
  app.add_option("--name", name, "run folder name")->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  try {
    xg::manual_seed(seed);
    const ap::Data d = ap::make_data(n_train);
    std::printf("%lld training examples, %lld test inputs (seed %llu)\n", static_cast<long long>(n_train),
                static_cast<long long>(d.x_test.size(0)), static_cast<unsigned long long>(seed));

    // Average pooling: every query gets the mean of the training outputs.
    const xg::Tensor avg = xg::full({d.x_test.size(0)}, xg::mean(d.y_train).item<double>(), xg::kFloat64);
    // Non-parametric: Gaussian kernel of width 1, every training example a key.
    const xg::Tensor w_fixed = xg::ones({1}, xg::kFloat64);
    const xg::Tensor nonparam_weights = ap::gaussian_attention(d.x_test, d.x_train, w_fixed);
    const xg::Tensor nonparam = ap::pool(nonparam_weights, d.y_train);

    // Parametric: w learned on the leave-one-out estimates.
    ap::NWKernelRegression net;
    const double w0 = net->w.item<double>();
    std::vector<double> ws;
    const auto losses = ap::train(net, d, epochs, lr, &ws);
    for (size_t e = 0; e < losses.size(); ++e)
      std::printf("epoch %zu, loss %.6f, w %.4f\n", e + 1, losses[e], ws[e]);
    xg::Tensor param;
    {
      xg::NoGradGuard no_grad;
      param = net(d.x_test, d.x_train.unsqueeze(0).expand({d.x_test.size(0), n_train}),
                  d.y_train.unsqueeze(0).expand({d.x_test.size(0), n_train}));
    }
    std::printf("w: %.4f at the start, %.4f learned\n", w0, net->w.item<double>());
    std::printf("test MSE against the truth: average pooling %.4f, non-parametric %.4f, parametric %.4f\n",
                ap::mse(avg, d.y_truth), ap::mse(nonparam, d.y_truth), ap::mse(param, d.y_truth));

    const std::filesystem::path dir = std::filesystem::path(runs) / name;
    std::filesystem::create_directories(dir);
    ex::write_svg((dir / "fits.svg").string(),
                  {fit_panel("Average pooling", d, avg), fit_panel("Non-parametric attention pooling (w = 1)", d, nonparam),
                   fit_panel("Parametric attention pooling (w learned)", d, param)},
                  3);
    ex::write_heatmaps_svg((dir / "attention.svg").string(), "Attention weights: test inputs (rows) × training inputs",
                           {heatmap("non-parametric (w = 1)", d, nonparam_weights),
                            heatmap("parametric (w learned)", d, net->attention_weights)},
                           2);
    std::printf("pictures: %s, %s\n", (dir / "fits.svg").c_str(), (dir / "attention.svg").c_str());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
