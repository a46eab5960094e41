#include "kernels/gemm.hpp"

#include <algorithm>
#include <atomic>
#include <memory>
#include <xtensor-blas/xblas.hpp>

#include "allocator.hpp"
#include "kernels/parallel.hpp"
#include "kernels/small_gemm.hpp"

// OpenBLAS's own controls (declared here: its cblas.h clashes with xtensor-blas's headers).
// blas_thread_shutdown_ (exported; OpenBLAS calls it itself before fork) ends the server threads
// it started at load time for OPENBLAS_NUM_THREADS > 1, which otherwise spin on sched_yield.
extern "C" void openblas_set_num_threads(int);
extern "C" int blas_thread_shutdown_(void);

namespace xgrad::kernels {

namespace {
// OpenBLAS always runs single-threaded; large products are split by rows of C over xgrad's own
// pool instead. One set of threads: OpenBLAS's pthreads, spinning on sched_yield after each call,
// used to fight the pool's workers for the two cores (a char-lm step spent 17% in sched_yield and
// got 1.19x from its second core).
void single_threaded_blas() {
  static const bool done = [] {
    openblas_set_num_threads(1);
    blas_thread_shutdown_();
    return true;
  }();
  (void)done;
}

struct FreeBuffer {
  size_t bytes;
  void operator()(void* p) const { detail::free_buffer(p, bytes); }
};

template <class T>
void blas_gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, T alpha, const T* A, int64_t lda,
               const T* B, int64_t ldb, T beta, T* C, int64_t ldc) {
  using cxxblas::Transpose;
  cxxblas::gemm(cxxblas::StorageOrder::RowMajor, trans_a ? Transpose::Trans : Transpose::NoTrans,
                trans_b ? Transpose::Trans : Transpose::NoTrans, static_cast<int>(M), static_cast<int>(N),
                static_cast<int>(K), alpha, A, static_cast<int>(std::max<int64_t>(lda, 1)), B,
                static_cast<int>(std::max<int64_t>(ldb, 1)), beta, C, static_cast<int>(std::max<int64_t>(ldc, 1)));
}
}  // namespace

