#pragma once
// Shared test helpers: random float64 inputs that require grad, and gradcheck assertions.
#include <catch2/catch.hpp>
#include <xgrad/xgrad.hpp>

namespace xg = xgrad;

inline xg::Tensor rnd(const xg::Shape& s) { return xg::randn(s, xg::kFloat64).requires_grad_(); }
// Values in [lo, hi): for ops with restricted domains (log, sqrt, pow).
inline xg::Tensor rnd_in(const xg::Shape& s, double lo, double hi) {
  xg::Tensor t = xg::rand(s, xg::kFloat64) * (hi - lo) + lo;
  return t.detach().requires_grad_();
}

#define CHECK_GRADCHECK(fn, inputs)                                  \
  do {                                                               \
    auto rep_ = xg::gradcheck(fn, inputs);                           \
    INFO(rep_.message);                                              \
    CHECK(rep_.ok);                                                  \
  } while (0)

#define CHECK_GRADGRADCHECK(fn, inputs)                              \
  do {                                                               \
    auto rep_ = xg::gradgradcheck(fn, inputs);                       \
    INFO(rep_.message);                                              \
    CHECK(rep_.ok);                                                  \
  } while (0)
