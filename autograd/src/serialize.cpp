#include "xgrad/serialize.hpp"

#include <zip.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <set>
#include <sstream>

#include "kernels/strided_copy.hpp"
#include "xgrad/shape.hpp"

namespace xgrad {

namespace {

const char kMagic[] = "\x93NUMPY";
constexpr size_t kMaxHeaderBytes = 1 << 20;  // numpy's own headers are a few hundred bytes

const char* descr_of(ScalarType t) {
  switch (t) {
    case kFloat32: return "<f4";
    case kFloat64: return "<f8";
    case kInt64: return "<i8";
    case kBool: return "|b1";
  }
  return "?";
}

// What an .npy header says, checked: the dtype, the shape, and where the data starts.
struct NpyHeader {
  ScalarType dtype = kFloat32;
  bool from_i4 = false;  // '<i4' data, widened to Int64
  bool fortran = false;
  Shape shape;
  int64_t numel = 0;
  size_t data_offset = 0;  // bytes from the file's start
  size_t data_bytes() const { return static_cast<size_t>(numel) * (from_i4 ? 4 : itemsize(dtype)); }
};

// A strict reader of the header dict numpy writes: {'descr': '<f4', 'fortran_order': False,
// 'shape': (2, 3), } — exactly these three keys, once each, in any order; a string, a bool and a
// tuple of non-negative integers; nothing else but spaces, a trailing comma and the padding.
class HeaderParser {
 public:
  HeaderParser(const std::string& text, const std::string& what) : h_(text), what_(what) {}

  void parse(NpyHeader& out) {
    bool seen_descr = false, seen_fortran = false, seen_shape = false;
    expect('{');
    while (!peek('}')) {
      const std::string key = quoted();
      expect(':');
      if (key == "descr" && !seen_descr) seen_descr = true, set_dtype(quoted(), out);
      else if (key == "fortran_order" && !seen_fortran) seen_fortran = true, out.fortran = boolean();
      else if (key == "shape" && !seen_shape) seen_shape = true, out.shape = tuple();
      else fail(str("unexpected or repeated key '", key, "'"));
      if (!peek('}')) expect(',');
    }
    expect('}');
    skip_space();
    XG_CHECK(i_ == h_.size(), what_, ": malformed .npy header (text after the dict): ", h_);
    XG_CHECK(seen_descr && seen_fortran && seen_shape, what_, ": .npy header lacks descr, fortran_order or shape: ", h_);
  }

 private:
  [[noreturn]] void fail(const std::string& why) const { throw Error(str(what_, ": malformed .npy header (", why, "): ", h_)); }
  void skip_space() {
    while (i_ < h_.size() && (h_[i_] == ' ' || h_[i_] == '\n')) ++i_;
  }
  bool peek(char c) {
    skip_space();
    return i_ < h_.size() && h_[i_] == c;
  }
  void expect(char c) {
    if (!peek(c)) fail(str("expected '", c, "' at offset ", i_));
    ++i_;
  }
  std::string quoted() {
    skip_space();
    if (i_ >= h_.size() || (h_[i_] != '\'' && h_[i_] != '"')) fail(str("expected a quoted string at offset ", i_));
    const char q = h_[i_++];
    const size_t end = h_.find(q, i_);
    if (end == std::string::npos) fail("unterminated string");
    std::string s = h_.substr(i_, end - i_);
    i_ = end + 1;
    return s;
  }
  bool boolean() {
    skip_space();
    for (const char* word : {"True", "False"})
      if (h_.compare(i_, std::strlen(word), word) == 0) {
        i_ += std::strlen(word);
        return word[0] == 'T';
      }
    fail(str("expected True or False at offset ", i_));
  }
  Shape tuple() {
    Shape shape;
    expect('(');
    while (!peek(')')) {
      skip_space();
      const size_t start = i_;
      int64_t v = 0;
      while (i_ < h_.size() && std::isdigit(static_cast<unsigned char>(h_[i_]))) {
        if (v > (int64_t{1} << 48)) fail("a dimension is too large");
        v = v * 10 + (h_[i_++] - '0');
      }
      if (i_ == start) fail(str("expected a non-negative integer dimension at offset ", start));
      shape.push_back(v);
      if (!peek(')')) expect(',');
    }
    expect(')');
    return shape;
  }
  void set_dtype(const std::string& descr, NpyHeader& out) {
    if (descr == "<f4") out.dtype = kFloat32;
    else if (descr == "<f8") out.dtype = kFloat64;
    else if (descr == "<i8") out.dtype = kInt64;
    else if (descr == "|b1") out.dtype = kBool;
    else if (descr == "<i4") out.dtype = kInt64, out.from_i4 = true;
    else throw Error(str(what_, ": unsupported .npy dtype '", descr, "' (supported: <f4, <f8, <i8, <i4, |b1)"));
  }

