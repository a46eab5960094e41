// The matrix-product kernels against plain loops: kernels::small_gemm (the attention tiles'
// products) in long double — every transpose combination, sides 1…64 including partial vectors,
// leading dimensions wider than the matrices, alpha and beta, beta = 0 never reading C, nothing
// outside C's M × N touched — and kernels::gemm's splits over the pool.
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "kernels/gemm.hpp"
#include "kernels/small_gemm.hpp"
#include "xgrad/parallel.hpp"

namespace {

template <class T>
void check_small_gemm(std::mt19937& gen, bool ta, bool tb, int64_t M, int64_t N, int64_t K, T alpha, T beta) {
  std::normal_distribution<double> normal;
  const int64_t lda = (ta ? M : K) + 3, ldb = (tb ? K : N) + 5, ldc = N + 7;
  const int64_t a_rows = ta ? K : M, b_rows = tb ? N : K;
  std::vector<T> A(a_rows * lda), B(b_rows * ldb), C(M * ldc);
  for (auto& x : A) x = static_cast<T>(normal(gen));
  for (auto& x : B) x = static_cast<T>(normal(gen));
  const T sentinel = T(12345);
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = 0; j < ldc; ++j)
      C[i * ldc + j] = j >= N ? sentinel : beta == T(0) ? std::numeric_limits<T>::quiet_NaN()
                                                         : static_cast<T>(normal(gen));
  std::vector<T> C0 = C;
  xgrad::kernels::small_gemm<T>(ta, tb, M, N, K, alpha, A.data(), lda, B.data(), ldb, beta, C.data(), ldc);
  const double tol = std::is_same_v<T, float> ? 2e-5 : 1e-13;
  for (int64_t i = 0; i < M; ++i) {
    for (int64_t j = 0; j < N; ++j) {
      long double dot = 0, mag = 0;
      for (int64_t k = 0; k < K; ++k) {
        const long double a = ta ? A[k * lda + i] : A[i * lda + k], b = tb ? B[j * ldb + k] : B[k * ldb + j];
        dot += a * b;
        mag += std::fabs(a * b);
      }
      long double want = alpha * dot;
      if (beta != T(0)) want += beta * static_cast<long double>(C0[i * ldc + j]);
      INFO(ta << tb << " M " << M << " N " << N << " K " << K << " at " << i << "," << j);
      REQUIRE(std::isfinite(C[i * ldc + j]));
      REQUIRE(std::fabs(C[i * ldc + j] - want) <= tol * (1 + std::fabs(alpha) * mag + std::fabs(want)));
    }
    for (int64_t j = N; j < ldc; ++j) REQUIRE(C[i * ldc + j] == sentinel);
  }
}

}  // namespace

TEMPLATE_TEST_CASE("small_gemm equals the product for every layout and size up to 64", "[gemm]", float, double) {
  std::mt19937 gen(7);
  std::uniform_int_distribution<int64_t> side(1, xgrad::kernels::kSmallGemmMax);
  const int64_t edges[] = {1, 3, 4, 5, 8, 15, 16, 17, 24, 31, 32, 33, 48, 63, 64};
  for (int ta = 0; ta < 2; ++ta)
    for (int tb = 0; tb < 2; ++tb) {
      for (int64_t e : edges) {  // each edge size on each side once
        check_small_gemm<TestType>(gen, ta, tb, e, side(gen), side(gen), TestType(0.7), TestType(0));
        check_small_gemm<TestType>(gen, ta, tb, side(gen), e, side(gen), TestType(1), TestType(1));
        check_small_gemm<TestType>(gen, ta, tb, side(gen), side(gen), e, TestType(-1.3), TestType(0.5));
      }
      for (int trial = 0; trial < 20; ++trial)
        check_small_gemm<TestType>(gen, ta, tb, side(gen), side(gen), side(gen), TestType(0.3), TestType(-2));
    }
}

TEST_CASE("gemm_ld takes the small kernel and OpenBLAS to the same answer", "[gemm]") {
  // 64 is the small kernel's largest side, 65 goes to OpenBLAS: both compute the same products.
  std::mt19937 gen(11);
  std::normal_distribution<double> normal;
  for (int64_t K : {64, 65}) {
    const int64_t M = 40, N = 50;
    std::vector<double> A(M * K), B(N * K), C(M * N);
    for (auto& x : A) x = normal(gen);
    for (auto& x : B) x = normal(gen);
    xgrad::kernels::gemm_ld<double>(false, true, M, N, K, 1.0, A.data(), K, B.data(), K, 0.0, C.data(), N);
    for (int64_t i = 0; i < M; ++i)
      for (int64_t j = 0; j < N; ++j) {
        double want = 0;
        for (int64_t k = 0; k < K; ++k) want += A[i * K + k] * B[j * K + k];
        REQUIRE(C[i * N + j] == Approx(want).epsilon(1e-12).margin(1e-12));
      }
  }
}

TEST_CASE("gemm's splits over the pool (deep products by K, tall ones by claimed pieces) give the product",
          "[gemm]") {
  // 2 threads: 64 × 64 × 8192 is split along K (a weight gradient's shape), 4096 × 48 × 64 by rows
  // in claimed pieces; every layout against a double-precision loop, beta 0 and 1, and the same
  // bits when run again.
  const int saved = xgrad::get_num_threads();
  xgrad::set_num_threads(2);
  std::mt19937 gen(5);
  std::normal_distribution<float> normal;
  struct Shape3 {
    int64_t M, N, K;
  };
  for (Shape3 sh : {Shape3{64, 64, 8192}, Shape3{4096, 48, 64}})
    for (int ta = 0; ta < 2; ++ta)
      for (int tb = 0; tb < 2; ++tb)
        for (float beta : {0.f, 1.f}) {
          const int64_t M = sh.M, N = sh.N, K = sh.K;
          std::vector<float> A(M * K), B(K * N), C(M * N), C0;
          for (auto& x : A) x = normal(gen);
          for (auto& x : B) x = normal(gen);
          for (auto& x : C) x = normal(gen);
          C0 = C;
          xgrad::kernels::gemm<float>(ta, tb, M, N, K, 0.5f, A.data(), B.data(), beta, C.data());
          std::vector<float> again = C0;
          xgrad::kernels::gemm<float>(ta, tb, M, N, K, 0.5f, A.data(), B.data(), beta, again.data());
          REQUIRE(again == C);
          for (int64_t i = 0; i < M; ++i)
            for (int64_t j = 0; j < N; ++j) {
              double dot = 0, mag = 0;
              for (int64_t k = 0; k < K; ++k) {
                const double a = ta ? A[k * M + i] : A[i * K + k], b = tb ? B[j * K + k] : B[k * N + j];
                dot += a * b;
                mag += std::fabs(a * b);
              }
              const double want = 0.5 * dot + beta * C0[i * N + j];
              INFO(ta << tb << " " << M << "x" << N << "x" << K << " beta " << beta << " at " << i << "," << j);
              REQUIRE(std::fabs(C[i * N + j] - want) <= 1e-5 * (1 + mag));
            }
        }
  xgrad::set_num_threads(saved);
}
