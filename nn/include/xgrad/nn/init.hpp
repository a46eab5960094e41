#pragma once
// In-place initialisers (no graph is recorded), with PyTorch's formulas for fan in/out and gain.
#include <string>

#include "xgrad/tensor.hpp"

namespace xgrad::nn::init {

// fan_in = size(1)·receptive field, fan_out = size(0)·receptive field (as torch.nn.init).
std::pair<int64_t, int64_t> fan_in_and_fan_out(const Tensor& t);
double calculate_gain(const std::string& nonlinearity, double param = 0.01);

Tensor& uniform_(Tensor& t, double a = 0.0, double b = 1.0);
Tensor& normal_(Tensor& t, double mean = 0.0, double std = 1.0);
Tensor& constant_(Tensor& t, double value);
Tensor& zeros_(Tensor& t);
Tensor& ones_(Tensor& t);
Tensor& xavier_uniform_(Tensor& t, double gain = 1.0);
Tensor& xavier_normal_(Tensor& t, double gain = 1.0);
// mode "fan_in" or "fan_out"; nonlinearity "leaky_relu" (with a) or "relu", "linear", "tanh", ...
Tensor& kaiming_uniform_(Tensor& t, double a = 0.0, const std::string& mode = "fan_in",
                         const std::string& nonlinearity = "leaky_relu");
Tensor& kaiming_normal_(Tensor& t, double a = 0.0, const std::string& mode = "fan_in",
                        const std::string& nonlinearity = "leaky_relu");

}  // namespace xgrad::nn::init
