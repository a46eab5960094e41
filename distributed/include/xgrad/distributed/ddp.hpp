#pragma once
// nn::parallel::DistributedDataParallel: data-parallel training of any module over the ranks of
// xg::distributed, as PyTorch's DDP. At construction rank 0's parameters and buffers are broadcast
// to every rank. In backward, each parameter's gradient is copied into a bucket the moment it is
// final (a post-accumulate hook); a bucket's all-reduce starts, non-blocking, as soon as its last
// gradient is in, so communication overlaps the rest of backward. When backward returns, every
// parameter's .grad() is the mean over ranks of the ranks' gradients.
#include <memory>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "xgrad/distributed/process_group.hpp"
#include "xgrad/nn/module.hpp"
#include "xgrad/options.hpp"
#include "xgrad/serialize.hpp"

namespace xgrad::nn::parallel {

struct DistributedDataParallelOptions {
  // Gradients travel in buckets of about this size (PyTorch's bucket_cap_mb); the first bucket, the
  // one backward fills first, is capped at 1 MB so that communication starts early, as PyTorch
  // (or at bucket_cap_mb when that is smaller).
  XG_ARG(double, bucket_cap_mb) = 25;
  // Parameters the forward did not use get no gradient; with this on, forward() finds them (by
  // walking the graph from its outputs) and marks them ready at once. Off, a parameter left without
  // a gradient is an error naming it. A parameter unused on every rank keeps its .grad() as it was.
  XG_ARG(bool, find_unused_parameters) = false;
  // Rank 0's buffers are broadcast before every forward (PyTorch's default).
  XG_ARG(bool, broadcast_buffers) = true;
};

// What the last synchronised backward cost (for benchmarks): the buckets' all-reduces on the
// communication thread, and the part of it backward did not hide (the wait when it ended).
struct ReducerStats {
  int64_t iterations = 0;
  int buckets = 0;
  double bytes = 0;            // gradient bytes all-reduced per iteration
  int started_early = 0;       // last iteration: buckets whose all-reduce started while backward still had
                               // gradients to produce (overlap: all but the last bucket, ideally)
  double comm_seconds = 0;     // last iteration: all-reduce time on the communication thread
  double exposed_seconds = 0;  // last iteration: time backward's end waited for it
};

// The bucketing and all-reduce machinery behind DistributedDataParallel, for any list of
// parameters.
class Reducer {
 public:
  Reducer(const NamedTensors& parameters, const DistributedDataParallelOptions& options);
  ~Reducer();
  Reducer(const Reducer&) = delete;
  Reducer& operator=(const Reducer&) = delete;

  // Called after each forward whose result will be differentiated (DistributedDataParallel's
  // forward does it): with find_unused_parameters, marks the parameters the outputs don't reach.
  void prepare_for_backward(const TensorList& outputs);
  bool require_backward_grad_sync() const;
  void set_require_backward_grad_sync(bool on);
  // The parameters of each bucket (indices into the list given), in the order buckets all-reduce.
  std::vector<std::vector<size_t>> bucket_indices() const;
  ReducerStats stats() const;

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

// Broadcasts rank 0's parameters and/or buffers of `module` to every rank.
void broadcast_module_state(Module& module, bool parameters = true, bool buffers = true);

template <class M>
class DistributedDataParallel {
 public:
  explicit DistributedDataParallel(M module, const DistributedDataParallelOptions& options = {})
      : module_(std::move(module)), options_(options) {
    broadcast_module_state(*module_);
    reducer_ = std::make_shared<Reducer>(module_->named_parameters(), options_);
  }

  // Calls the module (through its holder, so forward hooks run), then prepares the reducer for
  // the backward of what it returned (a Tensor, a tuple or pair of them, or a TensorList).
  template <class... Args>
  auto forward(Args&&... args) {
    if (options_.broadcast_buffers() && distributed::world_size() > 1) broadcast_module_state(*module_, false, true);
    auto out = call(std::forward<Args>(args)...);
    TensorList outputs;
    collect(out, outputs);
    reducer_->prepare_for_backward(outputs);
    return out;
  }
  template <class... Args>
  auto operator()(Args&&... args) {
    return forward(std::forward<Args>(args)...);
  }

  M& module() { return module_; }
  const M& module() const { return module_; }
  auto operator->() const { return module_.operator->(); }
  Reducer& reducer() { return *reducer_; }
  const DistributedDataParallelOptions& options() const { return options_; }

  // Gradient accumulation: backward passes inside the guard's scope accumulate locally; the first
  // backward after it all-reduces everything accumulated (PyTorch's no_sync()).
  class NoSyncGuard {
   public:
    explicit NoSyncGuard(std::shared_ptr<Reducer> r) : r_(std::move(r)), prev_(r_->require_backward_grad_sync()) {
      r_->set_require_backward_grad_sync(false);
    }
    ~NoSyncGuard() { r_->set_require_backward_grad_sync(prev_); }
    NoSyncGuard(const NoSyncGuard&) = delete;
    NoSyncGuard& operator=(const NoSyncGuard&) = delete;

   private:
    std::shared_ptr<Reducer> r_;
    bool prev_;
  };
  [[nodiscard]] NoSyncGuard no_sync() { return NoSyncGuard(reducer_); }

 private:
  template <class... Args>
  auto call(Args&&... args) {
    if constexpr (requires { module_(std::forward<Args>(args)...); }) return module_(std::forward<Args>(args)...);
    else return module_->forward(std::forward<Args>(args)...);
  }
  static void collect(const Tensor& t, TensorList& out) {
    if (t.defined()) out.push_back(t);
  }
  static void collect(const TensorList& ts, TensorList& out) {
    for (auto& t : ts) collect(t, out);
  }
  template <class A, class B>
  static void collect(const std::pair<A, B>& p, TensorList& out) {
    collect(p.first, out);
    collect(p.second, out);
  }
  template <class... T>
  static void collect(const std::tuple<T...>& t, TensorList& out) {
    std::apply([&](const auto&... e) { (collect(e, out), ...); }, t);
  }
  template <class T>
  static void collect(const T&, TensorList&) {}  // anything else holds no tensor to differentiate

  M module_;
  DistributedDataParallelOptions options_;
  std::shared_ptr<Reducer> reducer_;
};

}  // namespace xgrad::nn::parallel
