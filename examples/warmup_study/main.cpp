// Why Transformers need learning-rate warmup, and what removes the need: a grid over {post-LN,
// pre-LN} × {no warmup, linear warmup} × {Adam, RAdam} × peak learning rates × seeds on the
// translate example's dates task, each run the same fixed number of steps, then its validation loss
// and exact match; plus each layer's gradient norm at initialisation for post-LN and pre-LN. Tests
// Xiong et al. 2020 (post-LN needs warmup; pre-LN does not; post-LN's gradients near the output are
// large at initialisation) and Liu et al. 2020 (RAdam makes warmup unnecessary).
//   warmup_study [--steps 200] [--warmup 50] [--lrs 1e-3,3e-3,1e-2] [--seeds 2] [--layers 2] ...
// Writes runs/warmup_study/{results.csv, study.svg, grad_norms.svg} and prints the table.
#include <CLI/CLI.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>

#include "common/plot.hpp"
#include "translate/train.hpp"

using namespace translate;
namespace fs = std::filesystem;

namespace {

struct Setting {
  bool pre_ln;
  int64_t warmup;
  std::string optimizer;
  std::string label() const {
    return xg::str(pre_ln ? "pre-LN" : "post-LN", ", ", warmup > 0 ? "warmup" : "no warmup", ", ",
                   optimizer == "adam" ? "Adam" : "RAdam");
  }
};

struct Result {
  double valid_loss = NAN, exact = 0, train_loss = NAN;  // train_loss: the mean over the run's steps
};

// One run: a fresh model from `seed`, `steps` steps of the setting at peak `lr` (constant after
// the warmup), then the validation pairs decoded greedily.
Result train_once(const Dataset& d, ModelConfig cfg, const Setting& s, double lr, int64_t steps, int64_t batch,
                  uint64_t seed) {
  xg::manual_seed(seed);
  cfg.norm_first = s.pre_ln;
  Translator model = make_translator(d.src_vocab.size(), d.tgt_vocab.size(), cfg);
  TrainOptions o;
  o.optimizer = s.optimizer, o.schedule = "constant", o.warmup = s.warmup, o.lr = lr, o.batch = batch, o.seed = seed;
  const int64_t per_epoch = (static_cast<int64_t>(d.train.src.size()) + batch - 1) / batch;
  o.epochs = static_cast<int>((steps + per_epoch - 1) / per_epoch), o.max_steps = steps;
  o.eval_every = 1000000000, o.target = 0, o.verbose = false;
  Trainer trainer(model, d, o);
  const auto v = trainer.run();
  Result r;
  r.valid_loss = v.values.at(0), r.exact = v.values.at(2);
  r.train_loss = trainer.metrics().column("train_loss").back();
  return r;
}

// The gradient norm of each layer's parameters after one forward and backward at initialisation
// (the mean over `seeds` models): encoder layers, then decoder layers.
std::vector<double> layer_grad_norms(const Dataset& d, ModelConfig cfg, bool pre_ln, int64_t batch, int seeds) {
  cfg.norm_first = pre_ln;
  std::vector<double> norms(static_cast<size_t>(2 * cfg.layers), 0.0);
  for (int s = 0; s < seeds; ++s) {
    xg::manual_seed(1000 + static_cast<uint64_t>(s));
    auto model = std::make_shared<Seq2SeqImpl>(d.src_vocab.size(), d.tgt_vocab.size(), cfg);
    std::vector<int64_t> idx(static_cast<size_t>(batch));
    for (int64_t i = 0; i < batch; ++i) idx[static_cast<size_t>(i)] = i;
    const Batch b = make_batch(d.train, idx);
    const xg::Tensor logits = model->forward(b);
    xg::cross_entropy(logits.reshape({-1, logits.size(2)}), b.tgt_out.reshape({-1}),
                      xg::CrossEntropyLossOptions().ignore_index(Vocab::kPad))
        .backward();
    size_t k = 0;
    auto add = [&](const xg::nn::Module& layer) {
      double sq = 0;
      for (auto& p : layer.parameters()) sq += xg::sum(p.grad().to(xg::kFloat64).pow(2.0)).template item<double>();
      norms[k++] += std::sqrt(sq) / seeds;
    };
    for (auto& layer : *model->transformer->encoder->layers) add(*layer);
    for (auto& layer : *model->transformer->decoder->layers) add(*layer);
  }
  return norms;
}

std::vector<double> parse_list(const std::string& s) {
  std::vector<double> out;
  std::stringstream ss(s);
  for (std::string item; std::getline(ss, item, ',');) {
    char* end = nullptr;
    const double v = std::strtod(item.c_str(), &end);
    XG_CHECK(!item.empty() && end == item.c_str() + item.size() && v > 0 && v < 1, "--lrs: '", item,
             "' is not a learning rate in (0, 1)");
    out.push_back(v);
  }
  XG_CHECK(!out.empty(), "--lrs: no learning rate given");
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"The warmup study: post-LN/pre-LN x warmup x Adam/RAdam x learning rate on the dates task"};
  int64_t steps = 200, warmup = 50, batch = 64, n_train = 20000, n_eval = 500, grad_layers = 6;
  int seeds = 2;
  std::string lrs_text = "1e-3,3e-3,1e-2", runs = "runs", name = "warmup_study";
  ModelConfig cfg;
  app.add_option("--steps", steps, "steps per run (the fixed budget)")->check(CLI::Range(1, 1000000))->capture_default_str();
  app.add_option("--warmup", warmup, "linear warmup steps in the warmup settings")->check(CLI::Range(1, 1000000))->capture_default_str();
  app.add_option("--lrs", lrs_text, "peak learning rates, comma-separated")->capture_default_str();
  app.add_option("--seeds", seeds, "seeds per point (model initialisation and data order)")->check(CLI::Range(1, 100))->capture_default_str();
  app.add_option("--batch-size", batch, "examples per step")->check(CLI::Range(1, 4096))->capture_default_str();
  app.add_option("--d-model", cfg.d_model, "model width")->check(CLI::Range(8, 1024))->capture_default_str();
  app.add_option("--heads", cfg.heads, "attention heads")->check(CLI::Range(1, 64))->capture_default_str();
  app.add_option("--layers", cfg.layers, "encoder and decoder layers")->check(CLI::Range(1, 24))->capture_default_str();
  app.add_option("--ffn", cfg.ffn, "feed-forward width")->check(CLI::Range(1, 8192))->capture_default_str();
  app.add_option("--grad-layers", grad_layers, "layers of the models whose gradient norms are measured")->check(CLI::Range(1, 48))->capture_default_str();
  app.add_option("--train-size", n_train, "generated training pairs")->check(CLI::Range(100, 1000000))->capture_default_str();
  app.add_option("--eval-size", n_eval, "generated validation pairs")->check(CLI::Range(10, 100000))->capture_default_str();
  app.add_option("--runs", runs, "folder that holds run folders")->capture_default_str();
  app.add_option("--name", name, "run folder name")->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  try {
    XG_CHECK(cfg.d_model % cfg.heads == 0, "--d-model ", cfg.d_model, " must be divisible by --heads ", cfg.heads);
    const std::vector<double> lrs = parse_list(lrs_text);
    Splits sp = make_task("dates", n_train, n_eval, n_eval, 0);
    sp.text = {Tokens::kChars, false};
    const Dataset d = Dataset::build(std::move(sp), 1, cfg.max_len);
    const fs::path dir = fs::path(runs) / name;
    fs::create_directories(dir);

    std::vector<Setting> settings;
    for (bool pre : {false, true})
      for (int64_t w : {int64_t{0}, warmup})
        for (const char* opt : {"adam", "radam"}) settings.push_back({pre, w, opt});
    const size_t total = settings.size() * lrs.size() * static_cast<size_t>(seeds);
    std::printf("%zu runs of %lld steps (batch %lld) on dates; model d_model %lld, %lld heads, %lld+%lld layers\n", total,
                static_cast<long long>(steps), static_cast<long long>(batch), static_cast<long long>(cfg.d_model),
                static_cast<long long>(cfg.heads), static_cast<long long>(cfg.layers), static_cast<long long>(cfg.layers));
    std::string csv = "norm,warmup,optimizer,lr,seed,mean_train_loss,valid_loss,valid_exact\n";
    std::map<std::pair<size_t, size_t>, std::vector<Result>> results;  // (setting, lr) → per seed
    size_t done = 0;
    for (size_t si = 0; si < settings.size(); ++si)
      for (size_t li = 0; li < lrs.size(); ++li)
        for (int seed = 0; seed < seeds; ++seed) {
          const Setting& s = settings[si];
          const Result r = train_once(d, cfg, s, lrs[li], steps, batch, static_cast<uint64_t>(seed));
          results[{si, li}].push_back(r);
          csv += xg::str(s.pre_ln ? "pre" : "post", ",", s.warmup, ",", s.optimizer, ",", lrs[li], ",", seed, ",",
                         r.train_loss, ",", r.valid_loss, ",", r.exact, "\n");
          std::printf("[%zu/%zu] %-30s lr %-7g seed %d: mean train loss %.3f, valid loss %.3f, exact %.1f%%\n", ++done, total,
                      s.label().c_str(), lrs[li], seed, r.train_loss, r.valid_loss, 100 * r.exact);
          std::fflush(stdout);
        }
    xg::write_file_atomic((dir / "results.csv").string(), csv);

    // The table: mean over seeds (a diverged run's loss is NaN and shows as such).
    std::printf("\nvalidation loss (exact match), mean of %d seeds, after %lld steps\n| setting |", seeds,
                static_cast<long long>(steps));
    for (double lr : lrs) std::printf(" lr %g |", lr);
    std::printf("\n|---|");
    for (size_t i = 0; i < lrs.size(); ++i) std::printf("---|");
    std::printf("\n");
    ex::Panel loss_panel("Validation loss after the step budget", "peak learning rate (log10)", "loss (nats/token)"),
        exact_panel("Validation exact match", "peak learning rate (log10)", "exact match");
    for (size_t si = 0; si < settings.size(); ++si) {
      std::printf("| %s |", settings[si].label().c_str());
      ex::Series ls{settings[si].label(), {}, {}, true}, es{settings[si].label(), {}, {}, true};
      for (size_t li = 0; li < lrs.size(); ++li) {
        double loss = 0, exact = 0;
        for (auto& r : results[{si, li}]) loss += r.valid_loss / seeds, exact += r.exact / seeds;
        std::printf(" %.3f (%.1f%%) |", loss, 100 * exact);
        ls.x.push_back(std::log10(lrs[li])), ls.y.push_back(std::isfinite(loss) ? std::min(loss, 5.0) : 5.0);
        es.x.push_back(std::log10(lrs[li])), es.y.push_back(exact);
      }
      std::printf("\n");
      loss_panel.series.push_back(ls), exact_panel.series.push_back(es);
    }
    // Room on the right for the legend; losses from 0 (a diverged run is drawn at 5).
    const double x0 = std::log10(lrs.front()), x1 = std::log10(lrs.back()), span = std::max(x1 - x0, 0.5);
    double top = 0;
    for (auto& series : loss_panel.series)
      for (double v : series.y) top = std::max(top, v);
    for (auto* p : {&loss_panel, &exact_panel}) p->x_lo = x0 - 0.05 * span, p->x_hi = x1 + 1.3 * span;
    loss_panel.y_lo = 0, loss_panel.y_hi = top * 1.05 + 1e-9, exact_panel.y_lo = 0, exact_panel.y_hi = 1.02;
    ex::write_svg((dir / "study.svg").string(), {loss_panel, exact_panel}, 2);

    // Gradient norms per layer at initialisation, deeper models.
    ModelConfig deep = cfg;
    deep.layers = grad_layers;
    ex::Panel grads("Gradient norm of each layer's parameters at initialisation",
                    "layer (encoder 1..L, then decoder 1..L)", "gradient norm");
    std::printf("\ngradient norm per layer at initialisation (%lld+%lld layers, mean of %d models)\n",
                static_cast<long long>(grad_layers), static_cast<long long>(grad_layers), seeds);
    for (bool pre : {false, true}) {
      const auto norms = layer_grad_norms(d, deep, pre, batch, seeds);
      ex::Series s{pre ? "pre-LN" : "post-LN", {}, {}, true};
      std::printf("%-8s", pre ? "pre-LN" : "post-LN");
      for (size_t k = 0; k < norms.size(); ++k) {
        s.x.push_back(static_cast<double>(k + 1)), s.y.push_back(norms[k]);
        std::printf(" %s%.3f", k == static_cast<size_t>(grad_layers) ? "| " : "", norms[k]);
      }
      std::printf("\n");
      grads.series.push_back(s);
    }
    grads.y_lo = 0;
    ex::write_svg((dir / "grad_norms.svg").string(), {grads}, 1);
    std::printf("\nwrote %s: results.csv, study.svg, grad_norms.svg\n", dir.c_str());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
