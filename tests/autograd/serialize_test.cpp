// Nothing read from disk is trusted before it is checked: every bit of an archive's data is
// covered by its CRC-32, sizes are checked against the file and the .npy header before anything is
// allocated, the header is parsed strictly, and shapes whose element count would wrap are refused.
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>

#include "helpers.hpp"

namespace fs = std::filesystem;

namespace {

std::string read_bytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), {});
}
void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}
std::string scratch(const std::string& name) {
  fs::path dir = fs::temp_directory_path() / ("xgrad_serialize_test_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  return (dir / name).string();
}
// An .npy with this header dict (padded as numpy pads) and `data` after it.
std::string npy_with_header(const std::string& dict, const std::string& data) {
  std::string h = dict;
  while ((10 + h.size() + 1) % 64) h.push_back(' ');
  h.push_back('\n');
  std::string out("\x93NUMPY\x01\x00", 8);
  out.push_back(static_cast<char>(h.size() & 0xff));
  out.push_back(static_cast<char>(h.size() >> 8));
  return out + h + data;
}

}  // namespace

TEST_CASE("a flipped bit anywhere in a checkpoint never loads different tensors", "[serialize]") {
  xg::manual_seed(5);
  const xg::NamedTensors saved{{"w", xg::randn({16, 8})}, {"b", xg::randn({8}, xg::kFloat64)},
                               {"i", xg::randint(0, 100, {5})}};
  const std::string path = scratch("flip.npz");
  xg::save_npz(path, saved);
  const std::string good = read_bytes(path);
  std::mt19937_64 rng(11);
  int refused = 0, loaded_same = 0;
  for (int trial = 0; trial < 300; ++trial) {
    std::string bad = good;
    const size_t bit = rng() % (bad.size() * 8);
    bad[bit / 8] = static_cast<char>(bad[bit / 8] ^ (1 << (bit % 8)));
    write_bytes(path, bad);
    try {
      auto back = xg::load_npz(path);
      // Only a flip in a field nothing reads (a timestamp, say) may load, and then to the same tensors.
      REQUIRE(back.size() == saved.size());
      for (size_t k = 0; k < saved.size(); ++k) {
        CHECK(back[k].first == saved[k].first);
        CHECK(xg::equal(back[k].second, saved[k].second));
      }
      ++loaded_same;
    } catch (const xg::Error&) {
      ++refused;
    }
  }
  INFO(refused << " refused, " << loaded_same << " loaded unchanged");
  CHECK(refused > 250);  // the data and the headers are most of the file
}

TEST_CASE("sizes an archive declares are checked before anything is allocated", "[serialize]") {
  const std::string path = scratch("sizes.npz");
  xg::save_npz(path, {{"x", xg::ones({4})}});
  std::string bytes = read_bytes(path);
  // The central directory's uncompressed size of the entry (offset 24 of its header): 3.75 GiB.
  const size_t cd = bytes.rfind(std::string("PK\x01\x02", 4));
  REQUIRE(cd != std::string::npos);
  const uint32_t huge = 0xF0000000u;
  std::memcpy(bytes.data() + cd + 24, &huge, 4);
  write_bytes(path, bytes);
  CHECK_THROWS_AS(xg::load_npz(path), xg::Error);
  // An .npy entry whose header declares more data than the entry holds.
  xg::save_npz(path, {{"y", xg::ones({2, 2})}});
  bytes = read_bytes(path);
  const size_t at = bytes.find("(2, 2)");
  REQUIRE(at != std::string::npos);
  bytes.replace(at, 6, "(9, 9)");  // the CRC no longer matches either: refused before reading data
  write_bytes(path, bytes);
  CHECK_THROWS_WITH(xg::load_npz(path), Catch::Contains("load_npz"));
}

