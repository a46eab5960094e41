#pragma once
// Which indices each batch holds, as libtorch's samplers: reset() starts an epoch, next(n) hands out
// the next n indices (fewer at the end, nullopt when the epoch is over).
#include <cstddef>
#include <optional>
#include <vector>

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

}  // namespace xgrad::data::samplers
