// Optimizer and scheduler state from arbitrary archives: loaded (and then a step runs) or refused
// with an xgrad::Error, never a crash or an overflow in step().
#include "fuzz_util.hpp"

namespace optim = xgrad::optim;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::ScratchFile file(data, size, ".npz");
  xgrad::NamedTensors state;
  try {
    state = xgrad::load_npz(file.path);
  } catch (const xgrad::Error&) {
    return 0;
  }
  xgrad::Tensor w = xgrad::ones({3, 2}).requires_grad_(), b = xgrad::ones({2}).requires_grad_();
  optim::AdamW adam({{{w}, optim::AdamWOptions(0.01).amsgrad(true)}, {{b}, optim::AdamWOptions(0.01)}});
  optim::SGD sgd({w, b}, optim::SGDOptions(0.1).momentum(0.9));
  optim::CosineAnnealingWarmRestarts warm(sgd, 3);
  optim::ReduceLROnPlateau plateau(adam);
  fuzz::expect_error_or_success([&] {
    adam.load_state_dict(state);
    w.set_grad(xgrad::ones({3, 2}));
    b.set_grad(xgrad::ones({2}));
    adam.step();
  });
  fuzz::expect_error_or_success([&] {
    sgd.load_state_dict(state);
    sgd.step();
  });
  fuzz::expect_error_or_success([&] {
    warm.load_state_dict(state);
    warm.step();
  });
  fuzz::expect_error_or_success([&] {
    plateau.load_state_dict(state);
    plateau.step(1.0);
  });
  return 0;
}
