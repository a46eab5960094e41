// Must NOT compile: autograd is below nn, so nn's headers are not on its include path.
#include "xgrad/nn/module.hpp"
