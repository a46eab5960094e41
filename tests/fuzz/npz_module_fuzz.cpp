// load_npz and Module::load on arbitrary archives: the module either takes a state that fits it or
// throws an xgrad::Error and keeps its parameters unchanged.
#include "fuzz_util.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static xgrad::nn::Linear model = [] {
    xgrad::manual_seed(0);
    return xgrad::nn::Linear(3, 2);
  }();
  fuzz::ScratchFile file(data, size, ".npz");
  fuzz::expect_error_or_success([&] { (void)xgrad::load_npz(file.path); });
  const xgrad::Tensor before = model->weight.clone();
  try {
    model->load(file.path);
  } catch (const xgrad::Error&) {
    if (!xgrad::equal(before, model->weight)) __builtin_trap();  // a failed load changed the module
  }
  return 0;
}
