// ZeRO stage 1. Gradients and parameters travel in one padded flat buffer per dtype, laid out rank
// by rank (rank r's shard, then padding to the largest shard), so one reduce-scatter hands each
// rank its shard's averaged gradients and one all-gather hands every rank all updated shards.
#include "xgrad/distributed/zero.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <numeric>

#include "xgrad/grad_mode.hpp"
#include "xgrad/ops.hpp"
#include "xgrad/optim/clip.hpp"

namespace xgrad::optim {

namespace dist = xgrad::distributed;

namespace {

size_t nbytes(const Tensor& t) { return static_cast<size_t>(t.numel()) * itemsize(t.dtype()); }
unsigned char* at(const Tensor& t, int64_t elements) {
  return static_cast<unsigned char*>(t.raw_data()) + elements * static_cast<int64_t>(itemsize(t.dtype()));
}

// One dtype's flat layout: where each owned parameter sits inside its owner's chunk.
struct Layout {
  ScalarType dtype;
  int64_t chunk = 0;  // the largest shard of this dtype; every rank's region is this long
  struct Slot {
    size_t g, i;
    int owner;
    int64_t offset;  // from the start of the flat buffer
  };
  std::vector<Slot> slots;
};

std::vector<Layout> layouts(const Optimizer& opt, const std::vector<std::vector<int>>& owner, int world) {
  std::map<ScalarType, std::vector<int64_t>> filled;  // per dtype, per rank
  std::map<ScalarType, std::vector<Layout::Slot>> slots;
  for (size_t g = 0; g < opt.num_param_groups(); ++g)
    for (size_t i = 0; i < opt.params(g).size(); ++i) {
      const Tensor& p = opt.params(g)[i];
      auto& f = filled[p.dtype()];
      f.resize(world, 0);
      int r = owner[g][i];
      slots[p.dtype()].push_back({g, i, r, f[r]});
      f[r] += p.numel();
    }
  std::vector<Layout> out;
  for (auto& [t, f] : filled) {
    Layout l{t, *std::max_element(f.begin(), f.end()), slots[t]};
    for (auto& s : l.slots) s.offset += s.owner * l.chunk;
    out.push_back(std::move(l));
  }
  return out;
}

}  // namespace

ZeroRedundancyOptimizer::ZeroRedundancyOptimizer(std::unique_ptr<Optimizer> local,
                                                 const ZeroRedundancyOptimizerOptions& options)
    : local_(std::move(local)), options_(options) {
  XG_CHECK(local_, "ZeroRedundancyOptimizer: no optimizer to wrap");
  rank_ = dist::rank();
  world_ = dist::world_size();
  std::vector<int64_t> load(world_, 0);
  for (size_t g = 0; g < local_->num_param_groups(); ++g) {
    const TensorList& ps = local_->params(g);
    add_params(ps, "ZeroRedundancyOptimizer");
    // Largest first, each to the least loaded rank (lowest rank on ties): the same on every rank.
    std::vector<size_t> order(ps.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return ps[a].numel() > ps[b].numel(); });
    owner_.emplace_back(ps.size(), 0);
    for (size_t i : order) {
      int r = static_cast<int>(std::min_element(load.begin(), load.end()) - load.begin());
      owner_[g][i] = r;
      load[r] += ps[i].numel();
    }
  }
  state_.resize(params_.size());  // the base's per-parameter state stays empty: local_ keeps it
  for (size_t g = 0; g < params_.size(); ++g) state_[g].resize(params_[g].size());
  if (world_ > 1) {
    std::vector<dist::WorkHandle> works;
    for (auto& group : params_)
      for (auto& p : group) works.push_back(dist::broadcast(p, 0, true));
    for (auto& w : works) w->wait();
  }
}

int64_t ZeroRedundancyOptimizer::shard_numel(int rank) const {
  int64_t n = 0;
  for (size_t g = 0; g < params_.size(); ++g)
    for (size_t i = 0; i < params_[g].size(); ++i)
      if (owner_[g][i] == rank) n += params_[g][i].numel();
  return n;
}

