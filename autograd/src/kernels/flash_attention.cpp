#include "kernels/flash_attention.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "kernels/dropout.hpp"
#include "kernels/gemm.hpp"
#include "kernels/parallel.hpp"
#include "kernels/vec_math.hpp"

namespace xgrad::kernels {

namespace {

// Query rows and keys per tile: a 64×64 score tile (16 KB in float32) and the q, k, v tiles of a
// 64-wide head stay in L1/L2 while the four products of a step run over them.
constexpr int64_t kBr = 64, kBc = 64;

template <class T>
struct Tiles {
  const AttentionProblem<T>& p;
  int64_t n;

  // s (br×bc) = scale·q[i0:i0+br]·k[j0:j0+bc]ᵀ, then masked (−inf) or shifted by the mask.
  void scores(int64_t i0, int64_t br, int64_t j0, int64_t bc, T* s) const {
    gemm_ld(false, true, br, bc, p.E, p.scale, p.q + p.at(p.q_layout, n) + i0 * p.q_layout.row, p.q_layout.row,
            p.k + p.at(p.k_layout, n) + j0 * p.k_layout.row, p.k_layout.row, T(0), s, bc);
    constexpr T ninf = -std::numeric_limits<T>::infinity();
    if (p.causal)
      for (int64_t r = 0; r < br; ++r)
        for (int64_t c = std::max<int64_t>(0, i0 + r + 1 - j0); c < bc; ++c) s[r * bc + c] = ninf;
    if (p.bool_mask) {
      const bool* m = p.bool_mask + p.mask_offset[n] + i0 * p.mask_stride_l + j0 * p.mask_stride_s;
      for (int64_t r = 0; r < br; ++r)
        for (int64_t c = 0; c < bc; ++c)
          if (!m[r * p.mask_stride_l + c * p.mask_stride_s]) s[r * bc + c] = ninf;
    } else if (p.add_mask) {
      const T* m = p.add_mask + p.mask_offset[n] + i0 * p.mask_stride_l + j0 * p.mask_stride_s;
      for (int64_t r = 0; r < br; ++r)
        for (int64_t c = 0; c < bc; ++c) s[r * bc + c] += m[r * p.mask_stride_l + c * p.mask_stride_s];
    }
  }