  const std::string& h_;
  const std::string& what_;
  size_t i_ = 0;
};

// Reads the magic, version and header at the start of `bytes` (`size` of them available).
NpyHeader parse_npy_header(const char* bytes, size_t size, const std::string& what) {
  XG_CHECK(size >= 10 && std::memcmp(bytes, kMagic, 6) == 0, what, ": not an .npy file (bad magic)");
  const auto major = static_cast<unsigned char>(bytes[6]);
  XG_CHECK(major >= 1 && major <= 3, what, ": unsupported .npy version ", int(major));
  size_t hlen = 0, off = 10;
  if (major == 1) {
    hlen = static_cast<unsigned char>(bytes[8]) | (static_cast<unsigned char>(bytes[9]) << 8);
  } else {
    XG_CHECK(size >= 12, what, ": truncated .npy header");
    for (int i = 3; i >= 0; --i) hlen = (hlen << 8) | static_cast<unsigned char>(bytes[8 + i]);
    off = 12;
  }
  XG_CHECK(hlen <= kMaxHeaderBytes, what, ": .npy header of ", hlen, " bytes is too long");
  XG_CHECK(size >= off + hlen, what, ": truncated .npy header (", size, " bytes)");
  NpyHeader out;
  HeaderParser(std::string(bytes + off, hlen), what).parse(out);
  out.numel = checked_numel(out.shape, what.c_str());
  XG_CHECK(out.numel <= (int64_t{1} << 48) / 8, what, ": shape ", out.shape, " is too large");
  out.data_offset = off + hlen;
  return out;
}

// Any non-zero byte of a Bool tensor is true; stored as exactly 0 or 1.
void canonicalize_bools(const Tensor& t) {
  if (t.dtype() != kBool) return;
  auto* p = static_cast<unsigned char*>(t.raw_data());
  for (int64_t i = 0; i < t.numel(); ++i) p[i] = p[i] != 0;
}

// Whether the file's data bytes are the tensor's bytes as they are (no widening, no reordering).
bool plain_layout(const NpyHeader& h) { return !h.from_i4 && !(h.fortran && h.shape.size() > 1); }

// Fills a new tensor from the header's data bytes (exactly h.data_bytes() of them).
Tensor tensor_from_npy_data(const NpyHeader& h, const char* data) {
  Tensor t = empty(h.shape, h.dtype);
  if (h.from_i4) {
    int64_t* p = t.data_ptr<int64_t>();
    for (int64_t i = 0; i < h.numel; ++i) {
      int32_t v;
      std::memcpy(&v, data + i * 4, 4);
      p[i] = v;
    }
  } else if (h.fortran && h.shape.size() > 1) {
    // Column-major: element (i0..ik) sits at Σ i_d·Π_{e<d} size_e. Copied to an aligned buffer
    // first: the data may start anywhere in the file.
    Tensor column_major = empty({h.numel}, h.dtype);
    std::memcpy(column_major.raw_data(), data, h.data_bytes());
    Shape strides(h.shape.size(), 1);
    for (size_t d = 1; d < h.shape.size(); ++d) strides[d] = strides[d - 1] * h.shape[d - 1];
    kernels::strided_copy(t.raw_data(), column_major.raw_data(), itemsize(h.dtype), h.shape, strides, 0);
  } else if (h.numel > 0) {
    std::memcpy(t.raw_data(), data, h.data_bytes());
  }
  canonicalize_bools(t);
  return t;
}

}  // namespace

std::string to_npy_bytes(const Tensor& t) {
  std::ostringstream header;
  header << "{'descr': '" << descr_of(t.dtype()) << "', 'fortran_order': False, 'shape': (";
  for (size_t i = 0; i < t.sizes().size(); ++i) header << t.sizes()[i] << (t.sizes().size() == 1 ? "," : i + 1 < t.sizes().size() ? ", " : "");
  header << "), }";
  std::string h = header.str();
  // magic(6) + version(2) + length(2) + header + '\n' is padded to a multiple of 64.
  size_t total = 10 + h.size() + 1;
  h.append((64 - total % 64) % 64, ' ');
  h.push_back('\n');
  std::string out(kMagic, 6);
  out.push_back('\x01');
  out.push_back('\x00');
  out.push_back(static_cast<char>(h.size() & 0xff));
  out.push_back(static_cast<char>((h.size() >> 8) & 0xff));
  out += h;
  out.append(static_cast<const char*>(t.raw_data()), t.numel() * itemsize(t.dtype()));
  return out;
}

Tensor from_npy_bytes(const std::string& b, const std::string& what) {
  const NpyHeader h = parse_npy_header(b.data(), b.size(), what);
  const size_t need = h.data_offset + h.data_bytes();
  XG_CHECK(b.size() == need, what, ": the header's shape ", h.shape, " needs ", need, " bytes, the data has ",
           b.size(), b.size() < need ? " (truncated)" : " (trailing bytes)");
  return tensor_from_npy_data(h, b.data() + h.data_offset);
}

namespace {

// Atomic writes: the bytes go to "<path>.tmp.<pid>" in the same folder, which is flushed to disk
// (fsync), renamed over path, and the folder's entry flushed too — a crash leaves the old file or
// the new one, never half of one.
std::string temp_path_for(const std::string& path) { return path + ".tmp." + std::to_string(::getpid()); }

// Removes temporaries of `path` left by writers that were killed (their process is gone):
// "<path>.tmp.<pid>", and libzip's own "<path>.tmp.<pid>.<random>" from inside save_npz.
void remove_stale_temps(const std::string& path) {
  namespace fs = std::filesystem;
  const fs::path target(path);
  const fs::path dir = target.has_parent_path() ? target.parent_path() : fs::path(".");
  const std::string prefix = target.filename().string() + ".tmp.";
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.compare(0, prefix.size(), prefix) != 0) continue;
    size_t end = prefix.size();
    while (end < name.size() && std::isdigit(static_cast<unsigned char>(name[end]))) ++end;
    if (end == prefix.size() || end - prefix.size() > 9 || (end < name.size() && name[end] != '.')) continue;
    const std::string pid_text = name.substr(prefix.size(), end - prefix.size());
    const pid_t pid = static_cast<pid_t>(std::stol(pid_text));
    if (pid == ::getpid() || (::kill(pid, 0) == -1 && errno == ESRCH)) fs::remove(entry.path(), ec);
  }
}

