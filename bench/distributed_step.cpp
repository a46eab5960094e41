// Data-parallel training steps of the char-lm benchmark model (bench/models.hpp): the global batch
// of 64 windows split over the ranks, DistributedDataParallel averaging gradients during backward.
// scripts/distributed_bench.sh runs it as 1 process (1 and 2 threads) and under mpirun on 2 ranks.
//   distributed_step [threads] [steps] [bucket_cap_mb] [zero 0|1]
// Prints one line (rank 0): xgrad-ddp char-lm ranks R threads T ms <median step> tokens_per_s <global>
//   comm_ms <all-reduce time per step> exposed_ms <the part backward did not hide> buckets B mb <gradient MB>
//   zero Z state_mb <optimizer state held by rank 0, MB>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include <xgrad/distributed.hpp>
#include <xgrad/xgrad.hpp>

#include "measure.hpp"
#include "models.hpp"

namespace xg = xgrad;
namespace nn = xg::nn;
namespace dist = xg::distributed;

int main(int argc, char** argv) {
  dist::init();
  const int threads = argc > 1 ? std::atoi(argv[1]) : 1;
  const int steps = argc > 2 ? std::atoi(argv[2]) : 10;
  const double cap = argc > 3 ? std::atof(argv[3]) : 25.0;
  const bool zero = argc > 4 && std::atoi(argv[4]) != 0;
  xg::set_num_threads(threads);
  const int world = dist::world_size(), rank = dist::rank();
  const bench::Config c = bench::config("char-lm");
  const int64_t local = c.batch / world;
  xg::manual_seed(0);
  bench::CharLM model(c, false);
  model->train();
  nn::parallel::DistributedDataParallel ddp(model, nn::parallel::DistributedDataParallelOptions().bucket_cap_mb(cap));
  auto adamw = std::make_unique<xg::optim::AdamW>(model->parameters(), xg::optim::AdamWOptions(1e-3));
  xg::optim::AdamW* plain = adamw.get();
  std::unique_ptr<xg::optim::Optimizer> holder;
  if (zero)  // DDP averages the gradients; ZeRO shards the step and the state
    holder = std::make_unique<xg::optim::ZeroRedundancyOptimizer>(
        std::move(adamw), xg::optim::ZeroRedundancyOptimizerOptions().reduce_gradients(false));
  else
    holder = std::move(adamw);
  xg::optim::Optimizer& opt = *holder;
  xg::manual_seed(100 + rank);  // this rank's windows and dropout
  std::vector<double> ms, comm, exposed;
  for (int s = 0; s < steps + 2; ++s) {  // two warm-up steps
    xg::Tensor ids = xg::randint(0, c.tgt_vocab, {local, c.tgt_len + 1});
    xg::Tensor input = ids.narrow(1, 0, c.tgt_len).contiguous(), target = ids.narrow(1, 1, c.tgt_len).contiguous();
    auto t0 = std::chrono::steady_clock::now();
    opt.zero_grad();
    xg::Tensor loss = xg::cross_entropy(ddp(input).reshape({-1, c.tgt_vocab}), target.reshape({-1}));
    loss.backward();
    xg::nn::utils::clip_grad_norm_(model->parameters(), 1.0);
    opt.step();
    if (s >= 2) {
      ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
      auto st = ddp.reducer().stats();
      comm.push_back(st.comm_seconds * 1e3);
      exposed.push_back(st.exposed_seconds * 1e3);
    }
  }
  // The step is as slow as the slowest rank: take each step's maximum over ranks.
  xg::Tensor t = xg::tensor(ms, xg::kFloat64);
  dist::all_reduce(t, dist::ReduceOp::MAX);
  std::vector<double> slowest(t.data_ptr<double>(), t.data_ptr<double>() + t.numel());
  const double step = bench::median(slowest);
  const auto st = ddp.reducer().stats();
  double state_bytes = 0;  // what this rank's optimizer keeps (the wrapped AdamW's own state)
  for (auto& [k, v] : plain->state_dict())
    if (k.rfind("state.", 0) == 0) state_bytes += static_cast<double>(v.numel()) * static_cast<double>(xg::itemsize(v.dtype()));
  if (rank == 0)
    std::printf("xgrad-ddp char-lm ranks %d threads %d ms %.2f tokens_per_s %.0f comm_ms %.2f exposed_ms %.2f "
                "buckets %d mb %.2f zero %d state_mb %.2f\n",
                world, threads, step, static_cast<double>(c.batch * c.tgt_len) / (step / 1e3),
                world > 1 ? bench::median(comm) : 0.0, world > 1 ? bench::median(exposed) : 0.0, st.buckets,
                st.bytes / 1048576.0, zero ? 1 : 0, state_bytes / 1048576.0);
}
