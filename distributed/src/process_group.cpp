// The process group over MPI. One communication thread makes every collective's MPI calls: it takes
// collectives from a queue in call order, starts each as a non-blocking MPI operation and polls it
// with short sleeps in between, so a rank waiting for a slower one does not take a core from the
// computation it overlaps (busy-polling would, on a machine with as many ranks as cores).
#include "xgrad/distributed/process_group.hpp"

#include <algorithm>
#include <climits>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

#include "xgrad/ops.hpp"

#ifdef XGRAD_WITH_MPI
#include <mpi.h>
#endif

namespace xgrad::distributed {

using Clock = std::chrono::steady_clock;

struct Work::State {
  std::mutex m;
  std::condition_variable cv;
  bool done = false;
  std::exception_ptr error;
  double seconds = 0;
};

namespace {

struct Job {
  std::function<void()> run;  // the MPI calls; throws on failure
  std::shared_ptr<Work::State> state;
};

struct Group {
  bool initialized = false;
  bool mpi = false;
  int rank = 0, size = 1, local_rank = 0, local_size = 1;
  Clock::duration timeout = std::chrono::minutes(30);
  std::mutex init_mutex;

  // The communication thread and its queue.
  std::thread thread;
  std::mutex m;
  std::condition_variable cv;
  std::deque<Job> queue;
  bool stop = false;
#ifdef XGRAD_WITH_MPI
  MPI_Comm comm = MPI_COMM_NULL;
#endif
};

Group& group() {
  static Group* g = new Group;  // never destroyed: the exit handler uses it after statics are gone
  return *g;
}

bool launched_by_mpi() {
  for (const char* v : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK", "PMI_RANK", "MV2_COMM_WORLD_SIZE"})
    if (std::getenv(v)) return true;
  return false;
}

Clock::duration timeout_from_env(Clock::duration fallback) {
  const char* s = std::getenv("XGRAD_DISTRIBUTED_TIMEOUT");
  if (!s) return fallback;
  char* end = nullptr;
  double sec = std::strtod(s, &end);
  XG_CHECK(end != s && *end == '\0' && sec > 0 && sec < 1e9, "distributed::init: XGRAD_DISTRIBUTED_TIMEOUT must be ",
           "a positive number of seconds, got '", s, "'");
  return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(sec));
}

#ifdef XGRAD_WITH_MPI
void check_mpi(int rc, const char* what) {
  if (rc == MPI_SUCCESS) return;
  char msg[MPI_MAX_ERROR_STRING];
  int len = 0;
  MPI_Error_string(rc, msg, &len);
  throw Error(str(what, " failed on rank ", group().rank, ": ", std::string(msg, len)));
}

// Starts a non-blocking operation (`start` returns the MPI_I* call's code, filling the request) and
// completes it without spinning on a core: polls briefly, then sleeps between polls. Open MPI
// advances a non-blocking collective inside MPI_Test, and over shared memory a few polls move
// megabytes (measured: a 26 MB all-reduce between 2 ranks took 11 ms polled every 50 µs, 23 ms as a
// blocking MPI_Allreduce that spins).
template <class Start>
void run_request(const char* what, Start&& start) {
  MPI_Request req;
  check_mpi(start(&req), what);
  auto t0 = Clock::now();
  for (;;) {
    int done = 0;
    check_mpi(MPI_Test(&req, &done, MPI_STATUS_IGNORE), what);
    if (done) return;
    if (Clock::now() - t0 > std::chrono::microseconds(20)) std::this_thread::sleep_for(std::chrono::microseconds(50));
  }
}

MPI_Datatype mpi_type(ScalarType t) {
  static_assert(sizeof(bool) == 1, "Bool tensors travel as bytes");
  switch (t) {
    case kFloat32: return MPI_FLOAT;
    case kFloat64: return MPI_DOUBLE;
    case kInt64: return MPI_INT64_T;
    case kBool: return MPI_UINT8_T;
  }
  throw Error("distributed: unknown dtype");
}

MPI_Op mpi_op(ReduceOp op, ScalarType t) {
  if (t == kBool) return op == ReduceOp::MIN ? MPI_MIN : MPI_MAX;  // bytes 0/1: and = min, or = max
  switch (op) {
    case ReduceOp::SUM:
    case ReduceOp::AVG: return MPI_SUM;
    case ReduceOp::MAX: return MPI_MAX;
    case ReduceOp::MIN: return MPI_MIN;
  }
  throw Error("distributed: unknown reduce op");
}

void comm_thread_main() {
  Group& g = group();
  for (;;) {
    Job job;
    {
      std::unique_lock<std::mutex> lock(g.m);
      g.cv.wait(lock, [&] { return g.stop || !g.queue.empty(); });
      if (g.queue.empty()) return;  // stop, and everything queued has run
      job = std::move(g.queue.front());
      g.queue.pop_front();
    }
    auto start = Clock::now();
    std::exception_ptr error;
    try {
      job.run();
    } catch (...) {
      error = std::current_exception();
    }
    std::lock_guard<std::mutex> lock(job.state->m);
    job.state->seconds = std::chrono::duration<double>(Clock::now() - start).count();
    job.state->error = error;
    job.state->done = true;
    job.state->cv.notify_all();
  }
}

// At exit (glibc's on_exit passes the status): a rank leaving with an error ends the job, since the
// others may be waiting for it in a collective; a clean exit drains the queue and finalizes MPI.
void on_process_exit(int status, void*) {
  Group& g = group();
  if (!g.mpi) return;
  if (status != 0) {
    std::fprintf(stderr, "xgrad: rank %d: exiting with status %d; ending the job (the other ranks may be waiting for it)\n",
                 g.rank, status);
    std::fflush(stderr);
    MPI_Abort(MPI_COMM_WORLD, status);
  }
  {
    std::lock_guard<std::mutex> lock(g.m);
    g.stop = true;
  }
  g.cv.notify_all();
  if (g.thread.joinable()) g.thread.join();
  MPI_Finalize();
  g.mpi = false;
}
#endif

// Runs a collective: on the communication thread under MPI, at once in a world of size 1.
WorkHandle submit(std::string name, std::function<void()> run_mpi, std::function<void()> run_local, bool async_op) {
  Group& g = group();
  auto state = std::make_shared<Work::State>();
  auto work = std::make_shared<Work>(std::move(name), state);
  if (!g.mpi) {
    auto start = Clock::now();
    run_local();
    state->seconds = std::chrono::duration<double>(Clock::now() - start).count();
    state->done = true;
    return work;
  }
  {
    std::lock_guard<std::mutex> lock(g.m);
    g.queue.push_back({std::move(run_mpi), state});
  }
  g.cv.notify_one();
  if (!async_op) work->wait();
  return work;
}

size_t nbytes(const Tensor& t) { return static_cast<size_t>(t.numel()) * itemsize(t.dtype()); }

void bump_version(const Tensor& t) { ++t.impl().storage->version; }

void check_tensor(const Tensor& t, const char* op, const char* what) {
  XG_CHECK(t.defined(), op, ": ", what, " is undefined");
  XG_CHECK(t.numel() <= INT_MAX / 2, op, ": ", what, " has ", t.numel(),
           " elements, more than one MPI message carries here (2^30); split it");
}

void check_op(ReduceOp op, const Tensor& t, const char* who) {
  XG_CHECK(op != ReduceOp::AVG || t.is_floating_point(), who, ": ReduceOp::AVG needs a floating tensor, got ",
           dtype_name(t.dtype()), t.sizes(), " (use SUM and divide)");
}

#ifdef XGRAD_WITH_MPI  // only an MPI world has more than one rank to divide by
void divide_by_world(const Tensor& t) {
  int n = group().size;
  dispatch_floating(t.dtype(), "AVG", [&]<class T>() {
    T* p = t.data_ptr<T>();
    for (int64_t i = 0; i < t.numel(); ++i) p[i] /= static_cast<T>(n);
  });
}
#endif

// One tensor per rank, each shaped and typed like `like`: "<op>: <what> r must be ... like the <like_what>".
void check_per_rank(const TensorList& list, const Tensor& like, const char* op, const char* what, const char* like_what) {
  const int n = group().size;
  XG_CHECK(static_cast<int>(list.size()) == n, op, ": got ", list.size(), " ", what, "s for a world of size ", n);
  for (size_t r = 0; r < list.size(); ++r)
    XG_CHECK(list[r].defined() && list[r].sizes() == like.sizes() && list[r].dtype() == like.dtype(), op, ": ", what, " ",
             r, " must be ", dtype_name(like.dtype()), like.sizes(), " like the ", like_what, ", got ",
             list[r].defined() ? str(dtype_name(list[r].dtype()), list[r].sizes()) : std::string("undefined"));
}

// The shape of n ranks' `part`s stacked along dim 0 (a scalar's: [n]).
Shape stacked(const Tensor& part, int n) {
  Shape s = part.sizes();
  if (s.empty()) return {n};
  s[0] *= n;
  return s;
}

std::string describe(const char* op, const Tensor& t) { return str(op, " of ", dtype_name(t.dtype()), t.sizes()); }

}  // namespace

const char* reduce_op_name(ReduceOp op) {
  switch (op) {
    case ReduceOp::SUM: return "SUM";
    case ReduceOp::AVG: return "AVG";
    case ReduceOp::MAX: return "MAX";
    case ReduceOp::MIN: return "MIN";
  }
  return "?";
}

// ---------------------------------------------------------------- joining the job

void init(const InitOptions& options) {
  Group& g = group();
  std::lock_guard<std::mutex> lock(g.init_mutex);
  if (g.initialized) return;
  XG_CHECK(options.timeout().count() > 0, "distributed::init: the timeout must be positive, got ",
           options.timeout().count(), " ms");
  g.timeout = timeout_from_env(options.timeout());
  if (launched_by_mpi()) {
#ifdef XGRAD_WITH_MPI
    int provided = 0;
    int flag = 0;
    MPI_Initialized(&flag);
    // MULTIPLE where the library has it (Open MPI does): abort() may run while the communication
    // thread is inside MPI; SERIALIZED is enough for everything else.
    if (!flag) check_mpi(MPI_Init_thread(nullptr, nullptr, MPI_THREAD_MULTIPLE, &provided), "MPI_Init_thread");
    else MPI_Query_thread(&provided);
    XG_CHECK(provided >= MPI_THREAD_SERIALIZED, "distributed::init: this MPI library gives thread level ", provided,
             "; xgrad's communication thread needs MPI_THREAD_SERIALIZED");
    MPI_Comm_dup(MPI_COMM_WORLD, &g.comm);
    MPI_Comm_set_errhandler(g.comm, MPI_ERRORS_RETURN);
    MPI_Comm_rank(g.comm, &g.rank);
    MPI_Comm_size(g.comm, &g.size);
    MPI_Comm node;
    MPI_Comm_split_type(g.comm, MPI_COMM_TYPE_SHARED, g.rank, MPI_INFO_NULL, &node);
    MPI_Comm_rank(node, &g.local_rank);
    MPI_Comm_size(node, &g.local_size);
    MPI_Comm_free(&node);
    g.mpi = true;
    on_exit(on_process_exit, nullptr);
    g.thread = std::thread(comm_thread_main);
#else
    int n = 0;
    for (const char* v : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "MV2_COMM_WORLD_SIZE"})
      if (const char* s = std::getenv(v)) n = std::max(n, std::atoi(s));
    XG_CHECK(n <= 1, "distributed::init: started by an MPI launcher as one of ", n,
             " ranks, but this xgrad was built without MPI (install libopenmpi-dev and rebuild)");
#endif
  }
  g.initialized = true;
}

