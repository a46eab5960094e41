#pragma once
// The Transformer of "Attention Is All You Need", with torch.nn's structure and parameter names
// (self_attn, multihead_attn, linear1, linear2, norm1..3; layers.N; encoder/decoder.norm),
// post-LN or pre-LN (norm_first), batch first, and a key/value cache for incremental decoding.
#include <string>
#include <vector>

#include "xgrad/nn/activation.hpp"
#include "xgrad/nn/attention.hpp"
#include "xgrad/nn/container.hpp"
#include "xgrad/nn/linear.hpp"
#include "xgrad/nn/norm.hpp"
#include "xgrad/options.hpp"

namespace xgrad::nn {

struct TransformerLayerOptions {
  TransformerLayerOptions(int64_t d_model, int64_t nhead) : d_model_(d_model), nhead_(nhead) {}
  XG_ARG(int64_t, d_model);
  XG_ARG(int64_t, nhead);
  XG_ARG(int64_t, dim_feedforward) = 2048;
  XG_ARG(double, dropout) = 0.1;
  XG_ARG(activation_t, activation) = kReLU;  // kReLU, kGELU or a callable
  XG_ARG(double, layer_norm_eps) = 1e-5;
  XG_ARG(bool, norm_first) = false;  // pre-LN when true
};
using TransformerEncoderLayerOptions = TransformerLayerOptions;
using TransformerDecoderLayerOptions = TransformerLayerOptions;

// A (B, S, S) float mask with −inf above the diagonal: position i sees positions ≤ i.
Tensor generate_square_subsequent_mask(int64_t size, ScalarType dtype = kFloat32);

class TransformerEncoderLayerImpl : public Module {
 public:
  TransformerEncoderLayerImpl(int64_t d_model, int64_t nhead)
      : TransformerEncoderLayerImpl(TransformerLayerOptions(d_model, nhead)) {}
  explicit TransformerEncoderLayerImpl(const TransformerLayerOptions& options);
  Tensor forward(const Tensor& src, const Tensor& src_mask = {}, const Tensor& src_key_padding_mask = {});
  TransformerLayerOptions options;
  MultiheadAttention self_attn{nullptr};
  Linear linear1{nullptr}, linear2{nullptr};
  Dropout dropout{nullptr}, dropout1{nullptr}, dropout2{nullptr};
  LayerNorm norm1{nullptr}, norm2{nullptr};
  // Set record_attention = true to keep each forward's self-attention weights (B, H, S, S).
  bool record_attention = false;
  Tensor last_attention;

 private:
  Tensor feed_forward(const Tensor& x);
};
XG_MODULE(TransformerEncoderLayer);

// What incremental decoding keeps per decoder layer: the projected keys/values of the tokens
// decoded so far (self-attention) and of the memory (cross-attention, computed once).
struct DecoderLayerCache {
  KeyValue self_kv, cross_kv;
};
struct DecoderCache {
  std::vector<DecoderLayerCache> layers;
  int64_t steps = 0;  // tokens decoded so far (the next token's position)
};

class TransformerDecoderLayerImpl : public Module {
 public:
  TransformerDecoderLayerImpl(int64_t d_model, int64_t nhead)
      : TransformerDecoderLayerImpl(TransformerLayerOptions(d_model, nhead)) {}
  explicit TransformerDecoderLayerImpl(const TransformerLayerOptions& options);
  Tensor forward(const Tensor& tgt, const Tensor& memory, const Tensor& tgt_mask = {}, const Tensor& memory_mask = {},
                 const Tensor& tgt_key_padding_mask = {}, const Tensor& memory_key_padding_mask = {});
  // One new target position (B, 1, E), attending to the cached past and to memory.
  Tensor forward_step(const Tensor& tgt_step, const Tensor& memory, DecoderLayerCache& cache,
                      const Tensor& memory_key_padding_mask = {});
  TransformerLayerOptions options;
  MultiheadAttention self_attn{nullptr}, multihead_attn{nullptr};
  Linear linear1{nullptr}, linear2{nullptr};
  Dropout dropout{nullptr}, dropout1{nullptr}, dropout2{nullptr}, dropout3{nullptr};
  LayerNorm norm1{nullptr}, norm2{nullptr}, norm3{nullptr};
  bool record_attention = false;
  Tensor last_self_attention, last_cross_attention;  // (B, H, L, S) when record_attention

