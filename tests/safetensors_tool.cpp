// For safetensors_check.py: `write PATH` saves known tensors; `read PATH` prints each tensor of a
// file as "name dtype shape v0 v1 ..." (values as float64).
#include <cstdio>
#include <xgrad/xgrad.hpp>

namespace xg = xgrad;

int main(int argc, char** argv) {
  if (argc != 3) return 2;
  const std::string mode = argv[1], path = argv[2];
  try {
    if (mode == "write") {
      xg::save_safetensors(path,
                           {{"w", (xg::arange(6.0).reshape({2, 3}) * 0.25).to(xg::kFloat32)},
                            {"d", xg::tensor({-1.5, 2.25}, xg::kFloat64)},
                            {"i", xg::tensor({int64_t{-3}, int64_t{7}, int64_t{1} << 40})},
                            {"b", xg::tensor({true, false, true})}},
                           {{"format", "pt"}});
      return 0;
    }
    for (const auto& [name, t] : xg::load_safetensors(path)) {
      std::printf("%s %s %s", name.c_str(), xg::dtype_name(t.dtype()), xg::str(t.sizes()).c_str());
      xg::Tensor d = t.to(xg::kFloat64);
      for (int64_t k = 0; k < d.numel(); ++k) std::printf(" %.17g", d.data_ptr<double>()[k]);
      std::printf("\n");
    }
    return 0;
  } catch (const xg::Error& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 1;
  }
}