bool is_initialized() { return group().initialized; }

bool is_available() {
#ifdef XGRAD_WITH_MPI
  return true;
#else
  return false;
#endif
}

int rank() { return init(), group().rank; }
int world_size() { return init(), group().size; }
int local_rank() { return init(), group().local_rank; }
int local_world_size() { return init(), group().local_size; }

void abort(const std::string& message, int exit_code) {
  Group& g = group();
  std::fprintf(stderr, "xgrad: rank %d: %s\n", g.rank, message.c_str());
  std::fflush(stderr);
#ifdef XGRAD_WITH_MPI
  if (g.mpi) MPI_Abort(MPI_COMM_WORLD, exit_code);
#endif
  std::_Exit(exit_code);
}

// ---------------------------------------------------------------- Work

bool Work::is_completed() const {
  std::lock_guard<std::mutex> lock(state_->m);
  return state_->done;
}

void Work::wait() {
  std::unique_lock<std::mutex> lock(state_->m);
  auto timeout = group().timeout;
  if (!state_->cv.wait_for(lock, timeout, [&] { return state_->done; }))
    abort(str(name_, " did not complete within ", std::chrono::duration<double>(timeout).count(),
              " s (XGRAD_DISTRIBUTED_TIMEOUT); another rank has stopped or is not calling the same collectives"));
  if (state_->error) std::rethrow_exception(state_->error);
}

