#pragma once
// parallel_for: the rows of a large kernel split into contiguous chunks, one per thread.
#include <cstdint>
#include <functional>

namespace xgrad::kernels {

// Below this many elements of work (~10 us) a kernel runs on the calling thread alone. A worker
// still spinning after its last job (parallel.cpp) starts within a microsecond, which is the usual
// case between the ops of a training step; a sleeping one takes ~100 us. Measured on the 2-core VM
// (bench/train_step, 2 threads): 2^18 -> 2^15 took tiny-seq2seq 40.7 -> 36.3 ms, d2l-seq2seq 144 -> 134
// ms, char-lm unchanged; 2^14 and 2^13 gained nothing more.
inline constexpr int64_t kParallelGrain = 1 << 15;

// Number of chunks parallel_for would use for n items of `work_per_item` elements each.
int parallel_chunks(int64_t n, int64_t work_per_item);

// Calls f(chunk, begin, end) for `chunks` (from parallel_chunks) contiguous slices of [0, n),
// concurrently; chunk 0 runs on the caller. The split depends only on n and chunks.
void parallel_for(int64_t n, int chunks, const std::function<void(int, int64_t, int64_t)>& f);

// Workers spin for about a millisecond after a job, ready for the next; this sends them to sleep
// at once, for code about to start other threads on the same cores (multi-threaded BLAS).
void park_workers();

// Both in one: chunks chosen from the work, for kernels without per-chunk state.
inline void parallel_for(int64_t n, int64_t work_per_item, const std::function<void(int64_t, int64_t)>& f) {
  parallel_for(n, parallel_chunks(n, work_per_item), [&](int, int64_t b, int64_t e) { f(b, e); });
}

}  // namespace xgrad::kernels