void fsync_path(const std::string& path, int flags, const char* what) {
  const int fd = ::open(path.c_str(), flags);
  XG_CHECK(fd >= 0, "save: cannot open '", path, "' to flush ", what, ": ", std::strerror(errno));
  const int rc = ::fsync(fd);
  const int saved = errno;
  ::close(fd);
  XG_CHECK(rc == 0, "save: flushing ", what, " '", path, "' failed: ", std::strerror(saved));
}

// The temporary holds the complete new file: flush it, move it over path, flush the folder.
void commit_temp(const std::string& tmp, const std::string& path) {
  try {
    fsync_path(tmp, O_RDONLY, "the file");
  } catch (...) {
    std::remove(tmp.c_str());
    throw;
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    const int saved = errno;
    std::remove(tmp.c_str());
    throw Error(str("save: cannot rename '", tmp, "' to '", path, "': ", std::strerror(saved)));
  }
  const std::filesystem::path parent = std::filesystem::path(path).parent_path();
  fsync_path(parent.empty() ? "." : parent.string(), O_RDONLY | O_DIRECTORY, "the folder");
}

}  // namespace

void write_file_atomic(const std::string& path, const std::string& bytes) {
  remove_stale_temps(path);
  const std::string tmp = temp_path_for(path);
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  XG_CHECK(fd >= 0, "save: cannot open '", tmp, "' for writing: ", std::strerror(errno));
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int saved = errno;
      ::close(fd);
      std::remove(tmp.c_str());
      throw Error(str("save: writing '", tmp, "' failed: ", std::strerror(saved), " (disk full?)"));
    }
    done += static_cast<size_t>(n);
  }
  ::close(fd);
  commit_temp(tmp, path);
}

void save_npy(const std::string& path, const Tensor& t) { write_file_atomic(path, to_npy_bytes(t)); }

