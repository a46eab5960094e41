#pragma once
// Training and evaluation of the translation model: the loop (teacher forcing, label smoothing,
// AdamW, warmup + cosine, clipping), validation (loss, token accuracy, exact match, BLEU-2/4),
// the run folder (metrics.csv, curves, attention heatmaps, checkpoints) and exact resumption.
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <numeric>
#include <optional>
#include <sstream>

#include "common/epoch_sampler.hpp"
#include "common/plot.hpp"
#include "common/trainer.hpp"
#include "translate/bleu.hpp"
#include "translate/bahdanau.hpp"
#include "translate/model.hpp"

namespace translate {

namespace optim = xg::optim;
namespace ex = xg::examples;

// A task's data, ready for training: the raw pairs, vocabularies and token ids.
struct Dataset {
  Splits splits;
  Vocab src_vocab, tgt_vocab;
  Encoded train, valid, test;

  // Vocabularies from the training pairs (and the validation pairs' text too if
  // vocab_includes_valid), tokens seen at least min_freq times.
  static Dataset build(Splits sp, int64_t min_freq, int64_t max_len, bool vocab_includes_valid = false) {
    Dataset d;
    std::vector<std::vector<std::string>> stoks, ttoks;
    for (auto* part : {&sp.train, &sp.valid}) {
      if (part == &sp.valid && !vocab_includes_valid) break;
      for (auto& p : *part) stoks.push_back(tokenize(p.src, sp.text)), ttoks.push_back(tokenize(p.tgt, sp.text));
    }
    d.src_vocab = Vocab::build(stoks, min_freq);
    d.tgt_vocab = Vocab::build(ttoks, min_freq);
    d.train = encode(sp.train, d.src_vocab, d.tgt_vocab, sp.text, max_len);
    d.valid = encode(sp.valid, d.src_vocab, d.tgt_vocab, sp.text, max_len);
    d.test = encode(sp.test, d.src_vocab, d.tgt_vocab, sp.text, max_len);
    d.splits = std::move(sp);
    return d;
  }
};

struct TrainOptions : ex::TrainingFlags {
  TrainOptions() { batch = 64, lr = 2e-3, epochs = 3; }
  double smoothing = 0.1, target = 0.995;
  std::string run_dir;  // empty: write nothing
  bool verbose = true;
};

struct Evaluation {
  double loss = 0, token_accuracy = 0, exact = 0, bleu2 = 0, bleu4 = 0;
  std::vector<std::vector<int64_t>> outputs;  // decoded token ids per example (incl. <eos>)
};

// Validation/test metrics of `pairs` (encoded as `e`): teacher-forced loss (nats per token) and
// token accuracy; exact match and mean BLEU of the decoded outputs against the raw targets.
inline Evaluation evaluate(Translator& model, const Dataset& d, const std::vector<Pair>& pairs, const Encoded& e,
                           int64_t beam = 1, double alpha = 0.75) {
  xg::NoGradGuard ng;
  const bool was_training = model->is_training();
  model->eval();
  Evaluation r;
  double loss_sum = 0, tokens = 0, right = 0;
  const int64_t n = static_cast<int64_t>(e.src.size()), chunk = std::max<int64_t>(1, 250 / beam);
  for (int64_t s = 0; s < n; s += chunk) {
    std::vector<int64_t> idx(static_cast<size_t>(std::min(chunk, n - s)));
    std::iota(idx.begin(), idx.end(), s);
    Batch b = make_batch(e, idx);
    xg::Tensor logits = model(b);
    loss_sum += xg::cross_entropy(logits.reshape({-1, logits.size(2)}), b.tgt_out.reshape({-1}),
                                  xg::CrossEntropyLossOptions().ignore_index(Vocab::kPad).reduction(xg::kSum))
                    .item<double>();
    right += static_cast<double>(((xg::argmax(logits, -1) == b.tgt_out) & ~b.tgt_pad).to(xg::kInt64).sum().item<int64_t>());
    tokens += static_cast<double>(b.tgt_tokens);
    const int64_t max_len = model->cfg.max_len + 1;
    auto out = beam > 1 ? model->beam_search(b.src, b.src_pad, max_len, beam, alpha) : model->greedy(b.src, b.src_pad, max_len);
    for (auto& o : out) r.outputs.push_back(std::move(o));
  }
  for (size_t i = 0; i < pairs.size(); ++i) {
    std::vector<std::string> pred, truth = tokenize(pairs[i].tgt, d.splits.text);
    for (int64_t id : r.outputs[i]) {
      if (id == Vocab::kEos) break;
      pred.push_back(d.tgt_vocab.itos.at(static_cast<size_t>(id)));
    }
    r.exact += pred == truth;
    r.bleu2 += bleu(pred, truth, 2);
    r.bleu4 += bleu(pred, truth, 4);
  }
  const double m = static_cast<double>(std::max<size_t>(pairs.size(), 1));
  r.exact /= m, r.bleu2 /= m, r.bleu4 /= m;
  r.loss = loss_sum / std::max(tokens, 1.0);
  r.token_accuracy = right / std::max(tokens, 1.0);
  model->train(was_training);
  return r;
}

// Heatmaps of one example's attention: encoder self-attention and decoder cross-attention, per
// layer and head, with the tokens on the axes.
inline void write_attention_svgs(const AttentionSample& a, const std::string& src_text, const std::string& dir) {
  auto shown = [](std::vector<std::string> toks) {
    for (auto& t : toks) t = t == " " ? "\u2423" : t;  // make spaces visible
    return toks;
  };
  const auto src = shown(a.src_tokens), tgt = shown(a.tgt_tokens);
  auto maps = [&](const std::vector<xg::Tensor>& per_layer, const std::vector<std::string>& rows) {
    std::vector<ex::Heatmap> out;
    for (size_t l = 0; l < per_layer.size(); ++l) {
      xg::Tensor w = per_layer[l].to(xg::kFloat64).contiguous();  // (H, rows, cols)
      for (int64_t h = 0; h < w.size(0); ++h) {
        ex::Heatmap m{"layer " + std::to_string(l + 1) + ", head " + std::to_string(h + 1), rows, src, {}};
        const double* p = w.data_ptr<double>() + h * w.size(1) * w.size(2);
        m.values.assign(p, p + w.size(1) * w.size(2));
        out.push_back(std::move(m));
      }
    }
    return out;
  };
  const int heads = a.encoder_self.empty() ? 1 : static_cast<int>(a.encoder_self[0].size(0));
  if (!a.encoder_self.empty())  // (the GRU encoder has no self-attention)
    ex::write_heatmaps_svg(dir + "/attention_encoder.svg", "Encoder self-attention: \"" + src_text + "\"",
                           maps(a.encoder_self, src), heads);
  ex::write_heatmaps_svg(dir + "/attention_cross.svg", "Decoder cross-attention (rows: output so far): \"" + src_text + "\"",
                         maps(a.decoder_cross, tgt), heads);
}

// Teacher-forced training with label smoothing on the shared loop; validation decodes the
// held-out pairs and stops the run once exact match reaches the target.
class Trainer : private ex::OptimizerAndSchedule, public ex::Trainer {
 public:
  Trainer(Translator& model, const Dataset& data, TrainOptions o)
      : OptimizerAndSchedule(*model, o, steps_per_epoch(data, o), optim::AdamWOptions().betas({0.9, 0.98}).eps(1e-9)),
        ex::Trainer(*model, *optimizer, *schedule, ex::loop_options(o, steps_per_epoch(data, o), o.run_dir, o.verbose),
                    {"valid_loss", "valid_token_accuracy", "valid_exact", "valid_bleu2", "valid_bleu4"}),
        model_(model), d_(data), o_(std::move(o)),
        loss_options_(xg::CrossEntropyLossOptions().ignore_index(Vocab::kPad).label_smoothing(o_.smoothing)) {}

