#include "kernels/gemm.hpp"

#include <algorithm>
#include <vector>
#include <xtensor-blas/xblas.hpp>

// OpenBLAS's own controls (declared here: its cblas.h clashes with xtensor-blas's headers).
extern "C" void openblas_set_num_threads(int);
extern "C" int openblas_get_num_threads(void);

namespace xgrad::kernels {

namespace {
// Small products run single-threaded: waking OpenBLAS's threads costs more than the work, and on
// a busy 2-core machine far more (measured: a 64-wide Transformer step went from ~0.8 s to
// milliseconds). Large ones use every thread.
void choose_threads(int64_t M, int64_t N, int64_t K) {
  static const int max_threads = openblas_get_num_threads();
  thread_local int current = -1;
  const int want = static_cast<double>(M) * N * K >= 512.0 * 512 * 512 ? max_threads : 1;
  if (want != current) {
    openblas_set_num_threads(want);
    current = want;
  }
}
}  // namespace

// Direct loops for tiny products (per-head attention): a BLAS call's fixed cost — argument checks,
// packing A and B into panels — dominates below a few thousand multiply-adds.
template <class T>
void small_gemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, T alpha, const T* A, const T* B, T beta, T* C) {
  if (ta) {  // transpose A (at most 32K elements) so every inner loop below is contiguous
    thread_local std::vector<T> at;
    at.resize(static_cast<size_t>(M * K));
    for (int64_t k = 0; k < K; ++k)
      for (int64_t i = 0; i < M; ++i) at[i * K + k] = A[k * M + i];
    A = at.data();
  }
  for (int64_t i = 0; i < M; ++i) {
    T* c = C + i * N;
    if (beta == T(0)) std::fill(c, c + N, T(0));
    else if (beta != T(1)) for (int64_t j = 0; j < N; ++j) c[j] *= beta;
    if (!tb) {  // c[i, :] += Σ_k a[i, k] · B[k, :]: the inner loop runs along B's rows
      for (int64_t k = 0; k < K; ++k) {
        const T a = alpha * A[i * K + k];
        const T* b = B + k * N;
#pragma omp simd
        for (int64_t j = 0; j < N; ++j) c[j] += a * b[j];
      }
    } else {  // B stored (N, K): each c[i, j] is a dot product of two contiguous rows
      const T* a = A + i * K;
      for (int64_t j = 0; j < N; ++j) {
        const T* b = B + j * K;
        T acc = 0;
#pragma omp simd reduction(+ : acc)
        for (int64_t k = 0; k < K; ++k) acc += a[k] * b[k];
        c[j] += alpha * acc;
      }
    }
  }
}

template <class T>
void gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, T alpha, const T* A, const T* B, T beta,
          T* C) {
  if (M == 0 || N == 0) return;
  if (M * N * K <= 32 * 32 * 32) {
    small_gemm(trans_a, trans_b, M, N, K, alpha, A, B, beta, C);
    return;
  }
  if (K == 0) {  // BLAS leaves C untouched for K = 0 only when beta = 1
    for (int64_t i = 0; i < M * N; ++i) C[i] = beta == T(0) ? T(0) : beta * C[i];
    return;
  }
  choose_threads(M, N, K);
  using cxxblas::Transpose;
  const int lda = static_cast<int>(trans_a ? M : K), ldb = static_cast<int>(trans_b ? K : N);
  cxxblas::gemm(cxxblas::StorageOrder::RowMajor, trans_a ? Transpose::Trans : Transpose::NoTrans,
                trans_b ? Transpose::Trans : Transpose::NoTrans, static_cast<int>(M), static_cast<int>(N),
                static_cast<int>(K), alpha, A, std::max(lda, 1), B, std::max(ldb, 1), beta, C,
                std::max(static_cast<int>(N), 1));
}

template void gemm<float>(bool, bool, int64_t, int64_t, int64_t, float, const float*, const float*, float, float*);
template void gemm<double>(bool, bool, int64_t, int64_t, int64_t, double, const double*, const double*, double,
                           double*);

}  // namespace xgrad::kernels
