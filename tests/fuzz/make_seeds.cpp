// Writes the fuzz targets' seed corpora: small valid inputs of every kind each target reads.
//   make_fuzz_seeds <corpus folder>   (tests/fuzz/corpus)
#include <filesystem>
#include <fstream>

#include <xgrad/xgrad.hpp>

#include "common/checkpoint.hpp"

namespace fs = std::filesystem;
namespace xg = xgrad;

namespace {
void write(const fs::path& path, const std::string& bytes) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << bytes;
}
}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  const fs::path out = argv[1];
  for (const char* kind : {"npy", "npz", "optim", "examples", "safetensors"}) fs::create_directories(out / kind);
  xg::manual_seed(0);
  // safetensors: each written dtype, metadata, an empty tensor
  write(out / "safetensors/mixed.safetensors",
        xg::to_safetensors_bytes({{"w", xg::randn({2, 3})}, {"d", xg::randn({2}, xg::kFloat64)},
                                  {"i", xg::tensor({1, 2})}, {"b", xg::tensor({true, false})}, {"e", xg::zeros({0})}},
                                 {{"format", "pt"}}));
  write(out / "safetensors/scalar.safetensors", xg::to_safetensors_bytes({{"s", xg::scalar_tensor(1.0)}}));
  // npy: each dtype, 0-d to 3-d
  write(out / "npy/f32_2x3.npy", xg::to_npy_bytes(xg::randn({2, 3})));
  write(out / "npy/f64_vec.npy", xg::to_npy_bytes(xg::randn({5}, xg::kFloat64)));
  write(out / "npy/i64_scalar.npy", xg::to_npy_bytes(xg::scalar_tensor(7, xg::kInt64)));
  write(out / "npy/bool_2x2x2.npy", xg::to_npy_bytes(xg::randn({2, 2, 2}) > 0.0));
  write(out / "npy/empty.npy", xg::to_npy_bytes(xg::zeros({0, 4})));
  // npz: a Linear(3, 2)'s state (the module the target loads into), and another shape
  xg::nn::Linear lin(3, 2);
  lin->save((out / "npz/linear.npz").string());
  xg::save_npz((out / "npz/other.npz").string(), {{"weight", xg::randn({4, 3})}, {"x", xg::ones({1})}});
  // optimizer and scheduler state: what the target's optimizers write after a step
  xg::Tensor w = xg::ones({3, 2}).requires_grad_(), b = xg::ones({2}).requires_grad_();
  xg::optim::AdamW adam({{{w}, xg::optim::AdamWOptions(0.01).amsgrad(true)}, {{b}, xg::optim::AdamWOptions(0.01)}});
  xg::optim::SGD sgd({w, b}, xg::optim::SGDOptions(0.1).momentum(0.9));
  xg::optim::CosineAnnealingWarmRestarts warm(sgd, 3);
  w.set_grad(xg::ones({3, 2}));
  b.set_grad(xg::ones({2}));
  adam.step(), sgd.step(), warm.step();
  adam.save((out / "optim/adamw.npz").string());
  sgd.save((out / "optim/sgd.npz").string());
  xg::save_npz((out / "optim/warm.npz").string(), warm.state_dict());
  xg::optim::ReduceLROnPlateau plateau(adam);
  xg::save_npz((out / "optim/plateau.npz").string(), plateau.state_dict());
  // the examples' inputs: pairs, metrics, a checkpoint's counters
  std::string tsv;
  for (int i = 0; i < 25; ++i) tsv += "source " + std::to_string(i) + "\ttarget " + std::to_string(i) + "\n";
  write(out / "examples/pairs.tsv", tsv);
  write(out / "examples/metrics.csv", "step,epoch,loss\n10,1,2.5\n20,1,1.25\n");
  xg::examples::RunCounters run{40, 2, 12.5, 1.5, 4096, 3.25};
  xg::NamedTensors counters;
  for (auto& [k, v] : run.save(12.5)) counters.emplace_back(k, xg::scalar_tensor(v, xg::kFloat64));
  xg::save_npz((out / "examples/counters.npz").string(), counters);
  return 0;
}