TEST_CASE("the .npy header parser is strict", "[serialize]") {
  const std::string four(16, '\0');
  auto load = [&](const std::string& dict, const std::string& data) { return xg::from_npy_bytes(npy_with_header(dict, data)); };
  CHECK(load("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }", four).sizes() == xg::Shape{2, 2});
  CHECK(load("{'shape': (4,), 'descr': '<f4', 'fortran_order': False}", four).sizes() == xg::Shape{4});
  CHECK(load("{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }", four).sizes() == xg::Shape{2});
  for (const char* bad : {"{'descr': '<f4', 'fortran_order': False, 'shape': (abc, 2), }",
                          "{'descr': '<f4', 'fortran_order': False, 'shape': (2.9,), }",
                          "{'descr': '<f4', 'fortran_order': False, 'shape': (-4,), }",
                          "{'descr': '<f4', 'fortran_order': False}",
                          "{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (4,)}",
                          "{'descr': '<f4', 'fortran_order': False, 'shape': (4,), 'extra': 1}",
                          "{'descr': '<f4', 'fortran_order': Maybe, 'shape': (4,)}",
                          "{'descr': '<f4', 'fortran_order': False, 'shape': (4,)} trailing",
                          "{'descr': '<c8', 'fortran_order': False, 'shape': (2,)}",
                          "{'descr': '<f4, 'fortran_order': False, 'shape': (4,)}"}) {
    INFO(bad);
    CHECK_THROWS_AS(load(bad, four), xg::Error);
  }
  // A shape whose element count wraps 64 bits is refused, not taken as 0 elements.
  CHECK_THROWS_WITH(load("{'descr': '<f4', 'fortran_order': False, 'shape': (549755813888, 549755813888), }", ""),
                    Catch::Contains("too"));
  // Data that does not match the header: too short, or trailing bytes.
  CHECK_THROWS_WITH(load("{'descr': '<f4', 'fortran_order': False, 'shape': (5,), }", four), Catch::Contains("truncated"));
  CHECK_THROWS_WITH(load("{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }", four), Catch::Contains("trailing"));
}

TEST_CASE("Fortran-order data at any offset loads transposed correctly", "[serialize]") {
  std::string data(6 * sizeof(double), '\0');
  for (int k = 0; k < 6; ++k) {
    double v = k;
    std::memcpy(data.data() + k * sizeof(double), &v, sizeof v);
  }
  // A header padded to an odd length puts the data at an odd offset (numpy never does; a file may).
  std::string dict = "{'descr': '<f8', 'fortran_order': True, 'shape': (2, 3), }";
  std::string bytes("\x93NUMPY\x01\x00", 8);
  std::string h = dict;
  while ((10 + h.size() + 1) % 8 != 3) h.push_back(' ');
  h.push_back('\n');
  bytes.push_back(static_cast<char>(h.size()));
  bytes.push_back(0);
  bytes += h + data;
  REQUIRE((10 + h.size()) % 8 != 0);
  xg::Tensor t = xg::from_npy_bytes(bytes);
  CHECK(xg::equal(t, xg::tensor({0.0, 2.0, 4.0, 1.0, 3.0, 5.0}, xg::kFloat64).reshape({2, 3})));
}

TEST_CASE("shapes whose element count would wrap are an error in every factory", "[serialize]") {
  const int64_t big = int64_t{1} << 32;
  CHECK_THROWS_WITH(xg::zeros({big, big}), Catch::Contains("too many elements"));
  CHECK_THROWS_WITH(xg::empty({big, big, big}), Catch::Contains("too many elements"));
  CHECK_THROWS_WITH(xg::ones({-1, 3}), Catch::Contains("negative dimension"));
  CHECK_THROWS_AS(xg::randn({big, big}), xg::Error);
  CHECK(xg::zeros({big, 0}).numel() == 0);  // an empty tensor is fine
}

TEST_CASE("saving removes temporaries that killed writers left behind", "[serialize]") {
  const std::string path = scratch("stale.npz");
  // A writer that is gone: a child process's pid after it exits.
  const pid_t child = ::fork();
  if (child == 0) ::_exit(0);
  ::waitpid(child, nullptr, 0);
  const std::string stale = path + ".tmp." + std::to_string(child);
  const std::string live = path + ".tmp." + std::to_string(::getppid());  // a process that exists
  write_bytes(stale, "half a file");
  write_bytes(stale + ".Xa81bq", "libzip's own temporary, from inside a killed save_npz");
  write_bytes(live, "someone else's write in progress");
  xg::save_npz(path, {{"x", xg::ones({2})}});
  CHECK_FALSE(fs::exists(stale));
  CHECK_FALSE(fs::exists(stale + ".Xa81bq"));
  CHECK(fs::exists(live));
  CHECK(xg::equal(xg::load_npz(path)[0].second, xg::ones({2})));
  fs::remove(live);
  CHECK_THROWS_WITH(xg::save_npz(path, {{"x", xg::ones({2})}, {"x", xg::zeros({2})}}), Catch::Contains("two tensors"));
}
