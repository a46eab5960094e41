// xg::data: datasets, samplers, Stack collation and the data loader with and without workers.
#include <chrono>
#include <thread>

#include "helpers.hpp"

namespace data = xg::data;

namespace {

// Example i is (i, 10·i), built slowly and unevenly so that workers finish out of order.
class Slow : public data::datasets::Dataset<Slow, data::Example<>> {
 public:
  explicit Slow(size_t n, int64_t fail_at = -1) : n_(n), fail_at_(fail_at) {}
  data::Example<> get(size_t i) override {
    std::this_thread::sleep_for(std::chrono::microseconds((i * 7919) % 5 * 200));
    XG_CHECK(static_cast<int64_t>(i) != fail_at_, "Slow: example ", i, " is broken");
    return {xg::scalar_tensor(static_cast<double>(i)), xg::scalar_tensor(10.0 * static_cast<double>(i))};
  }
  std::optional<size_t> size() const override { return n_; }

 private:
  size_t n_;
  int64_t fail_at_;
};

template <class Loader>
std::vector<std::vector<int64_t>> epoch(Loader& loader) {
  std::vector<std::vector<int64_t>> out;
  for (auto& batch : loader) {
    xg::Tensor d = batch.data.to(xg::kInt64);
    out.emplace_back(d.template data_ptr<int64_t>(), d.template data_ptr<int64_t>() + d.numel());
    CHECK(xg::allclose(batch.target, batch.data * 10.0));
  }
  return out;
}

}  // namespace

TEST_CASE("sequential batches of a TensorPairDataset, stacked; drop_last", "[data]") {
  xg::Tensor x = xg::arange(10.0).reshape({5, 2}).to(xg::kFloat32), y = xg::arange(5.0);
  auto ds = data::datasets::TensorPairDataset(x, y).map(data::transforms::Stack<>());
  auto loader = data::make_data_loader<data::samplers::SequentialSampler>(std::move(ds), data::DataLoaderOptions(2));
  std::vector<xg::Shape> shapes;
  std::vector<int64_t> targets;
  for (auto& b : *loader) {
    shapes.push_back(b.data.sizes());
    for (int64_t i = 0; i < b.target.numel(); ++i) targets.push_back(b.target.data_ptr<int64_t>()[i]);
  }
  CHECK(shapes == std::vector<xg::Shape>{{2, 2}, {2, 2}, {1, 2}});
  CHECK(targets == std::vector<int64_t>{0, 1, 2, 3, 4});
  auto dropped = data::make_data_loader<data::samplers::SequentialSampler>(
      data::datasets::TensorDataset(x).map(data::transforms::Stack<data::TensorExample>()),
      data::DataLoaderOptions(2).drop_last(true));
  size_t n = 0;
  for (auto& b : *dropped) {
    CHECK(b.data.sizes() == xg::Shape{2, 2});
    ++n;
  }
  CHECK(n == 2);
  CHECK(dropped->batches_per_epoch() == 2);
}

TEST_CASE("RandomSampler: a permutation per epoch, fixed by manual_seed", "[data]") {
  xg::manual_seed(11);
  data::samplers::RandomSampler s(50);
  auto first = *s.next(50);
  s.reset();
  auto second = *s.next(50);
  CHECK(first != second);
  auto sorted = first;
  std::sort(sorted.begin(), sorted.end());
  for (size_t i = 0; i < 50; ++i) CHECK(sorted[i] == i);
  CHECK_FALSE(s.next(1).has_value());
  xg::manual_seed(11);
  data::samplers::RandomSampler again(50);
  CHECK(*again.next(50) == first);
  s.reset(3);
  CHECK(s.next(10)->size() == 3);
}

TEST_CASE("workers prepare batches ahead; the order is the same with any number of workers", "[data]") {
  std::vector<std::vector<std::vector<int64_t>>> runs;
  for (size_t workers : {0, 1, 2, 3}) {
    xg::manual_seed(5);
    auto loader = data::make_data_loader(Slow(23).map(data::transforms::Stack<>()),
                                         data::DataLoaderOptions(4).workers(workers).max_jobs(3));
    auto e1 = epoch(*loader), e2 = epoch(*loader);  // two epochs: two permutations
    CHECK(e1 != e2);
    CHECK(e1.size() == 6);
    e1.insert(e1.end(), e2.begin(), e2.end());
    runs.push_back(e1);
  }
  for (size_t w = 1; w < runs.size(); ++w) CHECK(runs[w] == runs[0]);
}

