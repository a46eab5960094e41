#include "xgrad/nn/embedding.hpp"

#include "xgrad/grad_mode.hpp"
#include "xgrad/nn/init.hpp"
#include "xgrad/ops.hpp"

namespace xgrad::nn {

EmbeddingImpl::EmbeddingImpl(const EmbeddingOptions& o) : options(o) {
  XG_CHECK(o.num_embeddings() > 0 && o.embedding_dim() > 0, "Embedding: sizes must be positive, got ",
           o.num_embeddings(), " x ", o.embedding_dim());
  if (o.padding_idx()) {
    int64_t p = *o.padding_idx();
    XG_CHECK(p >= -o.num_embeddings() && p < o.num_embeddings(), "Embedding: padding_idx ", p,
             " must be within num_embeddings (", o.num_embeddings(), ")");
    if (p < 0) options.padding_idx(p + o.num_embeddings());
  }
  weight = register_parameter("weight", empty({o.num_embeddings(), o.embedding_dim()}));
  init::normal_(weight);
  if (options.padding_idx()) {
    NoGradGuard ng;
    float* row = weight.data_ptr<float>() + *options.padding_idx() * o.embedding_dim();
    std::fill(row, row + o.embedding_dim(), 0.0f);
  }
}

Tensor EmbeddingImpl::forward(const Tensor& indices) { return embedding(indices, weight, options.padding_idx()); }

void EmbeddingImpl::pretty_print(std::ostream& os) const {
  os << "Embedding(" << options.num_embeddings() << ", " << options.embedding_dim();
  if (options.padding_idx()) os << ", padding_idx=" << *options.padding_idx();
  os << ")";
}

}  // namespace xgrad::nn
