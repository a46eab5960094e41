#pragma once
// The one header for users: #include <xgrad/xgrad.hpp>, then namespace xg = xgrad;
#include "xgrad/dtype.hpp"
#include "xgrad/engine.hpp"
#include "xgrad/error.hpp"
#include "xgrad/function.hpp"
#include "xgrad/grad_mode.hpp"
#include "xgrad/gradcheck.hpp"
#include "xgrad/ops.hpp"
#include "xgrad/parallel.hpp"
#include "xgrad/random.hpp"
#include "xgrad/serialize.hpp"
#include "xgrad/tensor.hpp"
#if __has_include("xgrad/nn/nn.hpp")
#include "xgrad/nn/nn.hpp"
#endif
#if __has_include("xgrad/optim/optim.hpp")
#include "xgrad/optim/optim.hpp"
#endif
