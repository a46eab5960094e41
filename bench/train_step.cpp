// One training step of three model configurations — forward, cross-entropy, backward, clip 1.0,
// AdamW — written against the public API, as bench/train_step.py writes them for PyTorch 1.13.
// scripts/train_bench.sh runs both and prints ratios. Usage:
//   train_step char-lm|char-lm@T|tiny-seq2seq|d2l-seq2seq [threads] [steps] [checkpoint 0|1]
//   train_step sgemm [threads]            the sgemm rate of this run (1024³ float32), GFLOP/s
// threads sets xgrad's pool; OpenBLAS reads OPENBLAS_NUM_THREADS at start (the script sets both).
// Prints one line: xgrad <config> threads N checkpoint C ms <median step> gflop <per step>
//                  gflops <rate> extra_mb <peak resident − resident at start>
// Matrix-product FLOPs are counted analytically (train_step.py counts the same): forward 2·m·n·k
// per product — every linear layer, q·kᵀ and P·v at full T×S (causal masking not discounted), the
// output head — and backward twice the forward.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include <xgrad/xgrad.hpp>

#include "measure.hpp"
#include "models.hpp"

namespace xg = xgrad;
namespace nn = xg::nn;

namespace {

using bench::median;
using bench::status_mb;

using bench::Config;
using bench::config;
using bench::matmul_gflop;
using bench::CharLM;
using bench::Seq2Seq;


}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: train_step char-lm|tiny-seq2seq|d2l-seq2seq|sgemm [threads] [steps] [checkpoint]\n");
    return 2;
  }
  const std::string name = argv[1];
  const int threads = argc > 2 ? std::atoi(argv[2]) : xg::get_num_threads();
  const int steps = argc > 3 ? std::atoi(argv[3]) : 10;
  const bool ckpt = argc > 4 && std::atoi(argv[4]) != 0;
  xg::set_num_threads(threads);
  const double before = status_mb("VmRSS:");
  xg::manual_seed(0);
  if (name == "sgemm") {
    xg::NoGradGuard no_grad;
    xg::Tensor a = xg::randn({1024, 1024}), b = xg::randn({1024, 1024});
    std::vector<double> s;
    for (int i = 0; i < 12; ++i) {
      auto t0 = std::chrono::steady_clock::now();
      xg::Tensor c = xg::matmul(a, b);
      s.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    }
    std::printf("xgrad sgemm threads %d gflops %.1f\n", threads, 2.0 * 1024 * 1024 * 1024 / median(s) / 1e9);
    return 0;
  }
  const Config c = config(name);
  std::shared_ptr<nn::Module> model;
  std::function<xg::Tensor()> loss;
  xg::Tensor ids = xg::randint(0, c.tgt_vocab, {c.batch, c.tgt_len + 1});
  xg::Tensor input = ids.narrow(1, 0, c.tgt_len).contiguous(), target = ids.narrow(1, 1, c.tgt_len).contiguous();
  if (c.decoder_only) {
    CharLM m(c, ckpt);
    model = m.ptr();
    loss = [m, input, target, c]() mutable {
      return xg::cross_entropy(m(input).reshape({-1, c.tgt_vocab}), target.reshape({-1}));
    };
  } else {
    Seq2Seq m(c, ckpt);
    model = m.ptr();
    xg::Tensor s = xg::randint(0, c.src_vocab, {c.batch, c.src_len});
    loss = [m, s, input, target, c]() mutable {
      return xg::cross_entropy(m(s, input).reshape({-1, c.tgt_vocab}), target.reshape({-1}));
    };
  }
  model->train();
  xg::optim::AdamW opt(model->parameters(), xg::optim::AdamWOptions(1e-3));
  std::vector<double> ms;
  for (int s = 0; s < steps + 2; ++s) {  // two warm-up steps (the allocator's cache fills)
    auto t0 = std::chrono::steady_clock::now();
    opt.zero_grad();
    xg::Tensor l = loss();
    l.backward();
    xg::nn::utils::clip_grad_norm_(model->parameters(), 1.0);
    opt.step();
    if (s >= 2) ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  const double gflop = matmul_gflop(c), step = median(ms);
  std::printf("xgrad %s threads %d checkpoint %d ms %.2f gflop %.2f gflops %.1f extra_mb %.1f\n", name.c_str(), threads,
              ckpt ? 1 : 0, step, gflop, gflop / (step / 1e3), status_mb("VmHWM:") - before);
}
