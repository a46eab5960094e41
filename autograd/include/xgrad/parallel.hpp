#pragma once
// xgrad's one set of threads: large matrix products (split by rows of the result, OpenBLAS itself
// kept single-threaded), elementwise and broadcast ops, masked_fill/where, softmax, layer norm,
// cross-entropy and attention tiles. Default: XGRAD_NUM_THREADS if set, else the hardware's cores.
// Work is split into chunks by its size alone, so the same thread count gives the same bits;
// another thread count gives the same bits for elementwise ops and may round differently in the
// last places elsewhere (where a chunk starts, how tall a product's row block is, and layer norm's
// weight and bias gradients, which add per-chunk partial sums).
namespace xgrad {

void set_num_threads(int n);  // n >= 1
int get_num_threads();

}  // namespace xgrad
