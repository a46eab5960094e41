// The distributed tests' main: every rank joins the job, then runs the same test cases in the same
// order (their collectives must match). ctest runs it under `mpirun -np 2` (and -np 3 for odd worlds)
// and on its own (a world of size 1).
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>
#include <xgrad/distributed.hpp>

int main(int argc, char** argv) {
  xgrad::distributed::init();
  return Catch::Session().run(argc, argv);
}