  // z (br×bc): the dropout multipliers, 0 or 1/(1 − p); (n, i, j) is element (n·L + i)·S + j of
  // the dropout stream keyed by the seed.
  void dropout(int64_t i0, int64_t br, int64_t j0, int64_t bc, T* z) const {
    for (int64_t r = 0; r < br; ++r)
      dropout_span<T>(p.seed, static_cast<uint64_t>((n * p.L + i0 + r) * p.S + j0), bc, p.dropout_p, nullptr,
                      z + r * bc);
  }
};

// Tasks split over the pool round-robin (task t on chunk t mod chunks): causal tiles differ in
// cost, and each task writes its own rows, so the split never changes the result. Each chunk makes
// its scratch once (`make`) and hands it to every task it runs: decoding runs thousands of tiny
// tasks.
template <class Make, class F>
void for_each_task(int64_t tasks, int64_t work_per_task, Make&& make, F&& f) {
  const int chunks = parallel_chunks(tasks, work_per_task);
  parallel_for(tasks, chunks, [&](int c, int64_t, int64_t) {
    auto scratch = make();
    for (int64_t t = c; t < tasks; t += chunks) f(t, scratch);
  });
}

}  // namespace

template <class T>
void flash_attention_forward(const AttentionProblem<T>& p, T* out, T* lse) {
  const int64_t L = p.L, S = p.S, Ev = p.Ev, row_tiles = (L + kBr - 1) / kBr;
  const bool drop = p.dropout_p > 0;
  struct Scratch {
    std::vector<T> s, z, acc, m, l;
  };
  const int64_t rows = std::min(kBr, L);
  auto make = [&] {
    return Scratch{std::vector<T>(kBr * kBc), std::vector<T>(drop ? kBr * kBc : 0), std::vector<T>(kBr * Ev),
                   std::vector<T>(kBr), std::vector<T>(kBr)};
  };
  for_each_task(p.N * row_tiles, rows * S * (p.E + Ev), make, [&](int64_t task, Scratch& sc) {
    // Row tile (task + n) mod row_tiles: round-robin over the pool would otherwise give a chunk the
    // same causal row tiles of every head (with 2 tiles and 2 threads, one thread all the cheap ones).
    const int64_t n = task / row_tiles, i0 = (task + n) % row_tiles * kBr, br = std::min(kBr, L - i0);
    const Tiles<T> tiles{p, n};
    std::vector<T> &s = sc.s, &z = sc.z, &acc = sc.acc, &m = sc.m, &l = sc.l;
    std::fill(acc.begin(), acc.begin() + br * Ev, T(0));
    std::fill(m.begin(), m.end(), T(-INFINITY));
    std::fill(l.begin(), l.end(), T(0));
    // Causal: keys past the tile's last row are masked for all its rows — never computed.
    const int64_t j_end = p.causal ? std::min(S, i0 + br) : S;
    for (int64_t j0 = 0; j0 < j_end; j0 += kBc) {
      const int64_t bc = std::min(kBc, j_end - j0);
      tiles.scores(i0, br, j0, bc, s.data());
      for (int64_t r = 0; r < br; ++r) {
        T* row = s.data() + r * bc;
        const T m_new = std::max(m[r], row_max(row, bc));
        if (m_new == -INFINITY) {  // every key so far masked: nothing to add yet
          std::fill(row, row + bc, T(0));
          continue;
        }
        const T alpha = std::exp(m[r] - m_new);  // 0 on the first unmasked tile (m = −inf)
        l[r] = l[r] * alpha + exp_shifted(row, row, bc, m_new);
        m[r] = m_new;
        if (alpha != T(1))
          for (int64_t d = 0; d < Ev; ++d) acc[r * Ev + d] *= alpha;
      }
      if (drop) {  // the normaliser l sums the probabilities before dropout, as dropout(softmax(s))
        tiles.dropout(i0, br, j0, bc, z.data());
        for (int64_t e = 0; e < br * bc; ++e) s[e] *= z[e];
      }
      gemm_ld(false, false, br, Ev, bc, T(1), s.data(), bc, p.v + p.at(p.v_layout, n) + j0 * p.v_layout.row,
              p.v_layout.row, T(1), acc.data(), Ev);
    }
    for (int64_t r = 0; r < br; ++r) {
      T* o = out + p.at(p.out_layout, n) + (i0 + r) * p.out_layout.row;
      const T inv = l[r] > 0 ? T(1) / l[r] : T(0);
      for (int64_t d = 0; d < Ev; ++d) o[d] = acc[r * Ev + d] * inv;
      lse[n * L + i0 + r] = l[r] > 0 ? m[r] + std::log(l[r]) : T(INFINITY);
    }
  });
}

// With P = softmax(s) and Z the dropout multipliers, out = (P∘Z)·v. From dout:
//   dv = (P∘Z)ᵀ·dout,  dP = (dout·vᵀ)∘Z,  ds = P∘(dP − D) with D_i = Σ_j dP_ij·P_ij = dout_i·out_i,
//   dq = scale·ds·k,   dk = scale·dsᵀ·q.
template <class T>
void flash_attention_backward(const AttentionProblem<T>& p, const T* out, const T* lse, const T* dout, T* dq, T* dk,
                              T* dv) {
  const int64_t L = p.L, S = p.S, E = p.E, Ev = p.Ev;
  const bool drop = p.dropout_p > 0;
  struct Scratch {
    std::vector<T> P, dP, z, Pz, D;
  };
  auto make = [&] {
    return Scratch{std::vector<T>(kBr * kBc), std::vector<T>(kBr * kBc), std::vector<T>(drop ? kBr * kBc : 0),
                   std::vector<T>(drop ? kBr * kBc : 0), std::vector<T>(L)};
  };
  for_each_task(p.N, L * S * (2 * E + 2 * Ev), make, [&](int64_t n, Scratch& sc) {
    const Tiles<T> tiles{p, n};
    std::vector<T> &P = sc.P, &dP = sc.dP, &z = sc.z, &Pz = sc.Pz, &D = sc.D;
    const int64_t qr = p.q_layout.row, kr = p.k_layout.row, vr = p.v_layout.row, orow = p.out_layout.row;
    const int64_t qn = p.at(p.q_layout, n), kn = p.at(p.k_layout, n), vn = p.at(p.v_layout, n);
    const T *q = p.q + qn, *k = p.k + kn, *v = p.v + vn;
    const T *o = out + p.at(p.out_layout, n), *g = dout + p.at(p.out_layout, n), *lse_n = lse + n * L;
    T *dq_n = dq + qn, *dk_n = dk + kn, *dv_n = dv + vn;
    for (int64_t i = 0; i < L; ++i) D[i] = row_dot(g + i * orow, o + i * orow, Ev);
    // dq, dk and dv are not zeroed first: a tile's first product writes them (beta 0) — dq's rows
    // at key tile 0, which every query tile visits, dk's and dv's at their first query tile.
    if (S == 0)
      for (int64_t i = 0; i < L; ++i) std::fill(dq_n + i * qr, dq_n + i * qr + E, T(0));
    for (int64_t j0 = 0; j0 < S; j0 += kBc) {
      const int64_t bc = std::min(kBc, S - j0);
      // Causal: query tiles whose rows all lie above key j0 see none of these keys.
      const int64_t i_begin = p.causal ? j0 / kBr * kBr : 0;
      if (i_begin >= L)  // no query sees these keys: their gradients are 0
        for (int64_t j = j0; j < j0 + bc; ++j) {
          std::fill(dk_n + j * kr, dk_n + j * kr + E, T(0));
          std::fill(dv_n + j * vr, dv_n + j * vr + Ev, T(0));
        }
      for (int64_t i0 = i_begin; i0 < L; i0 += kBr) {
        const int64_t br = std::min(kBr, L - i0);
        const T first_k = i0 == i_begin ? T(0) : T(1), first_q = j0 == 0 ? T(0) : T(1);  // betas
        tiles.scores(i0, br, j0, bc, P.data());
        for (int64_t r = 0; r < br; ++r) exp_shifted(&P[r * bc], &P[r * bc], bc, lse_n[i0 + r]);  // +inf → 0
        const T* Pd = P.data();
        if (drop) {
          tiles.dropout(i0, br, j0, bc, z.data());
          for (int64_t e = 0; e < br * bc; ++e) Pz[e] = P[e] * z[e];
          Pd = Pz.data();
        }
        gemm_ld(true, false, bc, Ev, br, T(1), Pd, bc, g + i0 * orow, orow, first_k, dv_n + j0 * vr, vr);
        gemm_ld(false, true, br, bc, Ev, T(1), g + i0 * orow, orow, v + j0 * vr, vr, T(0), dP.data(), bc);
        for (int64_t r = 0; r < br; ++r) {
          T* ds = &dP[r * bc];
          const T* pr = &P[r * bc];
          const T Di = D[i0 + r];
          if (drop)
            for (int64_t c = 0; c < bc; ++c) ds[c] = pr[c] * (ds[c] * z[r * bc + c] - Di);
          else
            for (int64_t c = 0; c < bc; ++c) ds[c] = pr[c] * (ds[c] - Di);
        }
        gemm_ld(false, false, br, E, bc, p.scale, dP.data(), bc, k + j0 * kr, kr, first_q, dq_n + i0 * qr, qr);
        gemm_ld(true, false, bc, E, br, p.scale, dP.data(), bc, q + i0 * qr, qr, first_k, dk_n + j0 * kr, kr);
      }
    }
  });
}

void attention_keep_mask(uint64_t seed, double dropout_p, int64_t N, int64_t L, int64_t S, bool* keep) {
  const uint32_t threshold = keep_threshold(dropout_p);
  dropout_words(seed, 0, N * L * S, [&](int64_t e, uint32_t w) { keep[e] = w >= threshold; });
}

template void flash_attention_forward<float>(const AttentionProblem<float>&, float*, float*);
template void flash_attention_forward<double>(const AttentionProblem<double>&, double*, double*);
template void flash_attention_backward<float>(const AttentionProblem<float>&, const float*, const float*,
                                              const float*, float*, float*, float*);
template void flash_attention_backward<double>(const AttentionProblem<double>&, const double*, const double*,
                                               const double*, double*, double*, double*);

}  // namespace xgrad::kernels
