#pragma once
// Data for the translation example: the built-in tasks generated from a seed (dates, reverse,
// sort), tab-separated sentence pairs, tokenisation, vocabularies and padded batches.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <chrono>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <xgrad/xgrad.hpp>

#include "common/utf8.hpp"

namespace translate {

namespace xg = xgrad;

struct Pair {
  std::string src, tgt;
};

// ---------------------------------------------------------------- tokens and vocabularies

// How text becomes tokens. Built-in tasks are character level. --data text is UTF-8 and is never
// split inside a character; Unicode whitespace (U+00A0 and U+202F too) separates:
//   kWords  words, with each punctuation mark or symbol its own token (an apostrophe ' or ’ stays
//           inside its word: "l’homme", "don't")
//   kSplit  pre-tokenized text: split on whitespace only
//   kD2l    d2l 10.5's preprocessing (no-break spaces become spaces, a space goes before , . ! ?
//           that follow a non-space), then split on whitespace
//   kChars  every character a token
// lowercase: Unicode simple lowercase mapping of every character first.
enum class Tokens { kChars, kWords, kSplit, kD2l };
struct TextOptions {
  Tokens tokens = Tokens::kChars;
  bool lowercase = false;
};

inline std::vector<std::string> tokenize(const std::string& s, const TextOptions& o) {
  namespace ex = xgrad::examples;
  std::vector<char32_t> cps = ex::utf8_decode(s);
  if (o.lowercase)
    for (auto& c : cps) c = ex::unicode_lower(c);
  std::vector<std::string> out;
  if (o.tokens == Tokens::kChars) {
    for (char32_t c : cps) out.push_back(ex::utf8_encode(c));
    return out;
  }
  if (o.tokens == Tokens::kD2l) {  // d2l's _preprocess
    std::vector<char32_t> p;
    for (size_t i = 0; i < cps.size(); ++i) {
      const char32_t c = cps[i] == 0x202f || cps[i] == 0xa0 ? U' ' : cps[i];
      const bool mark = c == U',' || c == U'.' || c == U'!' || c == U'?';
      if (mark && i > 0 && !ex::is_unicode_space(p.back())) p.push_back(U' ');
      p.push_back(c);
    }
    cps = std::move(p);
  }
  std::string cur;
  auto flush = [&] {
    if (!cur.empty()) out.push_back(cur), cur.clear();
  };
  for (char32_t c : cps) {
    if (ex::is_unicode_space(c)) {
      flush();
    } else if (o.tokens == Tokens::kWords && c != U'\'' && c != 0x2019 && ex::is_unicode_punct(c)) {
      flush();
      out.push_back(ex::utf8_encode(c));
    } else {
      cur += ex::utf8_encode(c);
    }
  }
  flush();
  return out;
}

struct Vocab {
  static constexpr int64_t kPad = 0, kBos = 1, kEos = 2, kUnk = 3;
  std::vector<std::string> itos{"<pad>", "<bos>", "<eos>", "<unk>"};
  std::map<std::string, int64_t> stoi{{"<pad>", 0}, {"<bos>", 1}, {"<eos>", 2}, {"<unk>", 3}};

