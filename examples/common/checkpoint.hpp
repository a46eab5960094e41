#pragma once
// Everything a training run needs to continue exactly where it stopped, in one .npz written
// atomically: the model's state_dict, the optimizer's and the schedule's state, the global
// generator (dropout), and the run's counters. Keys are prefixed model. / optim. / sched. / run.
#include <cmath>
#include <cstdio>
#include <functional>
#include <future>
#include <sstream>
#include <string>

#include <xgrad/xgrad.hpp>

namespace xgrad::examples {

// std::mt19937_64's state as int64 words (its textual state, parsed), and back.
inline Tensor generator_state(const std::mt19937_64& g) {
  std::stringstream ss;
  ss << g;
  std::vector<int64_t> words;
  for (unsigned long long w; ss >> w;) words.push_back(static_cast<int64_t>(w));
  return tensor(words);
}
inline void set_generator_state(std::mt19937_64& g, const Tensor& state) {
  XG_CHECK(state.dtype() == kInt64 && state.dim() == 1, "checkpoint: bad generator state ", state.sizes());
  std::stringstream ss;
  const int64_t* p = state.data_ptr<int64_t>();
  for (int64_t i = 0; i < state.numel(); ++i) ss << static_cast<unsigned long long>(p[i]) << ' ';
  ss >> g;
  XG_CHECK(!ss.fail(), "checkpoint: generator state does not parse (", state.numel(), " words)");
}

// The run's own counters (step, epoch, ...) as float64 scalars by name.
using Counters = std::vector<std::pair<std::string, double>>;

// What a checkpoint holds, as copies (training may go on while they are written): the model's
// state_dict under model., the optimizer's under optim., the schedule's under sched., the global
// generator and the counters under run.
inline NamedTensors checkpoint_tensors(const nn::Module& model, const optim::Optimizer& opt,
                                       const optim::LRScheduler& sched, const Counters& counters) {
  NoGradGuard no_grad;
  NamedTensors all;
  auto add = [&](const std::string& prefix, const NamedTensors& part) {
    for (auto& [k, v] : part) all.emplace_back(prefix + k, v.clone());
  };
  add("model.", model.state_dict());
  add("optim.", opt.state_dict());
  add("sched.", sched.state_dict());
  all.emplace_back("rng.global", generator_state(global_generator()));
  for (auto& [k, v] : counters) all.emplace_back("run." + k, scalar_tensor(v, kFloat64));
  return all;
}

inline void save_checkpoint(const std::string& path, const nn::Module& model, const optim::Optimizer& opt,
                            const optim::LRScheduler& sched, const Counters& counters) {
  save_npz(path, checkpoint_tensors(model, opt, sched, counters));
}

// Runs file writes on a thread of its own, one job at a time, so that a training step need not
// wait for the disk (a 30 MB checkpoint with its fsyncs takes ~0.1 s here, an epoch of a small
// corpus a second). write() first waits for the job before it; wait() rethrows a job's error.
class BackgroundWriter {
 public:
  BackgroundWriter() = default;
  BackgroundWriter(const BackgroundWriter&) = delete;
  BackgroundWriter& operator=(const BackgroundWriter&) = delete;
  ~BackgroundWriter() {
    try {
      wait();
    } catch (const std::exception& e) {  // a destructor must not throw: the run is ending anyway
      std::fprintf(stderr, "error: %s\n", e.what());
    }
  }
  void write(std::function<void()> job) {
    wait();
    pending_ = std::async(std::launch::async, std::move(job));
  }
  void wait() {
    if (pending_.valid()) pending_.get();
  }

 private:
  std::future<void> pending_;
};

// Restores what save_checkpoint wrote (the model, optimizer and schedule must be built the same
// way first) and returns the counters.
inline Counters load_checkpoint(const std::string& path, nn::Module& model, optim::Optimizer& opt,
                                optim::LRScheduler& sched) {
  NamedTensors model_sd, opt_sd, sched_sd;
  Counters counters;
  bool have_rng = false;
  for (auto& entry : load_npz(path)) {
    const std::string& k = entry.first;  // named, not bound: the lambda below uses it (clang 14)
    const Tensor& v = entry.second;
    auto starts = [&](const char* p) { return k.rfind(p, 0) == 0; };
    const std::string rest = k.substr(k.find('.') + 1);
    if (starts("model.")) model_sd.emplace_back(rest, v);
    else if (starts("optim.")) opt_sd.emplace_back(rest, v);
    else if (starts("sched.")) sched_sd.emplace_back(rest, v);
    else if (k == "rng.global") set_generator_state(global_generator(), v), have_rng = true;
    else if (starts("run.")) counters.emplace_back(rest, v.item<double>());
  }
  XG_CHECK(!model_sd.empty() && !opt_sd.empty() && have_rng, "checkpoint: '", path,
           "' is not a training checkpoint (model., optim. and rng. entries expected)");
  model.load_state_dict(model_sd);
  opt.load_state_dict(opt_sd);
  sched.load_state_dict(sched_sd);
  return counters;
}

inline double counter(const Counters& c, const std::string& name) {
  for (auto& [k, v] : c)
    if (k == name) return v;
  throw Error(str("checkpoint: no counter '", name, "'"));
}


// The counters both examples' trainers keep across a resume.
struct RunCounters {
  int64_t step = 0, loss_n = 0;  // loss_n, loss_sum: the running training loss since it was logged
  double seconds = 0, eval_seconds = 0, tokens = 0, loss_sum = 0;  // seconds: spent before this process

  Counters save(double elapsed) const {
    return {{"step", static_cast<double>(step)}, {"seconds", elapsed},   {"eval_seconds", eval_seconds},
            {"tokens", tokens},                  {"loss_sum", loss_sum}, {"loss_n", static_cast<double>(loss_n)}};
  }
  // Checked before anything is set: counts whole and non-negative, times and sums finite.
  void load(const Counters& c) {
    auto count = [&](const char* name) {
      const double v = counter(c, name);
      XG_CHECK(std::isfinite(v) && v >= 0 && v <= 1e15 && v == std::floor(v), "checkpoint: counter '", name, "' is ",
               v, ", expected a whole number >= 0");
      return static_cast<int64_t>(v);
    };
    auto amount = [&](const char* name, bool non_negative) {
      const double v = counter(c, name);
      XG_CHECK(std::isfinite(v) && (!non_negative || v >= 0), "checkpoint: counter '", name, "' is ", v);
      return v;
    };
    const RunCounters r{count("step"), count("loss_n"), amount("seconds", true), amount("eval_seconds", true),
                        amount("tokens", true), amount("loss_sum", false)};
    *this = r;
  }
};

}  // namespace xgrad::examples
