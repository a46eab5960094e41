#pragma once
// Softmax and log-softmax along the middle axis of an (outer, D, inner) layout: raw-pointer loops,
// no graph. Contiguous rows (inner == 1) are vectorised and split over the thread pool.
#include <cstdint>

namespace xgrad::kernels {

// y = softmax(x) or, when log, log_softmax(x). A row of −inf gives NaN, as PyTorch.
template <class T>
void softmax_forward(const T* x, T* y, int64_t outer, int64_t D, int64_t inner, bool log);

// The gradient of the input given g = dL/dy and the forward's y:
// softmax: gx = y·(g − Σ g·y);  log_softmax: gx = g − exp(y)·Σ g.
template <class T>
void softmax_backward(const T* g, const T* y, T* gx, int64_t outer, int64_t D, int64_t inner, bool log);

}  // namespace xgrad::kernels