  // Tokens seen at least min_freq times, most frequent first (ties alphabetical: deterministic).
  static Vocab build(const std::vector<std::vector<std::string>>& seqs, int64_t min_freq) {
    std::map<std::string, int64_t> freq;
    for (auto& s : seqs)
      for (auto& t : s) freq[t]++;
    std::vector<std::pair<std::string, int64_t>> items(freq.begin(), freq.end());
    std::stable_sort(items.begin(), items.end(), [](auto& a, auto& b) { return a.second > b.second; });
    Vocab v;
    for (auto& [t, f] : items)
      if (f >= min_freq && !v.stoi.count(t)) {
        v.stoi[t] = static_cast<int64_t>(v.itos.size());
        v.itos.push_back(t);
      }
    return v;
  }
  int64_t id(const std::string& t) const {
    auto it = stoi.find(t);
    return it == stoi.end() ? kUnk : it->second;
  }
  int64_t size() const { return static_cast<int64_t>(itos.size()); }
  // Tokens back to text: characters concatenated, anything else joined by spaces.
  std::string join(const std::vector<int64_t>& ids, const TextOptions& text) const {
    const bool chars = text.tokens == Tokens::kChars;
    std::string s;
    for (int64_t i : ids) {
      if (i == kEos) break;
      if (i == kPad || i == kBos) continue;
      if (!chars && !s.empty()) s += ' ';
      s += itos.at(static_cast<size_t>(i));
    }
    return s;
  }
};

// ---------------------------------------------------------------- built-in tasks

// Dates the many ways people write them, to ISO 8601.
inline Pair make_date(std::mt19937_64& rng) {
  using namespace std::chrono;
  static const char* months[] = {"january", "february", "march", "april", "may", "june", "july", "august",
                                 "september", "october", "november", "december"};
  static const char* days[] = {"sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"};
  std::uniform_int_distribution<int> day_of(0, 36524);  // 1950-01-01 .. 2049-12-31
  sys_days d = sys_days{year{1950} / January / 1} + std::chrono::days{day_of(rng)};
  year_month_day ymd{d};
  const int y = int(ymd.year()), m = static_cast<int>(unsigned(ymd.month())), dd = static_cast<int>(unsigned(ymd.day()));
  const int wd = static_cast<int>(weekday{d}.c_encoding());
  auto cap = [](std::string s) { s[0] = static_cast<char>(std::toupper(s[0])); return s; };
  auto two = [](int v) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "%02d", v);  // (not "0" + to_string: GCC 12 warns -Wrestrict)
    return std::string(buf);
  };
  auto ordinal = [](int v) {
    const char* suf = (v % 100 >= 11 && v % 100 <= 13) ? "th" : v % 10 == 1 ? "st" : v % 10 == 2 ? "nd" : v % 10 == 3 ? "rd" : "th";
    return std::to_string(v) + suf;
  };
  std::string mon = months[m - 1], mon3 = mon.substr(0, 3), day3 = std::string(days[wd]).substr(0, 3);
  std::string ys = std::to_string(y), y2 = two(y % 100);
  std::vector<std::string> forms = {
      day3 + " " + std::to_string(dd) + " " + mon3 + " " + ys,            // sat 9 may 1998
      std::to_string(dd) + "/" + std::to_string(m) + "/" + y2,            // 9/5/98
      cap(mon) + " " + ordinal(dd) + ", " + ys,                           // May 9th, 1998
      two(dd) + " " + cap(mon) + " " + ys,                                // 09 May 1998
      cap(days[wd]) + ", " + cap(mon) + " " + std::to_string(dd) + ", " + ys,  // Saturday, May 9, 1998
      std::to_string(dd) + "." + std::to_string(m) + "." + ys,            // 9.5.1998
      two(dd) + "-" + two(m) + "-" + ys,                                  // 09-05-1998
      ys + "/" + two(m) + "/" + two(dd),                                  // 1998/05/09
      mon3 + " " + two(dd) + " " + ys,                                    // may 09 1998
      "the " + ordinal(dd) + " of " + mon + " " + ys,                     // the 9th of may 1998
  };
  std::uniform_int_distribution<size_t> pick(0, forms.size() - 1);
  return {forms[pick(rng)], ys + "-" + two(m) + "-" + two(dd)};
}

// reverse / sort: sequences of 3–12 symbols from a–p.
inline Pair make_symbols(std::mt19937_64& rng, bool sort) {
  std::uniform_int_distribution<int> len(3, 12), sym(0, 15);
  std::string s;
  for (int i = len(rng); i > 0; --i) s += static_cast<char>('a' + sym(rng));
  std::string t = s;
  if (sort) std::sort(t.begin(), t.end());
  else std::reverse(t.begin(), t.end());
  return {s, t};
}

struct Splits {
  std::vector<Pair> train, valid, test;
  TextOptions text;  // how their text becomes tokens
};

