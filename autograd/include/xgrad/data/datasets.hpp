#pragma once
// Datasets in libtorch's shape: `class MyData : public datasets::Dataset<MyData, Example<>>` with
// get(index) and size(); get_batch collects get() over a batch of indices; map(transform) wraps a
// dataset so its batches go through a transform (transforms::Stack<> collates them into tensors).
#include <optional>
#include <vector>

#include "xgrad/data/example.hpp"
#include "xgrad/ops.hpp"

namespace xgrad::data {

namespace datasets {

template <class Source, class Transform>
class MapDataset;

// The base of a dataset of single examples. get() may be called from several worker threads at
// once (DataLoaderOptions::workers): it must only read shared state.
template <class Self, class SingleExample = Example<>>
class Dataset {
 public:
  using ExampleType = SingleExample;
  using BatchType = std::vector<SingleExample>;
  using BatchRequestType = std::vector<size_t>;
  virtual ~Dataset() = default;

  virtual ExampleType get(size_t index) = 0;
  virtual std::optional<size_t> size() const = 0;

  virtual BatchType get_batch(const std::vector<size_t>& indices) {
    BatchType batch;
    batch.reserve(indices.size());
    for (size_t i : indices) batch.push_back(get(i));
    return batch;
  }

  // libtorch's Dataset::map: the dataset (moved) with `transform` applied to each of its batches.
  template <class Transform>
  MapDataset<Self, Transform> map(Transform transform) && {
    return MapDataset<Self, Transform>(std::move(static_cast<Self&>(*this)), std::move(transform));
  }
};

// A dataset whose batches are the source's, transformed (e.g. stacked into one Example of tensors).
template <class Source, class Transform>
class MapDataset {
 public:
  using BatchRequestType = std::vector<size_t>;
  using BatchType = decltype(std::declval<Transform&>().apply_batch(std::declval<typename Source::BatchType>()));
  MapDataset(Source source, Transform transform) : source_(std::move(source)), transform_(std::move(transform)) {}
  BatchType get_batch(const std::vector<size_t>& indices) { return transform_.apply_batch(source_.get_batch(indices)); }
  std::optional<size_t> size() const { return source_.size(); }
  const Source& dataset() const { return source_; }

 private:
  Source source_;
  Transform transform_;
};

// The rows of one tensor: example i is tensor[i] (libtorch's TensorDataset).
class TensorDataset : public Dataset<TensorDataset, TensorExample> {
 public:
  explicit TensorDataset(Tensor tensor) : tensor_(std::move(tensor)) {
    XG_CHECK(tensor_.defined() && tensor_.dim() >= 1, "TensorDataset: needs a tensor of at least one dim");
  }
  TensorExample get(size_t index) override { return {select(tensor_, 0, checked(index))}; }
  std::optional<size_t> size() const override { return static_cast<size_t>(tensor_.size(0)); }

 private:
  int64_t checked(size_t index) const {
    XG_CHECK(index < static_cast<size_t>(tensor_.size(0)), "TensorDataset: index ", index, " out of range (size ",
             tensor_.size(0), ")");
    return static_cast<int64_t>(index);
  }
  Tensor tensor_;
};

// Rows of a data tensor with the matching rows of a target tensor (PyTorch's TensorDataset(x, y)).
class TensorPairDataset : public Dataset<TensorPairDataset, Example<>> {
 public:
  TensorPairDataset(Tensor data, Tensor target) : data_(std::move(data)), target_(std::move(target)) {
    XG_CHECK(data_.defined() && target_.defined() && data_.dim() >= 1 && target_.dim() >= 1 &&
                 data_.size(0) == target_.size(0),
             "TensorPairDataset: data and target need the same number of rows, got shapes ",
             data_.defined() ? data_.sizes() : Shape{}, " and ", target_.defined() ? target_.sizes() : Shape{});
  }
  Example<> get(size_t index) override {
    XG_CHECK(index < static_cast<size_t>(data_.size(0)), "TensorPairDataset: index ", index, " out of range (size ",
             data_.size(0), ")");
    return {select(data_, 0, static_cast<int64_t>(index)), select(target_, 0, static_cast<int64_t>(index))};
  }
  std::optional<size_t> size() const override { return static_cast<size_t>(data_.size(0)); }

 private:
  Tensor data_, target_;
};

}  // namespace datasets

namespace transforms {

// Collates a batch of examples into one: data and targets stacked along a new dim 0.
template <class E = Example<>>
struct Stack;

template <>
struct Stack<Example<>> {
  Example<> apply_batch(const std::vector<Example<>>& batch) const {
    XG_CHECK(!batch.empty(), "Stack: an empty batch");
    TensorList data, target;
    for (const auto& e : batch) {
      data.push_back(e.data);
      target.push_back(e.target);
    }
    return {stack(data, 0), stack(target, 0)};
  }
};

template <>
struct Stack<TensorExample> {
  TensorExample apply_batch(const std::vector<TensorExample>& batch) const {
    XG_CHECK(!batch.empty(), "Stack: an empty batch");
    TensorList data;
    for (const auto& e : batch) data.push_back(e.data);
    return {stack(data, 0)};
  }
};

}  // namespace transforms

}  // namespace xgrad::data
