#pragma once
// The training loop the examples share. Per step: zero_grad, the example's train_step (forward and
// loss on that step's batch), backward, gradient clipping, the optimizer's and the schedule's step,
// the progress line. Validation every eval_every steps and at each epoch's end (a row of
// metrics.csv), a checkpoint at each epoch's end and when the run stops, and --resume that
// continues bit for bit. An example says what a step, a validation and "done" are by overriding
// train_step and validate; the data order must be a function of the step, so that a resumed run
// needs only the step to continue.
//
// Under mpirun (xg::distributed's world of N ranks) the same loop trains data-parallel: rank 0's
// model is broadcast, each rank's backward averages the gradients over the ranks as it runs
// (nn::parallel::Reducer, DistributedDataParallel's machinery), each rank takes its share of every
// step's batch (ex::Sharded), and stop decisions are agreed by all. Only rank 0 prints, writes
// metrics.csv, pictures and checkpoints; every rank validates (the same model, the same answer).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <memory>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include <xgrad/distributed.hpp>
#include <xgrad/xgrad.hpp>

#include "common/checkpoint.hpp"
#include "common/distributed.hpp"
#include "common/metrics.hpp"
#include "common/progress.hpp"

namespace xgrad::examples {

// The training options every example's command line has (add_training_options in cli.hpp
// registers them); each example sets its own defaults.
struct TrainingFlags {
  int64_t batch = 32, warmup = 100, eval_every = 200, max_steps = 0;  // max_steps 0: no limit
  double lr = 1e-3, clip = 1.0, time_budget = 0, weight_decay = 0.01;  // time_budget 0: no limit
  int epochs = 1;
  uint64_t seed = 0;
  bool resume = false;
  bool zero = false;  // multi-rank: the optimizer's state sharded over the ranks (ZeRO stage 1)
  std::string optimizer = "adamw", schedule = "cosine";
};

struct LoopOptions {
  int64_t steps_per_epoch = 1;
  int epochs = 1;
  int64_t eval_every = 200;  // steps between validations (and one at each epoch's end)
  int64_t max_steps = 0;     // stop after this many steps in all; 0: no limit
  double clip = 1.0;         // gradient norm clip; 0: off
  double time_budget = 0;    // stop after this many seconds of training; 0: no limit
  std::string run_dir;       // metrics.csv and checkpoint.npz go here; empty: nothing is written
  bool resume = false;       // continue from run_dir/checkpoint.npz
  bool verbose = true;       // progress bar and validation lines
};

inline LoopOptions loop_options(const TrainingFlags& f, int64_t steps_per_epoch, std::string run_dir, bool verbose = true) {
  LoopOptions l;
  l.steps_per_epoch = steps_per_epoch;
  l.epochs = f.epochs;
  l.eval_every = f.eval_every;
  l.max_steps = f.max_steps;
  l.clip = f.clip;
  l.time_budget = f.time_budget;
  l.run_dir = std::move(run_dir);
  l.resume = f.resume;
  l.verbose = verbose;
  return l;
}

// The optimizer and schedule an example trains with, built before the loop that drives them (a
// trainer derives from it first: base-from-member), as the flags say:
//   --optimizer adamw  decoupled weight decay (--weight-decay) on matrices, none on vectors
//                      (optim::split_weight_decay)
//               adam | radam | nadam   no weight decay
//   --schedule  cosine        --warmup linear steps, then cosine down to 5% of --lr over all the epochs
//               constant      --warmup linear steps, then --lr
//               inverse-sqrt  --warmup linear steps, then lr·√(warmup/step) (the Transformer paper's)
// `like` gives the betas and eps (the optimizers that have them use them).
struct OptimizerAndSchedule {
  OptimizerAndSchedule(nn::Module& model, const TrainingFlags& f, int64_t steps_per_epoch, optim::AdamWOptions like)
      : optimizer(make_optimizer(model, f, like)), schedule(make_schedule(*optimizer, f, steps_per_epoch * f.epochs)) {}