TEST_CASE("a failing example is rethrown at its batch; leaving a loop early stops the workers", "[data]") {
  auto loader = data::make_data_loader<data::samplers::SequentialSampler>(
      Slow(20, 9).map(data::transforms::Stack<>()), data::DataLoaderOptions(4).workers(2));
  size_t seen = 0;
  CHECK_THROWS_WITH(
      [&] {
        for (auto& b : *loader) {
          (void)b;
          ++seen;
        }
      }(),
      Catch::Contains("Slow: example 9 is broken"));
  CHECK(seen == 2);  // batches 0-3 and 4-7 arrived; 8-11 holds the failure
  for (auto& b : *loader) {  // a new epoch after the failure, left after one batch
    CHECK(b.data.numel() == 4);
    break;
  }
  // the loader is destroyed here with workers mid-epoch: they are stopped and joined
}

TEST_CASE("data loader options are checked", "[data]") {
  CHECK_THROWS_WITH(data::make_data_loader(Slow(3).map(data::transforms::Stack<>()), data::DataLoaderOptions(0)),
                    Catch::Contains("batch_size must be positive"));
  CHECK_THROWS_WITH(data::datasets::TensorPairDataset(xg::ones({3, 2}), xg::ones({2})),
                    Catch::Contains("the same number of rows"));
  CHECK_THROWS_WITH(data::datasets::TensorDataset(xg::ones({3})).get(3), Catch::Contains("index 3 out of range"));
}

TEST_CASE("DistributedSampler shards an epoch's order by rank, padded or cut to equal counts") {
  using xg::data::samplers::DistributedSampler;
  using xg::data::samplers::DistributedSamplerOptions;
  auto all_of = [](DistributedSampler& s) {
    std::vector<size_t> out;
    while (auto b = s.next(3)) out.insert(out.end(), b->begin(), b->end());
    return out;
  };
  // torch.utils.data.DistributedSampler(range(10), num_replicas=3, rank=1, shuffle=False) -> [1, 4, 7, 0]
  DistributedSampler seq(10, DistributedSamplerOptions().num_replicas(3).rank(1).shuffle(false));
  CHECK(seq.num_samples() == 4);
  CHECK(all_of(seq) == std::vector<size_t>{1, 4, 7, 0});
  DistributedSampler cut(10, DistributedSamplerOptions().num_replicas(3).rank(2).shuffle(false).drop_last(true));
  CHECK(all_of(cut) == std::vector<size_t>{2, 5, 8});
  DistributedSampler tiny(2, DistributedSamplerOptions().num_replicas(5).rank(4).shuffle(false));
  CHECK(all_of(tiny) == std::vector<size_t>{0});  // padded 0 1 0 1 0

  for (bool drop : {false, true}) {
    std::vector<size_t> seen;
    std::vector<std::vector<size_t>> per_rank;
    for (size_t r = 0; r < 3; ++r) {
      DistributedSampler s(101, DistributedSamplerOptions().num_replicas(3).rank(r).seed(7).drop_last(drop));
      s.set_epoch(4);
      s.reset();
      per_rank.push_back(all_of(s));
      CHECK(per_rank.back().size() == s.num_samples());
      seen.insert(seen.end(), per_rank.back().begin(), per_rank.back().end());
    }
    std::sort(seen.begin(), seen.end());
    const size_t distinct = std::unique(seen.begin(), seen.end()) - seen.begin();
    CHECK(distinct == (drop ? 99u : 101u));  // 34 each (one index twice) or 33 each (two left out)
    // Another epoch, another order; the same epoch again, the same order.
    DistributedSampler s(101, DistributedSamplerOptions().num_replicas(3).rank(0).seed(7).drop_last(drop));
    s.set_epoch(5);
    s.reset();
    CHECK(all_of(s) != per_rank[0]);
    s.set_epoch(4);
    s.reset();
    CHECK(all_of(s) == per_rank[0]);
  }
  CHECK_THROWS_WITH(DistributedSampler(5, DistributedSamplerOptions().num_replicas(2).rank(2)),
                    Catch::Contains("invalid rank 2"));
}
