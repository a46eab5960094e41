// Each collective against a reference computed in one process: every rank's input is a function of
// (rank, size, salt), so any rank can compute what every other rank holds. Values are small whole
// numbers: sums are exact whatever order MPI adds them in.
#include <catch2/catch.hpp>
#include <xgrad/distributed.hpp>
#include <xgrad/xgrad.hpp>

namespace xg = xgrad;
namespace dist = xgrad::distributed;

namespace {

const xg::ScalarType kAll[] = {xg::kFloat32, xg::kFloat64, xg::kInt64, xg::kBool};
const int64_t kSizes[] = {0, 1, 7, 1000, 65537};

xg::Tensor data(int rank, int64_t n, xg::ScalarType t, int salt) {
  std::vector<double> v(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    int64_t x = ((rank + 1) * 37 + i * 13 + salt * 7) % 23 - 11;
    v[static_cast<size_t>(i)] = t == xg::kBool ? static_cast<double>(x % 3 == 0) : static_cast<double>(x);
  }
  return xg::tensor(v, xg::kFloat64).to(t);
}

// What all_reduce gives: the reduction of every rank's data, computed here in float64.
xg::Tensor reference_reduce(int64_t n, xg::ScalarType t, int salt, dist::ReduceOp op) {
  const int world = dist::world_size();
  xg::Tensor acc = data(0, n, t, salt).to(xg::kFloat64);
  for (int r = 1; r < world; ++r) {
    xg::Tensor d = data(r, n, t, salt).to(xg::kFloat64);
    if (op == dist::ReduceOp::MAX || (t == xg::kBool && op == dist::ReduceOp::SUM)) acc = xg::maximum(acc, d);
    else if (op == dist::ReduceOp::MIN) acc = xg::minimum(acc, d);
    else acc = acc + d;
  }
  if (op == dist::ReduceOp::AVG) acc = acc / static_cast<double>(world);
  return acc.to(t);
}

bool same(const xg::Tensor& a, const xg::Tensor& b) {
  return a.sizes() == b.sizes() && a.dtype() == b.dtype() &&
         xg::allclose(a.to(xg::kFloat64), b.to(xg::kFloat64), 1e-6, 0);
}

}  // namespace

TEST_CASE("all_reduce SUM, AVG, MAX and MIN on every dtype and odd sizes", "[collectives]") {
  const int rank = dist::rank();
  for (auto t : kAll)
    for (int64_t n : kSizes)
      for (auto op : {dist::ReduceOp::SUM, dist::ReduceOp::AVG, dist::ReduceOp::MAX, dist::ReduceOp::MIN}) {
        if (op == dist::ReduceOp::AVG && !xg::is_floating(t)) continue;
        INFO(xg::dtype_name(t) << " n=" << n << " op=" << dist::reduce_op_name(op));
        xg::Tensor x = data(rank, n, t, 1);
        auto v = x._version();
        dist::all_reduce(x, op);
        CHECK(x._version() > v);
        CHECK(same(x, reference_reduce(n, t, 1, op)));
      }
}

TEST_CASE("all_reduce keeps shapes and reduces a scalar", "[collectives]") {
  xg::Tensor x = data(dist::rank(), 12, xg::kFloat64, 2).reshape({3, 4});
  dist::all_reduce(x);
  CHECK(x.sizes() == xg::Shape{3, 4});
  CHECK(same(x, reference_reduce(12, xg::kFloat64, 2, dist::ReduceOp::SUM).reshape({3, 4})));
  xg::Tensor s = xg::tensor({static_cast<double>(dist::rank() + 1)}, xg::kFloat64).reshape({});
  dist::all_reduce(s, dist::ReduceOp::MAX);
  CHECK(s.item<double>() == dist::world_size());
}

TEST_CASE("broadcast from every rank, every dtype", "[collectives]") {
  for (auto t : kAll)
    for (int64_t n : kSizes)
      for (int src = 0; src < dist::world_size(); ++src) {
        INFO(xg::dtype_name(t) << " n=" << n << " src=" << src);
        xg::Tensor x = data(dist::rank(), n, t, 3);
        dist::broadcast(x, src);
        CHECK(same(x, data(src, n, t, 3)));
      }
}

TEST_CASE("all_gather and all_gather_into_tensor", "[collectives]") {
  const int world = dist::world_size();
  for (auto t : kAll)
    for (int64_t n : kSizes) {
      INFO(xg::dtype_name(t) << " n=" << n);
      xg::Tensor in = data(dist::rank(), n, t, 4);
      xg::TensorList outs;
      for (int r = 0; r < world; ++r) outs.push_back(xg::zeros({n}, t));
      dist::all_gather(outs, in);
      for (int r = 0; r < world; ++r) CHECK(same(outs[r], data(r, n, t, 4)));

      xg::Tensor flat = xg::zeros({world * n}, t);
      dist::all_gather_into_tensor(flat, in);
      xg::TensorList parts;
      for (int r = 0; r < world; ++r) parts.push_back(data(r, n, t, 4));
      CHECK(same(flat, xg::cat(parts, 0)));
    }
}

