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
  std::string train_file, valid_file, test_file, tokenize = "words", lowercase = "auto";
  double valid_fraction = 0.05, test_fraction = 0.05;
  bool vocab_includes_valid = false;
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
  app.add_option("--data", o.data, "tab-separated UTF-8 source/target pairs instead of a task, split by --valid-fraction/--test-fraction")
      ->check(ex::optional_existing_file);
  app.add_option("--train", o.train_file, "tab-separated training pairs (with --valid and --test: your own splits)")->check(ex::optional_existing_file);
  app.add_option("--valid", o.valid_file, "tab-separated validation pairs")->check(ex::optional_existing_file);
  app.add_option("--test", o.test_file, "tab-separated test pairs")->check(ex::optional_existing_file);
  app.add_option("--valid-fraction", o.valid_fraction, "--data: the share of pairs held out for validation")->check(CLI::Range(0.0, 0.5))->capture_default_str();
  app.add_option("--test-fraction", o.test_fraction, "--data: the share of pairs held out for the test")->check(CLI::Range(0.0, 0.5))->capture_default_str();
  app.add_option("--tokenize", o.tokenize, "your pairs' tokens: words (punctuation split off), split (pre-tokenized: on spaces only), d2l (d2l 10.5's preprocessing), chars")
      ->check(CLI::IsMember({"words", "split", "d2l", "chars"}))->capture_default_str();
  app.add_option("--lowercase", o.lowercase, "Unicode lowercasing of your pairs: auto (yes for words and d2l), yes, no")
      ->check(CLI::IsMember({"auto", "yes", "no"}))->capture_default_str();
  app.add_flag("--vocab-includes-valid", o.vocab_includes_valid, "build the vocabularies from the validation text too (default: training text only)");
  app.add_option("--model", m.model, "transformer, or bahdanau (d2l 10.4: GRU encoder-decoder with additive attention)")
      ->check(CLI::IsMember({"transformer", "bahdanau"}))->capture_default_str();
  app.add_option("--d-model", m.d_model, "model width")->check(CLI::Range(8, 4096))->capture_default_str();
  app.add_option("--heads", m.heads, "attention heads")->check(CLI::Range(1, 64))->capture_default_str();
  app.add_option("--layers", m.layers, "encoder and decoder layers")->check(CLI::Range(1, 48))->capture_default_str();
  app.add_option("--ffn", m.ffn, "feed-forward width")->check(CLI::Range(1, 65536))->capture_default_str();
  app.add_flag("--norm-first", m.norm_first, "Transformer: pre-LN layers (layer norm before each block) instead of post-LN");
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

bool own_data(const Options& o) { return !o.data.empty() || !o.train_file.empty(); }

// How the run's text becomes tokens: characters for the built-in tasks, --tokenize for yours.
TextOptions text_options(const Options& o) {
  if (!own_data(o)) return {Tokens::kChars, false};
  const Tokens t = o.tokenize == "chars" ? Tokens::kChars : o.tokenize == "split" ? Tokens::kSplit
                 : o.tokenize == "d2l"   ? Tokens::kD2l   : Tokens::kWords;
  const bool lower = o.lowercase == "yes" || (o.lowercase == "auto" && (t == Tokens::kWords || t == Tokens::kD2l));
  return {t, lower};
}

