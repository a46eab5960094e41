#pragma once
// Layer norm over rows of D elements (llm.c style): forward saves each row's mean and rstd, backward
// is one pass per row. Raw pointers, no graph; rows are split over the thread pool when large.
#include <cstdint>

namespace xgrad::kernels {

// y = (x − mean)·rstd·w + b per row (w, b may be null); mean and rstd (one per row) are written.
template <class T>
void layer_norm_forward(const T* x, const T* w, const T* b, T* y, T* mean, T* rstd, int64_t rows, int64_t D,
                        double eps);

// With n = (x − mean)·rstd and dn = g·w: dx = rstd·(dn − mean(dn) − n·mean(dn·n)), dw = Σ g·n, db = Σ g.
// Any of dx, dw, db may be null (not wanted); dw and db are added to (start them at zero). w null means w = 1.
template <class T>
void layer_norm_backward(const T* g, const T* x, const T* w, const T* mean, const T* rstd, T* dx, T* dw, T* db,
                         int64_t rows, int64_t D);

}  // namespace xgrad::kernels
