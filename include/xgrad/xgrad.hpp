#pragma once
// The one header for users: #include <xgrad/xgrad.hpp>, then namespace xg = xgrad;
// It belongs to the umbrella target xgrad::xgrad, which links autograd, nn and optim.
#include "xgrad/data.hpp"
#include "xgrad/dtype.hpp"
#include "xgrad/engine.hpp"
#include "xgrad/error.hpp"
#include "xgrad/function.hpp"
#include "xgrad/grad_mode.hpp"
#include "xgrad/gradcheck.hpp"
#include "xgrad/indexing.hpp"
#include "xgrad/ops.hpp"
#include "xgrad/parallel.hpp"
#include "xgrad/random.hpp"
#include "xgrad/serialize.hpp"
#include "xgrad/tensor.hpp"
#include "xgrad/version.hpp"
#include "xgrad/nn/nn.hpp"
#include "xgrad/optim/optim.hpp"
