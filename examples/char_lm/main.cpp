// A character-level GPT trained from scratch on a CPU: by default on xgrad's own documentation and
// C++ sources (built into the program), or on any UTF-8 text file.
//   char_lm                                   train on the built-in corpus, then sample
//   char_lm --data book.txt --time-budget 600 your own text
//   char_lm --name NAME --resume              continue runs/NAME exactly where it stopped
//   char_lm --load runs/corpus --prompt "The tensor" --temperature 0.8 --top-k 20
#include <CLI/CLI.hpp>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <sstream>

#include "char_lm/model.hpp"
#include "char_lm/text.hpp"
#include "common/checkpoint.hpp"
#include "common/cli.hpp"
#include "common/metrics.hpp"
#include "common/plot.hpp"
#include "common/progress.hpp"

namespace char_lm {
extern const unsigned char kCorpus[];  // generated at build time from docs/*.md and the headers
extern const std::size_t kCorpusSize;
}  // namespace char_lm

using namespace char_lm;
namespace fs = std::filesystem;
namespace ex = xg::examples;
namespace optim = xg::optim;

namespace {

struct Options {
  std::string data, runs = "runs", name, load, prompt = "The ";
  // Small and quick to learn (~2.5 minutes here): measured against d_model 96 / 3 layers, which is
  // slower per step and learned less in a minute. Scale up, and add dropout, for longer runs.
  GPTConfig model{0, 64, 4, 2, 256, 64, 0.0};
  int64_t batch = 32, warmup = 100, eval_every = 200, eval_chars = 16384, max_steps = 0, generate = 400, top_k = 0;
  double lr = 4e-3, clip = 1.0, time_budget = 600, temperature = 0.8, valid_fraction = 0.1;
  int epochs = 20;
  uint64_t seed = 0;
  bool resume = false;
};

void add_options(CLI::App& app, Options& o) {
  auto& m = o.model;
  app.add_option("--data", o.data, "UTF-8 text file to learn (default: the built-in corpus)")
      ->check(ex::optional_existing_file);
  app.add_option("--d-model", m.d_model, "model width")->check(CLI::Range(8, 4096))->capture_default_str();
  app.add_option("--heads", m.heads, "attention heads")->check(CLI::Range(1, 64))->capture_default_str();
  app.add_option("--layers", m.layers, "Transformer blocks")->check(CLI::Range(1, 48))->capture_default_str();
  app.add_option("--ffn", m.ffn, "MLP width")->check(CLI::Range(1, 65536))->capture_default_str();
  app.add_option("--context", m.context, "characters of context")->check(CLI::Range(2, 8192))->capture_default_str();
  app.add_option("--dropout", m.dropout, "dropout")->check(CLI::Range(0.0, 0.9))->capture_default_str();
  app.add_option("--batch-size", o.batch, "windows per step")->check(CLI::Range(1, 65536))->capture_default_str();
  app.add_option("--lr", o.lr, "peak AdamW learning rate")->check(CLI::Range(1e-7, 1.0))->capture_default_str();
  app.add_option("--warmup", o.warmup, "linear warmup steps before the cosine decay")->check(CLI::Range(0, 1000000))->capture_default_str();
  app.add_option("--clip", o.clip, "gradient norm clip (0: off)")->check(CLI::Range(0.0, 1e6))->capture_default_str();
  app.add_option("--epochs", o.epochs, "epochs (an epoch: as many characters as the training text has)")->check(CLI::Range(1, 1000000))->capture_default_str();
  app.add_option("--time-budget", o.time_budget, "stop training after this many seconds")->check(CLI::Range(0.1, 1e7))->capture_default_str();
  app.add_option("--eval-every", o.eval_every, "steps between validations (and at each epoch's end)")->check(CLI::Range(1, 1000000))->capture_default_str();
  app.add_option("--eval-chars", o.eval_chars, "validation characters scored per validation")->check(CLI::Range(16, 100000000))->capture_default_str();
  app.add_option("--valid-fraction", o.valid_fraction, "the end of the text held out for validation")->check(CLI::Range(0.01, 0.5))->capture_default_str();
  app.add_option("--seed", o.seed, "seed for initialisation, batches, dropout and sampling")->capture_default_str();
  app.add_option("--runs", o.runs, "folder that holds run folders")->capture_default_str();
  app.add_option("--name", o.name, "run folder name (default: 'corpus' or the data file's name)");
  app.add_option("--prompt", o.prompt, "text the samples start from")->capture_default_str()->configurable(false);
  app.add_option("--generate", o.generate, "characters to sample")->check(CLI::Range(0, 1000000))->capture_default_str()->configurable(false);
  app.add_option("--temperature", o.temperature, "sampling temperature")->check(CLI::Range(1e-3, 100.0))->capture_default_str()->configurable(false);
  app.add_option("--top-k", o.top_k, "sample from the k likeliest characters (0: all)")->check(CLI::Range(0, 1000000))->capture_default_str()->configurable(false);
  app.add_option("--max-steps", o.max_steps, "stop after this many steps in all (0: no limit); --resume continues")->check(CLI::Range(0, 1000000000))->configurable(false);
  app.add_flag("--resume", o.resume, "continue the run in --runs/--name from its checkpoint, with its config")->configurable(false);
  app.add_option("--load", o.load, "sample from the run in this folder instead of training")->check(CLI::ExistingDirectory)->configurable(false);
  app.set_config("--config", "", "read options from an INI file such as a run's config.ini");
}

std::string read_text(const std::string& path) {
  if (path.empty()) return std::string(reinterpret_cast<const char*>(kCorpus), kCorpusSize);
  std::ifstream f(path, std::ios::binary);
  XG_CHECK(f.good(), "char_lm: cannot read '", path, "'");
  std::ostringstream s;
  s << f.rdbuf();
  return s.str();
}

CharVocab read_vocab(const fs::path& path) {
  return CharVocab(utf8_decode(read_text(path.string())));
}

class Trainer {
 public:
  Trainer(GPT& model, std::vector<int64_t> train, std::vector<int64_t> valid, const Options& o, std::string run_dir)
      : model_(model), train_(std::move(train)), valid_(std::move(valid)), o_(o), run_dir_(std::move(run_dir)),
        opt_(make_optimizer(model, o.lr)),
        steps_per_epoch_(std::max<int64_t>(1, static_cast<int64_t>(train_.size()) / (o.batch * o.model.context))),
        sched_(opt_, std::min<int64_t>(o.warmup, steps_per_epoch_ * o.epochs / 10 + 1), steps_per_epoch_ * o.epochs,
               o.lr * 0.05),
        metrics_(run_dir_ + "/metrics.csv", {"step", "epoch", "seconds", "train_loss", "lr", "valid_loss", "valid_bpc"}) {
    XG_CHECK(static_cast<int64_t>(train_.size()) > o.model.context + 1, "char_lm: the training text has ",
             train_.size(), " characters; more than --context + 1 = ", o.model.context + 1, " are needed");
    XG_CHECK(static_cast<int64_t>(valid_.size()) > o.model.context + 1, "char_lm: the validation text has ",
             valid_.size(), " characters; more than --context + 1 = ", o.model.context + 1,
             " are needed (raise --valid-fraction or lower --context)");
  }

