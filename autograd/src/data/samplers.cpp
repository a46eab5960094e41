#include "xgrad/data/samplers.hpp"

#include <algorithm>
#include <mutex>
#include <numeric>
#include <random>

#include "xgrad/error.hpp"
#include "xgrad/random.hpp"

namespace xgrad::data::samplers {

namespace {
std::optional<std::vector<size_t>> take(const std::vector<size_t>* order, size_t size, size_t& index, size_t n) {
  XG_CHECK(n > 0, "Sampler::next: batch size must be positive");
  if (index >= size) return std::nullopt;
  const size_t end = std::min(size, index + n);
  std::vector<size_t> out(end - index);
  for (size_t i = 0; i < out.size(); ++i) out[i] = order ? (*order)[index + i] : index + i;
  index = end;
  return out;
}
}  // namespace

void SequentialSampler::reset(std::optional<size_t> new_size) {
  if (new_size) size_ = *new_size;
  index_ = 0;
}

std::optional<std::vector<size_t>> SequentialSampler::next(size_t n) { return take(nullptr, size_, index_, n); }

RandomSampler::RandomSampler(size_t size) : order_(size) { reset(); }

void RandomSampler::reset(std::optional<size_t> new_size) {
  if (new_size) order_.resize(*new_size);
  std::iota(order_.begin(), order_.end(), size_t{0});
  {
    std::lock_guard<std::mutex> lock(global_generator_mutex());
    auto& gen = global_generator();
    // Fisher–Yates with our own index draws: std::shuffle's sequence is library-specific.
    for (size_t i = order_.size(); i > 1; --i) std::swap(order_[i - 1], order_[gen() % i]);
  }
  index_ = 0;
}

std::optional<std::vector<size_t>> RandomSampler::next(size_t n) { return take(&order_, order_.size(), index_, n); }

// ---------------------------------------------------------------- DistributedSampler

DistributedSampler::DistributedSampler(size_t size, const DistributedSamplerOptions& options)
    : size_(size), options_(options) {
  XG_CHECK(options.num_replicas() >= 1, "DistributedSampler: num_replicas must be at least 1, got ",
           options.num_replicas());
  XG_CHECK(options.rank() < options.num_replicas(), "DistributedSampler: invalid rank ", options.rank(),
           ", rank should be in the interval [0, ", options.num_replicas() - 1, "]");
  reset();
}

void DistributedSampler::set_epoch(size_t epoch) { epoch_ = epoch; }

size_t DistributedSampler::num_samples() const {
  const size_t n = options_.num_replicas();
  return options_.drop_last() ? size_ / n : (size_ + n - 1) / n;
}

void DistributedSampler::reset(std::optional<size_t> new_size) {
  if (new_size) size_ = *new_size;
  std::vector<size_t> order(size_);
  std::iota(order.begin(), order.end(), size_t{0});
  if (options_.shuffle()) {
    // Its own generator, seeded the same on every rank: the global one may differ between ranks.
    std::mt19937_64 gen(options_.seed() + epoch_);
    for (size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[gen() % i]);
  }
  const size_t n = options_.num_replicas(), total = num_samples() * n;
  if (total > order.size() && !order.empty()) {  // pad by repeating from the start (as often as needed)
    const size_t have = order.size();
    for (size_t k = 0; order.size() < total; ++k) order.push_back(order[k % have]);
  }
  order.resize(std::min(order.size(), total));
  mine_.clear();
  for (size_t i = options_.rank(); i < order.size(); i += n) mine_.push_back(order[i]);
  index_ = 0;
}

std::optional<std::vector<size_t>> DistributedSampler::next(size_t n) { return take(&mine_, mine_.size(), index_, n); }

}  // namespace xgrad::data::samplers
