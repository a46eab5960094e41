#pragma once
// Cross-entropy over rows of logits (log-softmax + NLL + label smoothing fused): one pass per row
// each way. Raw pointers, no graph; rows are split over the thread pool when large.
#include <cstdint>

namespace xgrad::kernels {

// Logits x (N, C), class targets (N), per-class weight w (C) or null, smoothing ε:
//   lse_i = logsumexp(x_i),  loss_i = (1−ε)·w_t·(lse_i − x_it) + (ε/C)·Σ_c w_c·(lse_i − x_ic),
// loss_i = 0 where the target is ignore_index. Returns Σ w_t over the rows that count (the mean's
// denominator), summed in chunk order (the same bits for the same thread count).
template <class T>
double cross_entropy_forward(const T* x, const int64_t* target, const T* w, int64_t N, int64_t C,
                             double label_smoothing, int64_t ignore_index, T* loss, T* lse);

// dx_ic = s_i·[(1−ε)·w_t·(p_ic − [c = t]) + (ε/C)·(p_ic·Σw − w_c)] with p_i = exp(x_i − lse_i),
// s_i = scale[i] when per_row_scale, else scale[0]; rows whose target is ignore_index get 0.
template <class T>
void cross_entropy_backward(const T* x, const int64_t* target, const T* w, const T* lse, const T* scale,
                            bool per_row_scale, int64_t N, int64_t C, double label_smoothing, int64_t ignore_index,
                            T* dx);

}  // namespace xgrad::kernels