// Generates unique pairs (by source) and splits them; no source appears in two splits.
inline Splits make_task(const std::string& task, int64_t n_train, int64_t n_valid, int64_t n_test, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::set<std::string> seen;
  std::vector<Pair> all;
  const int64_t want = n_train + n_valid + n_test;
  int64_t attempts = 0;
  while (static_cast<int64_t>(all.size()) < want) {
    XG_CHECK(++attempts < want * 50, "translate: could not generate ", want, " distinct examples for task '", task, "'");
    Pair p = task == "dates" ? make_date(rng) : make_symbols(rng, task == "sort");
    if (seen.insert(p.src).second) all.push_back(std::move(p));
  }
  Splits s;
  s.test.assign(all.begin(), all.begin() + n_test);
  s.valid.assign(all.begin() + n_test, all.begin() + n_test + n_valid);
  s.train.assign(all.begin() + n_test + n_valid, all.end());
  return s;
}

// Tab-separated source/target pairs (Tatoeba style: extra columns ignored), checked: UTF-8 (a
// byte-order mark at the start is skipped), a tab on every line, a source and a target that give
// tokens. `what` names the file in errors.
inline std::vector<Pair> read_pairs(const std::string& path, const TextOptions& text) {
  std::ifstream f(path, std::ios::binary);
  XG_CHECK(f.good(), "translate: cannot open '", path, "'");
  std::vector<Pair> all;
  std::string line;
  for (size_t lineno = 1; std::getline(f, line); ++lineno) {
    if (lineno == 1 && line.rfind("\xef\xbb\xbf", 0) == 0) line.erase(0, 3);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    XG_CHECK(xgrad::examples::utf8_valid(line), "translate: line ", lineno, " of '", path, "' is not valid UTF-8");
    auto tab = line.find('\t');
    XG_CHECK(tab != std::string::npos, "translate: line ", lineno, " of '", path, "' has no tab between source and target");
    auto tab2 = line.find('\t', tab + 1);
    Pair p{line.substr(0, tab), line.substr(tab + 1, tab2 == std::string::npos ? std::string::npos : tab2 - tab - 1)};
    XG_CHECK(!tokenize(p.src, text).empty(), "translate: line ", lineno, " of '", path, "' has an empty source");
    XG_CHECK(!tokenize(p.tgt, text).empty(), "translate: line ", lineno, " of '", path,
             "' has an empty target (a model cannot learn to say nothing from it)");
    all.push_back(std::move(p));
  }
  return all;
}

// One file split into train / valid / test by fractions (valid, test; the rest trains) after a
// seeded shuffle, all pairs with the same source in one split (so no test source was trained on).
inline Splits split_pairs(std::vector<Pair> all, const std::string& path, double valid_fraction, double test_fraction,
                          uint64_t seed) {
  XG_CHECK(valid_fraction > 0 && test_fraction > 0 && valid_fraction + test_fraction < 1,
           "translate: split fractions valid ", valid_fraction, " and test ", test_fraction,
           " must be positive and leave pairs to train on");
  const size_t n = all.size();
  const auto n_valid = static_cast<size_t>(std::ceil(valid_fraction * static_cast<double>(n))),
             n_test = static_cast<size_t>(std::ceil(test_fraction * static_cast<double>(n)));
  XG_CHECK(n >= 3 && n_valid + n_test < n, "translate: '", path, "' has ", n, " pairs: too few to split ",
           valid_fraction, " / ", test_fraction, " for validation / test and train on the rest");
  std::mt19937_64 rng(seed);
  std::shuffle(all.begin(), all.end(), rng);
  std::stable_sort(all.begin(), all.end(), [](const Pair& a, const Pair& b) { return a.src < b.src; });
  // Group equal sources, then deal the groups out in a seeded order.
  std::vector<std::vector<Pair>> groups;
  for (auto& p : all) {
    if (groups.empty() || groups.back()[0].src != p.src) groups.emplace_back();
    groups.back().push_back(p);
  }
  std::shuffle(groups.begin(), groups.end(), rng);
  Splits s;
  for (auto& g : groups) {
    auto& dst = s.test.size() < n_test ? s.test : s.valid.size() < n_valid ? s.valid : s.train;
    dst.insert(dst.end(), g.begin(), g.end());
  }
  XG_CHECK(!s.train.empty() && !s.valid.empty() && !s.test.empty(), "translate: '", path,
           "' has too few distinct sources to split");
  return s;
}

