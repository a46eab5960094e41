// DistributedDataParallel's reducer: gradients into buckets as backward finalises them, each
// bucket's all-reduce started in bucket order (every rank must issue them in the same order), and
// the averaged gradients copied back when backward ends (an autograd::queue_callback).
#include <algorithm>
#include <chrono>
#include <cstring>
#include <map>
#include <unordered_set>

#include "xgrad/distributed/ddp.hpp"
#include "xgrad/engine.hpp"
#include "xgrad/graph.hpp"
#include "xgrad/grad_mode.hpp"

namespace xgrad::nn::parallel {

namespace dist = xgrad::distributed;
using Clock = std::chrono::steady_clock;

namespace {
constexpr double kFirstBucketMb = 1.0;

size_t nbytes(const Tensor& t) { return static_cast<size_t>(t.numel()) * itemsize(t.dtype()); }
unsigned char* bytes_at(const Tensor& t, int64_t offset) {
  return static_cast<unsigned char*>(t.raw_data()) + offset * static_cast<int64_t>(itemsize(t.dtype()));
}

// The leaves the graph behind `outputs` reaches.
std::unordered_set<const TensorImpl*> reachable_leaves(const TensorList& outputs) {
  std::unordered_set<const TensorImpl*> leaves;
  std::unordered_set<const autograd::Node*> seen;
  std::vector<autograd::Node*> stack;
  for (const Tensor& o : outputs) {
    if (!o.defined() || !o.requires_grad()) continue;
    if (!o.grad_fn()) leaves.insert(o.impl_ptr().get());
    else if (seen.insert(o.grad_fn().get()).second) stack.push_back(o.grad_fn().get());
  }
  while (!stack.empty()) {
    autograd::Node* n = stack.back();
    stack.pop_back();
    for (const auto& e : n->next_edges) {
      if (!e.valid()) continue;
      if (auto* acc = dynamic_cast<autograd::AccumulateGrad*>(e.fn.get())) leaves.insert(acc->variable.get());
      else if (seen.insert(e.fn.get()).second) stack.push_back(e.fn.get());
    }
  }
  return leaves;
}
}  // namespace

struct Reducer::Impl : std::enable_shared_from_this<Reducer::Impl> {
  struct Bucket {
    std::vector<size_t> params;
    std::vector<int64_t> offsets;  // in elements, into flat
    Tensor flat;
    size_t pending = 0;
    dist::WorkHandle work;
  };

  NamedTensors params;  // those that require grad, in registration order
  DistributedDataParallelOptions options;
  int world = 1;
  std::vector<Bucket> buckets;
  std::vector<size_t> bucket_of, slot_of;
  std::vector<unsigned> hook_ids;
  std::vector<char> ready;
  Tensor used;  // Int64, per parameter: it had a gradient on this rank
  size_t next_bucket = 0, ready_count = 0;
  bool in_iteration = false, callback_queued = false, sync = true;
  ReducerStats stats;

  void build_buckets() {
    // Reverse registration order (backward produces the last layers' gradients first); one dtype
    // per bucket; a bucket closes when it reaches its cap (the first of each dtype at 1 MB, as
    // PyTorch, or at bucket_cap_mb if that is smaller).
    std::map<ScalarType, size_t> open;
    std::map<ScalarType, bool> first;
    std::map<ScalarType, double> filled;
    std::vector<Bucket> made;
    for (size_t k = params.size(); k-- > 0;) {
      const Tensor& p = params[k].second;
      ScalarType t = p.dtype();
      if (!open.count(t)) {
        open[t] = made.size();
        made.emplace_back();
        filled[t] = 0;
        if (!first.count(t)) first[t] = true;
      }
      made[open[t]].params.push_back(k);
      filled[t] += static_cast<double>(nbytes(p));
      double cap = (first[t] ? std::min(kFirstBucketMb, options.bucket_cap_mb()) : options.bucket_cap_mb()) * 1024 * 1024;
      if (filled[t] >= cap) {
        open.erase(t);
        first[t] = false;
      }
    }
    buckets = std::move(made);  // made in the order their first gradient arrives
    bucket_of.assign(params.size(), 0);
    slot_of.assign(params.size(), 0);
    for (size_t b = 0; b < buckets.size(); ++b) {
      auto& bk = buckets[b];
      int64_t off = 0;
      for (size_t j = 0; j < bk.params.size(); ++j) {
        bucket_of[bk.params[j]] = b;
        slot_of[bk.params[j]] = j;
        bk.offsets.push_back(off);
        off += params[bk.params[j]].second.numel();
      }
      bk.flat = zeros({off}, params[bk.params[0]].second.dtype());
      stats.bytes += static_cast<double>(nbytes(bk.flat));
    }
    stats.buckets = static_cast<int>(buckets.size());
  }