  static std::unique_ptr<optim::Optimizer> make_optimizer(nn::Module& model, const TrainingFlags& f,
                                                          optim::AdamWOptions like) {
    auto opt = make_plain_optimizer(model, f, like);
    if (!f.zero) return opt;
    // The Trainer's reducer averages the gradients in backward (as DDP): ZeRO only shards the step.
    return std::make_unique<optim::ZeroRedundancyOptimizer>(
        std::move(opt), optim::ZeroRedundancyOptimizerOptions().reduce_gradients(false));
  }

  static std::unique_ptr<optim::Optimizer> make_plain_optimizer(nn::Module& model, const TrainingFlags& f,
                                                                optim::AdamWOptions like) {
    const auto betas = like.betas();
    const double eps = like.eps();
    if (f.optimizer == "adamw") {
      auto [matrices, vectors] = optim::split_weight_decay(model.named_parameters());
      auto decay = like.lr(f.lr).weight_decay(f.weight_decay), no_decay = decay;
      no_decay.weight_decay(0.0);
      return std::make_unique<optim::AdamW>(
          std::vector<std::pair<TensorList, optim::AdamWOptions>>{{matrices, decay}, {vectors, no_decay}});
    }
    if (f.optimizer == "adam")
      return std::make_unique<optim::Adam>(model.parameters(), optim::AdamOptions(f.lr).betas(betas).eps(eps));
    if (f.optimizer == "radam")
      return std::make_unique<optim::RAdam>(model.parameters(), optim::RAdamOptions(f.lr).betas(betas).eps(eps));
    if (f.optimizer == "nadam")
      return std::make_unique<optim::NAdam>(model.parameters(), optim::NAdamOptions(f.lr).betas(betas).eps(eps));
    throw Error(str("--optimizer: unknown '", f.optimizer, "' (adamw, adam, radam, nadam)"));
  }

  static std::unique_ptr<optim::LRScheduler> make_schedule(optim::Optimizer& opt, const TrainingFlags& f, int64_t total) {
    const int64_t warmup = f.warmup;
    if (f.schedule == "cosine")
      return std::make_unique<optim::LinearWarmupCosine>(opt, warmup, std::max(total, warmup + 1), f.lr * 0.05);
    auto ramp = [warmup](int64_t step) { return warmup > 0 && step < warmup ? static_cast<double>(step + 1) / warmup : 1.0; };
    if (f.schedule == "constant") return std::make_unique<optim::LambdaLR>(opt, ramp);
    if (f.schedule == "inverse-sqrt")
      return std::make_unique<optim::LambdaLR>(opt, [warmup, ramp](int64_t step) {
        return step < warmup ? ramp(step) : std::sqrt(static_cast<double>(std::max<int64_t>(warmup, 1)) / static_cast<double>(step + 1));
      });
    throw Error(str("--schedule: unknown '", f.schedule, "' (cosine, constant, inverse-sqrt)"));
  }

  std::unique_ptr<optim::Optimizer> optimizer;
  std::unique_ptr<optim::LRScheduler> schedule;
};

// What one training step computed: the loss to differentiate, and the tokens it covered.
struct StepResult {
  Tensor loss;
  double tokens = 0;
};

// Where this process's time went (not saved in checkpoints): printed at the end of a verbose run,
// so that a slow run says whether its steps or what surrounds them cost the time.
struct PhaseTimes {
  double steps = 0, validation = 0, logging = 0, checkpoints = 0;  // logging: metrics.csv and pictures
  int64_t step_count = 0;
};

// A validation: one value per validation column, a summary for the log, and whether the run has
// reached its target and should stop.
struct Validation {
  std::vector<double> values;
  std::string summary;
  bool done = false;
};

class Trainer {
 public:
  // validation_columns: the metrics.csv columns after step, epoch, seconds, train_loss and lr.
  Trainer(nn::Module& model, optim::Optimizer& optimizer, optim::LRScheduler& schedule, LoopOptions options,
          const std::vector<std::string>& validation_columns)
      : model_(model), optimizer_(optimizer), schedule_(schedule), o_(rank_options(std::move(options))),
        metrics_(o_.run_dir.empty() || !is_main_rank() ? "" : o_.run_dir + "/metrics.csv", columns(validation_columns)) {
    XG_CHECK(o_.steps_per_epoch > 0 && o_.epochs > 0, "Trainer: steps_per_epoch and epochs must be positive, got ",
             o_.steps_per_epoch, " and ", o_.epochs);
    if (distributed::world_size() > 1) {
      nn::parallel::broadcast_module_state(model_);
      // Buckets of a quarter of the model (0.25 to 25 MB): PyTorch's 25 MB would make one bucket of
      // these small models, all-reduced only after backward; four overlap three quarters of it.
      const double mb = static_cast<double>(model_.num_parameters()) * 4 / 1048576.0;
      reducer_ = std::make_unique<nn::parallel::Reducer>(
          model_.named_parameters(),
          nn::parallel::DistributedDataParallelOptions().bucket_cap_mb(std::clamp(mb / 4, 0.25, 25.0)));
    }
  }
  virtual ~Trainer() = default;

