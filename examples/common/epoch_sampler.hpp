#pragma once
// A sampler for step-based training that resumes: the order of an epoch is a function of
// (seed, epoch) alone, and an epoch may start at any position — so a run resumed at step s sees
// exactly the batches the uninterrupted run saw.
#include <algorithm>
#include <numeric>
#include <random>

#include <xgrad/xgrad.hpp>

namespace xgrad::examples {

class EpochSampler : public xgrad::data::samplers::Sampler {
 public:
  EpochSampler(size_t size, uint64_t seed) : size_(size), seed_(seed) {}
  // The next reset() starts `epoch` at index `first` of its order.
  void start(int64_t epoch, size_t first) {
    epoch_ = epoch;
    first_ = first;
  }
  void reset(std::optional<size_t> new_size = std::nullopt) override {
    if (new_size) size_ = *new_size;
    order_.resize(size_);
    std::iota(order_.begin(), order_.end(), size_t{0});
    std::seed_seq seq{seed_, static_cast<uint64_t>(epoch_)};
    std::mt19937_64 rng(seq);
    std::shuffle(order_.begin(), order_.end(), rng);
    index_ = std::min(first_, size_);
  }
  std::optional<std::vector<size_t>> next(size_t n) override {
    if (index_ >= size_) return std::nullopt;
    const size_t end = std::min(size_, index_ + n);
    std::vector<size_t> out(order_.begin() + static_cast<std::ptrdiff_t>(index_), order_.begin() + static_cast<std::ptrdiff_t>(end));
    index_ = end;
    return out;
  }

 private:
  size_t size_;
  uint64_t seed_;
  int64_t epoch_ = 1;
  size_t first_ = 0, index_ = 0;
  std::vector<size_t> order_;
};

}  // namespace xgrad::examples
