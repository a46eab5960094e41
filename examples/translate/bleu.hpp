#pragma once
// BLEU as d2l defines it (section 10.7): exp(min(0, 1 - len_label/len_pred)) · Π_{n=1..k} p_n^(1/2^n),
// p_n the clipped n-gram precision of the prediction. 0 for an empty prediction.
#include <cmath>
#include <map>
#include <string>
#include <vector>

namespace translate {

inline double bleu(const std::vector<std::string>& pred, const std::vector<std::string>& label, int k) {
  const auto lp = static_cast<double>(pred.size()), ll = static_cast<double>(label.size());
  if (pred.empty()) return 0.0;
  double score = std::exp(std::min(0.0, 1.0 - ll / lp));
  for (size_t n = 1; n <= std::min<size_t>(static_cast<size_t>(k), pred.size()); ++n) {
    std::map<std::vector<std::string>, int> label_ngrams;
    for (size_t i = 0; i + n <= label.size(); ++i) label_ngrams[{label.begin() + i, label.begin() + i + n}]++;
    int matches = 0;
    for (size_t i = 0; i + n <= pred.size(); ++i) {
      auto it = label_ngrams.find({pred.begin() + i, pred.begin() + i + n});
      if (it != label_ngrams.end() && it->second > 0) ++matches, --it->second;
    }
    score *= std::pow(matches / static_cast<double>(pred.size() - n + 1), std::pow(0.5, static_cast<double>(n)));
  }
  return score;
}

}  // namespace translate