  // The last validation in full (run() returns the loop's summary of it).
  const Evaluation& last_evaluation() const { return last_; }
  double time_to(double acc) const { return acc >= 0.99 ? t99_ : t95_; }

 private:
  static int64_t steps_per_epoch(const Dataset& d, const TrainOptions& o) {
    return (static_cast<int64_t>(d.train.src.size()) + o.batch - 1) / o.batch;
  }

  // Batches come from the data loader: its worker pads the next batches while this thread trains.
  // The data order of an epoch is a function of (seed, epoch) (ex::EpochSampler), so a step — also
  // the first step of a resumed run, mid-epoch — starts the loader where that step's batch is.
  ex::StepResult train_step(int64_t step) override {
    if (step != next_step_ || position_of(step) == 0) {
      loader_->sampler().start(epoch_of(step), static_cast<size_t>(position_of(step) * o_.batch));
      batch_.emplace(loader_->begin());
    } else {
      ++*batch_;
    }
    next_step_ = step + 1;
    const Batch& b = **batch_;
    xg::Tensor logits = model_(b);
    return {xg::cross_entropy(logits.reshape({-1, logits.size(2)}), b.tgt_out.reshape({-1}), loss_options_),
            static_cast<double>(b.tgt_tokens)};
  }

  ex::Validation validate() override {
    last_ = evaluate(model_, d_, d_.splits.valid, d_.valid);
    if (last_.exact >= 0.95 && t95_ < 0) t95_ = elapsed();
    if (last_.exact >= 0.99 && t99_ < 0) t99_ = elapsed();
    char line[200];
    std::snprintf(line, sizeof line, "valid loss %.4f  token %.1f%%  exact %.1f%%  BLEU-2 %.3f  BLEU-4 %.3f", last_.loss,
                  100 * last_.token_accuracy, 100 * last_.exact, last_.bleu2, last_.bleu4);
    return {{last_.loss, last_.token_accuracy, last_.exact, last_.bleu2, last_.bleu4}, line, o_.target > 0 && last_.exact >= o_.target};
  }

