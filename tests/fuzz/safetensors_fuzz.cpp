// from_safetensors_bytes on arbitrary bytes: tensors whose bytes fit in the input, or an xgrad::Error.
#include "fuzz_util.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::expect_error_or_success([&] {
    auto tensors = xgrad::from_safetensors_bytes(std::string(reinterpret_cast<const char*>(data), size), "fuzz");
    int64_t total = 0;
    for (const auto& [name, t] : tensors) total += t.numel();
    if (total > static_cast<int64_t>(size) + 64) __builtin_trap();  // more elements than bytes: a size was not checked
  });
  return 0;
}
