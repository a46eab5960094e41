#pragma once
// Which indices each batch holds, as libtorch's samplers: reset() starts an epoch, next(n) hands out
// the next n indices (fewer at the end, nullopt when the epoch is over).
#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "xgrad/options.hpp"

namespace xgrad::data::samplers {

class Sampler {
 public:
  virtual ~Sampler() = default;
  virtual void reset(std::optional<size_t> new_size = std::nullopt) = 0;
  virtual std::optional<std::vector<size_t>> next(size_t batch_size) = 0;
};

// 0, 1, 2, ... in order.
class SequentialSampler : public Sampler {
 public:
  explicit SequentialSampler(size_t size) : size_(size) {}
  void reset(std::optional<size_t> new_size = std::nullopt) override;
  std::optional<std::vector<size_t>> next(size_t batch_size) override;
  size_t index() const { return index_; }

 private:
  size_t size_, index_ = 0;
};

// A fresh permutation at every reset(), drawn from the global generator (manual_seed fixes it).
class RandomSampler : public Sampler {
 public:
  explicit RandomSampler(size_t size);
  void reset(std::optional<size_t> new_size = std::nullopt) override;
  std::optional<std::vector<size_t>> next(size_t batch_size) override;
  size_t index() const { return index_; }

 private:
  std::vector<size_t> order_;
  size_t index_ = 0;
};

struct DistributedSamplerOptions {
  XG_ARG(size_t, num_replicas) = 1;  // usually xg::distributed::world_size()
  XG_ARG(size_t, rank) = 0;          // usually xg::distributed::rank()
  XG_ARG(bool, shuffle) = true;
  XG_ARG(uint64_t, seed) = 0;        // the same on every rank
  // Equal counts per rank: false pads by repeating indices from the start (every example is seen),
  // true drops the tail (no example twice). As PyTorch's DistributedSampler.
  XG_ARG(bool, drop_last) = false;
};

// This rank's share of the indices, as torch.utils.data.DistributedSampler: the epoch's order
// (a permutation drawn from seed + epoch, the same on every rank, or 0..size-1), made a multiple of
// num_replicas (padded or cut), then every num_replicas-th index from position rank. Call
// set_epoch(e) before each epoch's reset() for a new order; every rank gets num_samples() indices.
class DistributedSampler : public Sampler {
 public:
  DistributedSampler(size_t size, const DistributedSamplerOptions& options = {});
  void set_epoch(size_t epoch);
  size_t epoch() const { return epoch_; }
  void reset(std::optional<size_t> new_size = std::nullopt) override;
  std::optional<std::vector<size_t>> next(size_t batch_size) override;
  size_t num_samples() const;
  size_t index() const { return index_; }
  const DistributedSamplerOptions& options() const { return options_; }

 private:
  size_t size_;
  DistributedSamplerOptions options_;
  size_t epoch_ = 0, index_ = 0;
  std::vector<size_t> mine_;
};

}  // namespace xgrad::data::samplers
