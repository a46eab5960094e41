#pragma once
// Characters of UTF-8 text: decoding to code points (invalid bytes become U+FFFD), encoding back,
// and the vocabulary of the characters a corpus uses.
#include <algorithm>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <xgrad/error.hpp>

#include "common/utf8.hpp"

namespace char_lm {

using xgrad::examples::utf8_decode;
using xgrad::examples::utf8_encode;

// The distinct characters of a text, in code-point order; ids are positions in that order.
struct CharVocab {
  std::vector<char32_t> chars;
  std::map<char32_t, int64_t> index;

  explicit CharVocab(std::vector<char32_t> cs = {}) : chars(std::move(cs)) {
    std::sort(chars.begin(), chars.end());
    chars.erase(std::unique(chars.begin(), chars.end()), chars.end());
    for (size_t i = 0; i < chars.size(); ++i) index[chars[i]] = static_cast<int64_t>(i);
  }
  int64_t size() const { return static_cast<int64_t>(chars.size()); }
  std::vector<int64_t> encode(const std::vector<char32_t>& text, const char* what) const {
    std::vector<int64_t> ids;
    ids.reserve(text.size());
    for (char32_t c : text) {
      auto it = index.find(c);
      XG_CHECK(it != index.end(), what, ": the character '", utf8_encode(c), "' (U+", std::hex, static_cast<uint32_t>(c),
               std::dec, ") is not in the model's vocabulary of ", chars.size(), " characters");
      ids.push_back(it->second);
    }
    return ids;
  }
  std::string decode(const std::vector<int64_t>& ids) const {
    std::string s;
    for (int64_t i : ids) s += utf8_encode(chars.at(static_cast<size_t>(i)));
    return s;
  }
};

}  // namespace char_lm