void ZeroRedundancyOptimizer::reduce_gradients() {
  if (world_ == 1 || !options_.reduce_gradients() || reduced_) return;
  reduced_ = true;
  // Which parameters have a gradient anywhere: one left without on every rank stays without.
  int64_t count = 0;
  for (auto& group : params_) count += static_cast<int64_t>(group.size());
  Tensor used = zeros({count}, kInt64);
  {
    int64_t k = 0;
    for (auto& group : params_)
      for (auto& p : group) used.data_ptr<int64_t>()[k++] = p.grad().defined();
  }
  auto used_work = dist::all_reduce(used, dist::ReduceOp::MAX, true);
  std::vector<std::pair<Layout, Tensor>> received;
  std::vector<dist::WorkHandle> works;
  for (auto& l : layouts(*this, owner_, world_)) {
    Tensor flat = zeros({world_ * l.chunk}, l.dtype);
    for (auto& s : l.slots) {
      Tensor g = params_[s.g][s.i].grad();
      if (g.defined()) std::memcpy(at(flat, s.offset), g.raw_data(), nbytes(g));
    }
    Tensor mine = empty({l.chunk}, l.dtype);
    works.push_back(dist::reduce_scatter_tensor(mine, flat, dist::ReduceOp::AVG, true));
    received.emplace_back(std::move(l), mine);
  }
  used_work->wait();
  for (auto& w : works) w->wait();
  std::vector<int64_t> first(params_.size(), 0);
  for (size_t g = 1; g < params_.size(); ++g) first[g] = first[g - 1] + static_cast<int64_t>(params_[g - 1].size());
  for (auto& [l, mine] : received)
    for (auto& s : l.slots) {
      if (s.owner != rank_ || !used.data_ptr<int64_t>()[first[s.g] + static_cast<int64_t>(s.i)]) continue;
      const Tensor& p = params_[s.g][s.i];
      Tensor g = p.grad();
      if (!g.defined()) {
        g = empty(p.sizes(), p.dtype());
        p.set_grad(g);
      }
      std::memcpy(g.raw_data(), at(mine, s.offset - rank_ * l.chunk), nbytes(g));
      ++g.impl().storage->version;
    }
}

double ZeroRedundancyOptimizer::clip_grad_norm_(double max_norm, double norm_type) {
  TensorList all;
  for (auto& group : params_) all.insert(all.end(), group.begin(), group.end());
  if (world_ == 1 || !options_.reduce_gradients()) return nn::utils::clip_grad_norm_(all, max_norm, norm_type);
  XG_CHECK(norm_type > 0, "clip_grad_norm_: norm_type must be positive, got ", norm_type);
  XG_CHECK(max_norm >= 0 && !std::isnan(max_norm), "clip_grad_norm_: max_norm must be >= 0, got ", max_norm);
  reduce_gradients();
  // This rank's share of the norm, over the gradients it owns (averaged above), combined over ranks.
  const bool inf = std::isinf(norm_type);
  double acc = 0;
  TensorList owned;
  for (size_t g = 0; g < params_.size(); ++g)
    for (size_t i = 0; i < params_[g].size(); ++i) {
      Tensor gr = params_[g][i].grad();
      if (!mine(g, i) || !gr.defined()) continue;
      owned.push_back(gr);
      dispatch_floating(gr.dtype(), "clip_grad_norm_", [&]<class T>() {
        const T* p = gr.data_ptr<T>();
        for (int64_t k = 0; k < gr.numel(); ++k) {
          double v = std::fabs(static_cast<double>(p[k]));
          acc = inf ? std::max(acc, v) : acc + (norm_type == 2.0 ? v * v : std::pow(v, norm_type));
        }
      });
    }
  Tensor total_t = scalar_tensor(acc, kFloat64);
  dist::all_reduce(total_t, inf ? dist::ReduceOp::MAX : dist::ReduceOp::SUM);
  double total = total_t.item<double>();
  if (!inf) total = norm_type == 2.0 ? std::sqrt(total) : std::pow(total, 1.0 / norm_type);
  const double coef = std::min(max_norm / (total + 1e-6), 1.0);
  NoGradGuard ng;
  for (auto& g : owned) g.mul_(coef);
  return total;
}

void ZeroRedundancyOptimizer::step() {
  reduce_gradients();
  // The wrapped optimizer steps only what has a gradient: hide the others' for the step.
  std::vector<std::pair<Tensor, Tensor>> hidden;
  for (size_t g = 0; g < params_.size(); ++g)
    for (size_t i = 0; i < params_[g].size(); ++i)
      if (!mine(g, i) && params_[g][i].grad().defined()) {
        hidden.emplace_back(params_[g][i], params_[g][i].grad());
        params_[g][i].set_grad(Tensor());
      }
  struct Restore {
    std::vector<std::pair<Tensor, Tensor>>& h;
    ~Restore() {
      for (auto& [p, g] : h) p.set_grad(g);
    }
  } restore{hidden};
  local_->step();
  reduced_ = false;
  all_gather_parameters();
}

