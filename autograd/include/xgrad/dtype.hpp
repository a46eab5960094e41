#pragma once
// Runtime dtypes and the one place that turns a dtype into a C++ type (dispatch).
#include <cstdint>
#include <string>

#include "xgrad/error.hpp"

namespace xgrad {

enum class ScalarType : int8_t { Float32, Float64, Int64, Bool };
using Dtype = ScalarType;

inline constexpr ScalarType kFloat32 = ScalarType::Float32;
inline constexpr ScalarType kFloat = ScalarType::Float32;
inline constexpr ScalarType kFloat64 = ScalarType::Float64;
inline constexpr ScalarType kDouble = ScalarType::Float64;
inline constexpr ScalarType kInt64 = ScalarType::Int64;
inline constexpr ScalarType kLong = ScalarType::Int64;
inline constexpr ScalarType kBool = ScalarType::Bool;

inline const char* dtype_name(ScalarType t) {
  switch (t) {
    case kFloat32: return "Float32";
    case kFloat64: return "Float64";
    case kInt64: return "Int64";
    case kBool: return "Bool";
  }
  return "?";
}

inline size_t itemsize(ScalarType t) {
  switch (t) {
    case kFloat32: return 4;
    case kFloat64: return 8;
    case kInt64: return 8;
    case kBool: return 1;
  }
  return 1;
}

inline bool is_floating(ScalarType t) { return t == kFloat32 || t == kFloat64; }

// Type promotion as PyTorch orders it for these four: Bool < Int64 < Float32 < Float64.
inline int promotion_rank(ScalarType t) {
  switch (t) {
    case kBool: return 0;
    case kInt64: return 1;
    case kFloat32: return 2;
    case kFloat64: return 3;
  }
  return 0;
}
inline ScalarType promote_types(ScalarType a, ScalarType b) {
  return promotion_rank(a) >= promotion_rank(b) ? a : b;
}

template <class T> struct dtype_of;
template <> struct dtype_of<float> { static constexpr ScalarType value = kFloat32; };
template <> struct dtype_of<double> { static constexpr ScalarType value = kFloat64; };
template <> struct dtype_of<int64_t> { static constexpr ScalarType value = kInt64; };
template <> struct dtype_of<bool> { static constexpr ScalarType value = kBool; };

// dispatch(dtype, [&]<class T>() { ... }) calls the lambda with T = the dtype's C++ type.
template <class F>
decltype(auto) dispatch(ScalarType t, F&& f) {
  switch (t) {
    case kFloat32: return f.template operator()<float>();
    case kFloat64: return f.template operator()<double>();
    case kInt64: return f.template operator()<int64_t>();
    case kBool: return f.template operator()<bool>();
  }
  throw Error("dispatch: unknown dtype");
}

// The same for ops defined only on floating tensors; names the op when given another dtype.
template <class F>
decltype(auto) dispatch_floating(ScalarType t, const char* op, F&& f) {
  switch (t) {
    case kFloat32: return f.template operator()<float>();
    case kFloat64: return f.template operator()<double>();
    default: break;
  }
  throw Error(str(op, ": expected a floating tensor (Float32 or Float64), got ", dtype_name(t)));
}

// Ops that need real numbers (dispatch_floating) still take any dtype that is not Bool.
template <class F>
decltype(auto) dispatch_numeric(ScalarType t, const char* op, F&& f) {
  switch (t) {
    case kFloat32: return f.template operator()<float>();
    case kFloat64: return f.template operator()<double>();
    case kInt64: return f.template operator()<int64_t>();
    default: break;
  }
  throw Error(str(op, ": expected a numeric tensor, got ", dtype_name(t)));
}

}  // namespace xgrad
