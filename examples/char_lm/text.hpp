#pragma once
// Characters of UTF-8 text: decoding to code points (invalid bytes become U+FFFD), encoding back,
// and the vocabulary of the characters a corpus uses.
#include <algorithm>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <xgrad/error.hpp>

namespace char_lm {

inline std::vector<char32_t> utf8_decode(const std::string& s) {
  std::vector<char32_t> out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    const auto b = static_cast<unsigned char>(s[i]);
    const int n = b < 0x80 ? 1 : (b >> 5) == 0x6 ? 2 : (b >> 4) == 0xe ? 3 : (b >> 3) == 0x1e ? 4 : 0;
    char32_t cp = n == 1 ? b : n == 2 ? b & 0x1f : n == 3 ? b & 0x0f : b & 0x07;
    bool ok = n > 0 && i + static_cast<size_t>(n) <= s.size();
    for (int k = 1; ok && k < n; ++k) {
      const auto c = static_cast<unsigned char>(s[i + static_cast<size_t>(k)]);
      ok = (c & 0xc0) == 0x80;
      cp = (cp << 6) | (c & 0x3f);
    }
    out.push_back(ok ? cp : 0xfffd);
    i += ok ? static_cast<size_t>(n) : 1;
  }
  return out;
}

inline std::string utf8_encode(char32_t c) {
  std::string s;
  if (c < 0x80) {
    s += static_cast<char>(c);
  } else if (c < 0x800) {
    s += static_cast<char>(0xc0 | (c >> 6)), s += static_cast<char>(0x80 | (c & 0x3f));
  } else if (c < 0x10000) {
    s += static_cast<char>(0xe0 | (c >> 12)), s += static_cast<char>(0x80 | ((c >> 6) & 0x3f));
    s += static_cast<char>(0x80 | (c & 0x3f));
  } else {
    s += static_cast<char>(0xf0 | (c >> 18)), s += static_cast<char>(0x80 | ((c >> 12) & 0x3f));
    s += static_cast<char>(0x80 | ((c >> 6) & 0x3f)), s += static_cast<char>(0x80 | (c & 0x3f));
  }
  return s;
}

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
