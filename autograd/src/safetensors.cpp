// The safetensors format (Hugging Face's): an 8-byte little-endian header length N, N bytes of JSON
// {"name": {"dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end]}, ..., "__metadata__": {...}},
// then the tensors' bytes, offsets relative to the end of the header. Everything in the header is
// checked — length, JSON syntax, dtypes, shapes, offsets inside the buffer, sizes that match the
// shape, no overlap and no hole (the format's rule) — before any tensor is allocated.
#include <bit>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "xgrad/serialize.hpp"
#include "xgrad/shape.hpp"

namespace xgrad {

namespace {

constexpr uint64_t kMaxHeader = 100'000'000;  // safetensors' own limit on the JSON header
constexpr int kMaxDepth = 16;

// ---- a strict JSON reader: the values the header holds (objects, arrays, strings, integers,
// true/false/null); floats are refused where an integer is needed.
struct Json {
  enum Kind { Null, Bool, Number, String, Array, Object } kind = Null;
  std::string text;  // String: the decoded string; Number: its literal
  std::vector<Json> items;       // Array: the elements; Object: the members' values
  std::vector<std::string> keys;  // Object: the members' keys (a vector of pair<string, Json> would
                                  // need Json complete here)
};

class JsonReader {
 public:
  JsonReader(const std::string& s, const std::string& what) : s_(s), what_(what) {}

  Json document() {
    Json v = value(0);
    skip_ws();
    XG_CHECK(pos_ == s_.size(), what_, ": unexpected bytes after the JSON header at offset ", pos_);
    return v;
  }

 private:
  [[noreturn]] void fail(const char* msg) const { throw Error(str(what_, ": malformed JSON header: ", msg, " at offset ", pos_)); }
  void skip_ws() {
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n' || s_[pos_] == '\r')) ++pos_;
  }
  bool eat(char c) {
    skip_ws();
    if (pos_ < s_.size() && s_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }
  void expect(char c) {
    if (!eat(c)) fail(str("expected '", std::string(1, c), "'").c_str());
  }

  Json value(int depth) {
    if (depth > kMaxDepth) fail("nested too deeply");
    skip_ws();
    if (pos_ >= s_.size()) fail("unexpected end");
    Json v;
    const char c = s_[pos_];
    if (c == '{') {
      ++pos_;
      v.kind = Json::Object;
      std::set<std::string> keys;
      if (eat('}')) return v;
      do {
        skip_ws();
        std::string key = string();
        if (!keys.insert(key).second) fail(str("duplicate key \"", key, "\"").c_str());
        expect(':');
        v.keys.push_back(std::move(key));
        v.items.push_back(value(depth + 1));
      } while (eat(','));
      expect('}');
    } else if (c == '[') {
      ++pos_;
      v.kind = Json::Array;
      if (eat(']')) return v;
      do v.items.push_back(value(depth + 1));
      while (eat(','));
      expect(']');
    } else if (c == '"') {
      v.kind = Json::String;
      v.text = string();
    } else if (c == '-' || (c >= '0' && c <= '9')) {
      v.kind = Json::Number;
      const size_t start = pos_;
      if (s_[pos_] == '-') ++pos_;
      while (pos_ < s_.size() && (std::isdigit(static_cast<unsigned char>(s_[pos_])) || s_[pos_] == '.' ||
                                  s_[pos_] == 'e' || s_[pos_] == 'E' || s_[pos_] == '+' || s_[pos_] == '-'))
        ++pos_;
      v.text = s_.substr(start, pos_ - start);
    } else if (s_.compare(pos_, 4, "true") == 0 || s_.compare(pos_, 4, "null") == 0) {
      v.kind = c == 't' ? Json::Bool : Json::Null;
      v.text = s_.substr(pos_, 4);
      pos_ += 4;
    } else if (s_.compare(pos_, 5, "false") == 0) {
      v.kind = Json::Bool;
      v.text = "false";
      pos_ += 5;
    } else {
      fail("unexpected character");
    }
    return v;
  }

  static void put_utf8(std::string& out, uint32_t cp) {
    auto put = [&](uint32_t byte) { out.push_back(static_cast<char>(byte)); };
    if (cp < 0x80) {
      put(cp);
    } else if (cp < 0x800) {
      put(0xC0 | (cp >> 6));
      put(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      put(0xE0 | (cp >> 12));
      put(0x80 | ((cp >> 6) & 0x3F));
      put(0x80 | (cp & 0x3F));
    } else {
      put(0xF0 | (cp >> 18));
      put(0x80 | ((cp >> 12) & 0x3F));
      put(0x80 | ((cp >> 6) & 0x3F));
      put(0x80 | (cp & 0x3F));
    }
  }

  uint32_t hex4() {
    if (pos_ + 4 > s_.size()) fail("truncated \\u escape");
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) {
      const char h = s_[pos_++];
      v <<= 4;
      if (h >= '0' && h <= '9') v |= static_cast<uint32_t>(h - '0');
      else if (h >= 'a' && h <= 'f') v |= static_cast<uint32_t>(h - 'a' + 10);
      else if (h >= 'A' && h <= 'F') v |= static_cast<uint32_t>(h - 'A' + 10);
      else fail("bad \\u escape");
    }
    return v;
  }

  std::string string() {
    if (pos_ >= s_.size() || s_[pos_] != '"') fail("expected a string");
    ++pos_;
    std::string out;
    for (;;) {
      if (pos_ >= s_.size()) fail("unterminated string");
      const char c = s_[pos_++];
      if (c == '"') return out;
      if (static_cast<unsigned char>(c) < 0x20) fail("control character in a string");
      if (c != '\\') {
        out += c;
        continue;
      }
      if (pos_ >= s_.size()) fail("unterminated escape");
      const char e = s_[pos_++];
      switch (e) {
        case '"': out += '"'; break;
        case '\\': out += '\\'; break;
        case '/': out += '/'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u': {
          uint32_t cp = hex4();
          if (cp >= 0xD800 && cp < 0xDC00) {  // a surrogate pair
            if (pos_ + 2 > s_.size() || s_[pos_] != '\\' || s_[pos_ + 1] != 'u') fail("lone surrogate");
            pos_ += 2;
            const uint32_t lo = hex4();
            if (lo < 0xDC00 || lo >= 0xE000) fail("bad surrogate pair");
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
          } else if (cp >= 0xDC00 && cp < 0xE000) {
            fail("lone surrogate");
          }
          put_utf8(out, cp);
          break;
        }
        default: fail("unknown escape");
      }
    }
  }

