#pragma once
// Tensor indexing as libtorch spells it:
//
//   using namespace xgrad::indexing;
//   x.index({Slice(), 0, Slice(1, None, 2)})      // x[:, 0, 1::2]
//   x.index({mask})                               // x[mask], mask Bool
//   x.index({Ellipsis, idx})                      // x[..., idx], idx Int64 (advanced indexing)
//   x.index_put_({Slice(None, 2), 1}, values)     // x[:2, 1] = values
//
// Integers select (the dim goes), slices keep the dim, None adds a dim of size 1, Ellipsis stands
// for the dims not named, and tensors index as numpy's advanced indexing: Int64 tensors broadcast
// together; a Bool tensor stands for the Int64 coordinates of its true elements. The result of
// several advanced indices goes where the first of them was when they are adjacent, else in front.
#include <optional>
#include <variant>

#include "xgrad/tensor.hpp"

namespace xgrad::indexing {

inline constexpr std::nullopt_t None = std::nullopt;

struct EllipsisIndexType {};
inline constexpr EllipsisIndexType Ellipsis{};

// start:stop:step; omitted ends clamp like Python's (negative values count from the end).
class Slice {
 public:
  Slice(std::optional<int64_t> start = std::nullopt, std::optional<int64_t> stop = std::nullopt,
        std::optional<int64_t> step = std::nullopt)
      : start_(start), stop_(stop), step_(step.value_or(1)) {}
  std::optional<int64_t> start() const { return start_; }
  std::optional<int64_t> stop() const { return stop_; }
  int64_t step() const { return step_; }

 private:
  std::optional<int64_t> start_, stop_;
  int64_t step_;
};

class TensorIndex {
 public:
  TensorIndex(std::nullopt_t) : v_(std::monostate{}) {}       // NOLINT: None
  TensorIndex(EllipsisIndexType) : v_(EllipsisIndexType{}) {} // NOLINT
  TensorIndex(const char* s);                                  // NOLINT: "..."
  TensorIndex(int64_t i) : v_(i) {}                            // NOLINT
  TensorIndex(int i) : v_(static_cast<int64_t>(i)) {}          // NOLINT
  TensorIndex(bool b) : v_(b) {}                               // NOLINT
  TensorIndex(Slice s) : v_(s) {}                              // NOLINT
  TensorIndex(Tensor t) : v_(std::move(t)) {}                  // NOLINT

  bool is_none() const { return std::holds_alternative<std::monostate>(v_); }
  bool is_ellipsis() const { return std::holds_alternative<EllipsisIndexType>(v_); }
  bool is_integer() const { return std::holds_alternative<int64_t>(v_); }
  bool is_boolean() const { return std::holds_alternative<bool>(v_); }
  bool is_slice() const { return std::holds_alternative<Slice>(v_); }
  bool is_tensor() const { return std::holds_alternative<Tensor>(v_); }
  int64_t integer() const { return std::get<int64_t>(v_); }
  bool boolean() const { return std::get<bool>(v_); }
  const Slice& slice() const { return std::get<Slice>(v_); }
  const Tensor& tensor() const { return std::get<Tensor>(v_); }

 private:
  std::variant<std::monostate, EllipsisIndexType, int64_t, bool, Slice, Tensor> v_;
};

}  // namespace xgrad::indexing

namespace xgrad {

// x[indices] (Tensor::index) and its out-of-place write: x with x[indices] = values (broadcast to
// the indexed shape), or += with accumulate (repeated positions then add up). Both differentiable
// in x and values.
Tensor index(const Tensor& x, const std::vector<indexing::TensorIndex>& indices);
Tensor index_put(const Tensor& x, const std::vector<indexing::TensorIndex>& indices, const Tensor& values,
                 bool accumulate = false);

}  // namespace xgrad