Splits make_splits(const Options& o) {
  const TextOptions text = text_options(o);
  Splits s;
  if (!o.train_file.empty()) {
    XG_CHECK(!o.valid_file.empty() && !o.test_file.empty() && o.data.empty(),
             "translate: --train needs --valid and --test (and no --data)");
    s.train = read_pairs(o.train_file, text), s.valid = read_pairs(o.valid_file, text), s.test = read_pairs(o.test_file, text);
    XG_CHECK(!s.train.empty() && !s.valid.empty() && !s.test.empty(), "translate: --train, --valid and --test must each hold pairs");
  } else if (!o.data.empty()) {
    XG_CHECK(o.valid_file.empty() && o.test_file.empty(), "translate: --valid and --test go with --train, not --data");
    s = split_pairs(read_pairs(o.data, text), o.data, o.valid_fraction, o.test_fraction, o.train.seed);
  } else {
    XG_CHECK(o.valid_file.empty() && o.test_file.empty(), "translate: --valid and --test go with --train");
    s = make_task(o.task, o.n_train, o.n_eval, o.n_eval, o.train.seed);
  }
  s.text = text;
  return s;
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
  const TextOptions text = text_options(o);
  Vocab sv = read_vocab(fs::path(cli.load) / "vocab.src.txt"), tv = read_vocab(fs::path(cli.load) / "vocab.tgt.txt");
  Translator model = make_translator(sv.size(), tv.size(), o.model);
  model->load((fs::path(cli.load) / "model.npz").string());
  model->eval();
  auto run = [&](const std::string& line) {
    Encoded e = encode({{line, ""}}, sv, tv, text, o.model.max_len);
    Batch b = make_batch(e, {0});
    auto out = cli.beam > 1 ? model->beam_search(b.src, b.src_pad, o.model.max_len + 1, cli.beam, cli.length_penalty)
                            : model->greedy(b.src, b.src_pad, o.model.max_len + 1);
    std::printf("%s\t%s\n", line.c_str(), tv.join(out[0], text).c_str());
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
  Dataset d = Dataset::build(make_splits(o), o.min_freq, o.model.max_len, o.vocab_includes_valid);
  const bool main_rank = ex::is_main_rank();  // under mpirun, only rank 0 writes
  if (main_rank) {
    fs::create_directories(run_dir);
    xg::write_file_atomic((run_dir / "config.ini").string(), config_text);
    write_vocab(d.src_vocab, run_dir / "vocab.src.txt");
    write_vocab(d.tgt_vocab, run_dir / "vocab.tgt.txt");
  }
  if (o.export_splits && main_rank)  // e.g. for bench/translate_torch.py: the same data in PyTorch
    for (auto [name, pairs] : {std::pair{"train", &d.splits.train}, {"valid", &d.splits.valid}, {"test", &d.splits.test}}) {
      std::string tsv;
      for (auto& p : *pairs) tsv += p.src + "\t" + p.tgt + "\n";
      xg::write_file_atomic((run_dir / (std::string(name) + ".tsv")).string(), tsv);
    }
  const std::string source = !o.data.empty() ? o.data : !o.train_file.empty() ? o.train_file : o.task;
  std::printf("task %s: %zu train / %zu valid / %zu test pairs, vocab %lld -> %lld\n", source.c_str(),
              d.splits.train.size(), d.splits.valid.size(), d.splits.test.size(),
              static_cast<long long>(d.src_vocab.size()), static_cast<long long>(d.tgt_vocab.size()));
  for (auto [what, e] : {std::pair{"training", &d.train}, {"validation", &d.valid}, {"test", &d.test}})
    if (e->cut_src + e->cut_tgt > 0)
      std::printf("--max-len %lld cut %lld of %zu %s sources and %lld targets\n", static_cast<long long>(o.model.max_len),
                  static_cast<long long>(e->cut_src), e->src.size(), what, static_cast<long long>(e->cut_tgt));
  Translator model = make_translator(d.src_vocab.size(), d.tgt_vocab.size(), o.model);
  std::printf("model: %s: %lld parameters\n", model->describe().c_str(), static_cast<long long>(model->num_parameters()));
  o.train.run_dir = run_dir.string();
  if (xg::distributed::world_size() > 1)
    std::printf("data-parallel on %d ranks: %lld examples per step, about %lld on each\n", xg::distributed::world_size(),
                static_cast<long long>(o.train.batch), static_cast<long long>(o.train.batch / xg::distributed::world_size()));
  Trainer trainer(model, d, o.train);
  trainer.run();
  if (!main_rank) return 0;  // the test evaluation and pictures are rank 0's
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
    const std::string pred = d.tgt_vocab.join(test.outputs[i], d.splits.text);
    std::printf("  %-34s -> %-14s %s\n", d.splits.test[i].src.c_str(), pred.c_str(),
                tokenize(pred, d.splits.text) == tokenize(d.splits.test[i].tgt, d.splits.text)  // as evaluate() compares
                    ? "ok"
                    : ("(truth " + d.splits.test[i].tgt + ")").c_str());
  }
  write_attention_svgs(model->attention(d.test.src[0], test.outputs[0], d.src_vocab, d.tgt_vocab), d.splits.test[0].src,
                       run_dir.string());
  std::printf("\nrun folder %s: config.ini, metrics.csv, curves.svg, %sattention_cross.svg,\n"
              "checkpoint.npz (--resume), model.npz and vocabularies (--load %s)\n",
              run_dir.c_str(), o.model.model == "transformer" ? "attention_encoder.svg, " : "", run_dir.c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  ex::join_job();  // under mpirun: one rank of a data-parallel run
  Options o;
  CLI::App app{"xgrad translate: train an encoder-decoder Transformer on a CPU, or translate with one"};
  add_options(app, o);
  CLI11_PARSE(app, argc, argv);
  try {
    if (!o.load.empty()) return translate_mode(o);
    auto default_name = [&] {
      return !o.data.empty() ? fs::path(o.data).stem().string() : !o.train_file.empty() ? fs::path(o.train_file).stem().string() : o.task;
    };
    if (o.name.empty()) o.name = default_name();
    std::string config_text = app.config_to_str(true, false);
    if (o.train.resume) {
      config_text = ex::reparse_on_run_config(fs::path(o.runs) / o.name / "config.ini", argc, argv, o, add_options);
      if (o.name.empty()) o.name = default_name();
    }
    if (o.model.model == "transformer" && o.model.d_model % o.model.heads != 0) {
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
