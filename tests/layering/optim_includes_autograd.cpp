// Must compile: the control for the probes beside it (each layer sees the one below).
#include "xgrad/ops.hpp"
#include "xgrad/optim/optimizer.hpp"
