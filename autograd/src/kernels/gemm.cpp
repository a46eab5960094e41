#include "kernels/gemm.hpp"

#include <algorithm>
#include <atomic>
#include <xtensor-blas/xblas.hpp>

#include "kernels/parallel.hpp"

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
  static std::atomic<int> current{-1};  // OpenBLAS's setting is process-wide, so is this record of it
  // Products called from a chunk of our own pool (attention tiles) run on that thread alone.
  const bool big = static_cast<double>(M) * N * K >= 512.0 * 512 * 512 && !in_parallel_region();
  const int want = big ? max_threads : 1;
  if (want > 1) park_workers();  // our spinning workers would compete with BLAS's threads
  if (current.exchange(want, std::memory_order_relaxed) != want) openblas_set_num_threads(want);
}
}  // namespace

template <class T>
void gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, T alpha, const T* A, const T* B, T beta,
          T* C) {
  if (M == 0 || N == 0) return;
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