template <class T>
void gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, T alpha, const T* A, const T* B, T beta,
          T* C, const T* row_init) {
  if (M == 0 || N == 0) return;
  auto init_rows = [&](int64_t r0, int64_t r1) {
    if (row_init)
      for (int64_t r = r0; r < r1; ++r) std::copy(row_init, row_init + N, C + r * N);
  };
  if (row_init) beta = T(1);
  if (K == 0) {  // BLAS leaves C untouched for K = 0 only when beta = 1
    if (row_init) return init_rows(0, M);
    for (int64_t i = 0; i < M * N; ++i) C[i] = beta == T(0) ? T(0) : beta * C[i];
    return;
  }
  single_threaded_blas();
  const int64_t lda = trans_a ? M : K, ldb = trans_b ? K : N;
  // Rows of C in blocks of 16 (whole micro-kernel panels): chunk c computes rows [r0, r1) from
  // rows r0.. of op(A) — row offset r0 of A, or column offset r0 when A is stored transposed.
  constexpr int64_t kRows = 16;
  const int64_t blocks = (M + kRows - 1) / kRows;
  // A multiply-add weighs 1/32 of an element of the pool's memory-bound grain: products above
  // about 8 M multiply-adds are split.
  const int chunks = parallel_chunks(blocks, kRows * N * K / 32);
  if (chunks <= 1) {
    init_rows(0, M);
    blas_gemm(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, N);
    return;
  }
  // Deep products (K ≥ 16·max(M, N): a weight gradient, summed over thousands of rows) split K:
  // split by rows, each thread would read and pack all of op(B). Chunk c multiplies its stretch of
  // K into its own partial (chunk 0's into C); the partials are then added in chunk order.
  if (K >= 16 * std::max(M, N)) {
    init_rows(0, M);
    // From the tensors' caching allocator: a step asks for the same sizes every time (fresh pages
    // from malloc were faulted in again on every weight gradient). Every element is written.
    const size_t bytes = sizeof(T) * static_cast<size_t>((chunks - 1) * M * N);
    std::unique_ptr<T[], FreeBuffer> partial(static_cast<T*>(detail::alloc_buffer(bytes)), FreeBuffer{bytes});
    parallel_for(chunks, chunks, [&](int c, int64_t, int64_t) {
      const int64_t k0 = K * c / chunks, k1 = K * (c + 1) / chunks;
      const T* a = trans_a ? A + k0 * lda : A + k0;
      const T* b = trans_b ? B + k0 : B + k0 * ldb;
      T* out = c == 0 ? C : partial.get() + (c - 1) * M * N;
      blas_gemm(trans_a, trans_b, M, N, k1 - k0, alpha, a, lda, b, ldb, c == 0 ? beta : T(0), out, N);
    });
    parallel_for(M, N, [&](int64_t r0, int64_t r1) {
      for (int c = 1; c < chunks; ++c) {
        const T* src = partial.get() + (c - 1) * M * N;
        for (int64_t i = r0 * N; i < r1 * N; ++i) C[i] += src[i];
      }
    });
    return;
  }
  auto rows = [&](int64_t b0, int64_t b1) {
    const int64_t r0 = b0 * kRows, r1 = std::min(b1 * kRows, M);
    const T* a = trans_a ? A + r0 : A + r0 * lda;
    init_rows(r0, r1);
    blas_gemm(trans_a, trans_b, r1 - r0, N, K, alpha, a, lda, B, ldb, beta, C + r0 * N, N);
  };
  // Tall products (op(B) a small share of the data: a layer's weight against 8192 rows) go in 4
  // pieces per thread, claimed in turn, so a thread that starts late or runs slower doesn't leave
  // the other waiting; each call packs B again, cheap only when B is small. The pieces depend on M
  // alone and each row of C is computed whole by one call: any claiming order gives the same bits.
  if (N * 16 <= M) {
    const int64_t pieces = std::min<int64_t>(blocks, 4 * chunks);
    std::atomic<int64_t> next{0};
    parallel_for(chunks, chunks, [&](int, int64_t, int64_t) {
      for (int64_t p; (p = next.fetch_add(1, std::memory_order_relaxed)) < pieces;)
        rows(blocks * p / pieces, blocks * (p + 1) / pieces);
    });
    return;
  }
  parallel_for(blocks, chunks, [&](int, int64_t b0, int64_t b1) { rows(b0, b1); });
}

template <class T>
void gemm_ld(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, T alpha, const T* A, int64_t lda,
             const T* B, int64_t ldb, T beta, T* C, int64_t ldc) {
  if (M == 0 || N == 0) return;
  if (K == 0) {
    for (int64_t i = 0; i < M; ++i)
      for (int64_t j = 0; j < N; ++j) C[i * ldc + j] = beta == T(0) ? T(0) : beta * C[i * ldc + j];
    return;
  }
  if (M <= kSmallGemmMax && N <= kSmallGemmMax && K <= kSmallGemmMax)
    return small_gemm(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
  single_threaded_blas();
  blas_gemm(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

template void gemm<float>(bool, bool, int64_t, int64_t, int64_t, float, const float*, const float*, float, float*,
                          const float*);
template void gemm<double>(bool, bool, int64_t, int64_t, int64_t, double, const double*, const double*, double,
                           double*, const double*);
template void gemm_ld<float>(bool, bool, int64_t, int64_t, int64_t, float, const float*, int64_t, const float*,
                             int64_t, float, float*, int64_t);
template void gemm_ld<double>(bool, bool, int64_t, int64_t, int64_t, double, const double*, int64_t, const double*,
                              int64_t, double, double*, int64_t);

}  // namespace xgrad::kernels