  void begin() {
    if (in_iteration) return;
    in_iteration = true;
    callback_queued = false;
    std::fill(ready.begin(), ready.end(), 0);
    used.zero_();
    next_bucket = 0, ready_count = 0;
    stats.started_early = 0;
    for (auto& b : buckets) {
      b.pending = b.params.size();
      b.work.reset();
    }
  }

  // Drops a half-done iteration (a forward whose backward never ran): what was started completes
  // on every rank alike and is discarded.
  void abandon() {
    for (auto& b : buckets)
      if (b.work) b.work->wait();
    in_iteration = false;
  }

  void mark_ready(size_t i) {
    if (ready[i]) return;
    ready[i] = 1;
    ++ready_count;
    const Tensor& p = params[i].second;
    Tensor g = p.grad();
    Bucket& b = buckets[bucket_of[i]];
    unsigned char* dst = bytes_at(b.flat, b.offsets[slot_of[i]]);
    if (g.defined()) {
      std::memcpy(dst, g.raw_data(), nbytes(p));
      used.data_ptr<int64_t>()[i] = 1;
    } else {
      std::memset(dst, 0, nbytes(p));
    }
    if (--b.pending == 0) launch_ready_buckets();
  }

  void launch_ready_buckets() {
    while (next_bucket < buckets.size() && buckets[next_bucket].pending == 0) {
      Bucket& b = buckets[next_bucket++];
      b.work = dist::all_reduce(b.flat, dist::ReduceOp::AVG, /*async_op=*/true);
      if (ready_count < params.size()) ++stats.started_early;
    }
  }

  void on_gradient_ready(size_t i) {
    if (!sync) return;
    begin();
    if (!callback_queued) {
      callback_queued = true;
      std::weak_ptr<Impl> self = weak_from_this();
      autograd::queue_callback([self] {
        if (auto s = self.lock()) s->finalize();
      });
    }
    mark_ready(i);
  }