double Work::seconds() const {
  std::lock_guard<std::mutex> lock(state_->m);
  return state_->seconds;
}

// ---------------------------------------------------------------- collectives

WorkHandle all_reduce(const Tensor& tensor, ReduceOp op, bool async_op) {
  init();
  check_tensor(tensor, "all_reduce", "the tensor");
  check_op(op, tensor, "all_reduce");
  bump_version(tensor);
  std::string name = str("all_reduce(", reduce_op_name(op), ") of ", dtype_name(tensor.dtype()), tensor.sizes());
  auto run = [tensor, op] {
#ifdef XGRAD_WITH_MPI
    run_request("all_reduce", [&](MPI_Request* r) {
      return MPI_Iallreduce(MPI_IN_PLACE, tensor.raw_data(), static_cast<int>(tensor.numel()), mpi_type(tensor.dtype()),
                             mpi_op(op, tensor.dtype()), group().comm, r);
    });
    if (op == ReduceOp::AVG) divide_by_world(tensor);
#endif
  };
  return submit(std::move(name), run, [] {}, async_op);
}

WorkHandle broadcast(const Tensor& tensor, int src, bool async_op) {
  init();
  check_tensor(tensor, "broadcast", "the tensor");
  XG_CHECK(src >= 0 && src < group().size, "broadcast: src ", src, " is not a rank of this world of size ", group().size);
  bump_version(tensor);
  auto run = [tensor, src] {
#ifdef XGRAD_WITH_MPI
    run_request("broadcast", [&](MPI_Request* r) {
      return MPI_Ibcast(tensor.raw_data(), static_cast<int>(tensor.numel()), mpi_type(tensor.dtype()), src,
                         group().comm, r);
    });
#endif
  };
  return submit(str(describe("broadcast", tensor), " from rank ", src), run, [] {}, async_op);
}

