#pragma once
// UTF-8 for the examples' text: decoding to code points (invalid bytes become U+FFFD) and back, a
// strict validity check, and the character classes tokenizers need — Unicode's White_Space set
// (incl. U+00A0 and U+202F, which French typography puts before ; : ! ?), punctuation and simple
// lowercase mapping from glibc's C.UTF-8 tables.
#include <cctype>
#include <clocale>
#include <locale.h>
#include <cstdint>
#include <string>
#include <vector>
#include <wctype.h>

namespace xgrad::examples {

// The sequence starting at s[i]: its length in bytes (0 if the bytes there do not form one: a stray
// continuation byte, a bad lead byte, a truncated or broken sequence) and its code point, unchecked
// for overlong forms and range (utf8_valid checks those).
inline int utf8_sequence(const std::string& s, size_t i, char32_t& cp) {
  const auto b = static_cast<unsigned char>(s[i]);
  const int n = b < 0x80 ? 1 : (b >> 5) == 0x6 ? 2 : (b >> 4) == 0xe ? 3 : (b >> 3) == 0x1e ? 4 : 0;
  if (n == 0 || i + static_cast<size_t>(n) > s.size()) return 0;
  cp = n == 1 ? b : n == 2 ? b & 0x1f : n == 3 ? b & 0x0f : b & 0x07;
  for (int k = 1; k < n; ++k) {
    const auto c = static_cast<unsigned char>(s[i + static_cast<size_t>(k)]);
    if ((c & 0xc0) != 0x80) return 0;
    cp = (cp << 6) | (c & 0x3f);
  }
  return n;
}

// Code points of s; a byte that does not start a well-formed sequence becomes U+FFFD.
inline std::vector<char32_t> utf8_decode(const std::string& s) {
  std::vector<char32_t> out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    char32_t cp = 0;
    const int n = utf8_sequence(s, i, cp);
    out.push_back(n ? cp : 0xfffd);
    i += n ? static_cast<size_t>(n) : 1;
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

// True when s is well-formed UTF-8: no stray continuation bytes, no overlong forms, no
// surrogates, nothing above U+10FFFF.
inline bool utf8_valid(const std::string& s) {
  const char32_t least[] = {0, 0, 0x80, 0x800, 0x10000};  // the smallest code point of each length
  for (size_t i = 0; i < s.size();) {
    char32_t cp = 0;
    const int n = utf8_sequence(s, i, cp);
    if (n == 0 || cp < least[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
    i += static_cast<size_t>(n);
  }
  return true;
}

inline std::string utf8_encode(const std::vector<char32_t>& cps) {
  std::string s;
  for (char32_t c : cps) s += utf8_encode(c);
  return s;
}

// Unicode's White_Space property (PropList.txt): 25 code points.
inline bool is_unicode_space(char32_t c) {
  return (c >= 0x09 && c <= 0x0d) || c == 0x20 || c == 0x85 || c == 0xa0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200a) ||
         c == 0x2028 || c == 0x2029 || c == 0x202f || c == 0x205f || c == 0x3000;
}

namespace utf8_detail {
// glibc's C.UTF-8 locale (built into glibc since 2.35: always present), for the character classes.
inline locale_t c_utf8() {
  static const locale_t loc = newlocale(LC_CTYPE_MASK, "C.UTF-8", static_cast<locale_t>(nullptr));
  return loc;
}
}  // namespace utf8_detail

// Punctuation and symbols (glibc's iswpunct in C.UTF-8: ASCII's and Unicode's, « » ¿ ¡ … 。 included).
inline bool is_unicode_punct(char32_t c) {
  const locale_t loc = utf8_detail::c_utf8();
  if (loc == static_cast<locale_t>(nullptr)) return c < 0x80 && std::ispunct(static_cast<int>(c));
  return iswpunct_l(static_cast<wint_t>(c), loc) != 0;
}

// Unicode simple lowercase mapping (É → é, Σ → σ, Д → д); ASCII-only if C.UTF-8 is missing.
inline char32_t unicode_lower(char32_t c) {
  const locale_t loc = utf8_detail::c_utf8();
  if (loc == static_cast<locale_t>(nullptr)) return c < 0x80 ? static_cast<char32_t>(std::tolower(static_cast<int>(c))) : c;
  return static_cast<char32_t>(towlower_l(static_cast<wint_t>(c), loc));
}

}  // namespace xgrad::examples
