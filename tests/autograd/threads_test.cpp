// What docs/reliability.md promises about threads: several threads may run inference on one model,
// draw random numbers, and run backward passes into shared parameters at once. Under
// ThreadSanitizer (make test-tsan) these are the race detectors' scenarios; here they also check
// the results.
#include <thread>
#include <vector>

#include "helpers.hpp"

namespace nn = xg::nn;

namespace {
template <class F>
void in_threads(int n, F&& f) {
  std::vector<std::thread> threads;
  for (int t = 0; t < n; ++t) threads.emplace_back([&f, t] { f(t); });
  for (auto& th : threads) th.join();
}
}  // namespace

TEST_CASE("inference on one model from several threads gives each thread the single-threaded answer", "[threads]") {
  xg::manual_seed(1);
  nn::TransformerEncoder enc(nn::TransformerEncoderLayerOptions(16, 4).dim_feedforward(32), 2);
  nn::PositionalEncoding pos(16);
  enc->eval();
  std::vector<xg::Tensor> inputs, want(4), got(4);
  for (int t = 0; t < 4; ++t) inputs.push_back(xg::randn({2, 5, 16}, t % 2 ? xg::kFloat64 : xg::kFloat32));
  enc->to(xg::kFloat64);  // Float64 parameters; Float32 inputs go through the positional table only
  for (int t = 0; t < 4; ++t) {
    xg::NoGradGuard ng;
    want[t] = enc(pos(inputs[t]).to(xg::kFloat64));
  }
  pos = nn::PositionalEncoding(16);  // a fresh module: its tables are read first by the threads
  in_threads(4, [&](int t) {
    xg::NoGradGuard ng;
    for (int k = 0; k < 20; ++k) got[t] = enc(pos(inputs[t]).to(xg::kFloat64));
  });
  for (int t = 0; t < 4; ++t) CHECK(xg::equal(got[t], want[t]));
}

TEST_CASE("random draws from several threads each take a whole stretch of the global stream", "[threads]") {
  // However the threads interleave, they consume exactly what the same draws consume in one thread.
  xg::manual_seed(7);
  for (int t = 0; t < 4; ++t)
    for (int k = 0; k < 50; ++k) (void)xg::randn({101});
  const xg::Tensor after_serial = xg::rand({3}, xg::kFloat64);
  xg::manual_seed(7);
  std::vector<std::vector<xg::Tensor>> drawn(4);
  in_threads(4, [&](int t) {
    for (int k = 0; k < 50; ++k) drawn[t].push_back(xg::randn({101}));
  });
  CHECK(xg::equal(xg::rand({3}, xg::kFloat64), after_serial));
  for (auto& per_thread : drawn)
    for (auto& d : per_thread) CHECK(std::isfinite(d.sum().item<double>()));
}

TEST_CASE("backward passes in several threads into shared parameters sum every gradient", "[threads]") {
  xg::manual_seed(3);
  nn::Linear lin(8, 4);
  lin->to(xg::kFloat64);
  std::vector<xg::Tensor> xs;
  for (int t = 0; t < 4; ++t) xs.push_back(xg::randn({6, 8}, xg::kFloat64));
  const int rounds = 50;
  // The expected sum, one thread.
  for (int t = 0; t < 4; ++t)
    for (int k = 0; k < rounds; ++k) (lin(xs[t]).tanh().sum()).backward();
  const xg::Tensor want_w = lin->weight.grad().clone(), want_b = lin->bias.grad().clone();
  lin->zero_grad();
  in_threads(4, [&](int t) {
    for (int k = 0; k < rounds; ++k) (lin(xs[t]).tanh().sum()).backward();
  });
  CHECK(xg::allclose(lin->weight.grad(), want_w, 1e-12, 1e-12));
  CHECK(xg::allclose(lin->bias.grad(), want_b, 1e-12, 1e-12));
  // create_graph accumulation too: the differentiable sum is stored without losing an update.
  lin->zero_grad();
  for (int t = 0; t < 4; ++t)
    for (int k = 0; k < 10; ++k) (lin(xs[t]).tanh().sum()).backward();
  const xg::Tensor want10 = lin->weight.grad().clone();
  lin->zero_grad();
  in_threads(4, [&](int t) {
    for (int k = 0; k < 10; ++k) (lin(xs[t]).tanh().sum()).backward({}, true, /*create_graph=*/true);
  });
  CHECK(xg::allclose(lin->weight.grad().detach(), want10, 1e-12, 1e-12));
  // A gradient made with create_graph holds the graph that leads back to its own leaf (the cycle
  // PyTorch warns about): set it to none to free both.
  lin->zero_grad();
}
