// One point of the attention sweep (scripts/attention_sweep.sh): batch 1, 8 heads, head dim 64,
// causal, forward + backward at sequence length T, fused or composite. Prints one line:
//   xgrad <mode> T <T> ms <median ms per step> extra_mb <peak resident − resident before inputs>
// One process per point: the peak resident set (VmHWM) only grows.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include <xgrad/xgrad.hpp>

#include "measure.hpp"

namespace xg = xgrad;
using bench::status_mb;

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: attention_sweep fused|composite T [steps]\n");
    return 2;
  }
  const bool fused = std::strcmp(argv[1], "fused") == 0;
  const int64_t T = std::atoll(argv[2]);
  const int steps = argc > 3 ? std::atoi(argv[3]) : 3;
  const double before = status_mb("VmRSS:");
  xg::Tensor q = xg::randn({1, 8, T, 64}).requires_grad_(), k = xg::randn({1, 8, T, 64}).requires_grad_();
  xg::Tensor v = xg::randn({1, 8, T, 64}).requires_grad_(), g = xg::randn({1, 8, T, 64});
  std::vector<double> ms;
  for (int s = 0; s < steps + 1; ++s) {  // the first step warms up
    auto t0 = std::chrono::steady_clock::now();
    xg::Tensor out = fused ? xg::scaled_dot_product_attention(q, k, v, {}, 0.0, true)
                           : std::get<0>(xg::_scaled_dot_product_attention_math(q, k, v, {}, 0.0, true));
    out.backward(g);
    q.set_grad({}), k.set_grad({}), v.set_grad({});
    if (s > 0) ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  std::printf("xgrad %s T %lld ms %.2f extra_mb %.1f\n", argv[1], static_cast<long long>(T), bench::median(ms),
              status_mb("VmHWM:") - before);
}
