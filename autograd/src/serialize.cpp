#include "xgrad/serialize.hpp"

#include <zip.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>
#include <unistd.h>

#include "kernels/strided_copy.hpp"

namespace xgrad {

namespace {

const char kMagic[] = "\x93NUMPY";

const char* descr_of(ScalarType t) {
  switch (t) {
    case kFloat32: return "<f4";
    case kFloat64: return "<f8";
    case kInt64: return "<i8";
    case kBool: return "|b1";
  }
  return "?";
}

// The value after 'key': in a numpy header dict, as raw text up to the next top-level comma.
std::string header_field(const std::string& h, const std::string& key, const std::string& what) {
  auto at = h.find("'" + key + "'");
  XG_CHECK(at != std::string::npos, what, ": npy header has no '", key, "' field: ", h);
  auto colon = h.find(':', at);
  XG_CHECK(colon != std::string::npos, what, ": malformed npy header: ", h);
  size_t i = colon + 1;
  while (i < h.size() && h[i] == ' ') ++i;
  size_t end = i;
  if (i < h.size() && h[i] == '(') end = h.find(')', i) + 1;
  else if (i < h.size() && (h[i] == '\'' || h[i] == '"')) end = h.find(h[i], i + 1) + 1;
  else while (end < h.size() && h[end] != ',' && h[end] != '}') ++end;
  XG_CHECK(end != 0 && end != std::string::npos && end <= h.size(), what, ": malformed npy header: ", h);
  return h.substr(i, end - i);
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
  XG_CHECK(b.size() >= 10 && std::memcmp(b.data(), kMagic, 6) == 0, what, ": not an .npy file (bad magic)");
  const auto major = static_cast<unsigned char>(b[6]);
  XG_CHECK(major >= 1 && major <= 3, what, ": unsupported .npy version ", int(major));
  size_t hlen = 0, off = 0;
  if (major == 1) {
    hlen = static_cast<unsigned char>(b[8]) | (static_cast<unsigned char>(b[9]) << 8);
    off = 10;
  } else {
    XG_CHECK(b.size() >= 12, what, ": truncated .npy header");
    for (int i = 3; i >= 0; --i) hlen = (hlen << 8) | static_cast<unsigned char>(b[8 + i]);
    off = 12;
  }
  XG_CHECK(b.size() >= off + hlen, what, ": truncated .npy header (", b.size(), " bytes)");
  std::string h = b.substr(off, hlen);
  std::string descr = header_field(h, "descr", what);
  std::string fortran = header_field(h, "fortran_order", what);
  std::string shape_s = header_field(h, "shape", what);
  XG_CHECK(descr.size() >= 2, what, ": bad descr ", descr);
  descr = descr.substr(1, descr.size() - 2);
  ScalarType dt;
  bool from_i4 = false;
  if (descr == "<f4") dt = kFloat32;
  else if (descr == "<f8") dt = kFloat64;
  else if (descr == "<i8") dt = kInt64;
  else if (descr == "|b1") dt = kBool;
  else if (descr == "<i4") { dt = kInt64; from_i4 = true; }
  else throw Error(str(what, ": unsupported .npy dtype '", descr, "' (supported: <f4, <f8, <i8, <i4, |b1)"));
  Shape shape;
  XG_CHECK(shape_s.size() >= 2 && shape_s.front() == '(' && shape_s.back() == ')', what, ": bad shape ", shape_s);
  std::stringstream ss(shape_s.substr(1, shape_s.size() - 2));
  std::string item;
  int64_t n = 1;
  while (std::getline(ss, item, ',')) {
    if (item.find_first_not_of(' ') == std::string::npos) continue;
    char* end = nullptr;
    long long v = std::strtoll(item.c_str(), &end, 10);
    XG_CHECK(v >= 0 && v < (1LL << 40), what, ": bad dimension '", item, "' in shape ", shape_s);
    shape.push_back(v);
    n *= v;
    XG_CHECK(n < (1LL << 40), what, ": shape ", shape_s, " is too large");
  }
  const size_t src_item = from_i4 ? 4 : itemsize(dt);
  const size_t need = off + hlen + static_cast<size_t>(n) * src_item;
  XG_CHECK(b.size() >= need, what, ": truncated .npy data: expected ", need, " bytes, got ", b.size());
  Tensor t = empty(shape, dt);
  const char* data = b.data() + off + hlen;
  if (from_i4) {
    int64_t* p = t.data_ptr<int64_t>();
    for (int64_t i = 0; i < n; ++i) {
      int32_t v;
      std::memcpy(&v, data + i * 4, 4);
      p[i] = v;
    }
  } else if (fortran == "True" && shape.size() > 1) {
    // Column-major: element (i0..ik) sits at Σ i_d·Π_{e<d} size_e.
    Shape strides(shape.size(), 1);
    for (size_t d = 1; d < shape.size(); ++d) strides[d] = strides[d - 1] * shape[d - 1];
    kernels::strided_copy(t.raw_data(), data, itemsize(dt), shape, strides, 0);
  } else {
    std::memcpy(t.raw_data(), data, static_cast<size_t>(n) * itemsize(dt));
  }
  if (dt == kBool) {  // any non-zero byte is true; keep bools canonical
    auto* p = static_cast<unsigned char*>(t.raw_data());
    for (int64_t i = 0; i < n; ++i) p[i] = p[i] != 0;
  }
  return t;
}

void write_file_atomic(const std::string& path, const std::string& bytes) {
  std::string tmp = path + ".tmp." + std::to_string(::getpid());
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    XG_CHECK(f.good(), "save: cannot open '", tmp, "' for writing");
    f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    f.flush();
    if (!f.good()) {
      std::remove(tmp.c_str());
      throw Error(str("save: writing '", tmp, "' failed (disk full?)"));
    }
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    throw Error(str("save: cannot rename '", tmp, "' to '", path, "': ", std::strerror(errno)));
  }
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
  std::string tmp = path + ".tmp." + std::to_string(::getpid());
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
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    throw Error(str("save_npz: cannot rename '", tmp, "' to '", path, "': ", std::strerror(errno)));
  }
}

NamedTensors load_npz(const std::string& path) {
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
  zip_int64_t n = zip_get_num_entries(z.get(), 0);
  for (zip_int64_t i = 0; i < n; ++i) {
    zip_stat_t st;
    XG_CHECK(zip_stat_index(z.get(), i, 0, &st) == 0, "load_npz: '", path, "': cannot stat entry ", i);
    std::string name = st.name;
    XG_CHECK(st.size < (1ULL << 40), "load_npz: '", path, "': entry '", name, "' is too large");
    std::unique_ptr<zip_file_t, int (*)(zip_file_t*)> f(zip_fopen_index(z.get(), i, 0), zip_fclose);
    XG_CHECK(f, "load_npz: '", path, "': cannot open entry '", name, "': ", zip_strerror(z.get()));
    std::string bytes(st.size, '\0');
    zip_int64_t got = zip_fread(f.get(), bytes.data(), st.size);
    XG_CHECK(got == static_cast<zip_int64_t>(st.size), "load_npz: '", path, "': entry '", name,
             "' is truncated or corrupted");
    if (name.size() > 4 && name.compare(name.size() - 4, 4, ".npy") == 0) name.resize(name.size() - 4);
    out.emplace_back(name, from_npy_bytes(bytes, path + ":" + name));
  }
  return out;
}

}  // namespace xgrad
