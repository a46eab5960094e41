#pragma once
// What a dataset yields, as libtorch's torch::data::Example: a data tensor and a target tensor
// (TensorExample: the data alone).
#include "xgrad/tensor.hpp"

namespace xgrad::data {

template <class Data = Tensor, class Target = Tensor>
struct Example {
  using DataType = Data;
  using TargetType = Target;
  Example() = default;
  Example(Data data, Target target) : data(std::move(data)), target(std::move(target)) {}
  Data data;
  Target target;
};

struct TensorExample {
  using DataType = Tensor;
  TensorExample() = default;
  TensorExample(Tensor data) : data(std::move(data)) {}  // NOLINT: libtorch's implicit form
  Tensor data;
};

}  // namespace xgrad::data
