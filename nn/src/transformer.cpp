#include "xgrad/nn/transformer.hpp"

#include <cmath>

#include "xgrad/checkpoint.hpp"
#include "xgrad/grad_mode.hpp"
#include "xgrad/nn/init.hpp"
#include "xgrad/ops.hpp"

namespace xgrad::nn {

Tensor generate_square_subsequent_mask(int64_t size, ScalarType dtype) {
  XG_CHECK(size >= 0, "generate_square_subsequent_mask: size must be non-negative, got ", size);
  return masked_fill(zeros({size, size}, dtype), triu(ones({size, size}, kBool), 1), -INFINITY);
}

namespace {
void check_options(const TransformerLayerOptions& o, const char* who) {
  auto* fn = std::get_if<std::function<Tensor(const Tensor&)>>(&o.activation());
  XG_CHECK(!fn || *fn, who, ": activation is an empty function");
  XG_CHECK(o.dim_feedforward() > 0, who, ": dim_feedforward must be positive, got ", o.dim_feedforward());
}
MultiheadAttention make_attention(const TransformerLayerOptions& o) {
  return MultiheadAttention(MultiheadAttentionOptions(o.d_model(), o.nhead()).dropout(o.dropout()));
}
LayerNorm make_norm(const TransformerLayerOptions& o) {
  return LayerNorm(LayerNormOptions({o.d_model()}).eps(o.layer_norm_eps()));
}
}  // namespace

// ---------------------------------------------------------------- encoder layer

TransformerEncoderLayerImpl::TransformerEncoderLayerImpl(const TransformerLayerOptions& o) : options(o) {
  check_options(o, "TransformerEncoderLayer");
  self_attn = register_module("self_attn", make_attention(o));
  linear1 = register_module("linear1", Linear(o.d_model(), o.dim_feedforward()));
  dropout = register_module("dropout", Dropout(o.dropout()));
  linear2 = register_module("linear2", Linear(o.dim_feedforward(), o.d_model()));
  norm1 = register_module("norm1", make_norm(o));
  norm2 = register_module("norm2", make_norm(o));
  dropout1 = register_module("dropout1", Dropout(o.dropout()));
  dropout2 = register_module("dropout2", Dropout(o.dropout()));
}

Tensor TransformerEncoderLayerImpl::feed_forward(const Tensor& x) {
  return dropout2(linear2(dropout(apply_activation(linear1(x), options.activation()))));
}

Tensor TransformerEncoderLayerImpl::forward(const Tensor& src, const Tensor& mask, const Tensor& kpm) {
  check_mask(mask, "TransformerEncoderLayer", "src_mask");
  check_mask(kpm, "TransformerEncoderLayer", "src_key_padding_mask");
  auto sa = [&](const Tensor& x) {
    auto [out, w] = self_attn(x, x, x, kpm, record_attention, mask, false);
    if (record_attention) last_attention = w.detach();
    return dropout1(out);
  };
  if (options.norm_first()) {
    Tensor x = src + sa(norm1(src));
    return x + feed_forward(norm2(x));
  }
  Tensor x = norm1(src + sa(src));
  return norm2(x + feed_forward(x));
}

// ---------------------------------------------------------------- decoder layer

TransformerDecoderLayerImpl::TransformerDecoderLayerImpl(const TransformerLayerOptions& o) : options(o) {
  check_options(o, "TransformerDecoderLayer");
  self_attn = register_module("self_attn", make_attention(o));
  multihead_attn = register_module("multihead_attn", make_attention(o));
  linear1 = register_module("linear1", Linear(o.d_model(), o.dim_feedforward()));
  dropout = register_module("dropout", Dropout(o.dropout()));
  linear2 = register_module("linear2", Linear(o.dim_feedforward(), o.d_model()));
  norm1 = register_module("norm1", make_norm(o));
  norm2 = register_module("norm2", make_norm(o));
  norm3 = register_module("norm3", make_norm(o));
  dropout1 = register_module("dropout1", Dropout(o.dropout()));
  dropout2 = register_module("dropout2", Dropout(o.dropout()));
  dropout3 = register_module("dropout3", Dropout(o.dropout()));
}

Tensor TransformerDecoderLayerImpl::feed_forward(const Tensor& x) {
  return dropout3(linear2(dropout(apply_activation(linear1(x), options.activation()))));
}

Tensor TransformerDecoderLayerImpl::self_block(const Tensor& x, const Tensor& mask, const Tensor& kpm) {
  auto [out, w] = self_attn(x, x, x, kpm, record_attention, mask, false);
  if (record_attention) last_self_attention = w.detach();
  return dropout1(out);
}

Tensor TransformerDecoderLayerImpl::cross_block(const Tensor& x, const Tensor& memory, const Tensor& mask,
                                                const Tensor& kpm) {
  auto [out, w] = multihead_attn(x, memory, memory, kpm, record_attention, mask, false);
  if (record_attention) last_cross_attention = w.detach();
  return dropout2(out);
}

Tensor TransformerDecoderLayerImpl::forward(const Tensor& tgt, const Tensor& memory, const Tensor& tgt_mask,
                                            const Tensor& memory_mask, const Tensor& tgt_kpm, const Tensor& memory_kpm) {
  check_mask(tgt_mask, "TransformerDecoderLayer", "tgt_mask");
  check_mask(memory_mask, "TransformerDecoderLayer", "memory_mask");
  check_mask(tgt_kpm, "TransformerDecoderLayer", "tgt_key_padding_mask");
  check_mask(memory_kpm, "TransformerDecoderLayer", "memory_key_padding_mask");
  if (options.norm_first()) {
    Tensor x = tgt + self_block(norm1(tgt), tgt_mask, tgt_kpm);
    x = x + cross_block(norm2(x), memory, memory_mask, memory_kpm);
    return x + feed_forward(norm3(x));
  }
  Tensor x = norm1(tgt + self_block(tgt, tgt_mask, tgt_kpm));
  x = norm2(x + cross_block(x, memory, memory_mask, memory_kpm));
  return norm3(x + feed_forward(x));
}

Tensor TransformerDecoderLayerImpl::forward_step(const Tensor& tgt_step, const Tensor& memory, DecoderLayerCache& cache,
                                                 const Tensor& memory_kpm) {
  check_mask(memory_kpm, "TransformerDecoderLayer::forward_step", "memory_key_padding_mask");
  XG_CHECK(tgt_step.dim() == 3 && tgt_step.sizes()[1] == 1, "TransformerDecoderLayer::forward_step: expected one ",
           "position (batch, 1, d_model), got ", tgt_step.sizes());
  // The new position attends to every cached position and itself: no causal mask needed.
  auto self = [&](const Tensor& x) {
    KeyValue kv = self_attn->project_key_value(x, x);
    if (cache.self_kv.k.defined()) kv = {cat({cache.self_kv.k, kv.k}, 2), cat({cache.self_kv.v, kv.v}, 2)};
    cache.self_kv = kv;
    auto [out, w] = self_attn->attend(self_attn->project_query(x), kv, {}, {}, record_attention, false);
    if (record_attention) last_self_attention = w.detach();
    return dropout1(out);
  };
  auto cross = [&](const Tensor& x) {
    if (!cache.cross_kv.k.defined()) cache.cross_kv = multihead_attn->project_key_value(memory, memory);
    auto [out, w] = multihead_attn->attend(multihead_attn->project_query(x), cache.cross_kv, memory_kpm, {},
                                           record_attention, false);
    if (record_attention) last_cross_attention = w.detach();
    return dropout2(out);
  };
  if (options.norm_first()) {
    Tensor x = tgt_step + self(norm1(tgt_step));
    x = x + cross(norm2(x));
    return x + feed_forward(norm3(x));
  }
  Tensor x = norm1(tgt_step + self(tgt_step));
  x = norm2(x + cross(x));
  return norm3(x + feed_forward(x));
}

// ---------------------------------------------------------------- stacks

TransformerEncoderImpl::TransformerEncoderImpl(const TransformerEncoderOptions& options) : options(options) {
  const int64_t n = options.num_layers();
  XG_CHECK(n >= 1, "TransformerEncoder: num_layers must be at least 1, got ", n);
  layers = std::make_shared<ModuleListOf<TransformerEncoderLayer>>();
  for (int64_t i = 0; i < n; ++i) layers->push_back(TransformerEncoderLayer(options.encoder_layer()));
  register_child("layers", layers);
  if (options.final_norm()) norm = register_module("norm", make_norm(options.encoder_layer()));
}

Tensor TransformerEncoderImpl::forward(const Tensor& src, const Tensor& mask, const Tensor& kpm) {
  Tensor x = src;
  const bool ckpt = options.checkpoint_layers() && is_training() && GradMode::is_enabled();
  for (auto& layer : *layers) {
    // By value: backward runs the function again, after this frame (and maybe the masks) are gone.
    if (ckpt) x = checkpoint([layer, mask, kpm](const TensorList& in) { return layer(in[0], mask, kpm); }, {x});
    else x = layer(x, mask, kpm);
  }
  return norm.is_empty() ? x : norm(x);
}

TransformerDecoderImpl::TransformerDecoderImpl(const TransformerDecoderOptions& options) : options(options) {
  const int64_t n = options.num_layers();
  XG_CHECK(n >= 1, "TransformerDecoder: num_layers must be at least 1, got ", n);
  layers = std::make_shared<ModuleListOf<TransformerDecoderLayer>>();
  for (int64_t i = 0; i < n; ++i) layers->push_back(TransformerDecoderLayer(options.decoder_layer()));
  register_child("layers", layers);
  if (options.final_norm()) norm = register_module("norm", make_norm(options.decoder_layer()));
}

Tensor TransformerDecoderImpl::forward(const Tensor& tgt, const Tensor& memory, const Tensor& tgt_mask,
                                       const Tensor& memory_mask, const Tensor& tgt_kpm, const Tensor& memory_kpm) {
  Tensor x = tgt;
  const bool ckpt = options.checkpoint_layers() && is_training() && GradMode::is_enabled();
  for (auto& layer : *layers) {
    auto run = [layer, tgt_mask, memory_mask, tgt_kpm, memory_kpm](const TensorList& in) {
      return layer(in[0], in[1], tgt_mask, memory_mask, tgt_kpm, memory_kpm);
    };
    x = ckpt ? checkpoint(run, {x, memory}) : run({x, memory});  // memory an input: its gradient flows on
  }
  return norm.is_empty() ? x : norm(x);
}

Tensor TransformerDecoderImpl::forward_step(const Tensor& tgt_step, const Tensor& memory, DecoderCache& cache,
                                            const Tensor& memory_kpm) {
  if (cache.layers.empty()) cache.layers.resize(layers->size());
  XG_CHECK(cache.layers.size() == layers->size(), "TransformerDecoder::forward_step: cache has ", cache.layers.size(),
           " layers, the decoder ", layers->size());
  Tensor x = tgt_step;
  for (size_t i = 0; i < layers->size(); ++i) x = (*layers)[i]->forward_step(x, memory, cache.layers[i], memory_kpm);
  cache.steps++;
  return norm.is_empty() ? x : norm(x);
}

// ---------------------------------------------------------------- Transformer

TransformerImpl::TransformerImpl(const TransformerOptions& o) : options(o) {
  auto layer = TransformerLayerOptions(o.d_model(), o.nhead())
                   .dim_feedforward(o.dim_feedforward())
                   .dropout(o.dropout())
                   .activation(o.activation())
                   .layer_norm_eps(o.layer_norm_eps())
                   .norm_first(o.norm_first());
  encoder = register_module("encoder", TransformerEncoder(TransformerEncoderOptions(layer, o.num_encoder_layers())
                                                              .final_norm(true)
                                                              .checkpoint_layers(o.checkpoint_layers())));
  decoder = register_module("decoder", TransformerDecoder(TransformerDecoderOptions(layer, o.num_decoder_layers())
                                                              .final_norm(true)
                                                              .checkpoint_layers(o.checkpoint_layers())));
  for (auto& p : parameters())
    if (p.dim() > 1) init::xavier_uniform_(p);
}

Tensor TransformerImpl::forward(const Tensor& src, const Tensor& tgt, const Tensor& src_mask, const Tensor& tgt_mask,
                                const Tensor& memory_mask, const Tensor& src_kpm, const Tensor& tgt_kpm,
                                const Tensor& memory_kpm) {
  XG_CHECK(src.dim() == 3 && tgt.dim() == 3 && src.sizes()[0] == tgt.sizes()[0], "Transformer: src ", src.sizes(),
           " and tgt ", tgt.sizes(), " must be (batch, seq, d_model) with the same batch");
  Tensor memory = encoder(src, src_mask, src_kpm);
  return decoder(tgt, memory, tgt_mask, memory_mask, tgt_kpm, memory_kpm);
}

}  // namespace xgrad::nn
