#pragma once
// optim::ZeroRedundancyOptimizer: ZeRO stage 1 (Rajbhandari et al., 2020) around any xgrad
// optimizer. The parameters are split among the ranks (whole tensors, largest first, each to the
// rank holding least so far, as PyTorch's ZeroRedundancyOptimizer); each rank steps only its own
// shard, so only its shard's optimizer state ever exists there (Adam's: ≈ 2/world_size of the
// parameters' size instead of 2x), then every rank's updated shard is all-gathered.
#include <memory>
#include <vector>

#include "xgrad/distributed/process_group.hpp"
#include "xgrad/optim/optimizer.hpp"
#include "xgrad/options.hpp"

namespace xgrad::optim {

struct ZeroRedundancyOptimizerOptions {
  // On: step() (or clip_grad_norm_) first averages the gradients over the ranks with one
  // reduce-scatter, each rank receiving only its shard's — for a model trained without
  // DistributedDataParallel. Off: the gradients are averaged already (the model is wrapped in DDP).
  XG_ARG(bool, reduce_gradients) = true;
};

class ZeroRedundancyOptimizer : public Optimizer {
 public:
  // `local` is an ordinary optimizer over all the parameters (any groups and options); it keeps
  // state only for the parameters this rank owns, as it never sees a gradient for the others.
  // Rank 0's parameters are broadcast to every rank here.
  explicit ZeroRedundancyOptimizer(std::unique_ptr<Optimizer> local, const ZeroRedundancyOptimizerOptions& options = {});

  void step() override;
  // clip_grad_norm_ over the whole model's averaged gradients (the shards' norms combined), then the
  // shard's gradients scaled; returns the total norm. Use it instead of optim::clip_grad_norm_ when
  // reduce_gradients is on (a rank holds averaged gradients only for its shard).
  double clip_grad_norm_(double max_norm, double norm_type = 2.0);

  Hyper hyper(size_t group) const override { return local_->hyper(group); }
  void set_hyper(size_t group, const Hyper& h) override { local_->set_hyper(group, h); }
  std::vector<StateBuffer> check_hyper(size_t group, const Hyper& h) const override {
    return local_->check_hyper(group, h);
  }
  // A collective: every rank calls it and gets the whole optimizer's state, gathered from the
  // shards' owners, in the wrapped optimizer's own format — so a checkpoint written by rank 0
  // loads into the plain optimizer in one process, or into ZeRO at any world size.
  NamedTensors state_dict() const override;
  // Every rank passes the whole state (as state_dict returns it); each keeps its shard's part.
  void load_state_dict(const NamedTensors& dict) override;

  Optimizer& local() { return *local_; }
  // The rank that steps parameter `index` of group `group`.
  int owner(size_t group, size_t index) const { return owner_.at(group).at(index); }
  int64_t shard_numel(int rank) const;

 private:
  void reduce_gradients();
  void all_gather_parameters();
  bool mine(size_t g, size_t i) const { return owner_[g][i] == rank_; }

  std::unique_ptr<Optimizer> local_;
  ZeroRedundancyOptimizerOptions options_;
  int rank_ = 0, world_ = 1;
  std::vector<std::vector<int>> owner_;
  bool reduced_ = false;  // this step's gradients have been averaged
};

}  // namespace xgrad::optim