  const std::string& s_;
  const std::string& what_;
  size_t pos_ = 0;
};

uint64_t as_u64(const Json& v, const std::string& what, const std::string& field) {
  XG_CHECK(v.kind == Json::Number && !v.text.empty() && v.text.size() <= 20 &&
               v.text.find_first_not_of("0123456789") == std::string::npos,
           what, ": ", field, " must be a non-negative integer, got ", v.kind == Json::Number ? v.text : "a non-number");
  uint64_t out = 0;
  for (char c : v.text) {
    const uint64_t d = static_cast<uint64_t>(c - '0');
    XG_CHECK(out <= (UINT64_MAX - d) / 10, what, ": ", field, " ", v.text, " is too large");
    out = out * 10 + d;
  }
  return out;
}

std::string json_escape(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

// The on-disk dtypes xgrad reads, and what each becomes.
struct DiskType {
  const char* name;
  size_t size;
  ScalarType dtype;
};
constexpr DiskType kDiskTypes[] = {{"F32", 4, kFloat32}, {"F64", 8, kFloat64}, {"I64", 8, kInt64},
                                   {"BOOL", 1, kBool},   {"BF16", 2, kFloat32}, {"F16", 2, kFloat32}};

// The name a dtype is written under: its first entry in the table above.
const char* disk_name(ScalarType t) {
  for (const DiskType& d : kDiskTypes)
    if (d.dtype == t) return d.name;
  return "?";
}

float half_to_float(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000) << 16;
  uint32_t exp = (h >> 10) & 0x1F, mant = h & 0x3FF, bits;
  if (exp == 0x1F) bits = sign | 0x7F800000u | (mant << 13);  // inf / NaN
  else if (exp != 0) bits = sign | ((exp + 112) << 23) | (mant << 13);
  else if (mant == 0) bits = sign;  // ±0
  else {                             // subnormal: normalise
    exp = 113;
    while (!(mant & 0x400)) {
      mant <<= 1;
      --exp;
    }
    bits = sign | (exp << 23) | ((mant & 0x3FF) << 13);
  }
  return std::bit_cast<float>(bits);
}

void check_little_endian(const char* op) {
  XG_CHECK(std::endian::native == std::endian::little, op, ": safetensors are little-endian; this machine is not");
}

}  // namespace

std::string to_safetensors_bytes(const NamedTensors& tensors, const std::map<std::string, std::string>& metadata) {
  check_little_endian("save_safetensors");
  std::string header = "{";
  bool first = true;
  if (!metadata.empty()) {
    header += "\"__metadata__\":{";
    for (auto it = metadata.begin(); it != metadata.end(); ++it) {
      if (it != metadata.begin()) header += ',';
      header += json_escape(it->first);
      header += ':';
      header += json_escape(it->second);
    }
    header += "}";
    first = false;
  }
  std::set<std::string> names;
  uint64_t offset = 0;
  for (const auto& [name, t] : tensors) {
    XG_CHECK(t.defined(), "save_safetensors: tensor '", name, "' is undefined");
    XG_CHECK(name != "__metadata__", "save_safetensors: '__metadata__' is reserved and can't name a tensor");
    XG_CHECK(names.insert(name).second, "save_safetensors: the name '", name, "' appears twice");
    const uint64_t n = static_cast<uint64_t>(t.numel()) * itemsize(t.dtype());
    if (!first) header += ',';
    header += json_escape(name);
    header += str(":{\"dtype\":\"", disk_name(t.dtype()), "\",\"shape\":", t.sizes(), ",\"data_offsets\":[", offset, ",",
                  offset + n, "]}");
    offset += n;
    first = false;
  }
  header += "}";
  header.append((8 - header.size() % 8) % 8, ' ');  // the data starts 8-byte aligned, as the Rust writer does
  std::string out(8, '\0');
  const uint64_t hn = header.size();
  std::memcpy(out.data(), &hn, 8);
  out += header;
  out.reserve(out.size() + offset);
  for (const auto& [name, t] : tensors)
    out.append(static_cast<const char*>(t.raw_data()), static_cast<size_t>(t.numel()) * itemsize(t.dtype()));
  return out;
}

NamedTensors from_safetensors_bytes(const std::string& b, const std::string& what,
                                    std::map<std::string, std::string>* metadata) {
  check_little_endian("load_safetensors");
  XG_CHECK(b.size() >= 8, what, ": too short for a safetensors file (", b.size(), " bytes; the header length alone is 8)");
  uint64_t hn;
  std::memcpy(&hn, b.data(), 8);
  XG_CHECK(hn <= kMaxHeader, what, ": header length ", hn, " exceeds the format's limit of ", kMaxHeader, " bytes");
  XG_CHECK(hn <= b.size() - 8, what, ": header length ", hn, " runs past the end of the file (", b.size(), " bytes)");
  XG_CHECK(hn >= 2 && b[8] == '{', what, ": the header must be a JSON object starting with '{'");
  const std::string header = b.substr(8, hn);
  const Json doc = JsonReader(header, what).document();
  XG_CHECK(doc.kind == Json::Object, what, ": the header must be a JSON object");
  const uint64_t data_size = b.size() - 8 - hn;

  struct Entry {
    std::string name;
    const DiskType* type;
    Shape shape;
    uint64_t begin, end;
  };
  std::vector<Entry> entries;
  for (size_t m = 0; m < doc.keys.size(); ++m) {
    const std::string& name = doc.keys[m];
    const Json& v = doc.items[m];
    if (name == "__metadata__") {
      XG_CHECK(v.kind == Json::Object, what, ": __metadata__ must be an object of strings");
      for (size_t k = 0; k < v.keys.size(); ++k) {
        XG_CHECK(v.items[k].kind == Json::String, what, ": __metadata__ value for \"", v.keys[k], "\" must be a string");
        if (metadata) (*metadata)[v.keys[k]] = v.items[k].text;
      }
      continue;
    }
    const std::string field = str("tensor '", name, "'");
    XG_CHECK(v.kind == Json::Object, what, ": ", field, " must be an object");
    const Json *dtype = nullptr, *shape = nullptr, *offsets = nullptr;
    for (size_t k = 0; k < v.keys.size(); ++k) {
      if (v.keys[k] == "dtype") dtype = &v.items[k];
      else if (v.keys[k] == "shape") shape = &v.items[k];
      else if (v.keys[k] == "data_offsets") offsets = &v.items[k];
      else throw Error(str(what, ": ", field, " has an unknown field \"", v.keys[k], "\""));
    }
    XG_CHECK(dtype && shape && offsets, what, ": ", field, " needs dtype, shape and data_offsets");
    XG_CHECK(dtype->kind == Json::String, what, ": ", field, " dtype must be a string");
    Entry e{name, nullptr, {}, 0, 0};
    for (const DiskType& t : kDiskTypes)
      if (dtype->text == t.name) e.type = &t;
    XG_CHECK(e.type, what, ": ", field, " has dtype \"", dtype->text,
             "\"; xgrad reads F32, F64, I64, BOOL, BF16 and F16 (BF16 and F16 become Float32)");
    XG_CHECK(shape->kind == Json::Array && shape->items.size() <= 64, what, ": ", field,
             " shape must be an array of at most 64 sizes");
    for (const Json& d : shape->items) {
      const uint64_t n = as_u64(d, what, field + " shape entry");
      XG_CHECK(n <= (uint64_t{1} << 62), what, ": ", field, " has a size of ", n, " in its shape");
      e.shape.push_back(static_cast<int64_t>(n));
    }
    const auto numel = static_cast<uint64_t>(checked_numel(e.shape, "load_safetensors"));
    XG_CHECK(offsets->kind == Json::Array && offsets->items.size() == 2, what, ": ", field,
             " data_offsets must be [begin, end]");
    e.begin = as_u64(offsets->items[0], what, field + " data_offsets");
    e.end = as_u64(offsets->items[1], what, field + " data_offsets");
    XG_CHECK(e.begin <= e.end && e.end <= data_size, what, ": ", field, " data_offsets [", e.begin, ", ", e.end,
             "] are outside the data (", data_size, " bytes)");
    XG_CHECK(numel <= UINT64_MAX / e.type->size && e.end - e.begin == numel * e.type->size, what, ": ", field,
             " holds ", e.end - e.begin, " bytes but shape ", e.shape, " of ", e.type->name, " needs ",
             numel * e.type->size);
    entries.push_back(std::move(e));
  }
  // The tensors tile the data exactly: sorted by offset, each starts where the previous ended.
  std::vector<const Entry*> by_offset;
  for (const auto& e : entries) by_offset.push_back(&e);
  std::sort(by_offset.begin(), by_offset.end(), [](const Entry* a, const Entry* c) {
    return a->begin != c->begin ? a->begin < c->begin : a->end < c->end;
  });
  uint64_t at = 0;
  for (const Entry* e : by_offset) {
    XG_CHECK(e->begin == at, what, ": tensor '", e->name, "' starts at byte ", e->begin, " of the data, expected ", at,
             e->begin < at ? " (it overlaps the previous tensor)" : " (a hole in the data)");
    at = e->end;
  }
  XG_CHECK(at == data_size, what, ": the tensors cover ", at, " bytes of data but the file holds ", data_size);

  const char* data = b.data() + 8 + hn;
  NamedTensors out;
  for (const Entry& e : entries) {
    Tensor t = empty(e.shape, e.type->dtype);
    const char* src = data + e.begin;
    const std::string_view disk = e.type->name;
    if (disk == "BF16" || disk == "F16") {
      float* dst = t.data_ptr<float>();
      for (int64_t i = 0; i < t.numel(); ++i) {
        uint16_t h;
        std::memcpy(&h, src + 2 * i, 2);
        dst[i] = disk == "BF16" ? std::bit_cast<float>(static_cast<uint32_t>(h) << 16) : half_to_float(h);
      }
    } else if (t.numel() > 0) {
      std::memcpy(t.raw_data(), src, e.end - e.begin);
      if (t.dtype() == kBool) {
        auto* p = static_cast<unsigned char*>(t.raw_data());
        for (int64_t i = 0; i < t.numel(); ++i) p[i] = p[i] != 0;
      }
    }
    out.emplace_back(e.name, std::move(t));
  }
  return out;
}

void save_safetensors(const std::string& path, const NamedTensors& tensors,
                      const std::map<std::string, std::string>& metadata) {
  write_file_atomic(path, to_safetensors_bytes(tensors, metadata));
}

NamedTensors load_safetensors(const std::string& path, std::map<std::string, std::string>* metadata) {
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  XG_CHECK(!ec, "load_safetensors: cannot open '", path, "': ", ec.message());
  std::ifstream f(path, std::ios::binary);
  XG_CHECK(f.good(), "load_safetensors: cannot open '", path, "'");
  std::string bytes(static_cast<size_t>(size), '\0');
  f.read(bytes.data(), static_cast<std::streamsize>(size));
  XG_CHECK(f.gcount() == static_cast<std::streamsize>(size), "load_safetensors: '", path, "' could not be read whole");
  return from_safetensors_bytes(bytes, path, metadata);
}

}  // namespace xgrad