TEST_CASE("reduce_scatter and reduce_scatter_tensor", "[collectives]") {
  const int world = dist::world_size();
  const int rank = dist::rank();
  for (auto t : kAll)
    for (int64_t n : kSizes)
      for (auto op : {dist::ReduceOp::SUM, dist::ReduceOp::AVG, dist::ReduceOp::MAX}) {
        if (op == dist::ReduceOp::AVG && !xg::is_floating(t)) continue;
        INFO(xg::dtype_name(t) << " n=" << n << " op=" << dist::reduce_op_name(op));
        // Rank r's input is data(r, world * n): chunk k of it goes to rank k.
        xg::Tensor in = data(rank, world * n, t, 5);
        xg::Tensor out = xg::zeros({n}, t);
        dist::reduce_scatter_tensor(out, in, op);
        xg::Tensor want = reference_reduce(world * n, t, 5, op).narrow(0, rank * n, n);
        CHECK(same(out, want));

        xg::TensorList chunks;
        for (int k = 0; k < world; ++k) chunks.push_back(in.narrow(0, k * n, n).clone());
        xg::Tensor out2 = xg::zeros({n}, t);
        dist::reduce_scatter(out2, chunks, op);
        CHECK(same(out2, want));
      }
}

TEST_CASE("non-blocking collectives complete in call order; wait() gives the result", "[collectives]") {
  const int rank = dist::rank();
  xg::TensorList xs;
  std::vector<dist::WorkHandle> works;
  for (int i = 0; i < 6; ++i) {
    xs.push_back(data(rank, 4099 + i, xg::kFloat32, 10 + i));
    works.push_back(dist::all_reduce(xs.back(), dist::ReduceOp::SUM, /*async_op=*/true));
  }
  xg::Tensor b = data(rank, 33, xg::kInt64, 20);
  auto wb = dist::broadcast(b, dist::world_size() - 1, true);
  auto bar = dist::barrier(true);
  bar->wait();  // the queue runs in order: everything before the barrier is done
  for (auto& w : works) CHECK(w->is_completed());
  for (int i = 5; i >= 0; --i) {
    works[i]->wait();
    CHECK(same(xs[i], reference_reduce(4099 + i, xg::kFloat32, 10 + i, dist::ReduceOp::SUM)));
    CHECK(works[i]->name().find("all_reduce(SUM) of Float32") == 0);
    CHECK(works[i]->seconds() >= 0);
  }
  wb->wait();
  CHECK(same(b, data(dist::world_size() - 1, 33, xg::kInt64, 20)));
}

TEST_CASE("collectives refuse bad arguments with the shapes in the message", "[collectives]") {
  const int world = dist::world_size();
  xg::Tensor i = xg::zeros({3}, xg::kInt64);
  CHECK_THROWS_WITH(dist::all_reduce(i, dist::ReduceOp::AVG), Catch::Contains("AVG needs a floating tensor") &&
                                                                  Catch::Contains("Int64[3]"));
  CHECK_THROWS_WITH(dist::broadcast(i, world), Catch::Contains("src " + std::to_string(world)));
  CHECK_THROWS_WITH(dist::broadcast(i, -1), Catch::Contains("is not a rank"));
  xg::Tensor f = xg::zeros({2, 3});
  CHECK_THROWS_WITH(dist::all_gather_into_tensor(xg::zeros({2 * world + 1, 3}), f),
                    Catch::Contains("all_gather_into_tensor: the output must be Float32[" + std::to_string(2 * world)));
  CHECK_THROWS_WITH(dist::all_gather(xg::TensorList(world + 1, xg::zeros({2, 3})), f), Catch::Contains("outputs for a world"));
  xg::TensorList wrong(world, xg::zeros({2, 3}));
  wrong.back() = xg::zeros({3, 2});
  CHECK_THROWS_WITH(dist::all_gather(wrong, f), Catch::Contains("output " + std::to_string(world - 1)));
  CHECK_THROWS_WITH(dist::reduce_scatter_tensor(xg::zeros({2}), xg::zeros({2 * world + 2})),
                    Catch::Contains("the input must be"));
  CHECK_THROWS_WITH(dist::all_reduce(xg::Tensor()), Catch::Contains("undefined"));
  // Nothing was queued by the refused calls: a collective after them still matches across ranks.
  xg::Tensor x = xg::ones({5});
  dist::all_reduce(x);
  CHECK(same(x, xg::full({5}, static_cast<double>(world))));
}
