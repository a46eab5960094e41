#pragma once
// The process group: this process's place among the ranks `mpirun` started, and collectives on
// tensors over MPI (Open MPI), as torch.distributed's. A program started without mpirun is rank 0 of
// a world of size 1, where every collective is a local copy, so the same code runs everywhere.
//
// All MPI traffic runs on one background thread, in the order the calls were made (which must be
// the same on every rank, as in any MPI program). A collective called with async_op = true returns
// at once with a Work handle whose wait() blocks until it is done; the tensors it reads and writes
// must not be touched until then. Collectives work in place on the tensors' data (no autograd) and
// bump their version counters.
#include <chrono>
#include <memory>
#include <string>

#include "xgrad/options.hpp"
#include "xgrad/tensor.hpp"

namespace xgrad::distributed {

// c10d's spellings. AVG is the mean over ranks (floating tensors only); on Bool tensors SUM and
// MAX are a logical or, MIN a logical and.
enum class ReduceOp { SUM, AVG, MAX, MIN };

struct InitOptions {
  // How long a collective may wait for the other ranks before the job is ended with a message
  // naming the rank and the collective (torch.distributed's default is 30 min). The environment
  // variable XGRAD_DISTRIBUTED_TIMEOUT (seconds) overrides it.
  XG_ARG(std::chrono::milliseconds, timeout) = std::chrono::minutes(30);
};

// Joins the job mpirun (or srun, or any launcher setting OMPI_COMM_WORLD_SIZE, PMI_SIZE or
// PMIX_RANK) started; without a launcher, a world of size 1. Idempotent; the functions below call
// it if it has not been called. MPI is finalized at exit. A rank that exits with a non-zero status
// (or is killed, or aborts) ends the whole job instead of leaving the others waiting.
void init(const InitOptions& options = {});
bool is_initialized();
// Whether this xgrad was built with MPI (without it, only a world of size 1 can be joined).
bool is_available();
int rank();
int world_size();
int local_rank();        // rank among the processes on this node
int local_world_size();  // processes on this node

// Ends every rank of the job at once, after printing "xgrad: rank R: message" (MPI_Abort).
[[noreturn]] void abort(const std::string& message, int exit_code = 1);

// A collective in flight (or done).
class Work {
 public:
  struct State;
  Work(std::string name, std::shared_ptr<State> state) : name_(std::move(name)), state_(std::move(state)) {}
  bool is_completed() const;
  // Blocks until done and rethrows the collective's error if it failed. Past the timeout the job
  // is ended (abort) with a message naming this rank and the collective.
  void wait();
  // What ran (e.g. "all_reduce(SUM) of Float32[1024]") and how long it took on the communication
  // thread, from its start to its end (0 until done).
  const std::string& name() const { return name_; }
  double seconds() const;

 private:
  std::string name_;
  std::shared_ptr<State> state_;
};
using WorkHandle = std::shared_ptr<Work>;

// Every rank's `tensor` becomes the reduction of all ranks' tensors.
WorkHandle all_reduce(const Tensor& tensor, ReduceOp op = ReduceOp::SUM, bool async_op = false);
// Every rank's `tensor` becomes rank src's.
WorkHandle broadcast(const Tensor& tensor, int src = 0, bool async_op = false);
// outputs[r] becomes rank r's input (world_size outputs, each shaped and typed as the input).
WorkHandle all_gather(const TensorList& outputs, const Tensor& input, bool async_op = false);
// output (world_size * input.size(0) rows, else as input) becomes the inputs of ranks 0..N-1 stacked.
WorkHandle all_gather_into_tensor(const Tensor& output, const Tensor& input, bool async_op = false);
// output becomes the reduction over ranks of their inputs[rank] (world_size inputs shaped as output).
WorkHandle reduce_scatter(const Tensor& output, const TensorList& inputs, ReduceOp op = ReduceOp::SUM,
                          bool async_op = false);
// output becomes the reduction over ranks of rows [rank * n, (rank + 1) * n) of input (n = output.size(0)).
WorkHandle reduce_scatter_tensor(const Tensor& output, const Tensor& input, ReduceOp op = ReduceOp::SUM,
                                 bool async_op = false);
WorkHandle barrier(bool async_op = false);

const char* reduce_op_name(ReduceOp op);

}  // namespace xgrad::distributed
