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

#include "common/checkpoint.hpp"
#include "common/metrics.hpp"
#include "common/plot.hpp"
#include "common/progress.hpp"
#include "translate/bleu.hpp"
#include "translate/model.hpp"

namespace translate {

namespace optim = xg::optim;
namespace ex = xg::examples;

// A task's data, ready for training: the raw pairs, vocabularies and token ids.
struct Dataset {
  Splits splits;
  Vocab src_vocab, tgt_vocab;
  Encoded train, valid, test;

  static Dataset build(Splits sp, int64_t min_freq, int64_t max_len) {
    Dataset d;
    std::vector<std::vector<std::string>> stoks, ttoks;
    for (auto& p : sp.train) stoks.push_back(tokenize(p.src, sp.chars)), ttoks.push_back(tokenize(p.tgt, sp.chars));
    d.src_vocab = Vocab::build(stoks, min_freq);
    d.tgt_vocab = Vocab::build(ttoks, min_freq);
    d.train = encode(sp.train, d.src_vocab, d.tgt_vocab, sp.chars, max_len);
    d.valid = encode(sp.valid, d.src_vocab, d.tgt_vocab, sp.chars, max_len);
    d.test = encode(sp.test, d.src_vocab, d.tgt_vocab, sp.chars, max_len);
    d.splits = std::move(sp);
    return d;
  }
};

struct TrainOptions {
  int64_t batch = 64, warmup = 100, eval_every = 200, max_steps = 0;  // max_steps 0: no limit
  double lr = 2e-3, smoothing = 0.1, clip = 1.0, time_budget = 60, target = 0.995;
  int epochs = 3;
  uint64_t seed = 0;
  std::string run_dir;  // empty: write nothing
  bool resume = false, verbose = true;
};

struct Evaluation {
  double loss = 0, token_accuracy = 0, exact = 0, bleu2 = 0, bleu4 = 0;
  std::vector<std::vector<int64_t>> outputs;  // decoded token ids per example (incl. <eos>)
};

// Validation/test metrics of `pairs` (encoded as `e`): teacher-forced loss (nats per token) and
// token accuracy; exact match and mean BLEU of the decoded outputs against the raw targets.
inline Evaluation evaluate(Seq2Seq& model, const Dataset& d, const std::vector<Pair>& pairs, const Encoded& e,
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
    std::vector<std::string> pred, truth = tokenize(pairs[i].tgt, d.splits.chars);
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
  ex::write_heatmaps_svg(dir + "/attention_encoder.svg", "Encoder self-attention: \"" + src_text + "\"",
                         maps(a.encoder_self, src), heads);
  ex::write_heatmaps_svg(dir + "/attention_cross.svg", "Decoder cross-attention (rows: output so far): \"" + src_text + "\"",
                         maps(a.decoder_cross, tgt), heads);
}

class Trainer {
 public:
  Trainer(Seq2Seq& model, const Dataset& data, TrainOptions o)
      : model_(model), d_(data), o_(std::move(o)), opt_(make_optimizer(model, o_.lr)),
        steps_per_epoch_((static_cast<int64_t>(d_.train.src.size()) + o_.batch - 1) / o_.batch),
        sched_(opt_, std::min<int64_t>(o_.warmup, steps_per_epoch_ * o_.epochs / 10 + 1), steps_per_epoch_ * o_.epochs,
               o_.lr * 0.05) {}

