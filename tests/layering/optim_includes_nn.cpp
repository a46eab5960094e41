// Must NOT compile: optim links only autograd, so nn's headers are not on its include path.
#include "xgrad/nn/module.hpp"
