#pragma once
// What the fuzz targets share: the bytes as a scratch file, and "an xgrad::Error is the answer".
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <string>

#include <xgrad/xgrad.hpp>

namespace fuzz {

// A file holding the input, for readers that take a path; removed when it goes out of scope.
struct ScratchFile {
  ScratchFile(const uint8_t* data, size_t size, const char* suffix)
      : path("/tmp/xgrad_fuzz_" + std::to_string(::getpid()) + suffix) {
    FILE* f = std::fopen(path.c_str(), "wb");
    if (f) {
      std::fwrite(data, 1, size, f);
      std::fclose(f);
    }
  }
  ~ScratchFile() { std::remove(path.c_str()); }
  std::string path;
};

// Runs f; an xgrad::Error is a correct answer to bad input, anything else escapes (and is a finding).
template <class F>
void expect_error_or_success(F&& f) {
  try {
    f();
  } catch (const xgrad::Error&) {
  }
}

}  // namespace fuzz