  void run() {
    if (o_.resume) restore();
    started_ = std::chrono::steady_clock::now();
    const int64_t total = steps_per_epoch_ * o_.epochs;
    bool stop = run_.step >= total;
    if (stop) last_valid_ = validation_loss();  // a finished run, resumed: nothing left to train
    while (!stop) {
      const int64_t epoch = run_.step / steps_per_epoch_ + 1;
      auto [x, y] = batch(run_.step);
      opt_.zero_grad();
      xg::Tensor loss = xg::cross_entropy(model_(x).reshape({-1, o_.model.vocab}), y.reshape({-1}));
      loss.backward();
      if (o_.clip > 0) xg::nn::utils::clip_grad_norm_(model_->parameters(), o_.clip);
      opt_.step();
      sched_.step();
      ++run_.step;
      run_.loss_sum += loss.item<double>(), ++run_.loss_n;
      run_.tokens += static_cast<double>(x.numel());
      const int64_t in_epoch = (run_.step - 1) % steps_per_epoch_ + 1;
      progress_.update(static_cast<int>(epoch), o_.epochs, run_.step, steps_per_epoch_, in_epoch, run_.loss_sum / run_.loss_n,
                       opt_.lr(0), run_.tokens / std::max(elapsed() - run_.eval_seconds, 1e-9), elapsed(),
                       static_cast<double>(run_.step) / static_cast<double>(total));
      const bool epoch_end = in_epoch == steps_per_epoch_;
      stop = run_.step >= total || elapsed() >= o_.time_budget || (o_.max_steps > 0 && run_.step >= o_.max_steps);
      const bool scheduled = run_.step % o_.eval_every == 0 || epoch_end;
      if (scheduled || stop) validate(scheduled);
      if (epoch_end || stop) save_checkpoint();
    }
    progress_.clear();
  }

