// A data-parallel training run that fails on purpose, for tests/distributed/failure_test.sh:
//   failure_program DIR MODE RANK STEP   (MODE: none | throw | kill | hang)
// trains a small model with DistributedDataParallel, rank 0 saving DIR/model.npz (atomically) after
// every step; at STEP, rank RANK throws (the error reaches main, which returns 1), kills itself
// (SIGKILL) or stops calling collectives (sleeps). `failure_program DIR load` loads DIR/model.npz
// in one process.
#include <chrono>
#include <csignal>
#include <cstdio>
#include <string>
#include <thread>

#include <xgrad/distributed.hpp>
#include <xgrad/xgrad.hpp>

namespace xg = xgrad;
namespace nn = xgrad::nn;

static nn::Sequential make_model() {
  xg::manual_seed(1);
  return nn::Sequential(nn::Linear(16, 64), nn::Tanh(), nn::Linear(64, 4));
}

int main(int argc, char** argv) {
  try {
    xg::distributed::init();
    if (argc == 3 && std::string(argv[2]) == "load") {
      auto m = make_model();
      m->load(std::string(argv[1]) + "/model.npz");
      std::printf("loaded %s/model.npz: %lld parameters\n", argv[1], static_cast<long long>(m->num_parameters()));
      return 0;
    }
    if (argc != 5) throw xg::Error("usage: failure_program DIR none|throw|kill|hang RANK STEP, or DIR load");
    const std::string dir = argv[1], mode = argv[2];
    const int fail_rank = std::stoi(argv[3]), fail_step = std::stoi(argv[4]);
    const int rank = xg::distributed::rank();
    auto model = make_model();
    nn::parallel::DistributedDataParallel ddp(model);
    xg::optim::AdamW opt(model->parameters());
    for (int step = 0; step < 100000; ++step) {
      if (rank == fail_rank && step == fail_step) {
        std::fprintf(stderr, "failure_program: rank %d fails at step %d (%s)\n", rank, step, mode.c_str());
        if (mode == "throw") throw xg::Error("an error in this rank's step");
        if (mode == "kill") std::raise(SIGKILL);
        if (mode == "hang") std::this_thread::sleep_for(std::chrono::hours(1));
      }
      if (mode == "none" && step == fail_step) break;
      xg::Tensor x = xg::randn({8, 16}), y = xg::randn({8, 4});
      xg::mse_loss(ddp(x), y).backward();
      opt.step();
      opt.zero_grad();
      if (rank == 0) model->save(dir + "/model.npz");
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    std::printf("rank %d finished\n", rank);
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
