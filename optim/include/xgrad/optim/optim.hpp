#pragma once
// Everything in xgrad::optim, and gradient clipping (xgrad::nn::utils).
#include "xgrad/optim/adaptive.hpp"
#include "xgrad/optim/clip.hpp"
#include "xgrad/optim/optimizer.hpp"
#include "xgrad/optim/schedulers.hpp"
#include "xgrad/optim/sgd.hpp"