  // Trains until the epochs are done, the time budget or max_steps is spent, or a validation says
  // done; validates the final state (a finished run, resumed, is only evaluated). Returns that
  // last validation.
  Validation run() {
    if (o_.resume) restore();
    decorrelate_ranks();
    started_ = std::chrono::steady_clock::now();
    const int64_t first_step = run_.step;
    Validation last;
    bool stop = run_.step >= total_steps(), validated = false;  // validated: the current state is
    std::string why;  // a stop before the planned steps says so
    while (!stop) {
      train_one_step();
      validated = false;
      if (run_.step < total_steps() && o_.time_budget > 0 && budget_spent_)
        why = str("--time-budget ", o_.time_budget, " s was spent");
      else if (run_.step < total_steps() && o_.max_steps > 0 && run_.step >= o_.max_steps)
        why = str("--max-steps ", o_.max_steps, " was reached");
      stop = run_.step >= total_steps() || !why.empty();
      const bool epoch_end = run_.step % o_.steps_per_epoch == 0;
      const bool scheduled = run_.step % o_.eval_every == 0 || epoch_end;
      if (scheduled || stop) {
        // An unscheduled validation (stopping) leaves the running train loss alone, so that a
        // resumed run logs what an uninterrupted one does.
        last = validate_and_log(scheduled), validated = true;
        last.done = agree(last.done);
        if (last.done && run_.step < total_steps()) why = "the validation target was reached";
        stop = stop || last.done;
      }
      if (epoch_end || stop) save_checkpoint();
    }
    if (!validated) last = run_.step > first_step ? validate_and_log(false) : validate();
    {
      Timed timed{times_.checkpoints};
      writer_.wait();
    }
    progress_.clear();
    if (o_.verbose && !why.empty())
      std::printf("stopped at step %lld of %lld (epoch %lld of %d): %s; lr %.3g\n", static_cast<long long>(run_.step),
                  static_cast<long long>(total_steps()), static_cast<long long>(epoch_of(run_.step - 1)), o_.epochs,
                  why.c_str(), optimizer_.lr(0));
    if (o_.verbose && times_.step_count > 0) print_times();
    return last;
  }

  int64_t steps() const { return run_.step; }
  int64_t total_steps() const { return o_.steps_per_epoch * o_.epochs; }
  // The epoch (from 1) and the position in it of global step `step`.
  int64_t epoch_of(int64_t step) const { return step / o_.steps_per_epoch + 1; }
  int64_t position_of(int64_t step) const { return step % o_.steps_per_epoch; }
  double elapsed() const {
    return run_.seconds + std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
  }
  Progress& progress() { return progress_; }
  const MetricsLog& metrics() const { return metrics_; }
  const LoopOptions& options() const { return o_; }
  const PhaseTimes& times() const { return times_; }
  // The gradient all-reduce's cost in the last step (multi-rank runs only).
  nn::parallel::ReducerStats reducer_stats() const { return reducer_ ? reducer_->stats() : nn::parallel::ReducerStats{}; }