  // Trains until the epochs are done, the time budget is spent, validation exact accuracy
  // reaches the target or max_steps is reached; returns the last validation.
  Evaluation run() {
    if (o_.resume) restore();
    const auto loss_options = xg::CrossEntropyLossOptions().ignore_index(Vocab::kPad).label_smoothing(o_.smoothing);
    const int64_t V = d_.tgt_vocab.size(), total = steps_per_epoch_ * o_.epochs;
    started_ = std::chrono::steady_clock::now();
    const int64_t first_step = run_.step;
    Evaluation last;
    bool stop = false, fresh = false;  // fresh: the current state was just evaluated
    for (; epoch_ <= o_.epochs && !stop; ++epoch_, pos_ = 0) {
      const std::vector<int64_t> order = epoch_order(epoch_);
      while (pos_ < steps_per_epoch_ && !stop) {
        const auto first = order.begin() + pos_ * o_.batch;
        std::vector<int64_t> idx(first, first + std::min<int64_t>(o_.batch, order.end() - first));
        Batch b = make_batch(d_.train, idx);
        opt_.zero_grad();
        xg::Tensor loss = xg::cross_entropy(model_(b).reshape({-1, V}), b.tgt_out.reshape({-1}), loss_options);
        loss.backward();
        if (o_.clip > 0) xg::nn::utils::clip_grad_norm_(model_->parameters(), o_.clip);
        opt_.step();
        sched_.step();
        ++run_.step, ++pos_, fresh = false;
        run_.tokens += static_cast<double>(b.tgt_tokens);
        run_.loss_sum += loss.item<double>(), ++run_.loss_n;
        if (o_.verbose)
          progress_.update(static_cast<int>(epoch_), o_.epochs, run_.step, steps_per_epoch_, pos_, run_.loss_sum / run_.loss_n,
                           opt_.lr(0), run_.tokens / train_seconds_(), elapsed(), static_cast<double>(run_.step) / total);
        stop = elapsed() >= o_.time_budget || (o_.max_steps > 0 && run_.step >= o_.max_steps);
        const bool scheduled = run_.step % o_.eval_every == 0 || pos_ == steps_per_epoch_;
        if (scheduled || stop) {
          // An unscheduled validation (stopping) leaves the running train loss alone, so that
          // a resumed run logs what an uninterrupted one does.
          last = validate(scheduled), fresh = true;
          stop = stop || last.exact >= o_.target;
        }
      }
      if (pos_ == steps_per_epoch_ || stop) save_checkpoint(stop && pos_ < steps_per_epoch_ ? epoch_ : epoch_ + 1);
    }
    // Not validated since the last step: log one; a finished run resumed just reports.
    if (!fresh) last = run_.step > first_step ? validate(false) : evaluate(model_, d_, d_.splits.valid, d_.valid);
    progress_.clear();
    return last;
  }

  optim::AdamW& optimizer() { return opt_; }
  int64_t steps() const { return run_.step; }
  double elapsed() const {
    return run_.seconds + std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
  }
  double time_to(double acc) const { return acc >= 0.99 ? t99_ : t95_; }
  ex::Progress& progress() { return progress_; }

 private:
  static optim::AdamW make_optimizer(Seq2Seq& model, double lr) {
    auto [decay, no_decay] = optim::split_weight_decay(model->named_parameters());
    return optim::AdamW({{decay, optim::AdamWOptions(lr).betas({0.9, 0.98}).eps(1e-9).weight_decay(0.01)},
                         {no_decay, optim::AdamWOptions(lr).betas({0.9, 0.98}).eps(1e-9).weight_decay(0.0)}});
  }
  // The data order of an epoch is a function of (seed, epoch): resuming needs only the position.
  std::vector<int64_t> epoch_order(int64_t epoch) const {
    std::vector<int64_t> order(d_.train.src.size());
    std::iota(order.begin(), order.end(), 0);
    std::seed_seq seq{o_.seed, static_cast<uint64_t>(epoch)};
    std::mt19937_64 rng(seq);
    std::shuffle(order.begin(), order.end(), rng);
    return order;
  }
  double train_seconds_() const { return std::max(elapsed() - run_.eval_seconds, 1e-9); }

  Evaluation validate(bool reset_train_loss) {
    const double t0 = elapsed();
    Evaluation r = evaluate(model_, d_, d_.splits.valid, d_.valid);
    run_.eval_seconds += elapsed() - t0;
    if (r.exact >= 0.95 && t95_ < 0) t95_ = elapsed();
    if (r.exact >= 0.99 && t99_ < 0) t99_ = elapsed();
    const double train_loss = run_.loss_sum / std::max<int64_t>(run_.loss_n, 1);
    char line[300];
    std::snprintf(line, sizeof line,
                  "epoch %lld step %lld  train loss %.4f  valid loss %.4f  token %.1f%%  exact %.1f%%  BLEU-2 %.3f  "
                  "BLEU-4 %.3f  (%.1f s)",
                  static_cast<long long>(epoch_), static_cast<long long>(run_.step), train_loss, r.loss,
                  100 * r.token_accuracy, 100 * r.exact, r.bleu2, r.bleu4, elapsed());
    if (o_.verbose) progress_.print(line);
    metrics_.add({static_cast<double>(run_.step), static_cast<double>(epoch_), elapsed(), train_loss, opt_.lr(0), r.loss,
                  r.token_accuracy, r.exact, r.bleu2, r.bleu4});
    write_curves();
    if (reset_train_loss) run_.loss_sum = 0, run_.loss_n = 0;
    return r;
  }

