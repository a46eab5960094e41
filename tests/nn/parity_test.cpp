// nn layers against PyTorch 1.13: weights loaded through Module::load from the .npz that
// tests/reference/make_nn_fixtures.py wrote with numpy.savez (PyTorch's names); outputs, input
// gradients and parameter gradients compared in float64 to 1e-10.
#include <filesystem>
#include <map>

#include "helpers.hpp"

namespace fs = std::filesystem;
namespace nn = xg::nn;
using L = xg::TensorList;

namespace {

void check_close(const xg::Tensor& got, const xg::Tensor& want, const std::string& what) {
  INFO(what << ": shape " << xg::str(got.sizes()) << " vs " << xg::str(want.sizes()));
  REQUIRE(got.defined());
  REQUIRE(got.sizes() == want.sizes());
  xg::Tensor a = got.detach().to(xg::kFloat64), b = want.to(xg::kFloat64);
  const double *pa = a.data_ptr<double>(), *pb = b.data_ptr<double>();
  int64_t bad = -1;
  for (int64_t k = 0; k < a.numel() && bad < 0; ++k)
    if (std::fabs(pa[k] - pb[k]) > 1e-12 + 1e-10 * std::fabs(pb[k])) bad = k;
  INFO("first mismatch at " << bad << ": " << (bad >= 0 ? pa[bad] : 0) << " vs " << (bad >= 0 ? pb[bad] : 0));
  CHECK(bad == -1);
}

struct Loaded {
  fs::path dir;
  L in;
};

Loaded load_inputs(const std::string& name) {
  Loaded l{fs::path(XGRAD_FIXTURES) / "nn" / name, {}};
  REQUIRE(fs::exists(l.dir));
  for (int k = 0; k < 8; ++k) {
    fs::path p = l.dir / (xg::str("in", k, ".npy"));
    if (!fs::exists(p)) { l.in.emplace_back(); continue; }
    xg::Tensor t = xg::load_npy(p);
    if (fs::exists(l.dir / (xg::str("in", k, "_grad.npy")))) t.requires_grad_();
    l.in.push_back(t);
  }
  return l;
}

// Loads weights, runs fn, backpropagates gout from output 0 and compares everything.
template <class Holder, class Fn>
void check_module(const std::string& name, Holder module, Fn fn) {
  auto l = load_inputs(name);
  module->to(xg::kFloat64);
  module->load((l.dir / "weights.npz").string());
  L outs = fn(module, l.in);
  for (size_t i = 0; i < outs.size(); ++i)
    check_close(outs[i], xg::load_npy(l.dir / (xg::str("out", i, ".npy"))), name + " output " + std::to_string(i));
  outs[0].backward(xg::load_npy(l.dir / "gout.npy"));
  for (size_t k = 0; k < l.in.size(); ++k) {
    fs::path g = l.dir / (xg::str("in", k, "_grad.npy"));
    if (fs::exists(g)) check_close(l.in[k].grad(), xg::load_npy(g), name + " grad of input " + std::to_string(k));
  }
  std::map<std::string, xg::Tensor> params;
  for (auto& [n, p] : module->named_parameters()) params[n] = p;
  auto grads = xg::load_npz((l.dir / "param_grads.npz").string());
  CHECK(grads.size() == params.size());
  for (auto& [n, g] : grads) {
    INFO("parameter " << n);
    REQUIRE(params.count(n));
    check_close(params[n].grad(), g, name + " grad of " + n);
  }
}

nn::TransformerLayerOptions layer_opts(bool norm_first, xg::Activation act) {
  return nn::TransformerLayerOptions(8, 2).dim_feedforward(16).dropout(0.0).activation(act).norm_first(norm_first);
}

}  // namespace

TEST_CASE("Linear, LayerNorm and Embedding match PyTorch", "[parity][nn]") {
  check_module("linear", nn::Linear(5, 3), [](auto& m, const L& in) { return L{m(in[0])}; });
  check_module("layer_norm", nn::LayerNorm(nn::LayerNormOptions({6}).eps(1e-6)), [](auto& m, const L& in) { return L{m(in[0])}; });
  check_module("embedding_padding", nn::Embedding(nn::EmbeddingOptions(7, 4).padding_idx(0)),
               [](auto& m, const L& in) { return L{m(in[0])}; });
}

