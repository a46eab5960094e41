#include "kernels/small_gemm.hpp"

#include <algorithm>
#include <cstring>
#include <type_traits>

#if defined(__AVX__)
#include <immintrin.h>
#endif

namespace xgrad::kernels {

namespace {

// One SIMD register of T (GCC/Clang vector extensions; the compiler picks the instructions).
#if defined(__AVX512F__)
constexpr int kVecBytes = 64;
#else
constexpr int kVecBytes = 32;
#endif
template <class T>
struct Vec;
template <>
struct Vec<float> {
  typedef float type __attribute__((vector_size(kVecBytes)));
};
template <>
struct Vec<double> {
  typedef double type __attribute__((vector_size(kVecBytes)));
};
template <class T>
using V = typename Vec<T>::type;
template <class T>
constexpr int kLanes = kVecBytes / sizeof(T);

template <class T>
V<T> load(const T* p) {
  V<T> v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
template <class T>
void store(T* p, V<T> v) {
  std::memcpy(p, &v, sizeof v);
}

// C[0:R, 0:NV·lanes] = alpha·A·B + beta·C with A(r, k) = A[r·a_row + k·a_col] and B rows ldb
// apart, all NV·lanes columns of B readable; C columns from `valid` on are left alone.
template <class T, int R, int NV>
void block(int64_t K, const T* A, int64_t a_row, int64_t a_col, const T* B, int64_t ldb, T alpha, T beta, T* C,
           int64_t ldc, int valid) {
  constexpr int W = kLanes<T>;
  V<T> acc[R][NV] = {};
  for (int64_t k = 0; k < K; ++k) {
    V<T> b[NV];
#pragma GCC unroll 2
    for (int v = 0; v < NV; ++v) b[v] = load(B + k * ldb + v * W);
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
      const T a = A[r * a_row + k * a_col];
#pragma GCC unroll 2
      for (int v = 0; v < NV; ++v) acc[r][v] += a * b[v];
    }
  }
  for (int r = 0; r < R; ++r)
    for (int v = 0; v < NV; ++v) {
      T* c = C + r * ldc + v * W;
      const int n = std::min(W, valid - v * W);
      if (n <= 0) break;
      V<T> out = alpha * acc[r][v];
      if (n == W) {
        if (beta != T(0)) out += beta * load(c);
        store(c, out);
      } else {  // the last, partial vector of a row
        for (int j = 0; j < W; ++j)
          if (j < n) c[j] = beta != T(0) ? out[j] + beta * c[j] : out[j];
      }
    }
}

// All M rows against one column block: 8 rows at a time (16 accumulators; wider blocks of 4 rows
// × 4 vectors ran at half the rate), then 4, 2, 1 for the rest.
template <class T, int NV>
void rows(int64_t M, int64_t K, const T* A, int64_t a_row, int64_t a_col, const T* B, int64_t ldb, T alpha, T beta,
          T* C, int64_t ldc, int valid) {
  int64_t i = 0;
  for (; i + 8 <= M; i += 8)
    block<T, 8, NV>(K, A + i * a_row, a_row, a_col, B, ldb, alpha, beta, C + i * ldc, ldc, valid);
  if (i + 4 <= M) {
    block<T, 4, NV>(K, A + i * a_row, a_row, a_col, B, ldb, alpha, beta, C + i * ldc, ldc, valid);
    i += 4;
  }
  if (i + 2 <= M) {
    block<T, 2, NV>(K, A + i * a_row, a_row, a_col, B, ldb, alpha, beta, C + i * ldc, ldc, valid);
    i += 2;
  }
  if (i < M) block<T, 1, NV>(K, A + i * a_row, a_row, a_col, B, ldb, alpha, beta, C + i * ldc, ldc, valid);
}

// out[k·ld + j] = B[j·ldb + k] for j < N, k < K: op(B) of a transposed B as rows of the product.
// The element-by-element loop gathers strided scalars and took a fifth of an attention tile's
// product; floats go through 8 × 8 blocks transposed in AVX registers.
template <class T>
void transpose_into(const T* B, int64_t ldb, int64_t N, int64_t K, T* out, int64_t ld) {
  int64_t j0 = 0, k0 = 0;
#if defined(__AVX__)
  if constexpr (std::is_same_v<T, float>) {
    for (j0 = 0; j0 + 8 <= N; j0 += 8) {
      for (k0 = 0; k0 + 8 <= K; k0 += 8) {
        __m256 r[8], t[8];
        for (int i = 0; i < 8; ++i) r[i] = _mm256_loadu_ps(B + (j0 + i) * ldb + k0);
        for (int i = 0; i < 8; i += 2) {
          t[i] = _mm256_unpacklo_ps(r[i], r[i + 1]);
          t[i + 1] = _mm256_unpackhi_ps(r[i], r[i + 1]);
        }
        for (int i = 0; i < 8; i += 4) {
          r[i] = _mm256_shuffle_ps(t[i], t[i + 2], _MM_SHUFFLE(1, 0, 1, 0));
          r[i + 1] = _mm256_shuffle_ps(t[i], t[i + 2], _MM_SHUFFLE(3, 2, 3, 2));
          r[i + 2] = _mm256_shuffle_ps(t[i + 1], t[i + 3], _MM_SHUFFLE(1, 0, 1, 0));
          r[i + 3] = _mm256_shuffle_ps(t[i + 1], t[i + 3], _MM_SHUFFLE(3, 2, 3, 2));
        }
        for (int i = 0; i < 4; ++i) {
          _mm256_storeu_ps(out + (k0 + i) * ld + j0, _mm256_permute2f128_ps(r[i], r[i + 4], 0x20));
          _mm256_storeu_ps(out + (k0 + i + 4) * ld + j0, _mm256_permute2f128_ps(r[i], r[i + 4], 0x31));
        }
      }
      for (int64_t k = k0; k < K; ++k)
        for (int64_t j = j0; j < j0 + 8; ++j) out[k * ld + j] = B[j * ldb + k];
    }
  }
#endif
  for (int64_t k = 0; k < K; ++k)
    for (int64_t j = j0; j < N; ++j) out[k * ld + j] = B[j * ldb + k];
}

}  // namespace

template <class T>
void small_gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, T alpha, const T* A, int64_t lda,
                const T* B, int64_t ldb, T beta, T* C, int64_t ldc) {
  constexpr int W = kLanes<T>;
  const int64_t padded = (N + W - 1) / W * W;
  // op(B) as K rows of `padded` columns: in place when it already is, else copied (transposed,
  // zero-padded to whole vectors) into a buffer on the stack.
  alignas(64) T packed[kSmallGemmMax * kSmallGemmMax];  // N ≤ 64 is whole vectors when padded
  if (trans_b || padded != N) {
    if (trans_b) transpose_into(B, ldb, N, K, packed, padded);
    for (int64_t k = 0; k < K; ++k) {
      T* row = packed + k * padded;
      if (!trans_b) std::copy(B + k * ldb, B + k * ldb + N, row);
      std::fill(row + N, row + padded, T(0));
    }
    B = packed;
    ldb = padded;
  }
  const int64_t a_row = trans_a ? 1 : lda, a_col = trans_a ? lda : 1;
  // Column blocks of up to 2 vectors.
  for (int64_t j0 = 0; j0 < N; j0 += 2 * W) {
    const int valid = static_cast<int>(std::min<int64_t>(2 * W, N - j0));
    if (valid > W)
      rows<T, 2>(M, K, A, a_row, a_col, B + j0, ldb, alpha, beta, C + j0, ldc, valid);
    else
      rows<T, 1>(M, K, A, a_row, a_col, B + j0, ldb, alpha, beta, C + j0, ldc, valid);
  }
}

template void small_gemm<float>(bool, bool, int64_t, int64_t, int64_t, float, const float*, int64_t, const float*,
                                int64_t, float, float*, int64_t);
template void small_gemm<double>(bool, bool, int64_t, int64_t, int64_t, double, const double*, int64_t,
                                 const double*, int64_t, double, double*, int64_t);

}  // namespace xgrad::kernels
