#pragma once
// The data loader, in libtorch's shape:
//
//   auto ds = xg::data::datasets::TensorPairDataset(x, y).map(xg::data::transforms::Stack<>());
//   auto loader = xg::data::make_data_loader(std::move(ds), xg::data::DataLoaderOptions(64).workers(2));
//   for (auto& batch : *loader) { ... batch.data, batch.target ... }
//
// Each loop over the loader is an epoch: the sampler is reset (RandomSampler: a new permutation from
// the global generator) and every batch's indices are drawn up front. With workers > 0, that many
// background threads build batches ahead (at most max_jobs, default 2·workers, waiting to be taken);
// batches still arrive in sampler order, so a run is the same with any number of workers as long as
// the dataset's get() itself draws no random numbers. An exception thrown while building a batch is
// rethrown when the loop reaches that batch. Destroying the loader (or starting a new loop) stops
// and joins the workers.
#include <condition_variable>
#include <exception>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <variant>
#include <vector>

#include "xgrad/data/datasets.hpp"
#include "xgrad/data/samplers.hpp"
#include "xgrad/options.hpp"

namespace xgrad::data {

struct DataLoaderOptions {
  DataLoaderOptions() = default;
  DataLoaderOptions(size_t batch_size) : batch_size_(batch_size) {}  // NOLINT: libtorch's implicit form
  XG_ARG(size_t, batch_size) = 1;
  XG_ARG(size_t, workers) = 0;
  XG_ARG(std::optional<size_t>, max_jobs);  // batches built ahead of the loop; default 2·workers
  XG_ARG(bool, drop_last) = false;          // drop a last batch smaller than batch_size
};

template <class Dataset, class Sampler>
class StatelessDataLoader {
 public:
  using BatchType = typename Dataset::BatchType;

  StatelessDataLoader(Dataset dataset, Sampler sampler, DataLoaderOptions options)
      : dataset_(std::move(dataset)), sampler_(std::move(sampler)), options_(options) {
    XG_CHECK(options_.batch_size() > 0, "DataLoader: batch_size must be positive");
    XG_CHECK(!options_.max_jobs() || *options_.max_jobs() > 0, "DataLoader: max_jobs must be positive");
  }
  StatelessDataLoader(const StatelessDataLoader&) = delete;
  StatelessDataLoader& operator=(const StatelessDataLoader&) = delete;
  ~StatelessDataLoader() { stop(); }

  class Iterator {
   public:
    using value_type = BatchType;
    Iterator(StatelessDataLoader* loader, size_t pos) : loader_(loader), pos_(pos) {}
    BatchType& operator*() { return loader_->current_; }
    BatchType* operator->() { return &loader_->current_; }
    Iterator& operator++() {
      ++pos_;
      if (pos_ < loader_->requests_.size()) loader_->fetch(pos_);
      return *this;
    }
    bool operator==(const Iterator& o) const { return pos_ == o.pos_; }
    bool operator!=(const Iterator& o) const { return pos_ != o.pos_; }

   private:
    StatelessDataLoader* loader_;
    size_t pos_;
  };

  // Starts an epoch (stopping one in progress) and returns its first batch.
  Iterator begin() {
    stop();
    sampler_.reset();
    requests_.clear();
    while (auto b = sampler_.next(options_.batch_size())) {
      if (options_.drop_last() && b->size() < options_.batch_size()) break;
      requests_.push_back(std::move(*b));
    }
    if (options_.workers() > 0) start();
    if (!requests_.empty()) fetch(0);
    return Iterator(this, 0);
  }
  Iterator end() { return Iterator(this, requests_.size()); }

  const DataLoaderOptions& options() const { return options_; }
  // The sampler, to steer the next epoch (a resumed run starting mid-epoch, a distributed shard).
  Sampler& sampler() { return sampler_; }
  // Batches in the current (or last) epoch.
  size_t batches_per_epoch() const { return requests_.size(); }

 private:
  using Result = std::variant<BatchType, std::exception_ptr>;

  void fetch(size_t k) {
    if (options_.workers() == 0) {
      current_ = dataset_.get_batch(requests_[k]);
      return;
    }
    std::unique_lock<std::mutex> lock(mu_);
    ready_.wait(lock, [&] { return results_.count(k) > 0; });
    Result r = std::move(results_[k]);
    results_.erase(k);
    taken_ = k + 1;
    room_.notify_all();
    lock.unlock();
    if (auto* e = std::get_if<std::exception_ptr>(&r)) std::rethrow_exception(*e);
    current_ = std::move(std::get<BatchType>(r));
  }

  void start() {
    stopping_ = false;
    next_ = 0;
    taken_ = 0;
    const size_t window = options_.max_jobs().value_or(2 * options_.workers());
    for (size_t w = 0; w < options_.workers(); ++w)
      threads_.emplace_back([this, window] {
        for (;;) {
          size_t k;
          {
            std::unique_lock<std::mutex> lock(mu_);
            room_.wait(lock, [&] { return stopping_ || (next_ < requests_.size() && next_ < taken_ + window); });
            if (stopping_) return;
            k = next_++;
          }
          Result r;
          try {
            r = dataset_.get_batch(requests_[k]);
          } catch (...) {
            r = std::current_exception();
          }
          std::lock_guard<std::mutex> lock(mu_);
          results_.emplace(k, std::move(r));
          ready_.notify_all();
          if (next_ >= requests_.size()) return;
        }
      });
  }

  void stop() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping_ = true;
    }
    room_.notify_all();
    for (auto& t : threads_) t.join();
    threads_.clear();
    results_.clear();
  }

  Dataset dataset_;
  Sampler sampler_;
  DataLoaderOptions options_;
  std::vector<std::vector<size_t>> requests_;
  BatchType current_{};
  std::vector<std::thread> threads_;
  std::mutex mu_;
  std::condition_variable ready_, room_;
  std::map<size_t, Result> results_;
  size_t next_ = 0, taken_ = 0;
  bool stopping_ = false;
};

// make_data_loader(dataset, options) with a RandomSampler (or make_data_loader<SequentialSampler>),
// or with a sampler of your own; the dataset must know its size.
template <class Sampler = samplers::RandomSampler, class Dataset>
std::unique_ptr<StatelessDataLoader<Dataset, Sampler>> make_data_loader(Dataset dataset, DataLoaderOptions options = {}) {
  const std::optional<size_t> size = dataset.size();
  XG_CHECK(size.has_value(), "make_data_loader: the dataset has no size; pass a sampler");
  Sampler sampler(*size);
  return std::make_unique<StatelessDataLoader<Dataset, Sampler>>(std::move(dataset), std::move(sampler), options);
}

template <class Dataset, class Sampler>
  requires std::is_base_of_v<samplers::Sampler, Sampler>
std::unique_ptr<StatelessDataLoader<Dataset, Sampler>> make_data_loader(Dataset dataset, Sampler sampler,
                                                                        DataLoaderOptions options = {}) {
  return std::make_unique<StatelessDataLoader<Dataset, Sampler>>(std::move(dataset), std::move(sampler), options);
}

}  // namespace xgrad::data