  // The curves, redrawn after each validation: losses on one panel, accuracies on the other.
  void write_curves() const {
    if (o_.run_dir.empty()) return;
    const auto step = metrics_.column("step");
    ex::Panel loss("Loss (nats per token)", "step", "loss"), acc("Validation accuracy", "step", "");
    loss.series = {{"train (label-smoothed)", step, metrics_.column("train_loss")},
                   {"validation", step, metrics_.column("valid_loss")}};
    acc.series = {{"exact match", step, metrics_.column("valid_exact")},
                  {"token accuracy", step, metrics_.column("valid_token_accuracy")},
                  {"BLEU-2", step, metrics_.column("valid_bleu2")},
                  {"BLEU-4", step, metrics_.column("valid_bleu4")}};
    double top = 0;
    for (auto& series : loss.series)
      for (double v : series.y) top = std::max(top, v);
    loss.y_lo = 0, loss.y_hi = top > 0 ? top * 1.05 : 1;
    acc.y_lo = 0, acc.y_hi = 1.02, acc.legend_bottom = true;
    acc.x_lo = loss.x_lo = 0, acc.x_hi = loss.x_hi = std::max(step.empty() ? 1.0 : step.back(), 1.0);
    ex::write_svg(o_.run_dir + "/curves.svg", {loss, acc}, 2);
  }

  // The checkpoint says where to continue: `epoch` and the step within it.
  void save_checkpoint(int64_t epoch) {
    if (o_.run_dir.empty()) return;
    ex::Counters counters = run_.save(elapsed());
    counters.insert(counters.end(), {{"epoch", static_cast<double>(epoch)},
                                     {"position", static_cast<double>(epoch == epoch_ ? pos_ : 0)},
                                     {"t95", t95_},
                                     {"t99", t99_}});
    ex::save_checkpoint(o_.run_dir + "/checkpoint.npz", *model_, opt_, sched_, counters);
    model_->save(o_.run_dir + "/model.npz");
  }

  void restore() {
    const std::string path = o_.run_dir + "/checkpoint.npz";
    XG_CHECK(std::filesystem::exists(path), "translate: --resume: no checkpoint at '", path, "'");
    const ex::Counters c = ex::load_checkpoint(path, *model_, opt_, sched_);
    epoch_ = static_cast<int64_t>(ex::counter(c, "epoch"));
    pos_ = static_cast<int64_t>(ex::counter(c, "position"));
    run_.load(c);
    t95_ = ex::counter(c, "t95"), t99_ = ex::counter(c, "t99");
    metrics_.restore_until(static_cast<double>(run_.step));
    if (o_.verbose)
      progress_.print("resumed from " + path + " at epoch " + std::to_string(epoch_) + ", step " + std::to_string(run_.step));
  }

  Seq2Seq& model_;
  const Dataset& d_;
  TrainOptions o_;
  optim::AdamW opt_;
  int64_t steps_per_epoch_;
  optim::LinearWarmupCosine sched_;
  ex::Progress progress_;
  std::chrono::steady_clock::time_point started_;
  ex::RunCounters run_;
  int64_t epoch_ = 1, pos_ = 0;  // where the run is: the epoch and the step within it
  double t95_ = -1, t99_ = -1;   // seconds to 95% and 99% validation exact (-1: not yet)
  ex::MetricsLog metrics_{o_.run_dir.empty() ? "" : o_.run_dir + "/metrics.csv",
                          {"step", "epoch", "seconds", "train_loss", "lr", "valid_loss", "valid_token_accuracy",
                           "valid_exact", "valid_bleu2", "valid_bleu4"}};
};

}  // namespace translate
