#pragma once
// Threads for xgrad's own memory-bound kernels (softmax, layer norm, cross-entropy on large
// inputs); BLAS keeps its own. Default: XGRAD_NUM_THREADS if set, else the hardware's cores.
// Rows are split into chunks by their count alone, so the same thread count gives the same bits;
// another thread count may round differently in the last places (where a chunk starts, and in
// layer norm's weight and bias gradients, which add per-chunk partial sums).
namespace xgrad {

void set_num_threads(int n);  // n >= 1
int get_num_threads();

}  // namespace xgrad
