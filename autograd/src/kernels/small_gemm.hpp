#pragma once
// C = alpha·op(A)·op(B) + beta·C for products whose sides are all at most kSmallGemmMax: the tiles
// of the fused attention (16…64 rows and columns, a head's width deep). An OpenBLAS call costs
// about a microsecond before it multiplies anything — it packs both operands and takes a global
// lock for its buffers, which two threads calling it thousands of times a step fight over — while
// a 24 × 24 × 16 product is 0.2 µs of arithmetic. Here op(B) is read in place (or transposed once
// into a stack buffer) and blocks of C, 8 rows × 2 SIMD vectors, accumulate in registers.
#include <cstdint>

namespace xgrad::kernels {

inline constexpr int64_t kSmallGemmMax = 64;

// Same contract as gemm_ld (row-major, leading dimensions lda, ldb, ldc; beta = 0 never reads C).
// Requires 1 ≤ M, N, K ≤ kSmallGemmMax.
template <class T>
void small_gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, T alpha, const T* A, int64_t lda,
                const T* B, int64_t ldb, T beta, T* C, int64_t ldc);

}  // namespace xgrad::kernels
