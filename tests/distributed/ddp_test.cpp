// DistributedDataParallel: N ranks with batch B/N each follow the same losses and parameters as one
// process with batch B. Every rank computes the one-process reference itself (same seed, the whole
// batch), trains its replica under DDP on its slice, and compares.
#include <catch2/catch.hpp>
#include <cmath>
#include <map>
#include <optional>
#include <xgrad/distributed.hpp>
#include <xgrad/xgrad.hpp>

namespace xg = xgrad;
namespace nn = xgrad::nn;
namespace dist = xgrad::distributed;

namespace {

struct TinyImpl : nn::Module {
  explicit TinyImpl(bool with_unused) {
    embed = register_module("embed", nn::Linear(4, 16));
    encoder = register_module(
        "encoder", nn::TransformerEncoder(nn::TransformerEncoderLayerOptions(16, 2).dim_feedforward(32).dropout(0.0), 2));
    head = register_module("head", nn::Linear(16, 3));
    if (with_unused) unused = register_parameter("unused", xg::randn({5}));
  }
  xg::Tensor forward(const xg::Tensor& x) { return head(encoder(embed(x))); }
  nn::Linear embed{nullptr}, head{nullptr};
  nn::TransformerEncoder encoder{nullptr};
  xg::Tensor unused;
};
XG_MODULE(Tiny);

struct Run {
  bool no_sync = false;
  bool zero = false;
  bool ddp = true;  // false: ZeRO alone averages the gradients (reduce-scatter)
  bool unused = false;
  xg::ScalarType dtype = xg::kFloat64;
};

Tiny make_model(const Run& run) {
  xg::manual_seed(11);
  Tiny m(run.unused);
  m->to(run.dtype);
  return m;
}

constexpr int64_t kBatch = 8, kSteps = 20;

std::pair<xg::Tensor, xg::Tensor> make_data(xg::ScalarType dtype) {
  xg::manual_seed(5);
  return {xg::randn({kBatch * kSteps, 6, 4}, dtype), xg::randn({kBatch * kSteps, 6, 3}, dtype)};
}

std::unique_ptr<xg::optim::Optimizer> make_optimizer(Tiny& m, const Run& run) {
  auto adamw = std::make_unique<xg::optim::AdamW>(m->parameters(), xg::optim::AdamWOptions(3e-3).weight_decay(0.05));
  if (!run.zero) return adamw;
  return std::make_unique<xg::optim::ZeroRedundancyOptimizer>(
      std::move(adamw), xg::optim::ZeroRedundancyOptimizerOptions().reduce_gradients(!run.ddp));
}

// Losses of one process on the whole batch, with its final parameters.
std::vector<double> train_alone(const Run& run, Tiny& m, xg::optim::AdamW& opt) {
  auto [x, y] = make_data(run.dtype);
  std::vector<double> losses;
  for (int64_t s = 0; s < kSteps; ++s) {
    xg::Tensor xb = x.narrow(0, s * kBatch, kBatch), yb = y.narrow(0, s * kBatch, kBatch);
    double total = 0;
    int micro = run.no_sync ? 2 : 1;
    for (int k = 0; k < micro; ++k) {
      int64_t n = kBatch / micro;
      xg::Tensor loss = xg::mse_loss(m(xb.narrow(0, k * n, n)), yb.narrow(0, k * n, n)) / static_cast<double>(micro);
      loss.backward();
      total += loss.item<double>();
    }
    xg::nn::utils::clip_grad_norm_(m->parameters(), 1.0);
    opt.step();
    opt.zero_grad();
    losses.push_back(total);
  }
  return losses;
}

// The same on this rank's slice of every batch, under DDP; losses averaged over ranks.
std::vector<double> train_ddp(const Run& run, Tiny& m, nn::parallel::DistributedDataParallelOptions options,
                              std::unique_ptr<xg::optim::Optimizer>& opt) {
  auto [x, y] = make_data(run.dtype);
  const int world = dist::world_size(), rank = dist::rank();
  auto plain = [&](const xg::Tensor& in) { return m(in); };
  std::optional<nn::parallel::DistributedDataParallel<Tiny>> wrapped;
  if (run.ddp) wrapped.emplace(m, options.find_unused_parameters(run.unused));
  auto ddp = [&](const xg::Tensor& in) { return wrapped ? (*wrapped)(in) : plain(in); };
  opt = make_optimizer(m, run);
  std::vector<double> losses;
  const int64_t local = kBatch / world;
  for (int64_t s = 0; s < kSteps; ++s) {
    xg::Tensor xb = x.narrow(0, s * kBatch + rank * local, local), yb = y.narrow(0, s * kBatch + rank * local, local);
    int micro = run.no_sync ? 2 : 1;
    int64_t n = local / micro;
    double total = 0;
    for (int k = 0; k < micro; ++k) {
      auto step = [&] {
        xg::Tensor loss = xg::mse_loss(ddp(xb.narrow(0, k * n, n)), yb.narrow(0, k * n, n)) / static_cast<double>(micro);
        loss.backward();
        total += loss.item<double>();
      };
      if (k + 1 < micro && wrapped) {
        auto guard = wrapped->no_sync();
        step();
      } else {
        step();
      }
    }
    if (run.zero) dynamic_cast<xg::optim::ZeroRedundancyOptimizer&>(*opt).clip_grad_norm_(1.0);
    else xg::nn::utils::clip_grad_norm_(m->parameters(), 1.0);
    opt->step();
    opt->zero_grad();
    xg::Tensor l = xg::tensor({total}, xg::kFloat64);
    dist::all_reduce(l, dist::ReduceOp::AVG);
    losses.push_back(l.item<double>());
  }
  return losses;
}

struct Trained {
  Tiny alone{nullptr}, replica{nullptr};
  std::unique_ptr<xg::optim::AdamW> alone_opt;
  std::unique_ptr<xg::optim::Optimizer> replica_opt;
};

Trained check_same_training(const Run& run, nn::parallel::DistributedDataParallelOptions options = {}) {
  const double tol = run.dtype == xg::kFloat64 ? 1e-10 : 1e-5;
  Trained t;
  Tiny alone = t.alone = make_model(run);
  Tiny replica = t.replica = make_model(run);
  t.alone_opt = std::make_unique<xg::optim::AdamW>(alone->parameters(), xg::optim::AdamWOptions(3e-3).weight_decay(0.05));
  auto la = train_alone(run, alone, *t.alone_opt);
  auto ld = train_ddp(run, replica, options, t.replica_opt);
  REQUIRE(la.size() == ld.size());
  for (size_t s = 0; s < la.size(); ++s) {
    INFO("step " << s << ": alone " << la[s] << ", " << dist::world_size() << " ranks " << ld[s]);
    CHECK(std::abs(la[s] - ld[s]) <= tol * std::max(1.0, std::abs(la[s])));
  }
  auto pa = alone->named_parameters(), pd = replica->named_parameters();
  REQUIRE(pa.size() == pd.size());
  double worst = 0;
  std::string where;
  for (size_t i = 0; i < pa.size(); ++i) {
    xg::Tensor diff = xg::abs(pa[i].second - pd[i].second);
    // The key bias (the middle third of in_proj_bias) shifts every score of a query equally, which
    // softmax ignores: its exact gradient is 0 and what backward computes is rounding noise. AdamW
    // divides that noise by its own size, so in float32 (noise ~1e-9, near eps) it takes ±lr steps
    // that differ between any two summation orders; in float64 (noise ~1e-18, far below eps) it
    // doesn't move. The query and value thirds are compared.
    if (run.dtype == xg::kFloat32 && pa[i].first.find("in_proj_bias") != std::string::npos) {
      const int64_t e = diff.size(0) / 3;
      diff = xg::cat({diff.narrow(0, 0, e), diff.narrow(0, 2 * e, e)});
    }
    double d = xg::amax(diff).to(xg::kFloat64).item<double>();
    if (d > worst) worst = d, where = pa[i].first;
  }
  INFO("largest parameter difference " << worst << " in " << where);
  CHECK(worst <= tol);
  // Every rank holds the same parameters.
  for (auto& [name, p] : pd) {
    xg::Tensor mx = p.detach().clone(), mn = p.detach().clone();
    dist::all_reduce(mx, dist::ReduceOp::MAX);
    dist::all_reduce(mn, dist::ReduceOp::MIN);
    CHECK(xg::equal(mx, mn));
  }
  return t;
}

}  // namespace