 private:
  Tensor feed_forward(const Tensor& x);
  Tensor self_block(const Tensor& x, const Tensor& mask, const Tensor& kpm);
  Tensor cross_block(const Tensor& x, const Tensor& memory, const Tensor& mask, const Tensor& kpm);
};
XG_MODULE(TransformerDecoderLayer);

// A stack of num_layers fresh layers (each initialised independently); final_norm adds "norm".
// checkpoint_layers: in training with grad on, each layer runs under xg::checkpoint — its
// activations are recomputed in backward instead of kept (less memory, about one more forward).
struct TransformerEncoderOptions {
  TransformerEncoderOptions(TransformerEncoderLayerOptions encoder_layer, int64_t num_layers)
      : encoder_layer_(std::move(encoder_layer)), num_layers_(num_layers) {}
  XG_ARG(TransformerEncoderLayerOptions, encoder_layer);
  XG_ARG(int64_t, num_layers);
  XG_ARG(bool, final_norm) = false;
  XG_ARG(bool, checkpoint_layers) = false;
};
struct TransformerDecoderOptions {
  TransformerDecoderOptions(TransformerDecoderLayerOptions decoder_layer, int64_t num_layers)
      : decoder_layer_(std::move(decoder_layer)), num_layers_(num_layers) {}
  XG_ARG(TransformerDecoderLayerOptions, decoder_layer);
  XG_ARG(int64_t, num_layers);
  XG_ARG(bool, final_norm) = false;
  XG_ARG(bool, checkpoint_layers) = false;
};

class TransformerEncoderImpl : public Module {
 public:
  TransformerEncoderImpl(const TransformerLayerOptions& layer, int64_t num_layers, bool final_norm = false)
      : TransformerEncoderImpl(TransformerEncoderOptions(layer, num_layers).final_norm(final_norm)) {}
  explicit TransformerEncoderImpl(const TransformerEncoderOptions& options);
  Tensor forward(const Tensor& src, const Tensor& mask = {}, const Tensor& src_key_padding_mask = {});
  TransformerEncoderOptions options;
  std::shared_ptr<ModuleListOf<TransformerEncoderLayer>> layers;
  LayerNorm norm{nullptr};
};
XG_MODULE(TransformerEncoder);

class TransformerDecoderImpl : public Module {
 public:
  TransformerDecoderImpl(const TransformerLayerOptions& layer, int64_t num_layers, bool final_norm = false)
      : TransformerDecoderImpl(TransformerDecoderOptions(layer, num_layers).final_norm(final_norm)) {}
  explicit TransformerDecoderImpl(const TransformerDecoderOptions& options);
  Tensor forward(const Tensor& tgt, const Tensor& memory, const Tensor& tgt_mask = {}, const Tensor& memory_mask = {},
                 const Tensor& tgt_key_padding_mask = {}, const Tensor& memory_key_padding_mask = {});
  // Decodes one position for every sequence in the batch; cache grows by one step per call.
  Tensor forward_step(const Tensor& tgt_step, const Tensor& memory, DecoderCache& cache,
                      const Tensor& memory_key_padding_mask = {});
  TransformerDecoderOptions options;
  std::shared_ptr<ModuleListOf<TransformerDecoderLayer>> layers;
  LayerNorm norm{nullptr};
};
XG_MODULE(TransformerDecoder);

// libtorch's constructors: TransformerOptions(d_model, nhead) and
// TransformerOptions(d_model, nhead, num_encoder_layers, num_decoder_layers).
struct TransformerOptions {
  TransformerOptions(int64_t d_model = 512, int64_t nhead = 8) : d_model_(d_model), nhead_(nhead) {}
  TransformerOptions(int64_t d_model, int64_t nhead, int64_t num_encoder_layers, int64_t num_decoder_layers)
      : d_model_(d_model), nhead_(nhead), num_encoder_layers_(num_encoder_layers), num_decoder_layers_(num_decoder_layers) {}
  XG_ARG(int64_t, d_model);
  XG_ARG(int64_t, nhead);
  XG_ARG(int64_t, num_encoder_layers) = 6;
  XG_ARG(int64_t, num_decoder_layers) = 6;
  XG_ARG(int64_t, dim_feedforward) = 2048;
  XG_ARG(double, dropout) = 0.1;
  XG_ARG(activation_t, activation) = kReLU;
  XG_ARG(double, layer_norm_eps) = 1e-5;
  XG_ARG(bool, norm_first) = false;
  XG_ARG(bool, checkpoint_layers) = false;  // xgrad's: TransformerEncoderOptions::checkpoint_layers
};

// torch.nn.Transformer: encoder and decoder with final norms; every weight matrix re-initialised
// xavier-uniform, as PyTorch does.
class TransformerImpl : public Module {
 public:
  explicit TransformerImpl(const TransformerOptions& options = {});
  Tensor forward(const Tensor& src, const Tensor& tgt, const Tensor& src_mask = {}, const Tensor& tgt_mask = {},
                 const Tensor& memory_mask = {}, const Tensor& src_key_padding_mask = {},
                 const Tensor& tgt_key_padding_mask = {}, const Tensor& memory_key_padding_mask = {});
  TransformerOptions options;
  TransformerEncoder encoder{nullptr};
  TransformerDecoder decoder{nullptr};
};
XG_MODULE(Transformer);

}  // namespace xgrad::nn
