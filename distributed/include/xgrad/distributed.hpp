#pragma once
// Data-parallel training over MPI: #include <xgrad/distributed.hpp> and link xgrad::distributed.
// The process group and its collectives, nn::parallel::DistributedDataParallel, and
// optim::ZeroRedundancyOptimizer. Launch with `mpirun -np N program`; without mpirun a program is
// rank 0 of a world of size 1.
#include "xgrad/distributed/process_group.hpp"
#include "xgrad/distributed/ddp.hpp"
#include "xgrad/distributed/zero.hpp"