WorkHandle all_gather_into_tensor(const Tensor& output, const Tensor& input, bool async_op) {
  init();
  check_tensor(input, "all_gather_into_tensor", "the input");
  check_tensor(output, "all_gather_into_tensor", "the output");
  const int n = group().size;
  const Shape want = stacked(input, n);
  XG_CHECK(output.sizes() == want && output.dtype() == input.dtype(), "all_gather_into_tensor: the output must be ",
           dtype_name(input.dtype()), want, " (", n, " ranks' inputs of ", dtype_name(input.dtype()), input.sizes(),
           " stacked along dim 0), got ", dtype_name(output.dtype()), output.sizes());
  XG_CHECK(output.raw_data() != input.raw_data() || n == 1, "all_gather_into_tensor: the output and input share memory");
  bump_version(output);
  auto run = [output, input] {
#ifdef XGRAD_WITH_MPI
    int count = static_cast<int>(input.numel());
    run_request("all_gather", [&](MPI_Request* r) {
      return MPI_Iallgather(input.raw_data(), count, mpi_type(input.dtype()), output.raw_data(), count, mpi_type(input.dtype()),
                             group().comm, r);
    });
#endif
  };
  auto local = [output, input] { std::memcpy(output.raw_data(), input.raw_data(), nbytes(input)); };
  return submit(describe("all_gather", input), run, local, async_op);
}

