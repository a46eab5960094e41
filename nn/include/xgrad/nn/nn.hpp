#pragma once
// Everything in xgrad::nn.
#include "xgrad/nn/activation.hpp"
#include "xgrad/nn/attention.hpp"
#include "xgrad/nn/container.hpp"
#include "xgrad/nn/embedding.hpp"
#include "xgrad/nn/gradcheck.hpp"
#include "xgrad/nn/init.hpp"
#include "xgrad/nn/linear.hpp"
#include "xgrad/nn/loss.hpp"
#include "xgrad/nn/module.hpp"
#include "xgrad/nn/norm.hpp"
#include "xgrad/nn/positional.hpp"
#include "xgrad/nn/transformer.hpp"
