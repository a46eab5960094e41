// An encoder-decoder Transformer ("Attention Is All You Need", d2l) trained from scratch on a CPU:
// by default it learns to rewrite dates written the many ways people write them as ISO 8601.
//   translate                               train on the built-in `dates` task, report test accuracy
//   translate --task reverse|sort           other built-in tasks;  --data pairs.tsv  your own pairs
//   translate --name NAME --resume          continue runs/NAME exactly where it stopped
//   translate --load runs/dates "9/5/98"    translate with a trained run (text or stdin lines)
#include <CLI/CLI.hpp>

#include <cstdio>
#include <filesystem>
#include <iostream>

#include "common/cli.hpp"
#include "translate/train.hpp"

using namespace translate;
namespace fs = std::filesystem;

namespace {

struct Options {
  std::string task = "dates", data, runs = "runs", name, load;
  ModelConfig model;
  TrainOptions train;
  int64_t n_train = 20000, n_eval = 1000, min_freq = 1, beam = 1;
  double length_penalty = 0.75;
  bool export_splits = false;
  std::vector<std::string> text;
};

// Every option, registered on `app`; the same set reads a run's config.ini back.
void add_options(CLI::App& app, Options& o) {
  auto& m = o.model;
  auto& t = o.train;
  app.add_option("--task", o.task, "built-in task")->check(CLI::IsMember({"dates", "reverse", "sort"}))->capture_default_str();
  app.add_option("--data", o.data, "tab-separated source/target pairs (word level) instead of a task")
      ->check(ex::optional_existing_file);
  app.add_option("--d-model", m.d_model, "model width")->check(CLI::Range(8, 4096))->capture_default_str();
  app.add_option("--heads", m.heads, "attention heads")->check(CLI::Range(1, 64))->capture_default_str();
  app.add_option("--layers", m.layers, "encoder and decoder layers")->check(CLI::Range(1, 48))->capture_default_str();
  app.add_option("--ffn", m.ffn, "feed-forward width")->check(CLI::Range(1, 65536))->capture_default_str();
  app.add_option("--dropout", m.dropout, "dropout")->check(CLI::Range(0.0, 0.9))->capture_default_str();
  app.add_option("--max-len", m.max_len, "longest sequence in tokens (longer ones are cut)")->check(CLI::Range(4, 4096))->capture_default_str();
  ex::add_training_options(app, t, "examples");
  app.add_option("--label-smoothing", t.smoothing, "label smoothing")->check(CLI::Range(0.0, 0.5))->capture_default_str();
  app.add_option("--train-size", o.n_train, "generated training pairs")->check(CLI::Range(100, 10000000))->capture_default_str();
  app.add_option("--eval-size", o.n_eval, "generated validation and test pairs, each")->check(CLI::Range(10, 100000))->capture_default_str();
  app.add_option("--min-freq", o.min_freq, "vocabulary minimum frequency (--data)")->check(CLI::Range(1, 1000000))->capture_default_str();
  app.add_option("--target", t.target, "stop once validation exact accuracy reaches this (0: no target)")->check(CLI::Range(0.0, 1.0))->capture_default_str();
  app.add_option("--runs", o.runs, "folder that holds run folders")->capture_default_str();
  app.add_option("--name", o.name, "run folder name (default: the task or data file name)");
  app.add_option("--beam", o.beam, "beam size for the test set and --load (1: greedy)")->check(CLI::Range(1, 64))->capture_default_str()->configurable(false);
  app.add_option("--length-penalty", o.length_penalty, "beam search: score = log P / length^this")->check(CLI::Range(0.0, 5.0))->capture_default_str()->configurable(false);
  app.add_flag("--export-splits", o.export_splits, "also write the pairs as train/valid/test.tsv in the run folder")->configurable(false);
  app.add_option("--load", o.load, "translate with the run in this folder instead of training")->check(CLI::ExistingDirectory)->configurable(false);
  app.add_option("text", o.text, "with --load: texts to translate (none: read lines from stdin)")->configurable(false);
  app.set_config("--config", "", "read options from an INI file such as a run's config.ini");
}

Splits make_splits(const Options& o) {
  return o.data.empty() ? make_task(o.task, o.n_train, o.n_eval, o.n_eval, o.train.seed) : read_pairs(o.data, o.train.seed);
}

void write_vocab(const Vocab& v, const fs::path& path) {
  std::string s;
  for (auto& t : v.itos) s += t + "\n";
  xg::write_file_atomic(path.string(), s);
}

Vocab read_vocab(const fs::path& path) {
  std::ifstream f(path);
  XG_CHECK(f.good(), "translate: cannot read the vocabulary '", path.string(), "'");
  Vocab v;
  v.itos.clear(), v.stoi.clear();
  for (std::string line; std::getline(f, line);) v.stoi[line] = static_cast<int64_t>(v.itos.size()), v.itos.push_back(line);
  XG_CHECK(v.itos.size() >= 4 && v.itos[0] == "<pad>", "translate: '", path.string(), "' is not a vocabulary file");
  return v;
}

// --load DIR: rebuild the model from DIR's config.ini, vocabularies and model.npz; translate each
// text (or stdin line).
int translate_mode(const Options& cli) {
  const Options o = ex::read_run_config<Options>(fs::path(cli.load) / "config.ini", add_options);
  const bool chars = o.data.empty();
  Vocab sv = read_vocab(fs::path(cli.load) / "vocab.src.txt"), tv = read_vocab(fs::path(cli.load) / "vocab.tgt.txt");
  Seq2Seq model(sv.size(), tv.size(), o.model);
  model->load((fs::path(cli.load) / "model.npz").string());
  model->eval();
  auto run = [&](const std::string& text) {
    Encoded e = encode({{text, ""}}, sv, tv, chars, o.model.max_len);
    Batch b = make_batch(e, {0});
    auto out = cli.beam > 1 ? model->beam_search(b.src, b.src_pad, o.model.max_len + 1, cli.beam, cli.length_penalty)
                            : model->greedy(b.src, b.src_pad, o.model.max_len + 1);
    std::printf("%s\t%s\n", text.c_str(), tv.join(out[0], chars).c_str());
    std::fflush(stdout);
  };
  if (!cli.text.empty()) {
    for (auto& t : cli.text) run(t);
  } else {
    for (std::string line; std::getline(std::cin, line);)
      if (!line.empty()) run(line);
  }
  return 0;
}

int train_mode(Options& o, const std::string& config_text) {
  const fs::path run_dir = fs::path(o.runs) / o.name;
  xg::manual_seed(o.train.seed);
  // The data is read and checked before the run folder is touched: a run that fails here leaves
  // an existing folder of the same name as it was.
  Dataset d = Dataset::build(make_splits(o), o.min_freq, o.model.max_len);
  fs::create_directories(run_dir);
  xg::write_file_atomic((run_dir / "config.ini").string(), config_text);
  write_vocab(d.src_vocab, run_dir / "vocab.src.txt");
  write_vocab(d.tgt_vocab, run_dir / "vocab.tgt.txt");
  if (o.export_splits)  // e.g. for bench/translate_torch.py: the same data in PyTorch
    for (auto [name, pairs] : {std::pair{"train", &d.splits.train}, {"valid", &d.splits.valid}, {"test", &d.splits.test}}) {
      std::string tsv;
      for (auto& p : *pairs) tsv += p.src + "\t" + p.tgt + "\n";
      xg::write_file_atomic((run_dir / (std::string(name) + ".tsv")).string(), tsv);
    }
  std::printf("task %s: %zu train / %zu valid / %zu test pairs, vocab %lld -> %lld\n",
              o.data.empty() ? o.task.c_str() : o.data.c_str(), d.splits.train.size(), d.splits.valid.size(),
              d.splits.test.size(), static_cast<long long>(d.src_vocab.size()), static_cast<long long>(d.tgt_vocab.size()));
  Seq2Seq model(d.src_vocab.size(), d.tgt_vocab.size(), o.model);
  const auto& m = o.model;
  std::printf("model: d_model %lld, %lld heads, %lld+%lld layers, ffn %lld: %lld parameters\n",
              static_cast<long long>(m.d_model), static_cast<long long>(m.heads), static_cast<long long>(m.layers),
              static_cast<long long>(m.layers), static_cast<long long>(m.ffn), static_cast<long long>(model->num_parameters()));
  o.train.run_dir = run_dir.string();
  Trainer trainer(model, d, o.train);
  trainer.run();
  auto when = [&](double acc) {
    double t = trainer.time_to(acc);
    return t < 0 ? std::string("not reached") : std::to_string(t).substr(0, std::to_string(t).find('.') + 2) + " s";
  };
  std::printf("\ntrained %lld steps in %.1f s; time to 95%%: %s, to 99%%: %s\n", static_cast<long long>(trainer.steps()),
              trainer.elapsed(), when(0.95).c_str(), when(0.99).c_str());
  Evaluation test = evaluate(model, d, d.splits.test, d.test, o.beam, o.length_penalty);
  std::printf("test on %zu held-out examples (%s): exact %.1f%%  BLEU-2 %.3f  BLEU-4 %.3f  loss %.4f\n\n",
              d.splits.test.size(), o.beam > 1 ? ("beam " + std::to_string(o.beam)).c_str() : "greedy",
              100 * test.exact, test.bleu2, test.bleu4, test.loss);
  for (size_t i = 0; i < std::min<size_t>(8, d.splits.test.size()); ++i) {
    const std::string pred = d.tgt_vocab.join(test.outputs[i], d.splits.chars);
    std::printf("  %-34s -> %-14s %s\n", d.splits.test[i].src.c_str(), pred.c_str(),
                tokenize(pred, d.splits.chars) == tokenize(d.splits.test[i].tgt, d.splits.chars)  // as evaluate() compares
                    ? "ok"
                    : ("(truth " + d.splits.test[i].tgt + ")").c_str());
  }
  write_attention_svgs(model->attention(d.test.src[0], test.outputs[0], d.src_vocab, d.tgt_vocab), d.splits.test[0].src,
                       run_dir.string());
  std::printf("\nrun folder %s: config.ini, metrics.csv, curves.svg, attention_encoder.svg, attention_cross.svg,\n"
              "checkpoint.npz (--resume), model.npz and vocabularies (--load %s)\n",
              run_dir.c_str(), run_dir.c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  CLI::App app{"xgrad translate: train an encoder-decoder Transformer on a CPU, or translate with one"};
  add_options(app, o);
  CLI11_PARSE(app, argc, argv);
  try {
    if (!o.load.empty()) return translate_mode(o);
    if (o.name.empty()) o.name = o.data.empty() ? o.task : fs::path(o.data).stem().string();
    std::string config_text = app.config_to_str(true, false);
    if (o.train.resume) {
      config_text = ex::reparse_on_run_config(fs::path(o.runs) / o.name / "config.ini", argc, argv, o, add_options);
      if (o.name.empty()) o.name = o.data.empty() ? o.task : fs::path(o.data).stem().string();
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
