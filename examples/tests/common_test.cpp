// The examples' shared training pieces: the background checkpoint writer and the snapshot it writes.
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <thread>

#include "common/checkpoint.hpp"

namespace ex = xgrad::examples;
namespace xg = xgrad;

TEST_CASE("background writer: one job at a time, in order, errors rethrown", "[common]") {
  std::vector<int> order;
  std::atomic<int> running{0};
  std::atomic<bool> overlapped{false};
  ex::BackgroundWriter w;
  for (int i = 0; i < 4; ++i)
    w.write([&, i] {
      if (running.fetch_add(1) != 0) overlapped = true;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
      order.push_back(i);
      running.fetch_sub(1);
    });
  w.wait();
  CHECK(order == std::vector<int>{0, 1, 2, 3});
  CHECK_FALSE(overlapped);

  w.write([] { throw xg::Error("disk full"); });
  CHECK_THROWS_WITH(w.write([] {}), Catch::Contains("disk full"));  // the next write reports it
  w.write([] { throw xg::Error("again"); });
  CHECK_THROWS_WITH(w.wait(), Catch::Contains("again"));
  CHECK_NOTHROW(w.wait());  // reported once
}

TEST_CASE("checkpoint snapshot: copies, unchanged by later training", "[common]") {
  xg::manual_seed(3);
  xg::nn::Linear model(3, 2);
  xg::optim::AdamW opt(model->parameters(), xg::optim::AdamWOptions(1e-2));
  xg::optim::LinearWarmupCosine sched(opt, 1, 10, 1e-3);
  auto step = [&] {
    opt.zero_grad();
    model(xg::randn({4, 3})).pow(2).sum().backward();
    opt.step();
    sched.step();
  };
  step();
  const auto snap = ex::checkpoint_tensors(*model, opt, sched, {{"step", 1}});
  std::vector<xg::Tensor> before;
  for (auto& [k, v] : snap) before.push_back(v.clone());
  step();
  for (size_t i = 0; i < snap.size(); ++i) {
    INFO(snap[i].first);
    CHECK(xg::equal(snap[i].second, before[i]));
    CHECK_FALSE(snap[i].second.requires_grad());
  }
  const auto w = std::find_if(snap.begin(), snap.end(), [](auto& e) { return e.first == "model.weight"; });
  REQUIRE(w != snap.end());
  CHECK_FALSE(xg::equal(w->second, model->weight));  // training moved on; the snapshot did not
}
