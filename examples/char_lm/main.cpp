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
#include <optional>
#include <random>
#include <sstream>

#include "char_lm/model.hpp"
#include "char_lm/text.hpp"
#include "common/cli.hpp"
#include "common/plot.hpp"
#include "common/trainer.hpp"

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
  ex::TrainingFlags train = [] {
    ex::TrainingFlags t;
    t.batch = 32, t.lr = 4e-3, t.time_budget = 600, t.epochs = 20, t.weight_decay = 0.1;
    return t;
  }();
  int64_t eval_chars = 16384, generate = 400, top_k = 0;
  double temperature = 0.8, valid_fraction = 0.1;
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
  ex::add_training_options(app, o.train, "windows");  // an epoch: as many characters as the training text has
  app.add_option("--eval-chars", o.eval_chars, "validation characters scored per validation")->check(CLI::Range(16, 100000000))->capture_default_str();
  app.add_option("--valid-fraction", o.valid_fraction, "the end of the text held out for validation")->check(CLI::Range(0.01, 0.5))->capture_default_str();
  app.add_option("--runs", o.runs, "folder that holds run folders")->capture_default_str();
  app.add_option("--name", o.name, "run folder name (default: 'corpus' or the data file's name)");
  app.add_option("--prompt", o.prompt, "text the samples start from")->capture_default_str()->configurable(false);
  app.add_option("--generate", o.generate, "characters to sample")->check(CLI::Range(0, 1000000))->capture_default_str()->configurable(false);
  app.add_option("--temperature", o.temperature, "sampling temperature")->check(CLI::Range(1e-3, 100.0))->capture_default_str()->configurable(false);
  app.add_option("--top-k", o.top_k, "sample from the k likeliest characters (0: all)")->check(CLI::Range(0, 1000000))->capture_default_str()->configurable(false);
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

// Windows of the text as an xg::data dataset: a batch of start positions becomes (input, next
// characters), each (B, T).
struct Windows {
  using BatchType = xg::data::Example<>;
  const std::vector<int64_t>* text;
  int64_t T;
  BatchType get_batch(const std::vector<size_t>& starts) const {
    std::vector<int64_t> xs, ys;
    xs.reserve(starts.size() * static_cast<size_t>(T)), ys.reserve(starts.size() * static_cast<size_t>(T));
    for (size_t start : starts) {
      const auto s = text->begin() + static_cast<std::ptrdiff_t>(start);
      xs.insert(xs.end(), s, s + T);
      ys.insert(ys.end(), s + 1, s + T + 1);
    }
    const auto B = static_cast<int64_t>(starts.size());
    return {xg::tensor(xs).reshape({B, T}), xg::tensor(ys).reshape({B, T})};
  }
  std::optional<size_t> size() const { return text->size() - static_cast<size_t>(T); }
};

// The starts of each step's windows, drawn from (seed, step): one batch per step, from the step
// given to start() to the end of its epoch.
class StepWindows : public xg::data::samplers::Sampler {
 public:
  StepWindows(uint64_t seed, size_t batch, size_t starts) : seed_(seed), batch_(batch), starts_(starts) {}
  void start(int64_t first_step, int64_t end_step) { first_ = first_step, end_ = end_step; }
  void reset(std::optional<size_t> = std::nullopt) override { step_ = first_; }
  std::optional<std::vector<size_t>> next(size_t n) override {
    if (step_ >= end_) return std::nullopt;
    XG_CHECK(n == batch_, "StepWindows: batches of ", batch_, " windows, asked for ", n);
    std::seed_seq seq{seed_, static_cast<uint64_t>(step_++)};
    std::mt19937_64 rng(seq);
    std::uniform_int_distribution<int64_t> start(0, static_cast<int64_t>(starts_) - 1);
    std::vector<size_t> out(n);
    for (auto& s : out) s = static_cast<size_t>(start(rng));
    return out;
  }

 private:
  uint64_t seed_;
  size_t batch_, starts_;
  int64_t first_ = 0, end_ = 0, step_ = 0;
};

