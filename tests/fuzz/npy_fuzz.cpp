// from_npy_bytes on arbitrary bytes: a tensor whose size matches the bytes, or an xgrad::Error.
#include "fuzz_util.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::expect_error_or_success([&] {
    xgrad::Tensor t = xgrad::from_npy_bytes(std::string(reinterpret_cast<const char*>(data), size), "fuzz");
    if (t.numel() * static_cast<int64_t>(xgrad::itemsize(t.dtype())) > static_cast<int64_t>(size) * 2 + 64)
      __builtin_trap();  // more data than the bytes could hold: a size was not checked
  });
  return 0;
}