  // Mean cross-entropy (nats per character) over the first eval_chars characters of the
  // validation text, in non-overlapping windows of the full context.
  double validation_loss() {
    xg::NoGradGuard ng;
    model_->eval();
    const int64_t T = o_.model.context;
    const int64_t windows = std::max<int64_t>(
        1, std::min<int64_t>(o_.eval_chars, static_cast<int64_t>(valid_.size()) - 1) / T);
    double sum = 0, n = 0;
    for (int64_t w0 = 0; w0 < windows; w0 += 32) {
      const int64_t B = std::min<int64_t>(32, windows - w0);
      std::vector<int64_t> xs, ys;
      for (int64_t w = w0; w < w0 + B; ++w) {
        xs.insert(xs.end(), valid_.begin() + w * T, valid_.begin() + (w + 1) * T);
        ys.insert(ys.end(), valid_.begin() + w * T + 1, valid_.begin() + (w + 1) * T + 1);
      }
      xg::Tensor logits = model_(xg::tensor(xs).reshape({B, T}));
      sum += xg::cross_entropy(logits.reshape({-1, o_.model.vocab}), xg::tensor(ys), xg::CrossEntropyLossOptions().reduction(xg::kSum))
                 .item<double>();
      n += static_cast<double>(B * T);
    }
    model_->train();
    return sum / n;
  }

  int64_t steps() const { return run_.step; }
  double elapsed() const {
    return run_.seconds + std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
  }
  double last_valid_loss() const { return last_valid_; }

 private:
  static optim::AdamW make_optimizer(GPT& model, double lr) {
    auto [decay, no_decay] = optim::split_weight_decay(model->named_parameters());
    return optim::AdamW({{decay, optim::AdamWOptions(lr).betas({0.9, 0.95}).weight_decay(0.1)},
                         {no_decay, optim::AdamWOptions(lr).betas({0.9, 0.95}).weight_decay(0.0)}});
  }

  // The windows of a step are a function of (seed, step): resuming needs only the step.
  std::pair<xg::Tensor, xg::Tensor> batch(int64_t step) const {
    std::seed_seq seq{o_.seed, static_cast<uint64_t>(step)};
    std::mt19937_64 rng(seq);
    const int64_t T = o_.model.context, B = o_.batch;
    std::uniform_int_distribution<int64_t> start(0, static_cast<int64_t>(train_.size()) - T - 1);
    std::vector<int64_t> xs, ys;
    xs.reserve(static_cast<size_t>(B * T)), ys.reserve(static_cast<size_t>(B * T));
    for (int64_t b = 0; b < B; ++b) {
      const auto s = train_.begin() + start(rng);
      xs.insert(xs.end(), s, s + T);
      ys.insert(ys.end(), s + 1, s + T + 1);
    }
    return {xg::tensor(xs).reshape({B, T}), xg::tensor(ys).reshape({B, T})};
  }

