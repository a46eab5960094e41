#pragma once
#include <optional>

#include "xgrad/nn/module.hpp"
#include "xgrad/options.hpp"

namespace xgrad::nn {

struct EmbeddingOptions {
  EmbeddingOptions(int64_t num_embeddings, int64_t embedding_dim)
      : num_embeddings_(num_embeddings), embedding_dim_(embedding_dim) {}
  XG_ARG(int64_t, num_embeddings);
  XG_ARG(int64_t, embedding_dim);
  XG_ARG(std::optional<int64_t>, padding_idx);
};

// A lookup table: weight (num_embeddings, embedding_dim) ~ N(0, 1); the padding_idx row starts
// at zero and gets no gradient.
class EmbeddingImpl : public Module {
 public:
  EmbeddingImpl(int64_t num, int64_t dim) : EmbeddingImpl(EmbeddingOptions(num, dim)) {}
  explicit EmbeddingImpl(const EmbeddingOptions& options);
  Tensor forward(const Tensor& indices);
  void pretty_print(std::ostream& os) const override;
  EmbeddingOptions options;
  Tensor weight;
};
XG_MODULE(Embedding);

}  // namespace xgrad::nn