void ZeroRedundancyOptimizer::all_gather_parameters() {
  if (world_ == 1) return;
  std::vector<std::pair<Layout, Tensor>> gathered;
  std::vector<dist::WorkHandle> works;
  for (auto& l : layouts(*this, owner_, world_)) {
    Tensor mine = zeros({l.chunk}, l.dtype);
    for (auto& s : l.slots)
      if (s.owner == rank_) {
        const Tensor& p = params_[s.g][s.i];
        std::memcpy(at(mine, s.offset - rank_ * l.chunk), p.raw_data(), nbytes(p));
      }
    Tensor all = empty({world_ * l.chunk}, l.dtype);
    works.push_back(dist::all_gather_into_tensor(all, mine, true));
    gathered.emplace_back(std::move(l), all);
  }
  for (auto& w : works) w->wait();
  for (auto& [l, all] : gathered)
    for (auto& s : l.slots) {
      if (s.owner == rank_) continue;
      const Tensor& p = params_[s.g][s.i];
      std::memcpy(p.raw_data(), at(all, s.offset), nbytes(p));
      ++p.impl().storage->version;
    }
}

// ---------------------------------------------------------------- checkpoints

namespace {
constexpr int64_t kMaxName = 96;

// One state buffer's header as Int64s: name length, name bytes, dtype, rank, sizes.
Tensor header(const std::string& name, const Tensor& t) {
  Tensor h = zeros({3 + kMaxName + 8}, kInt64);
  int64_t* p = h.data_ptr<int64_t>();
  XG_CHECK(static_cast<int64_t>(name.size()) <= kMaxName && t.dim() <= 8, "ZeroRedundancyOptimizer::state_dict: state '",
           name, "' has too long a name or too many dims");
  p[0] = static_cast<int64_t>(name.size());
  for (size_t k = 0; k < name.size(); ++k) p[1 + k] = static_cast<unsigned char>(name[k]);
  p[1 + kMaxName] = static_cast<int64_t>(t.dtype());
  p[2 + kMaxName] = t.dim();
  for (int64_t d = 0; d < t.dim(); ++d) p[3 + kMaxName + d] = t.size(d);
  return h;
}
}  // namespace

NamedTensors ZeroRedundancyOptimizer::state_dict() const {
  NamedTensors mine = local_->state_dict();
  if (world_ == 1) return mine;
  // The groups' entries are the same everywhere; each parameter's state comes from its owner.
  NamedTensors out;
  std::map<std::pair<size_t, size_t>, NamedTensors> owned;
  for (auto& [k, v] : mine) {
    size_t g = 0, i = 0;
    if (k.rfind("state.", 0) == 0 && std::sscanf(k.c_str(), "state.%zu.%zu.", &g, &i) == 2) owned[{g, i}].push_back({k, v});
    else out.push_back({k, v});
  }
  for (size_t g = 0; g < params_.size(); ++g)
    for (size_t i = 0; i < params_[g].size(); ++i) {
      const int src = owner_[g][i];
      const NamedTensors& entries = owned[{g, i}];
      Tensor count = scalar_tensor(static_cast<double>(entries.size()), kInt64);
      dist::broadcast(count, src);
      for (int64_t e = 0; e < count.item<int64_t>(); ++e) {
        Tensor h = src == rank_ ? header(entries[e].first, entries[e].second) : zeros({3 + kMaxName + 8}, kInt64);
        dist::broadcast(h, src);
        const int64_t* p = h.data_ptr<int64_t>();
        XG_CHECK(p[0] >= 0 && p[0] <= kMaxName && p[2 + kMaxName] >= 0 && p[2 + kMaxName] <= 8 &&
                     p[1 + kMaxName] >= 0 && p[1 + kMaxName] <= static_cast<int64_t>(kBool),
                 "ZeroRedundancyOptimizer::state_dict: rank ", src, " sent a malformed state header");
        std::string name;
        for (int64_t k = 0; k < p[0]; ++k) name += static_cast<char>(p[1 + k]);
        Shape sizes(p + 3 + kMaxName, p + 3 + kMaxName + p[2 + kMaxName]);
        Tensor t = src == rank_ ? entries[e].second.clone() : empty(sizes, static_cast<ScalarType>(p[1 + kMaxName]));
        dist::broadcast(t, src);
        out.push_back({name, t});
      }
    }
  return out;
}

void ZeroRedundancyOptimizer::load_state_dict(const NamedTensors& dict) {
  if (world_ == 1) return local_->load_state_dict(dict);
  // Every entry is checked by the wrapped optimizer (all or nothing); only the shard's state is kept.
  local_->load_state_dict(dict);
  NamedTensors keep;
  for (auto& [k, v] : dict) {
    size_t g = 0, i = 0;
    if (k.rfind("state.", 0) == 0 && std::sscanf(k.c_str(), "state.%zu.%zu.", &g, &i) == 2 &&
        (g >= owner_.size() || i >= owner_[g].size() || owner_[g][i] != rank_))
      continue;
    keep.push_back({k, v});
  }
  local_->load_state_dict(keep);
}

}  // namespace xgrad::optim