WorkHandle all_gather(const TensorList& outputs, const Tensor& input, bool async_op) {
  init();
  check_tensor(input, "all_gather", "the input");
  const int n = group().size;
  check_per_rank(outputs, input, "all_gather", "output", "input");
  Shape flat = {n, input.numel()};
  Tensor buffer = empty(flat, input.dtype());
  for (auto& o : outputs) bump_version(o);
  Tensor in = input.clone();  // read now: the caller may write its input once this returns
  auto gather = all_gather_into_tensor(buffer, in.reshape({1, in.numel()}), true);
  auto scatter_back = [gather, buffer, outputs] {
    gather->wait();
    for (size_t r = 0; r < outputs.size(); ++r)
      std::memcpy(outputs[r].raw_data(), static_cast<unsigned char*>(buffer.raw_data()) + r * nbytes(outputs[r]),
                  nbytes(outputs[r]));
  };
  if (!group().mpi) {
    scatter_back();
    return gather;
  }
  // Copy back on the communication thread, after the gather (the queue keeps call order).
  return submit(describe("all_gather", input), scatter_back, [] {}, async_op);
}

WorkHandle reduce_scatter_tensor(const Tensor& output, const Tensor& input, ReduceOp op, bool async_op) {
  init();
  check_tensor(input, "reduce_scatter_tensor", "the input");
  check_tensor(output, "reduce_scatter_tensor", "the output");
  check_op(op, input, "reduce_scatter_tensor");
  const int n = group().size;
  const Shape want = stacked(output, n);
  XG_CHECK(input.sizes() == want && output.dtype() == input.dtype(), "reduce_scatter_tensor: the input must be ",
           dtype_name(output.dtype()), want, " (", n, " ranks' chunks of ", dtype_name(output.dtype()), output.sizes(),
           " along dim 0), got ", dtype_name(input.dtype()), input.sizes());
  XG_CHECK(output.raw_data() != input.raw_data() || n == 1, "reduce_scatter_tensor: the output and input share memory");
  bump_version(output);
  auto run = [output, input, op] {
#ifdef XGRAD_WITH_MPI
    run_request("reduce_scatter", [&](MPI_Request* r) {
      return MPI_Ireduce_scatter_block(input.raw_data(), output.raw_data(), static_cast<int>(output.numel()),
                                        mpi_type(input.dtype()), mpi_op(op, input.dtype()), group().comm, r);
    });
    if (op == ReduceOp::AVG) divide_by_world(output);
#endif
  };
  auto local = [output, input] { std::memcpy(output.raw_data(), input.raw_data(), nbytes(output)); };
  return submit(str("reduce_scatter(", reduce_op_name(op), ") of ", dtype_name(input.dtype()), input.sizes()), run, local,
                async_op);
}

WorkHandle reduce_scatter(const Tensor& output, const TensorList& inputs, ReduceOp op, bool async_op) {
  init();
  check_tensor(output, "reduce_scatter", "the output");
  const int n = group().size;
  check_per_rank(inputs, output, "reduce_scatter", "input", "output");
  Tensor packed = empty({n, output.numel()}, output.dtype());
  for (size_t r = 0; r < inputs.size(); ++r)
    std::memcpy(static_cast<unsigned char*>(packed.raw_data()) + r * nbytes(output), inputs[r].raw_data(), nbytes(output));
  return reduce_scatter_tensor(output.reshape({1, output.numel()}), packed, op, async_op);
}

WorkHandle barrier(bool async_op) {
  init();
  auto run = [] {
#ifdef XGRAD_WITH_MPI
    run_request("barrier", [&](MPI_Request* r) {
      return MPI_Ibarrier(group().comm, r);
    });
#endif
  };
  return submit("barrier", run, [] {}, async_op);
}

}  // namespace xgrad::distributed
