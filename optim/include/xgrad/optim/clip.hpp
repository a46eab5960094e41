#pragma once
#include "xgrad/tensor.hpp"

namespace xgrad::nn::utils {

// Scales all gradients together so their joint norm is at most max_norm (norm_type 2, or
// INFINITY for the max). Returns the total norm before clipping. With error_if_nonfinite, a NaN
// or infinite total norm throws instead of scaling. As torch.nn.utils.clip_grad_norm_.
double clip_grad_norm_(const TensorList& parameters, double max_norm, double norm_type = 2.0,
                       bool error_if_nonfinite = false);
// Clamps every gradient element to [−clip_value, clip_value].
void clip_grad_value_(const TensorList& parameters, double clip_value);

}  // namespace xgrad::nn::utils