  void finalize() {
    std::vector<std::string> missing;
    for (size_t i = 0; i < params.size(); ++i)
      if (!ready[i]) missing.push_back(params[i].first);
    if (!missing.empty() && !options.find_unused_parameters()) {
      abandon();  // what every rank started completes; the next iteration starts clean
      std::string names;
      for (size_t k = 0; k < missing.size() && k < 8; ++k) names += (k ? ", " : "") + missing[k];
      if (missing.size() > 8) names += str(", ... (", missing.size(), " in all)");
      throw Error(str("DistributedDataParallel: ", missing.size(), " parameter(s) received no gradient in this backward: ",
                      names, ". Construct it with DistributedDataParallelOptions().find_unused_parameters(true) if the "
                      "forward leaves parameters unused"));
    }
    for (size_t i = 0; i < params.size(); ++i) mark_ready(i);
    dist::WorkHandle used_work;
    if (options.find_unused_parameters()) used_work = dist::all_reduce(used, dist::ReduceOp::MAX, true);
    auto start = Clock::now();
    double comm = 0;
    for (auto& b : buckets) {
      b.work->wait();
      comm += b.work->seconds();
    }
    if (used_work) used_work->wait();
    stats.exposed_seconds = std::chrono::duration<double>(Clock::now() - start).count();
    stats.comm_seconds = comm;
    ++stats.iterations;
    const int64_t* globally_used = used.data_ptr<int64_t>();
    for (size_t i = 0; i < params.size(); ++i) {
      if (options.find_unused_parameters() && !globally_used[i]) continue;  // unused everywhere: .grad() as it was
      const Tensor& p = params[i].second;
      const Bucket& b = buckets[bucket_of[i]];
      Tensor g = p.grad();
      if (!g.defined()) {
        g = empty(p.sizes(), p.dtype());
        p.set_grad(g);
      }
      std::memcpy(g.raw_data(), bytes_at(b.flat, b.offsets[slot_of[i]]), nbytes(p));
      ++g.impl().storage->version;
    }
    in_iteration = false;
  }
};

Reducer::Reducer(const NamedTensors& parameters, const DistributedDataParallelOptions& options)
    : impl_(std::make_shared<Impl>()) {
  XG_CHECK(options.bucket_cap_mb() > 0, "DistributedDataParallel: bucket_cap_mb must be positive, got ",
           options.bucket_cap_mb());
  Impl& m = *impl_;
  m.options = options;
  m.world = dist::world_size();
  std::unordered_set<const TensorImpl*> seen;
  for (auto& [name, p] : parameters) {
    if (!p.defined() || !p.requires_grad()) continue;
    XG_CHECK(p.is_leaf(), "DistributedDataParallel: parameter '", name, "' is not a leaf tensor");
    if (!seen.insert(p.impl_ptr().get()).second) continue;  // shared (tied) parameters count once
    m.params.push_back({name, p});
  }
  m.ready.assign(m.params.size(), 0);
  m.used = zeros({static_cast<int64_t>(m.params.size())}, kInt64);
  if (m.params.empty()) return;
  m.build_buckets();
  if (m.world == 1) return;  // nothing to average: backward stays exactly as without the wrapper
  std::weak_ptr<Impl> self = impl_;
  for (size_t i = 0; i < m.params.size(); ++i)
    m.hook_ids.push_back(m.params[i].second.register_post_accumulate_grad_hook([self, i](const Tensor&) {
      if (auto s = self.lock()) s->on_gradient_ready(i);
    }));
}

Reducer::~Reducer() {
  for (size_t i = 0; i < impl_->hook_ids.size(); ++i) impl_->params[i].second.remove_hook(impl_->hook_ids[i]);
  if (impl_->in_iteration) impl_->abandon();
}

void Reducer::prepare_for_backward(const TensorList& outputs) {
  Impl& m = *impl_;
  if (m.world == 1 || !m.sync || !GradMode::is_enabled() || m.params.empty()) return;
  if (m.in_iteration) m.abandon();
  if (!m.options.find_unused_parameters()) return;
  m.begin();
  auto reached = reachable_leaves(outputs);
  for (size_t i = 0; i < m.params.size(); ++i)
    if (!reached.count(m.params[i].second.impl_ptr().get())) m.mark_ready(i);
}

bool Reducer::require_backward_grad_sync() const { return impl_->sync; }
void Reducer::set_require_backward_grad_sync(bool on) { impl_->sync = on; }

std::vector<std::vector<size_t>> Reducer::bucket_indices() const {
  std::vector<std::vector<size_t>> out;
  for (auto& b : impl_->buckets) out.push_back(b.params);
  return out;
}

ReducerStats Reducer::stats() const { return impl_->stats; }

void broadcast_module_state(Module& module, bool parameters, bool buffers) {
  if (dist::world_size() == 1) return;
  std::vector<dist::WorkHandle> works;
  if (parameters)
    for (auto& [name, p] : module.named_parameters()) works.push_back(dist::broadcast(p, 0, true));
  if (buffers)
    for (auto& [name, b] : module.named_buffers()) works.push_back(dist::broadcast(b, 0, true));
  for (auto& w : works) w->wait();
}

}  // namespace xgrad::nn::parallel