TEST_CASE("DDP follows one process with the whole batch: float64, 20 AdamW steps", "[ddp]") {
  check_same_training({});
}

TEST_CASE("DDP in float32", "[ddp]") { check_same_training({.dtype = xg::kFloat32}); }

TEST_CASE("DDP with no_sync gradient accumulation", "[ddp]") { check_same_training({.no_sync = true}); }

TEST_CASE("DDP with an unused parameter (find_unused_parameters)", "[ddp]") {
  check_same_training({.unused = true});
}

TEST_CASE("DDP with small buckets (one per parameter or so) gives the same result", "[ddp]") {
  check_same_training({}, nn::parallel::DistributedDataParallelOptions().bucket_cap_mb(0.001));
}

TEST_CASE("DDP with ZeRO-1", "[ddp][zero]") { check_same_training({.zero = true}); }

TEST_CASE("DDP with ZeRO-1, no_sync and an unused parameter, float32", "[ddp][zero]") {
  check_same_training({.no_sync = true, .zero = true, .unused = true, .dtype = xg::kFloat32});
}

TEST_CASE("ZeRO-1 alone (reduce-scatter of the gradients, its own clipping) follows one process", "[zero]") {
  check_same_training({.zero = true, .ddp = false});
  check_same_training({.no_sync = true, .zero = true, .ddp = false, .unused = true});
}