// ---------------------------------------------------------------- batches

struct Batch {
  xg::Tensor src, tgt_in, tgt_out;  // (B, S), (B, T), (B, T) token ids
  xg::Tensor src_pad, tgt_pad;      // Bool (B, S), (B, T): true at padding
  int64_t tgt_tokens = 0;           // non-pad target tokens
};

struct Encoded {
  std::vector<std::vector<int64_t>> src, tgt;
  int64_t cut_src = 0, cut_tgt = 0;  // examples whose source / target --max-len cut
};

// Token ids, each side cut to max_len tokens (the cuts are counted: `cut_src`, `cut_tgt`).
inline Encoded encode(const std::vector<Pair>& pairs, const Vocab& sv, const Vocab& tv, const TextOptions& text,
                      int64_t max_len) {
  Encoded e;
  for (auto& p : pairs) {
    std::vector<int64_t> s, t;
    for (auto& tok : tokenize(p.src, text)) s.push_back(sv.id(tok));
    for (auto& tok : tokenize(p.tgt, text)) t.push_back(tv.id(tok));
    if (static_cast<int64_t>(s.size()) > max_len) s.resize(max_len), ++e.cut_src;
    if (static_cast<int64_t>(t.size()) > max_len) t.resize(max_len), ++e.cut_tgt;
    s.push_back(Vocab::kEos);
    e.src.push_back(std::move(s));
    e.tgt.push_back(std::move(t));
  }
  return e;
}

// Pads the examples at `idx` into tensors: tgt_in = <bos> t, tgt_out = t <eos>.
inline Batch make_batch(const Encoded& e, const std::vector<int64_t>& idx) {
  size_t S = 0, T = 0;
  for (int64_t i : idx) S = std::max(S, e.src[i].size()), T = std::max(T, e.tgt[i].size() + 1);
  const int64_t B = static_cast<int64_t>(idx.size());
  std::vector<int64_t> src(B * S, Vocab::kPad), tin(B * T, Vocab::kPad), tout(B * T, Vocab::kPad);
  std::vector<bool> sp(B * S, true), tp(B * T, true);
  Batch b;
  for (int64_t r = 0; r < B; ++r) {
    const auto &s = e.src[idx[r]], &t = e.tgt[idx[r]];
    for (size_t j = 0; j < s.size(); ++j) src[r * S + j] = s[j], sp[r * S + j] = false;
    tin[r * T] = Vocab::kBos;
    for (size_t j = 0; j < t.size(); ++j) tin[r * T + j + 1] = t[j];
    for (size_t j = 0; j < t.size(); ++j) tout[r * T + j] = t[j];
    tout[r * T + t.size()] = Vocab::kEos;
    for (size_t j = 0; j <= t.size(); ++j) tp[r * T + j] = false;
    b.tgt_tokens += static_cast<int64_t>(t.size()) + 1;
  }
  const auto s64 = static_cast<int64_t>(S), t64 = static_cast<int64_t>(T);
  b.src = xg::tensor(src).reshape({B, s64});
  b.tgt_in = xg::tensor(tin).reshape({B, t64});
  b.tgt_out = xg::tensor(tout).reshape({B, t64});
  b.src_pad = xg::tensor(sp).reshape({B, s64});
  b.tgt_pad = xg::tensor(tp).reshape({B, t64});
  return b;
}

// The training pairs as an xg::data dataset whose batches are padded Batch structs.
struct PairBatches {
  using BatchType = Batch;
  const Encoded* pairs;
  Batch get_batch(const std::vector<size_t>& idx) const {
    return make_batch(*pairs, std::vector<int64_t>(idx.begin(), idx.end()));
  }
  std::optional<size_t> size() const { return pairs->src.size(); }
};

}  // namespace translate