TEST_CASE("MultiheadAttention matches PyTorch with causal, padding and bool masks", "[parity][nn]") {
  check_module("mha_self_causal_padding", nn::MultiheadAttention(8, 2), [](auto& m, const L& in) {
    auto [out, w] = m(in[0], in[0], in[0], in[2], true, in[1]);
    return L{out, w};
  });
  check_module("mha_cross_kdim_boolmask", nn::MultiheadAttention(nn::MultiheadAttentionOptions(8, 4).kdim(5).vdim(6)),
               [](auto& m, const L& in) {
                 auto [out, w] = m(in[0], in[1], in[2], xg::Tensor(), true, in[3], false);
                 return L{out, w};
               });
}

TEST_CASE("Transformer encoder and decoder layers match PyTorch, post-LN and pre-LN", "[parity][nn]") {
  for (bool nf : {false, true}) {
    std::string tag = nf ? "pre_ln" : "post_ln";
    xg::Activation act = nf ? xg::kGELU : xg::kReLU;
    check_module("encoder_layer_" + tag, nn::TransformerEncoderLayer(layer_opts(nf, act)),
                 [](auto& m, const L& in) { return L{m(in[0], xg::Tensor(), in[1])}; });
    check_module("decoder_layer_" + tag, nn::TransformerDecoderLayer(layer_opts(nf, act)), [](auto& m, const L& in) {
      return L{m(in[0], in[1], in[2], xg::Tensor(), xg::Tensor(), in[3])};
    });
  }
}

TEST_CASE("a 2+2-layer Transformer matches PyTorch", "[parity][nn]") {
  auto opts = nn::TransformerOptions().d_model(8).nhead(2).num_encoder_layers(2).num_decoder_layers(2)
                  .dim_feedforward(16).dropout(0.0);
  check_module("transformer_2_2", nn::Transformer(opts), [](auto& m, const L& in) {
    return L{m(in[0], in[1], xg::Tensor(), in[2], xg::Tensor(), in[3], in[4], in[3])};
  });
}

TEST_CASE("GRU, LSTM and their cells match PyTorch, weights from its state dicts", "[parity][nn]") {
  // Output 0 is every output flattened into one vector (the fixture's grad_output covers the final
  // states too); the outputs themselves follow.
  auto flat = [](const L& ts) {
    L parts;
    for (auto& t : ts) parts.push_back(t.reshape({-1}));
    L all{xg::cat(parts)};
    all.insert(all.end(), ts.begin(), ts.end());
    return all;
  };
  check_module("gru_2layer_batch_first", nn::GRU(nn::GRUOptions(5, 4).num_layers(2).batch_first(true)),
               [&](auto& m, const L& in) {
                 auto [out, h] = m(in[0], in[1]);
                 return flat({out, h});
               });
  check_module("gru_bidirectional", nn::GRU(nn::GRUOptions(3, 4).bidirectional(true)), [&](auto& m, const L& in) {
    auto [out, h] = m(in[0]);
    return flat({out, h});
  });
  check_module("lstm_2layer_bidirectional",
               nn::LSTM(nn::LSTMOptions(4, 3).num_layers(2).bidirectional(true).batch_first(true)),
               [&](auto& m, const L& in) {
                 auto [out, hc] = m(in[0], std::tuple{in[1], in[2]});
                 return flat({out, std::get<0>(hc), std::get<1>(hc)});
               });
  check_module("lstm_nobias_unbatched", nn::LSTM(nn::LSTMOptions(3, 4).bias(false)), [&](auto& m, const L& in) {
    auto [out, hc] = m(in[0], std::tuple{in[1], in[2]});
    return flat({out, std::get<0>(hc), std::get<1>(hc)});
  });
  check_module("gru_cell", nn::GRUCell(5, 4), [](auto& m, const L& in) { return L{m(in[0], in[1])}; });
  check_module("lstm_cell", nn::LSTMCell(5, 4), [&](auto& m, const L& in) {
    auto [h, c] = m(in[0], std::tuple{in[1], in[2]});
    return flat({h, c});
  });
}