// Next-character prediction on random windows of the training text, on the shared loop; validation
// scores the held-out end of the text.
class Trainer : private ex::OptimizerAndSchedule, public ex::Trainer {
 public:
  Trainer(GPT& model, std::vector<int64_t> train, std::vector<int64_t> valid, const Options& o, std::string run_dir)
      : OptimizerAndSchedule(*model, o.train, steps_per_epoch(train.size(), o), optim::AdamWOptions().betas({0.9, 0.95})),
        ex::Trainer(*model, *optimizer, *schedule, ex::loop_options(o.train, steps_per_epoch(train.size(), o), run_dir),
                    {"valid_loss", "valid_bpc"}),
        model_(model), train_(std::move(train)), valid_(std::move(valid)), o_(o), run_dir_(std::move(run_dir)) {
    XG_CHECK(static_cast<int64_t>(train_.size()) > o.model.context + 1, "char_lm: the training text has ",
             train_.size(), " characters; more than --context + 1 = ", o.model.context + 1, " are needed");
    XG_CHECK(static_cast<int64_t>(valid_.size()) > o.model.context + 1, "char_lm: the validation text has ",
             valid_.size(), " characters; more than --context + 1 = ", o.model.context + 1,
             " are needed (raise --valid-fraction or lower --context)");
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
      sum += xg::cross_entropy(logits.reshape({-1, o_.model.vocab}), xg::tensor(ys),
                               xg::CrossEntropyLossOptions().reduction(xg::kSum))
                 .item<double>();
      n += static_cast<double>(B * T);
    }
    model_->train();
    return sum / n;
  }

  double last_valid_loss() const { return last_valid_; }

 private:
  static int64_t steps_per_epoch(size_t train_chars, const Options& o) {
    return std::max<int64_t>(1, static_cast<int64_t>(train_chars) / (o.train.batch * o.model.context));
  }

  // Batches come from the data loader (a worker cuts the next windows while this thread trains).
  // The windows of a step are a function of (seed, step) (StepWindows): resuming needs only the step.
  ex::StepResult train_step(int64_t step) override {
    if (step != next_step_ || position_of(step) == 0) {
      loader_->sampler().start(step, step - position_of(step) + steps_per_epoch(train_.size(), o_));
      batch_.emplace(loader_->begin());
    } else {
      ++*batch_;
    }
    next_step_ = step + 1;
    const xg::data::Example<>& b = **batch_;
    xg::Tensor logits = model_(b.data);
    return {xg::cross_entropy(logits.reshape({-1, o_.model.vocab}), b.target.reshape({-1})),
            static_cast<double>(b.target.numel())};
  }

  ex::Validation validate() override {
    last_valid_ = validation_loss();
    const double bpc = last_valid_ / std::log(2.0);
    char line[100];
    std::snprintf(line, sizeof line, "valid loss %.4f nats = %.3f bits/char", last_valid_, bpc);
    return {{last_valid_, bpc}, line, false};
  }

  void on_validated() override {
    const auto& m = metrics();
    const auto step = m.column("step");
    ex::Panel loss("Loss (nats per character)", "step", "loss"), bits("Validation bits per character", "step", "bits/char");
    loss.series = {{"train", step, m.column("train_loss")}, {"validation", step, m.column("valid_loss")}};
    bits.series = {{"validation", step, m.column("valid_bpc")}};
    ex::write_svg(run_dir_ + "/curves.svg", {loss, bits}, 2);
  }

  using Loader = xg::data::StatelessDataLoader<Windows, ex::Sharded<StepWindows>>;
  GPT& model_;
  std::vector<int64_t> train_, valid_;
  const Options& o_;
  std::string run_dir_;
  std::unique_ptr<Loader> loader_ = xg::data::make_data_loader(
      Windows{&train_, o_.model.context},
      ex::Sharded<StepWindows>(StepWindows(o_.train.seed, static_cast<size_t>(o_.train.batch),
                                           train_.size() - static_cast<size_t>(o_.model.context))),
      xg::data::DataLoaderOptions(static_cast<size_t>(o_.train.batch)).workers(1).max_jobs(2));
  std::optional<Loader::Iterator> batch_;
  int64_t next_step_ = -1;
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
  std::mt19937_64 rng(o.train.seed);
  const auto prompt = vocab.encode(utf8_decode(o.prompt), "--prompt");
  const auto out = model->generate(prompt, o.generate, o.temperature, o.top_k, rng);
  std::printf("--- sample (temperature %.2f, top-k %lld) ---\n%s%s\n---\n", o.temperature,
              static_cast<long long>(o.top_k), o.prompt.c_str(), vocab.decode(out).c_str());
}

// --load DIR: rebuild the model from DIR's config.ini, vocabulary and model.npz, and sample.
int sample_mode(const Options& cli) {
  Options r = ex::read_run_config<Options>(fs::path(cli.load) / "config.ini", add_options);
  CharVocab vocab = read_vocab(fs::path(cli.load) / "vocab.txt");
  r.model.vocab = vocab.size();
  GPT model(r.model);
  model->load((fs::path(cli.load) / "model.npz").string());
  r.prompt = cli.prompt, r.generate = cli.generate, r.temperature = cli.temperature, r.top_k = cli.top_k;
  r.train.seed = cli.train.seed;
  print_sample(model, vocab, r);
  return 0;
}

