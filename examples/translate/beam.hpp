#pragma once
// Beam search's bookkeeping (d2l 10.8), apart from the model: B examples × K beams in rows b·K + k.
// Each step takes the rows' next-token log-probabilities and keeps, per example, the K best
// continuations that don't end; a hypothesis ends at <eos> and scores log P / L^alpha (L its length
// including <eos>). An example is done once no live beam can beat its best finished hypothesis.
#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <vector>

#include "translate/data.hpp"

namespace translate {

class BeamSearch {
 public:
  BeamSearch(int64_t examples, int64_t beam, int64_t max_len, double alpha)
      : B_(examples), K_(beam), max_len_(max_len), alpha_(alpha), seqs_(rows()), logp_sum_(rows(), kNegInf),
        finished_(static_cast<size_t>(B_)), done_(static_cast<size_t>(B_), false), parent_(rows()), next_(rows()) {
    for (int64_t b = 0; b < B_; ++b) logp_sum_[static_cast<size_t>(b * K_)] = 0;  // one live beam to start
  }

  // One step: lp holds log-probabilities (B·K rows × V). Returns false once every example is done.
  bool advance(const double* lp, int64_t V) {
    std::vector<std::vector<int64_t>> new_seqs(rows());
    std::vector<double> new_sum(rows(), kNegInf);
    std::iota(parent_.begin(), parent_.end(), 0);
    std::fill(next_.begin(), next_.end(), Vocab::kPad);
    bool all_done = true;
    for (int64_t b = 0; b < B_; ++b) {
      if (!done_[static_cast<size_t>(b)]) advance_example(b, lp, V, new_seqs, new_sum);
      all_done = all_done && done_[static_cast<size_t>(b)];
    }
    for (int64_t b = 0; b < B_; ++b)  // keep finished examples' rows as they are
      if (done_[static_cast<size_t>(b)])
        for (int64_t k = 0; k < K_; ++k) new_seqs[row(b, k)] = seqs_[row(b, k)];
    seqs_ = std::move(new_seqs), logp_sum_ = std::move(new_sum);
    return !all_done;
  }

  // For the next step: the row each row continues (reorder caches by it) and its new token.
  const std::vector<int64_t>& parents() const { return parent_; }
  const std::vector<int64_t>& next_tokens() const { return next_; }

  // Each example's best hypothesis (tokens incl. <eos>); scores, if given, get their scores.
  std::vector<std::vector<int64_t>> best(std::vector<double>* scores) {
    std::vector<std::vector<int64_t>> out(static_cast<size_t>(B_));
    for (int64_t b = 0; b < B_; ++b) {
      auto& fin = finished_[static_cast<size_t>(b)];
      if (!done_[static_cast<size_t>(b)])  // ran out of length: the live beams compete too
        for (int64_t k = 0; k < K_; ++k)
          if (logp_sum_[row(b, k)] != kNegInf) fin.push_back({seqs_[row(b, k)], normalized(logp_sum_[row(b, k)], seqs_[row(b, k)].size())});
      if (scores) scores->push_back(kNegInf);
      if (fin.empty()) continue;
      auto top = std::max_element(fin.begin(), fin.end(), [](auto& x, auto& y) { return x.score < y.score; });
      out[static_cast<size_t>(b)] = top->tokens;
      if (scores) scores->back() = top->score;
    }
    return out;
  }

 private:
  static constexpr double kNegInf = -std::numeric_limits<double>::infinity();
  struct Hypothesis {
    std::vector<int64_t> tokens;
    double score;
  };

  size_t rows() const { return static_cast<size_t>(B_ * K_); }
  size_t row(int64_t b, int64_t k) const { return static_cast<size_t>(b * K_ + k); }
  double normalized(double logp, size_t len) const { return logp / std::pow(static_cast<double>(len), alpha_); }

  void advance_example(int64_t b, const double* lp, int64_t V, std::vector<std::vector<int64_t>>& new_seqs,
                       std::vector<double>& new_sum) {
    // The 2K best continuations of this example's K beams: enough for K that don't end.
    std::vector<std::pair<double, int64_t>> cand;  // (log P, k·V + v)
    for (int64_t k = 0; k < K_; ++k) {
      const double base = logp_sum_[row(b, k)];
      if (base == kNegInf) continue;
      for (int64_t v = 0; v < V; ++v) cand.emplace_back(base + lp[static_cast<int64_t>(row(b, k)) * V + v], k * V + v);
    }
    const size_t n = std::min(cand.size(), static_cast<size_t>(2 * K_));
    std::partial_sort(cand.begin(), cand.begin() + static_cast<std::ptrdiff_t>(n), cand.end(),
                      [](auto& x, auto& y) { return x.first > y.first || (x.first == y.first && x.second < y.second); });
    int64_t kept = 0;
    auto& fin = finished_[static_cast<size_t>(b)];
    for (size_t c = 0; c < n && kept < K_; ++c) {
      const int64_t k = cand[c].second / V, v = cand[c].second % V;
      std::vector<int64_t> seq = seqs_[row(b, k)];
      seq.push_back(v);
      if (v == Vocab::kEos) {
        fin.push_back({seq, normalized(cand[c].first, seq.size())});
        continue;
      }
      const size_t to = row(b, kept++);
      parent_[to] = static_cast<int64_t>(row(b, k)), next_[to] = v, new_seqs[to] = std::move(seq), new_sum[to] = cand[c].first;
    }
    // Done once no live beam can still beat the best finished hypothesis: log P only falls as a
    // beam grows, so a live beam's best possible score is log P / max_len^alpha.
    double best_finished = kNegInf, best_live = kNegInf;
    for (auto& h : fin) best_finished = std::max(best_finished, h.score);
    for (int64_t k = 0; k < kept; ++k)
      best_live = std::max(best_live, new_sum[row(b, k)] / std::pow(static_cast<double>(max_len_), alpha_));
    done_[static_cast<size_t>(b)] = kept == 0 || best_finished >= best_live;
  }

  int64_t B_, K_, max_len_;
  double alpha_;
  std::vector<std::vector<int64_t>> seqs_;      // each row's tokens so far
  std::vector<double> logp_sum_;                // each row's log P (−inf: not a live beam)
  std::vector<std::vector<Hypothesis>> finished_;  // per example
  std::vector<bool> done_;                      // per example
  std::vector<int64_t> parent_, next_;          // per row, from the last step
};

}  // namespace translate
