#include "xgrad/data/samplers.hpp"

#include <algorithm>
#include <mutex>
#include <numeric>

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

}  // namespace xgrad::data::samplers
