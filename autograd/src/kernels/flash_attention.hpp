#pragma once
// Fused scaled dot-product attention on the CPU, FlashAttention-2's algorithm (Dao, 2023): queries
// and keys in tiles, an online softmax, and nothing of size L×S ever stored — the forward keeps the
// output and one log-sum-exp per query row, the backward recomputes each tile's probabilities from
// them. Dropout masks come from dropout.hpp's counter-based generator keyed by `seed`, regenerated
// in the backward.
#include <cstdint>
#include <vector>

namespace xgrad::kernels {

// N independent problems (the flattened batch and head dims): q (N, L, E), k (N, S, E),
// v (N, S, Ev), all contiguous. Scores s = scale·q·kᵀ, then, in this order: key j > query i is
// masked when causal; a Bool mask masks where it is false; a floating mask is added. The mask
// element of (n, i, j) sits at mask_offset[n] + i·mask_stride_l + j·mask_stride_s (strides 0
// where the mask broadcasts). A row with every key masked gives output 0 and gradient 0.
template <class T>
struct AttentionProblem {
  const T *q = nullptr, *k = nullptr, *v = nullptr;
  int64_t N = 0, L = 0, S = 0, E = 0, Ev = 0;
  T scale = 1;
  bool causal = false;
  const bool* bool_mask = nullptr;
  const T* add_mask = nullptr;
  std::vector<int64_t> mask_offset;  // N entries when a mask is given
  int64_t mask_stride_l = 0, mask_stride_s = 0;
  double dropout_p = 0;  // weights are kept with probability 1 − p and scaled by 1/(1 − p)
  uint64_t seed = 0;
};

// out (N, L, Ev); lse (N, L): log Σ_j exp(s_ij), +inf for a row with every key masked.
template <class T>
void flash_attention_forward(const AttentionProblem<T>& p, T* out, T* lse);

// dq (N, L, E), dk (N, S, E), dv (N, S, Ev) from dout (N, L, Ev) and the forward's out and lse.
// Each of the N problems is one task (so the result does not depend on the thread count).
template <class T>
void flash_attention_backward(const AttentionProblem<T>& p, const T* out, const T* lse, const T* dout, T* dq, T* dk,
                              T* dv);

// The dropout decision the kernels make at (n, i, j), as a dense (N, L, S) keep mask: for the
// composite formula (grad-of-grad) and tests. Element (n, i, j) uses word (n·L + i)·S + j of the
// dropout stream keyed by seed.
void attention_keep_mask(uint64_t seed, double dropout_p, int64_t N, int64_t L, int64_t S, bool* keep);

}  // namespace xgrad::kernels