  void validate(bool reset_train_loss) {
    const double t0 = elapsed();
    last_valid_ = validation_loss();
    run_.eval_seconds += elapsed() - t0;
    const double train_loss = run_.loss_sum / std::max<int64_t>(run_.loss_n, 1), bpc = last_valid_ / std::log(2.0);
    char line[200];
    std::snprintf(line, sizeof line, "step %lld  train loss %.4f  valid loss %.4f nats = %.3f bits/char  (%.1f s)",
                  static_cast<long long>(run_.step), train_loss, last_valid_, bpc, elapsed());
    progress_.print(line);
    metrics_.add({static_cast<double>(run_.step), static_cast<double>((run_.step - 1) / steps_per_epoch_ + 1), elapsed(),
                  train_loss, opt_.lr(0), last_valid_, bpc});
    if (reset_train_loss) run_.loss_sum = 0, run_.loss_n = 0;
    const auto step = metrics_.column("step");
    ex::Panel loss("Loss (nats per character)", "step", "loss"), bits("Validation bits per character", "step", "bits/char");
    loss.series = {{"train", step, metrics_.column("train_loss")}, {"validation", step, metrics_.column("valid_loss")}};
    bits.series = {{"validation", step, metrics_.column("valid_bpc")}};
    ex::write_svg(run_dir_ + "/curves.svg", {loss, bits}, 2);
  }

  void save_checkpoint() {
    ex::save_checkpoint(run_dir_ + "/checkpoint.npz", *model_, opt_, sched_, run_.save(elapsed()));
    model_->save(run_dir_ + "/model.npz");
  }

  void restore() {
    const std::string path = run_dir_ + "/checkpoint.npz";
    XG_CHECK(fs::exists(path), "char_lm: --resume: no checkpoint at '", path, "'");
    const ex::Counters c = ex::load_checkpoint(path, *model_, opt_, sched_);
    run_.load(c);
    metrics_.restore_until(static_cast<double>(run_.step));
    progress_.print("resumed from " + path + " at step " + std::to_string(run_.step));
  }

