// Must NOT compile: nn links only autograd, so optim's headers are not on its include path.
#include "xgrad/optim/optimizer.hpp"