TEST_CASE("ZeRO-1 keeps only its shard's state; state_dict gathers all of it and loads at any world size", "[zero]") {
  Trained t = check_same_training({.zero = true});
  auto& zero = dynamic_cast<xg::optim::ZeroRedundancyOptimizer&>(*t.replica_opt);
  const int world = dist::world_size(), rank = dist::rank();
  // Local state: exp_avg and exp_avg_sq for the owned parameters only.
  int64_t local = 0;
  for (auto& [k, v] : zero.local().state_dict())
    if (k.find("exp_avg") != std::string::npos) local += v.numel();
  CHECK(local == 2 * zero.shard_numel(rank));
  int64_t total = 0;
  for (int r = 0; r < world; ++r) total += zero.shard_numel(r);
  CHECK(total == t.replica->num_parameters());
  INFO("rank " << rank << " holds " << zero.shard_numel(rank) << " of " << total << " parameters' state");
  CHECK(zero.shard_numel(rank) <= total / world + total / 10);  // balanced to within 10%

  // The gathered state is the one-process optimizer's, entry for entry.
  auto gathered = zero.state_dict(), want = t.alone_opt->state_dict();
  REQUIRE(gathered.size() == want.size());
  std::map<std::string, xg::Tensor> by_name(want.begin(), want.end());
  for (auto& [k, v] : gathered) {
    INFO(k);
    REQUIRE(by_name.count(k));
    CHECK(v.sizes() == by_name[k].sizes());
    CHECK(xg::allclose(v.to(xg::kFloat64), by_name[k].to(xg::kFloat64), 1e-8, 1e-10));
  }
  // The one-process state loads into a ZeRO at this world size (each rank keeps its shard), and
  // both continue the same way.
  Tiny fresh = make_model({});
  for (size_t i = 0; i < fresh->parameters().size(); ++i)
    fresh->parameters()[i].detach().copy_(t.alone->parameters()[i].detach());
  xg::optim::ZeroRedundancyOptimizer resumed(
      std::make_unique<xg::optim::AdamW>(fresh->parameters(), xg::optim::AdamWOptions(3e-3).weight_decay(0.05)));
  resumed.load_state_dict(want);
  int64_t kept = 0;
  for (auto& [k, v] : resumed.local().state_dict())
    if (k.find("exp_avg") != std::string::npos) kept += v.numel();
  CHECK(kept == 2 * resumed.shard_numel(rank));
  xg::manual_seed(9);
  xg::Tensor x = xg::randn({kBatch, 6, 4}, xg::kFloat64), y = xg::randn({kBatch, 6, 3}, xg::kFloat64);
  for (int s = 0; s < 3; ++s) {
    xg::mse_loss(t.alone(x), y).backward();
    t.alone_opt->step();
    t.alone_opt->zero_grad();
    const int64_t n = kBatch / world;
    xg::mse_loss(fresh(x.narrow(0, rank * n, n)), y.narrow(0, rank * n, n)).backward();
    resumed.step();
    resumed.zero_grad();
  }
  for (size_t i = 0; i < fresh->parameters().size(); ++i)
    CHECK(xg::allclose(fresh->parameters()[i], t.alone->parameters()[i], 0, 1e-10));
}