  GPT& model_;
  std::vector<int64_t> train_, valid_;
  const Options& o_;
  std::string run_dir_;
  optim::AdamW opt_;
  int64_t steps_per_epoch_;
  optim::LinearWarmupCosine sched_;
  ex::MetricsLog metrics_;
  ex::Progress progress_;
  std::chrono::steady_clock::time_point started_;
  ex::RunCounters run_;
  double last_valid_ = 0;
};

// Self-attention of every layer and head while the model reads `text`, as heatmaps.
void write_attention_svg(GPT& model, const CharVocab& vocab, const std::vector<int64_t>& ids, const std::string& path) {
  xg::NoGradGuard ng;
  model->eval();
  model->set_record_attention(true);
  model(xg::tensor(ids).reshape({1, static_cast<int64_t>(ids.size())}));
  model->set_record_attention(false);
  std::vector<std::string> labels;
  for (int64_t i : ids) {
    const std::string c = vocab.decode({i});
    labels.push_back(c == " " ? "\u2423" : c == "\n" ? "\u21b5" : c);
  }
  std::vector<ex::Heatmap> maps;
  for (size_t l = 0; l < model->blocks->size(); ++l) {
    xg::Tensor w = (*model->blocks)[l]->last_attention.to(xg::kFloat64).contiguous();  // (1, H, T, T)
    const int64_t H = w.size(1), T = w.size(2);
    for (int64_t h = 0; h < H; ++h) {
      const double* p = w.data_ptr<double>() + h * T * T;
      maps.push_back({"layer " + std::to_string(l + 1) + ", head " + std::to_string(h + 1), labels, labels,
                      std::vector<double>(p, p + T * T)});
    }
  }
  std::string snippet = vocab.decode(ids);
  std::replace(snippet.begin(), snippet.end(), '\n', ' ');
  ex::write_heatmaps_svg(path, "Causal self-attention reading \"" + snippet + "\"", maps,
                         static_cast<int>(model->cfg.heads));
  model->train();
}

void print_sample(GPT& model, const CharVocab& vocab, const Options& o) {
  std::mt19937_64 rng(o.seed);
  const auto prompt = vocab.encode(utf8_decode(o.prompt), "--prompt");
  const auto out = model->generate(prompt, o.generate, o.temperature, o.top_k, rng);
  std::printf("--- sample (temperature %.2f, top-k %lld) ---\n%s%s\n---\n", o.temperature,
              static_cast<long long>(o.top_k), o.prompt.c_str(), vocab.decode(out).c_str());
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  CLI::App app{"xgrad char_lm: train a character-level GPT on a CPU, or sample from one"};
  add_options(app, o);
  CLI11_PARSE(app, argc, argv);
  try {
    if (!o.load.empty()) {  // sampling from a trained run
      Options r = ex::read_run_config<Options>(fs::path(o.load) / "config.ini", add_options);
      CharVocab vocab = read_vocab(fs::path(o.load) / "vocab.txt");
      r.model.vocab = vocab.size();
      GPT model(r.model);
      model->load((fs::path(o.load) / "model.npz").string());
      r.prompt = o.prompt, r.generate = o.generate, r.temperature = o.temperature, r.top_k = o.top_k, r.seed = o.seed;
      print_sample(model, vocab, r);
      return 0;
    }
    if (o.name.empty()) o.name = o.data.empty() ? "corpus" : fs::path(o.data).stem().string();
    std::string config_text = app.config_to_str(true, false);
    if (o.resume) {
      const Options cli = o;
      config_text = ex::reparse_on_run_config(fs::path(o.runs) / o.name / "config.ini", argc, argv, o, add_options);
      o.name = cli.name;
    }
    if (o.model.d_model % o.model.heads != 0) {
      std::fprintf(stderr, "error: --d-model %lld must be divisible by --heads %lld\n",
                   static_cast<long long>(o.model.d_model), static_cast<long long>(o.model.heads));
      return 2;
    }
    const fs::path run_dir = fs::path(o.runs) / o.name;
    fs::create_directories(run_dir);
    xg::write_file_atomic((run_dir / "config.ini").string(), config_text);

    const std::vector<char32_t> text = utf8_decode(read_text(o.data));
    CharVocab vocab(text);
    xg::write_file_atomic((run_dir / "vocab.txt").string(), vocab.decode([&] {
                            std::vector<int64_t> all(static_cast<size_t>(vocab.size()));
                            std::iota(all.begin(), all.end(), 0);
                            return all;
                          }()));
    const auto ids = vocab.encode(text, "char_lm");
    if (o.generate > 0) vocab.encode(utf8_decode(o.prompt), "--prompt");  // refused now, not after training
    const auto split = ids.begin() + static_cast<std::ptrdiff_t>(static_cast<double>(ids.size()) * (1 - o.valid_fraction));
    std::vector<int64_t> train(ids.begin(), split), valid(split, ids.end());
    std::printf("text %s: %zu characters (%zu train / %zu validation), %lld distinct\n",
                o.data.empty() ? "(built-in: xgrad's docs and sources)" : o.data.c_str(), ids.size(), train.size(),
                valid.size(), static_cast<long long>(vocab.size()));

    xg::manual_seed(o.seed);
    o.model.vocab = vocab.size();
    GPT model(o.model);
    const auto& m = o.model;
    std::printf("model: d_model %lld, %lld heads, %lld layers, ffn %lld, context %lld: %lld parameters\n",
                static_cast<long long>(m.d_model), static_cast<long long>(m.heads), static_cast<long long>(m.layers),
                static_cast<long long>(m.ffn), static_cast<long long>(m.context),
                static_cast<long long>(model->num_parameters()));
    Trainer trainer(model, train, valid, o, run_dir.string());
    trainer.run();
    const double loss = trainer.last_valid_loss();
    std::printf("\ntrained %lld steps in %.1f s: validation loss %.4f nats per character = %.3f bits per character\n",
                static_cast<long long>(trainer.steps()), trainer.elapsed(), loss, loss / std::log(2.0));
    if (o.generate > 0) print_sample(model, vocab, o);
    write_attention_svg(model, vocab,
                        std::vector<int64_t>(valid.begin(), valid.begin() + std::min<int64_t>(40, m.context)),
                        (run_dir / "attention.svg").string());
    std::printf("run folder %s: config.ini, metrics.csv, curves.svg, attention.svg, checkpoint.npz (--resume),\n"
                "model.npz and vocab.txt (--load %s)\n",
                run_dir.c_str(), run_dir.c_str());
    return 0;
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
