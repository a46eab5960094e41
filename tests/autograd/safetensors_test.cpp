// safetensors: round trips, Module::save/load by extension, and malformed files refused with a
// clear Error before anything is allocated. (Interop with Python's struct/json: safetensors_check.py.)
#include <cstring>
#include <filesystem>

#include "helpers.hpp"

namespace {

// A file image: 8-byte little-endian length, the header, then `data`.
std::string image(const std::string& header, const std::string& data = "") {
  std::string out(8, '\0');
  const uint64_t n = header.size();
  std::memcpy(out.data(), &n, 8);
  return out + header + data;
}

void refuses(const std::string& bytes, const std::string& message) {
  INFO("expecting: " << message);
  CHECK_THROWS_WITH(xg::from_safetensors_bytes(bytes, "t.safetensors"), Catch::Contains(message));
}

}  // namespace

TEST_CASE("safetensors round-trips every dtype, names and metadata", "[safetensors]") {
  xg::manual_seed(3);
  xg::NamedTensors in = {{"weight", xg::randn({3, 4})},
                         {"d", xg::randn({2}, xg::kFloat64)},
                         {"steps", xg::tensor({int64_t{-3}, int64_t{7}, int64_t{1} << 40})},
                         {"mask", xg::tensor({true, false, true})},
                         {"scalar", xg::scalar_tensor(2.5)},
                         {"empty", xg::zeros({0, 3})},
                         {"a \"quoted\" name/é", xg::ones({1})}};
  std::string path = (std::filesystem::temp_directory_path() / "xgrad_roundtrip.safetensors").string();
  xg::save_safetensors(path, in, {{"format", "pt"}, {"note", "line\nbreak"}});
  std::map<std::string, std::string> meta;
  xg::NamedTensors out = xg::load_safetensors(path, &meta);
  REQUIRE(out.size() == in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    CHECK(out[i].first == in[i].first);
    CHECK(out[i].second.dtype() == in[i].second.dtype());
    CHECK(out[i].second.sizes() == in[i].second.sizes());
    CHECK(xg::equal(out[i].second, in[i].second));
  }
  CHECK(meta["format"] == "pt");
  CHECK(meta["note"] == "line\nbreak");
  // the data starts 8-byte aligned
  std::string bytes = xg::to_safetensors_bytes(in);
  uint64_t n;
  std::memcpy(&n, bytes.data(), 8);
  CHECK(n % 8 == 0);
  std::filesystem::remove(path);
}

TEST_CASE("Module::save and load choose safetensors by extension", "[safetensors]") {
  xg::nn::Linear a(3, 2), b(3, 2);
  std::string path = (std::filesystem::temp_directory_path() / "xgrad_linear.safetensors").string();
  a->save(path);
  b->load(path);
  CHECK(xg::equal(a->weight, b->weight));
  CHECK(xg::equal(a->bias, b->bias));
  auto raw = xg::load_safetensors(path);
  CHECK(raw[0].first == "weight");
  std::filesystem::remove(path);
}

TEST_CASE("BF16 and F16 are widened to Float32", "[safetensors]") {
  // 1.5 in BF16 is 0x3FC0; -2.0 in F16 is 0xC000; 2^-24 (F16's smallest subnormal) is 0x0001.
  std::string data("\xC0\x3F\x00\xC0\x01\x00", 6);
  std::string h = R"({"b":{"dtype":"BF16","shape":[1],"data_offsets":[0,2]},"h":{"dtype":"F16","shape":[2],"data_offsets":[2,6]}})";
  auto t = xg::from_safetensors_bytes(image(h, data));
  CHECK(t[0].second.dtype() == xg::kFloat32);
  CHECK(t[0].second.item<float>() == 1.5f);
  CHECK(t[1].second.data_ptr<float>()[0] == -2.0f);
  CHECK(t[1].second.data_ptr<float>()[1] == std::ldexp(1.0f, -24));
}

TEST_CASE("malformed safetensors are refused with the reason", "[safetensors]") {
  const std::string ok = R"({"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
  const std::string eight(8, '\1');
  CHECK_NOTHROW(xg::from_safetensors_bytes(image(ok, eight)));
  refuses("abc", "too short for a safetensors file");
  std::string huge(8, '\xff');
  refuses(huge + "{}", "exceeds the format's limit");
  std::string past(8, '\0');
  past[0] = 100;
  refuses(past + "{}", "runs past the end of the file");
  refuses(image("[1,2]"), "must be a JSON object starting with '{'");
  refuses(image(R"({"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]})"), "malformed JSON header");
  refuses(image(ok + "x", eight), "unexpected bytes after the JSON header");
  refuses(image(R"({"x":{"dtype":"I8","shape":[8],"data_offsets":[0,8]}})", eight), "has dtype \"I8\"");
  refuses(image(R"({"x":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", eight), "must be a non-negative integer, got -2");
  refuses(image(R"({"x":{"dtype":"F32","shape":[2.5],"data_offsets":[0,8]}})", eight), "must be a non-negative integer, got 2.5");
  refuses(image(R"({"x":{"dtype":"F32","shape":[2],"data_offsets":[0,16]}})", eight), "are outside the data (8 bytes)");
  refuses(image(R"({"x":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", eight), "holds 8 bytes but shape [3] of F32 needs 12");
  refuses(image(R"({"x":{"dtype":"F32","shape":[4611686018427387904,4611686018427387904],"data_offsets":[0,8]}})", eight),
          "load_safetensors");
  refuses(image(R"({"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"y":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", eight),
          "overlaps the previous tensor");
  refuses(image(R"({"x":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", eight), "a hole in the data");
  refuses(image(R"({"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", eight), "cover 4 bytes of data but the file holds 8");
  refuses(image(R"({"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"x":{"dtype":"F32","shape":[0],"data_offsets":[8,8]}})", eight),
          "duplicate key \"x\"");
  refuses(image(R"({"x":{"dtype":"F32","shape":[2]}})", eight), "needs dtype, shape and data_offsets");
  refuses(image(R"({"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8],"extra":1}})", eight), "unknown field \"extra\"");
  refuses(image(R"({"__metadata__":{"a":1}})"), "__metadata__ value for \"a\" must be a string");
  refuses(image(std::string(40, '[')), "must be a JSON object");
  refuses(image("{\"a\":" + std::string(40, '[') + std::string(40, ']') + "}"), "nested too deeply");
  refuses(image(R"({"x\ud800":1})"), "lone surrogate");
  refuses(image(R"({"x":{"dtype":"F32","shape":[2],"data_offsets":[0,99999999999999999999999]}})", eight), "data_offsets");
}
