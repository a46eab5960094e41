#pragma once
// Command-line helpers shared by the examples (CLI11).
#include <CLI/CLI.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <xgrad/error.hpp>

namespace xgrad::examples {

// An optional input file: empty (not given) or an existing regular file.
inline std::string optional_existing_file(const std::string& f) {
  return f.empty() || std::filesystem::is_regular_file(f) ? "" : "no such file: " + f;
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
  again.parse(args);
  o = merged;
  return again.config_to_str(true, false);
}

// Reads options back from a run's config.ini (for --load).
template <class Options, class AddOptions>
Options read_run_config(const std::filesystem::path& config, AddOptions add_options) {
  std::ifstream f(config);
  XG_CHECK(f.good(), "--load: no config.ini at '", config.string(), "'");
  Options o;
  CLI::App app;
  add_options(app, o);
  app.parse_from_stream(f);
  return o;
}

}  // namespace xgrad::examples