 protected:
  // Forward and loss of global step `step`'s batch (gradients are zero; the loop runs backward).
  virtual StepResult train_step(int64_t step) = 0;
  // Evaluates the current model (no gradients); leaves it in training mode.
  virtual Validation validate() = 0;
  // After each logged validation (metrics() has its row): pictures, say.
  virtual void on_validated() {}
  // The example's own counters, saved in the checkpoint and handed back on resume.
  virtual Counters extra_counters() const { return {}; }
  virtual void restore_extra(const Counters&) {}

 private:
  // Ranks other than 0 write nothing and print nothing.
  static LoopOptions rank_options(LoopOptions o) {
    if (!is_main_rank()) o.verbose = false;
    return o;
  }

  // Every rank starts from the same generator (the seed, or rank 0's checkpoint); ranks other than
  // 0 then draw their own dropout masks (a stream derived from that state and the rank), so the
  // ranks' masks differ as one process's would across its batch. Rank 0 — and a single process —
  // keeps the stream untouched.
  void decorrelate_ranks() {
    const int rank = distributed::rank();
    if (distributed::world_size() == 1) return;
    const uint64_t base = global_generator()();
    if (rank > 0) manual_seed(base + 0x9E3779B97F4A7C15ull * static_cast<uint64_t>(rank));
  }

  // The same decision on every rank: true if any rank says so.
  static bool agree(bool mine) {
    if (distributed::world_size() == 1) return mine;
    Tensor flag = scalar_tensor(mine ? 1.0 : 0.0, kFloat64);
    distributed::all_reduce(flag, distributed::ReduceOp::MAX);
    return flag.item<double>() > 0;
  }

  static std::vector<std::string> columns(const std::vector<std::string>& validation) {
    std::vector<std::string> all{"step", "epoch", "seconds", "train_loss", "lr"};
    all.insert(all.end(), validation.begin(), validation.end());
    return all;
  }

  // Seconds since `t0` on the steady clock, added to `into`.
  struct Timed {
    double& into;
    std::chrono::steady_clock::time_point t0 = std::chrono::steady_clock::now();
    ~Timed() { into += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(); }
  };

  void print_times() const {
    const double total = elapsed() - run_.seconds, s = times_.steps;
    std::printf("time in this run: %.1f s = steps %.1f s (%lld, %.0f ms each) + validation %.1f s + "
                "metrics and pictures %.1f s + checkpoints %.1f s + other %.1f s\n",
                total, s, static_cast<long long>(times_.step_count), 1e3 * s / static_cast<double>(times_.step_count),
                times_.validation, times_.logging, times_.checkpoints,
                total - s - times_.validation - times_.logging - times_.checkpoints);
  }

  void train_one_step() {
    Timed timed{times_.steps};
    ++times_.step_count;
    const int64_t step = run_.step;
    optimizer_.zero_grad();
    StepResult r = train_step(step);
    r.loss.backward();  // multi-rank: returns with the gradients averaged over the ranks
    if (o_.clip > 0) nn::utils::clip_grad_norm_(model_.parameters(), o_.clip);
    optimizer_.step();
    schedule_.step();
    ++run_.step;
    double loss = r.loss.item<double>(), tokens = r.tokens;
    budget_spent_ = o_.time_budget > 0 && elapsed() >= o_.time_budget;
    if (distributed::world_size() > 1) {  // the loss averaged and the tokens summed over ranks; one budget
      Tensor s = tensor(std::vector<double>{loss, tokens, budget_spent_ ? 1.0 : 0.0}, kFloat64);
      distributed::all_reduce(s, distributed::ReduceOp::SUM);
      loss = s.data_ptr<double>()[0] / distributed::world_size(), tokens = s.data_ptr<double>()[1];
      budget_spent_ = s.data_ptr<double>()[2] > 0;
    }
    run_.tokens += tokens;
    run_.loss_sum += loss, ++run_.loss_n;
    if (o_.verbose)
      progress_.update(static_cast<int>(epoch_of(step)), o_.epochs, run_.step, o_.steps_per_epoch,
                       position_of(step) + 1, run_.loss_sum / run_.loss_n, optimizer_.lr(0),
                       run_.tokens / std::max(elapsed() - run_.eval_seconds, 1e-9), elapsed(),
                       static_cast<double>(run_.step) / static_cast<double>(total_steps()));
  }

