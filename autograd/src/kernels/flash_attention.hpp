#pragma once
// Fused scaled dot-product attention on the CPU, FlashAttention-2's algorithm (Dao, 2023): queries
// and keys in tiles, an online softmax, and nothing of size L×S ever stored — the forward keeps the
// output and one log-sum-exp per query row, the backward recomputes each tile's probabilities from
// them. Dropout masks come from dropout.hpp's counter-based generator keyed by `seed`, regenerated
// in the backward.
#include <cstdint>
#include <vector>

namespace xgrad::kernels {

// Where problem n's rows of one tensor live: n = b·heads + h starts at b·batch + h·head, and its
// row i at i·row after that (its last dim contiguous). Contiguous (N, rows, cols): heads 1,
// batch rows·cols, row cols. A packed projection (B, L, 3·E) read as heads: batch L·3E, head hd,
// row 3E, plus the column offset of q, k or v in the base pointer.
struct HeadLayout {
  int64_t batch = 0, head = 0, row = 0;
};

// N independent problems (the flattened batch and head dims): q (N, L, E), k (N, S, E),
// v (N, S, Ev) in their layouts (out, dout and dq, dk, dv share q's, k's, v's and out's own). Scores s = scale·q·kᵀ, then, in this order: key j > query i is
// masked when causal; a Bool mask masks where it is false; a floating mask is added. The mask
// element of (n, i, j) sits at mask_offset[n] + i·mask_stride_l + j·mask_stride_s (strides 0
// where the mask broadcasts). A row with every key masked gives output 0 and gradient 0.
template <class T>
struct AttentionProblem {
  const T *q = nullptr, *k = nullptr, *v = nullptr;
  int64_t N = 0, L = 0, S = 0, E = 0, Ev = 0;
  int64_t heads = 1;
  HeadLayout q_layout, k_layout, v_layout, out_layout;  // contiguous() sets them for packed (N, ·, ·)
  int64_t at(const HeadLayout& l, int64_t n) const { return n / heads * l.batch + n % heads * l.head; }
  void contiguous() {
    heads = 1;
    q_layout = {L * E, 0, E};
    k_layout = {S * E, 0, E};
    v_layout = {S * Ev, 0, Ev};
    out_layout = {L * Ev, 0, Ev};
  }
  T scale = 1;
  bool causal = false;
  const bool* bool_mask = nullptr;
  const T* add_mask = nullptr;
  std::vector<int64_t> mask_offset;  // N entries when a mask is given
  int64_t mask_stride_l = 0, mask_stride_s = 0;
  double dropout_p = 0;  // weights are kept with probability 1 − p and scaled by 1/(1 − p)
  uint64_t seed = 0;
};

// out (N, L, Ev) in out_layout; lse (N, L) contiguous: log Σ_j exp(s_ij), +inf for a row with every key masked.
template <class T>
void flash_attention_forward(const AttentionProblem<T>& p, T* out, T* lse);

// dq, dk, dv (laid out as q, k, v) from dout and the forward's out (out_layout) and lse. Only the
// rows and columns of the N problems are written.
// Each of the N problems is one task (so the result does not depend on the thread count).
template <class T>
void flash_attention_backward(const AttentionProblem<T>& p, const T* out, const T* lse, const T* dout, T* dq, T* dk,
                              T* dv);

// The dropout decision the kernels make at (n, i, j), as a dense (N, L, S) keep mask: for the
// composite formula (grad-of-grad) and tests. Element (n, i, j) uses word (n·L + i)·S + j of the
// dropout stream keyed by seed.
void attention_keep_mask(uint64_t seed, double dropout_p, int64_t N, int64_t L, int64_t S, bool* keep);

}  // namespace xgrad::kernels