TEST_CASE("DDP starts each bucket's all-reduce while backward is still producing gradients", "[ddp]") {
  Run run;
  Tiny m = make_model(run);
  nn::parallel::DistributedDataParallel ddp(m, nn::parallel::DistributedDataParallelOptions().bucket_cap_mb(0.001));
  const int buckets = static_cast<int>(ddp.reducer().bucket_indices().size());
  REQUIRE(buckets > 4);
  xg::mse_loss(ddp(xg::randn({2, 6, 4}, xg::kFloat64)), xg::randn({2, 6, 3}, xg::kFloat64)).backward();
  auto st = ddp.reducer().stats();
  if (dist::world_size() > 1) {
    CHECK(st.iterations == 1);
    CHECK(st.started_early == buckets - 1);  // every bucket but the one holding the last gradient
  } else {
    CHECK(st.iterations == 0);  // one process: nothing to average
  }
}

TEST_CASE("DDP buckets: reverse registration order, 1 MB first bucket, then the cap", "[ddp]") {
  xg::manual_seed(3);
  auto a = nn::Linear(512, 512);    // 1 MB of weight
  auto b = nn::Linear(1024, 1024);  // 4 MB
  auto seq = nn::Sequential(a, b);
  nn::parallel::Reducer r(seq->named_parameters(), nn::parallel::DistributedDataParallelOptions().bucket_cap_mb(4));
  auto buckets = r.bucket_indices();
  // parameters: 0 a.weight, 1 a.bias, 2 b.weight, 3 b.bias; reversed: b.bias, b.weight | a.bias, a.weight
  REQUIRE(buckets.size() == 2);
  CHECK(buckets[0] == std::vector<size_t>{3, 2});
  CHECK(buckets[1] == std::vector<size_t>{1, 0});
}

TEST_CASE("DDP refuses a parameter left without gradient unless find_unused_parameters", "[ddp]") {
  Run run{.unused = true};
  Tiny m = make_model(run);
  nn::parallel::DistributedDataParallel ddp(m);
  xg::Tensor x = xg::randn({2, 6, 4}, xg::kFloat64);
  xg::Tensor loss = ddp(x).sum();
  if (dist::world_size() == 1) {
    loss.backward();  // one process: DDP stays out of the way
    CHECK_FALSE(m->unused.grad().defined());
  } else {
    CHECK_THROWS_WITH(loss.backward(), Catch::Contains("received no gradient") && Catch::Contains("unused") &&
                                           Catch::Contains("find_unused_parameters"));
  }
}