Tensor load_npy(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  XG_CHECK(f.good(), "load_npy: cannot open '", path, "'");
  std::stringstream ss;
  ss << f.rdbuf();
  return from_npy_bytes(ss.str(), path);
}

namespace {
struct ZipCloser {
  void operator()(zip_t* z) const { if (z) zip_discard(z); }
};
}  // namespace

void save_npz(const std::string& path, const NamedTensors& tensors) {
  std::set<std::string> names;
  for (const auto& [name, t] : tensors)
    XG_CHECK(names.insert(name).second, "save_npz: two tensors are named '", name, "' (names must be unique)");
  remove_stale_temps(path);
  const std::string tmp = temp_path_for(path);
  std::remove(tmp.c_str());
  int err = 0;
  std::unique_ptr<zip_t, ZipCloser> z(zip_open(tmp.c_str(), ZIP_CREATE | ZIP_TRUNCATE, &err));
  XG_CHECK(z, "save_npz: cannot create '", tmp, "' (libzip error ", err, ")");
  std::vector<std::string> blobs;  // libzip reads sources at close: keep them alive until then
  blobs.reserve(tensors.size());
  for (const auto& [name, t] : tensors) {
    XG_CHECK(t.defined(), "save_npz: tensor '", name, "' is undefined");
    blobs.push_back(to_npy_bytes(t));
    zip_source_t* src = zip_source_buffer(z.get(), blobs.back().data(), blobs.back().size(), 0);
    XG_CHECK(src, "save_npz: out of memory");
    zip_int64_t index = zip_file_add(z.get(), (name + ".npy").c_str(), src, ZIP_FL_OVERWRITE | ZIP_FL_ENC_UTF_8);
    if (index < 0) {
      zip_source_free(src);
      throw Error(str("save_npz: cannot add '", name, "': ", zip_strerror(z.get())));
    }
    // Stored, not deflated, as numpy.savez writes: saving costs a copy, not a compression (the
    // CRC-32 still covers every byte).
    XG_CHECK(zip_set_file_compression(z.get(), static_cast<zip_uint64_t>(index), ZIP_CM_STORE, 0) == 0,
             "save_npz: cannot store '", name, "': ", zip_strerror(z.get()));
    // A fixed timestamp: the same tensors give the same bytes (runs compare checkpoints with cmp).
    zip_file_set_mtime(z.get(), static_cast<zip_uint64_t>(index), 946684800 /* 2000-01-01 */, 0);
  }
  zip_t* raw = z.release();
  if (zip_close(raw) != 0) {
    std::string msg = zip_strerror(raw);
    zip_discard(raw);
    std::remove(tmp.c_str());
    throw Error(str("save_npz: writing '", path, "' failed: ", msg));
  }
  commit_temp(tmp, path);
}