  Validation validate_and_log(bool reset_train_loss) {
    const double t0 = elapsed();
    Validation v = [&] {
      Timed timed{times_.validation};
      return validate();
    }();
    run_.eval_seconds += elapsed() - t0;
    const double train_loss = run_.loss_sum / static_cast<double>(std::max<int64_t>(run_.loss_n, 1));
    const int64_t epoch = epoch_of(run_.step - 1);  // the epoch of the step just taken
    if (o_.verbose) {
      char head[96], tail[32];
      std::snprintf(head, sizeof head, "epoch %lld step %lld  train loss %.4f  ", static_cast<long long>(epoch),
                    static_cast<long long>(run_.step), train_loss);
      std::snprintf(tail, sizeof tail, "  (%.1f s)", elapsed());
      progress_.print(head + v.summary + tail);
    }
    std::vector<double> row{static_cast<double>(run_.step), static_cast<double>(epoch), elapsed(), train_loss,
                            optimizer_.lr(0)};
    row.insert(row.end(), v.values.begin(), v.values.end());
    Timed timed{times_.logging};  // metrics.csv and the example's pictures
    metrics_.add(row);
    if (is_main_rank()) on_validated();
    if (reset_train_loss) run_.loss_sum = 0, run_.loss_n = 0;
    return v;
  }

  // The state is copied here and written by writer_'s thread while training goes on (the next
  // save, and the end of run(), wait for it): model.npz is the checkpoint's model. entries.
  // With ZeRO the optimizer's state_dict is a collective (each rank sends its shard's state): every
  // rank takes part, rank 0 writes.
  void save_checkpoint() {
    const bool collective = distributed::world_size() > 1 && dynamic_cast<optim::ZeroRedundancyOptimizer*>(&optimizer_);
    if (o_.run_dir.empty() || (!is_main_rank() && !collective)) return;
    Timed timed{times_.checkpoints};
    Counters counters = run_.save(elapsed());
    for (auto& c : extra_counters()) counters.push_back(c);
    auto all = std::make_shared<NamedTensors>(checkpoint_tensors(model_, optimizer_, schedule_, counters));
    if (!is_main_rank()) return;
    writer_.write([all, dir = o_.run_dir] {
      save_npz(dir + "/checkpoint.npz", *all);
      NamedTensors model;
      for (auto& [k, v] : *all)
        if (k.rfind("model.", 0) == 0) model.emplace_back(k.substr(6), v);
      save_npz(dir + "/model.npz", model);
    });
  }

  void restore() {
    const std::string path = o_.run_dir + "/checkpoint.npz";
    XG_CHECK(std::filesystem::exists(path), "--resume: no checkpoint at '", path, "'");
    const Counters c = load_checkpoint(path, model_, optimizer_, schedule_);
    run_.load(c);
    XG_CHECK(run_.step <= total_steps(), "--resume: the checkpoint is at step ", run_.step, " of a run of ",
             total_steps(), " steps (", o_.epochs, " epochs of ", o_.steps_per_epoch, ")");
    restore_extra(c);
    metrics_.restore_until(static_cast<double>(run_.step));
    if (o_.verbose) progress_.print("resumed from " + path + " at step " + std::to_string(run_.step));
  }

  nn::Module& model_;
  optim::Optimizer& optimizer_;
  optim::LRScheduler& schedule_;
  LoopOptions o_;
  MetricsLog metrics_;
  Progress progress_;
  std::chrono::steady_clock::time_point started_;
  RunCounters run_;
  PhaseTimes times_;
  bool budget_spent_ = false;
  std::unique_ptr<nn::parallel::Reducer> reducer_;  // multi-rank runs: averages gradients in backward
  BackgroundWriter writer_;  // last member: destroyed (waited for) first
};

}  // namespace xgrad::examples
