#pragma once
// C = alpha·op(A)·op(B) + beta·C on row-major buffers, through xtensor-blas's cxxblas (OpenBLAS).
#include <cstdint>

namespace xgrad::kernels {

// op(A) is (M, K): A stored (M, K) or, when trans_a, (K, M); likewise op(B) is (K, N). C is (M, N).
template <class T>
void gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, T alpha, const T* A, const T* B, T beta,
          T* C);

// The same on one thread with explicit leading dimensions (row strides) of A, B and C: the tiles
// of the fused attention, read in place from strided head layouts.
template <class T>
void gemm_ld(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, T alpha, const T* A, int64_t lda,
             const T* B, int64_t ldb, T beta, T* C, int64_t ldc);

}  // namespace xgrad::kernels
