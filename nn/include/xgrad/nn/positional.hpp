#pragma once
// Positional encodings for batch-first (B, T, d) inputs.
#include "xgrad/nn/module.hpp"
#include "xgrad/options.hpp"

namespace xgrad::nn {

struct PositionalEncodingOptions {
  PositionalEncodingOptions(int64_t num_hiddens) : num_hiddens_(num_hiddens) {}  // NOLINT
  XG_ARG(int64_t, num_hiddens);
  XG_ARG(double, dropout) = 0.0;
  XG_ARG(int64_t, max_len) = 1000;
};

// Vaswani et al. (2017), as d2l: P[t, 2j] = sin(t / 10000^(2j/d)), P[t, 2j+1] = cos(...);
// forward returns dropout(X + P[offset : offset + T]). The table is a constant, not a parameter.
class PositionalEncodingImpl : public Module {
 public:
  PositionalEncodingImpl(int64_t num_hiddens, double dropout = 0.0, int64_t max_len = 1000)
      : PositionalEncodingImpl(PositionalEncodingOptions(num_hiddens).dropout(dropout).max_len(max_len)) {}
  explicit PositionalEncodingImpl(const PositionalEncodingOptions& options);
  Tensor forward(const Tensor& X, int64_t offset = 0);
  PositionalEncodingOptions options;
  Tensor P;  // (max_len, num_hiddens), Float64

 private:
  Tensor P_float_;  // P as Float32, made with P: forward only reads (safe from several threads)
};
XG_MODULE(PositionalEncoding);

struct LearnedPositionalEncodingOptions {
  LearnedPositionalEncodingOptions(int64_t max_len, int64_t num_hiddens) : max_len_(max_len), num_hiddens_(num_hiddens) {}
  XG_ARG(int64_t, max_len);
  XG_ARG(int64_t, num_hiddens);
  XG_ARG(double, dropout) = 0.0;
};

// A learned table of position vectors (max_len, d), initialised N(0, 0.02²) as in GPT-2.
class LearnedPositionalEncodingImpl : public Module {
 public:
  LearnedPositionalEncodingImpl(int64_t max_len, int64_t num_hiddens, double dropout = 0.0)
      : LearnedPositionalEncodingImpl(LearnedPositionalEncodingOptions(max_len, num_hiddens).dropout(dropout)) {}
  explicit LearnedPositionalEncodingImpl(const LearnedPositionalEncodingOptions& options);
  Tensor forward(const Tensor& X, int64_t offset = 0);
  LearnedPositionalEncodingOptions options;
  Tensor weight;
};
XG_MODULE(LearnedPositionalEncoding);

}  // namespace xgrad::nn
