#pragma once
// C = alpha·op(A)·op(B) + beta·C on row-major buffers, through xtensor-blas's cxxblas (OpenBLAS).
#include <cstdint>

namespace xgrad::kernels {

// op(A) is (M, K): A stored (M, K) or, when trans_a, (K, M); likewise op(B) is (K, N). C is (M, N).
// With `row_init` (N values), every row of C starts as row_init and beta is ignored (C = row_init +
// alpha·op(A)·op(B)): the linear layer's bias, copied by each thread into its own rows just before
// it multiplies them rather than in one serial pass beforehand.
template <class T>
void gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, T alpha, const T* A, const T* B, T beta,
          T* C, const T* row_init = nullptr);

// The same on one thread with explicit leading dimensions (row strides) of A, B and C: the tiles
// of the fused attention, read in place from strided head layouts.
template <class T>
void gemm_ld(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, T alpha, const T* A, int64_t lda,
             const T* B, int64_t ldb, T beta, T* C, int64_t ldc);

}  // namespace xgrad::kernels