namespace {

// Reads exactly n bytes of an archive entry into dst, adding them to the running CRC-32.
void read_entry(zip_file_t* f, char* dst, size_t n, uLong& crc, const std::string& what) {
  size_t done = 0;
  while (done < n) {
    const zip_int64_t got = zip_fread(f, dst + done, n - done);
    XG_CHECK(got > 0, what, ": the entry is truncated or corrupted");
    done += static_cast<size_t>(got);
  }
  crc = crc32_z(crc, reinterpret_cast<const Bytef*>(dst), n);  // size_t length: entries over 4 GiB too
}

// One .npy entry, trusted no further than it is checked: the zip's sizes against the file's size
// and the .npy header (before anything is allocated for the data), then every byte's CRC-32.
Tensor read_npy_entry(zip_t* z, zip_int64_t index, const zip_stat_t& st, uint64_t file_size, const std::string& what) {
  const zip_uint64_t need = ZIP_STAT_SIZE | ZIP_STAT_COMP_SIZE | ZIP_STAT_CRC | ZIP_STAT_COMP_METHOD;
  XG_CHECK((st.valid & need) == need, what, ": the archive does not say the entry's sizes and CRC");
  XG_CHECK(st.comp_size <= file_size, what, ": the entry claims ", st.comp_size, " compressed bytes in a file of ",
           file_size);
  // Deflate expands at most ~1032:1; stored entries not at all.
  const uint64_t most = st.comp_method == ZIP_CM_STORE ? st.comp_size : st.comp_size * 1032 + 1024;
  XG_CHECK(st.size <= most, what, ": the entry claims ", st.size, " bytes from ", st.comp_size, " compressed");
  std::unique_ptr<zip_file_t, int (*)(zip_file_t*)> f(zip_fopen_index(z, index, 0), zip_fclose);
  XG_CHECK(f, what, ": cannot open the entry: ", zip_strerror(z));

  uLong crc = crc32(0L, Z_NULL, 0);
  std::string head(static_cast<size_t>(std::min<uint64_t>(st.size, 12)), '\0');
  read_entry(f.get(), head.data(), head.size(), crc, what);
  XG_CHECK(head.size() >= 10, what, ": not an .npy file (", st.size, " bytes)");
  const bool v1 = static_cast<unsigned char>(head[6]) == 1;
  const size_t hlen = v1 ? (static_cast<unsigned char>(head[8]) | (static_cast<unsigned char>(head[9]) << 8))
                         : head.size() < 12 ? 0 : (static_cast<size_t>(static_cast<unsigned char>(head[8])) |
                                                   (static_cast<size_t>(static_cast<unsigned char>(head[9])) << 8) |
                                                   (static_cast<size_t>(static_cast<unsigned char>(head[10])) << 16) |
                                                   (static_cast<size_t>(static_cast<unsigned char>(head[11])) << 24));
  XG_CHECK(hlen <= kMaxHeaderBytes && (v1 ? 10 : 12) + hlen <= st.size, what, ": bad .npy header length ", hlen);
  std::string header = head;
  header.resize((v1 ? 10 : 12) + hlen);
  read_entry(f.get(), header.data() + head.size(), header.size() - head.size(), crc, what);
  const NpyHeader h = parse_npy_header(header.data(), header.size(), what);
  XG_CHECK(st.size == h.data_offset + h.data_bytes(), what, ": the archive says ", st.size,
           " bytes, the .npy header's shape ", h.shape, " and dtype need ", h.data_offset + h.data_bytes());

  // Plain data is read straight into the tensor; widened or column-major data through a buffer.
  Tensor t = plain_layout(h) ? empty(h.shape, h.dtype) : Tensor();
  std::string staged(t.defined() ? 0 : h.data_bytes(), '\0');
  read_entry(f.get(), t.defined() ? static_cast<char*>(t.raw_data()) : staged.data(), h.data_bytes(), crc, what);
  char extra;
  XG_CHECK(zip_fread(f.get(), &extra, 1) == 0, what, ": the entry is corrupted (", zip_strerror(z), ")");
  XG_CHECK(crc == st.crc, what, ": CRC-32 mismatch (the file is corrupted)");
  if (!t.defined()) return tensor_from_npy_data(h, staged.data());
  canonicalize_bools(t);
  return t;
}

}  // namespace

NamedTensors load_npz(const std::string& path) {
  std::error_code ec;
  const uint64_t file_size = std::filesystem::file_size(path, ec);
  XG_CHECK(!ec, "load_npz: cannot read '", path, "': ", ec.message());
  int err = 0;
  std::unique_ptr<zip_t, ZipCloser> z(zip_open(path.c_str(), ZIP_RDONLY | ZIP_CHECKCONS, &err));
  if (!z) {
    zip_error_t ze;
    zip_error_init_with_code(&ze, err);
    std::string msg = zip_error_strerror(&ze);
    zip_error_fini(&ze);
    throw Error(str("load_npz: cannot read '", path, "': ", msg));
  }
  NamedTensors out;
  std::set<std::string> names;
  const zip_int64_t n = zip_get_num_entries(z.get(), 0);
  for (zip_int64_t i = 0; i < n; ++i) {
    zip_stat_t st;
    XG_CHECK(zip_stat_index(z.get(), i, 0, &st) == 0 && (st.valid & ZIP_STAT_NAME), "load_npz: '", path,
             "': cannot read entry ", i);
    std::string name = st.name;
    if (name.size() > 4 && name.compare(name.size() - 4, 4, ".npy") == 0) name.resize(name.size() - 4);
    XG_CHECK(names.insert(name).second, "load_npz: '", path, "': two entries are named '", name, "'");
    out.emplace_back(name, read_npy_entry(z.get(), i, st, file_size, "load_npz: '" + path + "': entry '" + name + "'"));
  }
  return out;
}

}  // namespace xgrad