int train_mode(Options& o, const std::string& config_text) {
  const fs::path run_dir = fs::path(o.runs) / o.name;
  const std::vector<char32_t> text = utf8_decode(read_text(o.data));
  CharVocab vocab(text);
  const auto ids = vocab.encode(text, "char_lm");
  if (o.generate > 0) vocab.encode(utf8_decode(o.prompt), "--prompt");  // refused now, not after training
  const auto split = ids.begin() + static_cast<std::ptrdiff_t>(static_cast<double>(ids.size()) * (1 - o.valid_fraction));
  std::vector<int64_t> train(ids.begin(), split), valid(split, ids.end());
  std::printf("text %s: %zu characters (%zu train / %zu validation), %lld distinct\n",
              o.data.empty() ? "(built-in: xgrad's docs and sources)" : o.data.c_str(), ids.size(), train.size(),
              valid.size(), static_cast<long long>(vocab.size()));

  xg::manual_seed(o.train.seed);
  o.model.vocab = vocab.size();
  GPT model(o.model);
  const auto& m = o.model;
  std::printf("model: d_model %lld, %lld heads, %lld layers, ffn %lld, context %lld: %lld parameters\n",
              static_cast<long long>(m.d_model), static_cast<long long>(m.heads), static_cast<long long>(m.layers),
              static_cast<long long>(m.ffn), static_cast<long long>(m.context),
              static_cast<long long>(model->num_parameters()));
  Trainer trainer(model, train, valid, o, run_dir.string());  // checks the text's lengths
  // Everything is checked before the run folder is touched: a run that fails before here leaves an
  // existing folder of the same name as it was.
  const bool main_rank = ex::is_main_rank();  // under mpirun, only rank 0 writes
  if (main_rank) {
    fs::create_directories(run_dir);
    xg::write_file_atomic((run_dir / "config.ini").string(), config_text);
    std::vector<int64_t> all(static_cast<size_t>(vocab.size()));
    std::iota(all.begin(), all.end(), 0);
    xg::write_file_atomic((run_dir / "vocab.txt").string(), vocab.decode(all));
  }
  if (xg::distributed::world_size() > 1)
    std::printf("data-parallel on %d ranks: %lld windows per step, about %lld on each\n", xg::distributed::world_size(),
                static_cast<long long>(o.train.batch), static_cast<long long>(o.train.batch / xg::distributed::world_size()));
  trainer.run();
  if (!main_rank) return 0;  // the sample and pictures are rank 0's
  const double loss = trainer.last_valid_loss();
  std::printf("\ntrained %lld steps in %.1f s: validation loss %.4f nats per character = %.3f bits per character\n",
              static_cast<long long>(trainer.steps()), trainer.elapsed(), loss, loss / std::log(2.0));
  if (o.generate > 0) print_sample(model, vocab, o);
  write_attention_svg(model, vocab, std::vector<int64_t>(valid.begin(), valid.begin() + std::min<int64_t>(40, m.context)),
                      (run_dir / "attention.svg").string());
  std::printf("run folder %s: config.ini, metrics.csv, curves.svg, attention.svg, checkpoint.npz (--resume),\n"
              "model.npz and vocab.txt (--load %s)\n",
              run_dir.c_str(), run_dir.c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  ex::join_job();  // under mpirun: one rank of a data-parallel run
  Options o;
  CLI::App app{"xgrad char_lm: train a character-level GPT on a CPU, or sample from one"};
  add_options(app, o);
  CLI11_PARSE(app, argc, argv);
  try {
    if (!o.load.empty()) return sample_mode(o);
    if (o.name.empty()) o.name = o.data.empty() ? "corpus" : fs::path(o.data).stem().string();
    std::string config_text = app.config_to_str(true, false);
    if (o.train.resume) {
      const Options cli = o;
      config_text = ex::reparse_on_run_config(fs::path(o.runs) / o.name / "config.ini", argc, argv, o, add_options);
      o.name = cli.name;
    }
    if (o.model.d_model % o.model.heads != 0) {
      std::fprintf(stderr, "error: --d-model %lld must be divisible by --heads %lld\n",
                   static_cast<long long>(o.model.d_model), static_cast<long long>(o.model.heads));
      return 2;
    }
    return train_mode(o, config_text);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
