#pragma once
// Command-line helpers shared by the examples (CLI11).
#include <CLI/CLI.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <xgrad/error.hpp>

#include "common/trainer.hpp"

namespace xgrad::examples {

// An optional input file: empty (not given) or an existing regular file.
inline std::string optional_existing_file(const std::string& f) {
  if (f.empty() || std::filesystem::is_regular_file(f)) return "";
  return std::filesystem::is_directory(f) ? "'" + f + "' is a directory, not a file" : "no such file: " + f;
}

// --resume: the options come from the run's config.ini, with anything on this command line on
// top. add_options(app, options) registers every option (and a --config option) on a fresh app.
// Returns the merged config, for writing back.
template <class Options, class AddOptions>
std::string reparse_on_run_config(const std::filesystem::path& config, int argc, char** argv, Options& o,
                                  AddOptions add_options) {
  XG_CHECK(std::filesystem::exists(config), "--resume: no run config at '", config.string(), "'");
  Options merged;
  CLI::App again;
  add_options(again, merged);
  std::vector<std::string> args{"--config", config.string()};
  args.insert(args.end(), argv + 1, argv + argc);
  std::reverse(args.begin(), args.end());  // CLI11 takes a vector of arguments last first
  try {
    again.parse(args);
  } catch (const CLI::ParseError& e) {  // say which file: the run's config.ini or this command line
    throw Error(str("--resume: with the run's config '", config.string(), "': ", e.what()));
  }
  o = merged;
  return again.config_to_str(true, false);
}

// The options of TrainingFlags, with the same names, checks and help in every example; `unit` says
// what a batch holds ("examples", "windows").
inline void add_training_options(CLI::App& app, TrainingFlags& t, const std::string& unit) {
  app.add_option("--batch-size", t.batch, unit + " per step")->check(CLI::Range(1, 65536))->capture_default_str();
  app.add_option("--lr", t.lr, "peak learning rate")->check(CLI::Range(1e-7, 1.0))->capture_default_str();
  app.add_option("--optimizer", t.optimizer, "adamw (decay on matrices), adam, radam or nadam")
      ->check(CLI::IsMember({"adamw", "adam", "radam", "nadam"}))->capture_default_str();
  app.add_flag("--zero", t.zero, "under mpirun: shard the optimizer's state over the ranks (ZeRO stage 1); "
               "checkpoints still hold all of it");
  app.add_option("--weight-decay", t.weight_decay, "adamw's decoupled weight decay")->check(CLI::Range(0.0, 10.0))->capture_default_str();
  app.add_option("--schedule", t.schedule, "after --warmup: cosine to 5% of --lr over the epochs, constant, or inverse-sqrt")
      ->check(CLI::IsMember({"cosine", "constant", "inverse-sqrt"}))->capture_default_str();
  app.add_option("--warmup", t.warmup, "linear warmup steps (0: none)")->check(CLI::Range(0, 1000000))->capture_default_str();
  app.add_option("--clip", t.clip, "gradient norm clip (0: off)")->check(CLI::Range(0.0, 1e6))->capture_default_str();
  app.add_option("--epochs", t.epochs, "epochs; the cosine schedule spans them")->check(CLI::Range(1, 1000000))->capture_default_str();
  app.add_option("--time-budget", t.time_budget, "stop training after this many seconds (0: no limit; a run it stops says so)")->check(CLI::Range(0.0, 1e7))->capture_default_str();
  app.add_option("--eval-every", t.eval_every, "steps between validations (and at each epoch's end)")->check(CLI::Range(1, 1000000))->capture_default_str();
  app.add_option("--seed", t.seed, "seed for everything random: data, initialisation, data order, dropout, sampling")->capture_default_str();
  app.add_option("--max-steps", t.max_steps, "stop after this many steps in all (0: no limit); --resume continues")->check(CLI::Range(0, 1000000000))->configurable(false);
  app.add_flag("--resume", t.resume, "continue the run in --runs/--name from its checkpoint, with its config")->configurable(false);
}

// Reads options back from a run's config.ini (for --load).
template <class Options, class AddOptions>
Options read_run_config(const std::filesystem::path& config, AddOptions add_options) {
  std::ifstream f(config);
  XG_CHECK(f.good(), "--load: no config.ini at '", config.string(), "'");
  Options o;
  CLI::App app;
  add_options(app, o);
  try {
    app.parse_from_stream(f);
  } catch (const CLI::ParseError& e) {
    throw Error(str("--load: the run's config '", config.string(), "' does not parse: ", e.what()));
  }
  return o;
}

}  // namespace xgrad::examples