  // The curves, redrawn after each validation: losses on one panel, accuracies on the other.
  void on_validated() override {
    if (o_.run_dir.empty()) return;
    const auto& m = metrics();
    const auto step = m.column("step");
    ex::Panel loss("Loss (nats per token)", "step", "loss"), acc("Validation accuracy", "step", "");
    loss.series = {{"train (label-smoothed)", step, m.column("train_loss")}, {"validation", step, m.column("valid_loss")}};
    acc.series = {{"exact match", step, m.column("valid_exact")},
                  {"token accuracy", step, m.column("valid_token_accuracy")},
                  {"BLEU-2", step, m.column("valid_bleu2")},
                  {"BLEU-4", step, m.column("valid_bleu4")}};
    double top = 0;
    for (auto& series : loss.series)
      for (double v : series.y) top = std::max(top, v);
    loss.y_lo = 0, loss.y_hi = top > 0 ? top * 1.05 : 1;
    acc.y_lo = 0, acc.y_hi = 1.02, acc.legend_bottom = true;
    acc.x_lo = loss.x_lo = 0, acc.x_hi = loss.x_hi = std::max(step.empty() ? 1.0 : step.back(), 1.0);
    ex::write_svg(o_.run_dir + "/curves.svg", {loss, acc}, 2);
  }

  ex::Counters extra_counters() const override { return {{"t95", t95_}, {"t99", t99_}}; }
  void restore_extra(const ex::Counters& c) override {
    for (const char* name : {"t95", "t99"}) {
      const double t = ex::counter(c, name);
      XG_CHECK(t == -1 || (std::isfinite(t) && t >= 0), "checkpoint: counter '", name, "' is ", t);
    }
    t95_ = ex::counter(c, "t95"), t99_ = ex::counter(c, "t99");
  }

  using Loader = xg::data::StatelessDataLoader<PairBatches, ex::Sharded<ex::EpochSampler>>;
  Translator& model_;
  const Dataset& d_;
  TrainOptions o_;
  xg::CrossEntropyLossOptions loss_options_;
  std::unique_ptr<Loader> loader_ = xg::data::make_data_loader(
      PairBatches{&d_.train}, ex::Sharded<ex::EpochSampler>(ex::EpochSampler(d_.train.src.size(), o_.seed)),
      xg::data::DataLoaderOptions(static_cast<size_t>(o_.batch)).workers(1).max_jobs(2));
  std::optional<Loader::Iterator> batch_;
  int64_t next_step_ = -1;
  Evaluation last_;
  double t95_ = -1, t99_ = -1;  // seconds to 95% and 99% validation exact (-1: not yet)
};

}  // namespace translate
