// Every layer gradchecked in float64 (dropout 0), masks and padding included; incremental
// decoding equals the full causal forward; d2l's attention pieces; bad input.
#include "helpers.hpp"

namespace nn = xg::nn;
using L = xg::TensorList;

namespace {
template <class H>
H f64(H m) {
  m->to(xg::kFloat64);
  return m;
}
xg::Tensor pad_mask(int64_t b, int64_t s, std::vector<int64_t> pad) {
  std::vector<bool> v;
  for (int64_t i = 0; i < b; ++i)
    for (int64_t j = 0; j < s; ++j) v.push_back(j >= s - pad[i]);
  return xg::tensor(v).reshape({b, s});
}
// gradcheck over the inputs that require grad and every parameter of `params_of`.
template <class H, class F>
void check_layer(H module, L inputs, F fn, bool second_order = false) {
  L all = inputs;
  for (auto& p : module->parameters()) all.push_back(p);
  auto f = [&](const L& a) { return fn(L(a.begin(), a.begin() + inputs.size())); };
  auto rep = xg::gradcheck(f, all);
  INFO(rep.message);
  CHECK(rep.ok);
  if (second_order) {
    auto rep2 = xg::gradgradcheck(f, all);
    INFO(rep2.message);
    CHECK(rep2.ok);
  }
}
}  // namespace

TEST_CASE("basic layers pass gradcheck and gradgradcheck", "[nn][gradcheck]") {
  xg::manual_seed(3);
  auto lin = f64(nn::Linear(4, 3));
  check_layer(lin, {rnd({2, 4})}, [&](const L& i) { return lin(i[0]); }, true);
  auto ln = f64(nn::LayerNorm(nn::LayerNormOptions({2, 3})));
  check_layer(ln, {rnd({2, 2, 3})}, [&](const L& i) { return ln(i[0]); }, true);
  auto emb = f64(nn::Embedding(nn::EmbeddingOptions(5, 3).padding_idx(1)));
  check_layer(emb, {}, [&](const L&) { return emb(xg::tensor({0, 2, 4, 2})); });
  nn::Sequential seq(nn::Linear(3, 4), nn::GELU(), nn::Linear(4, 4), nn::Tanh(), nn::Linear(4, 2), nn::SiLU(),
                     nn::Sigmoid());
  seq->to(xg::kFloat64);
  check_layer(seq, {rnd({3, 3})}, [&](const L& i) { return seq(i[0]); }, true);
}

TEST_CASE("attention layers pass gradcheck with masks", "[nn][gradcheck]") {
  xg::manual_seed(4);
  auto mha = f64(nn::MultiheadAttention(4, 2));
  xg::Tensor causal = nn::generate_square_subsequent_mask(3, xg::kFloat64);
  xg::Tensor kpm = pad_mask(2, 3, {0, 1});
  check_layer(mha, {rnd({2, 3, 4})}, [&](const L& i) { return mha(i[0], i[0], i[0], kpm, false, causal).first; }, true);
  auto cross = f64(nn::MultiheadAttention(nn::MultiheadAttentionOptions(4, 2).kdim(3).vdim(5)));
  check_layer(cross, {rnd({2, 2, 4}), rnd({2, 3, 3}), rnd({2, 3, 5})}, [&](const L& i) {
    auto [o, w] = cross(i[0], i[1], i[2], xg::Tensor(), true, xg::Tensor(), false);
    return o.sum() + (w * w).sum();  // the weights are differentiable too
  });
  // The packed in_proj_weight through its three paths: q, k, v from one input; k and v from one
  // input (encoder-decoder attention); three different inputs.
  auto packed = f64(nn::MultiheadAttention(4, 2));
  check_layer(packed, {rnd({2, 2, 4}), rnd({2, 3, 4})}, [&](const L& i) { return packed(i[0], i[1], i[1]).first; }, true);
  check_layer(packed, {rnd({2, 2, 4}), rnd({2, 3, 4}), rnd({2, 3, 4})},
              [&](const L& i) { return packed(i[0], i[1], i[2]).first; });
  // Without weights, self-attention and key-is-value attention take the packed fused op; with
  // them, the composite formula on the permuted heads: the same outputs.
  {
    auto mha2 = f64(nn::MultiheadAttention(6, 3));
    xg::Tensor x = rnd({2, 5, 6}), mem = rnd({2, 4, 6});
    xg::Tensor kpm5 = pad_mask(2, 5, {0, 2}), kpm4 = pad_mask(2, 4, {1, 0});
    xg::Tensor causal5 = nn::generate_square_subsequent_mask(5, xg::kFloat64);
    auto diff = [](const xg::Tensor& a, const xg::Tensor& b) { return xg::amax(xg::abs(a - b)).item<double>(); };
    CHECK(diff(mha2(x, x, x, kpm5, false, causal5).first, mha2(x, x, x, kpm5, true, causal5).first) < 1e-12);
    CHECK(diff(mha2(x, mem, mem, kpm4, false).first, mha2(x, mem, mem, kpm4, true).first) < 1e-12);
  }
  auto add = f64(nn::AdditiveAttention(3, 2, 4));
  check_layer(add, {rnd({2, 2, 2}), rnd({2, 4, 3}), rnd({2, 4, 3})},
              [&](const L& i) { return add(i[0], i[1], i[2], xg::tensor({2, 3})); });
  nn::DotProductAttention dot;
  check_layer(dot, {rnd({2, 2, 3}), rnd({2, 4, 3}), rnd({2, 4, 2})},
              [&](const L& i) { return dot(i[0], i[1], i[2], xg::tensor({1, 3, 2, 4}).reshape({2, 2})); });
  check_layer(dot, {rnd({2, 3, 4}), rnd({2, 3, 4}), rnd({2, 3, 4})}, [&](const L& i) {
    return nn::scaled_dot_product_attention(i[0], i[1], i[2], xg::Tensor(), 0.0, true);
  }, true);
}

TEST_CASE("Transformer layers pass gradcheck and gradgradcheck, post-LN and pre-LN, with padding", "[nn][gradcheck]") {
  xg::manual_seed(5);
  for (bool nf : {false, true}) {
    auto o = nn::TransformerLayerOptions(4, 2).dim_feedforward(6).dropout(0.0).norm_first(nf).activation(nf ? xg::kGELU : xg::kReLU);
    auto enc = f64(nn::TransformerEncoderLayer(o));
    xg::Tensor kpm = pad_mask(2, 3, {1, 0});
    check_layer(enc, {rnd({2, 3, 4})}, [&](const L& i) { return enc(i[0], xg::Tensor(), kpm); }, /*second_order=*/true);
    auto dec = f64(nn::TransformerDecoderLayer(o));
    xg::Tensor causal = nn::generate_square_subsequent_mask(2, xg::kFloat64);
    check_layer(dec, {rnd({2, 2, 4}), rnd({2, 3, 4})},
                [&](const L& i) { return dec(i[0], i[1], causal, xg::Tensor(), xg::Tensor(), kpm); }, /*second_order=*/true);
  }
}

TEST_CASE("incremental decoding with the key/value cache equals the full causal forward", "[nn]") {
  xg::manual_seed(6);
  for (bool nf : {false, true}) {
    nn::TransformerDecoder dec(nn::TransformerLayerOptions(8, 2).dim_feedforward(16).dropout(0.0).norm_first(nf), 2,
                               true);
    dec->eval();
    xg::Tensor tgt = xg::randn({2, 5, 8}), memory = xg::randn({2, 4, 8});
    xg::Tensor mkpm = pad_mask(2, 4, {0, 2});
    xg::Tensor full = dec(tgt, memory, nn::generate_square_subsequent_mask(5), xg::Tensor(), xg::Tensor(), mkpm);
    nn::DecoderCache cache;
    xg::NoGradGuard ng;
    for (int64_t t = 0; t < 5; ++t) {
      xg::Tensor step = dec->forward_step(tgt.narrow(1, t, 1), memory, cache, mkpm);
      CHECK(xg::allclose(step, full.narrow(1, t, 1), 1e-5, 1e-5));
    }
    CHECK(cache.steps == 5);
    CHECK(cache.layers[0].self_kv.k.sizes() == xg::Shape{2, 2, 5, 4});
  }
}

TEST_CASE("masked_softmax keeps the first valid_lens keys (d2l)", "[nn]") {
  xg::Tensor x = xg::rand({2, 2, 4});
  xg::Tensor w = nn::masked_softmax(x, xg::tensor({2, 3}));
  CHECK(xg::allclose(w.sum({-1}), xg::ones({2, 2})));
  CHECK(w.narrow(0, 0, 1).narrow(2, 2, 2).abs().sum().item<double>() < 1e-6);
  CHECK(w.narrow(0, 1, 1).narrow(2, 3, 1).abs().sum().item<double>() < 1e-6);
  xg::Tensor w2 = nn::masked_softmax(x, xg::tensor({1, 3, 2, 4}).reshape({2, 2}));
  CHECK(w2.narrow(0, 0, 1).narrow(1, 0, 1).narrow(2, 1, 3).abs().sum().item<double>() < 1e-6);
  nn::DotProductAttention att;
  att->eval();
  att(xg::randn({2, 1, 2}), xg::randn({2, 10, 2}), xg::randn({2, 10, 4}), xg::tensor({2, 6}));
  CHECK(att->attention_weights.sizes() == xg::Shape{2, 1, 10});
}

TEST_CASE("sinusoidal positional encoding values and learned positions", "[nn]") {
  nn::PositionalEncoding pe(4, 0.0, 10);
  xg::Tensor out = pe(xg::zeros({1, 3, 4}));
  // position 1: sin(1), cos(1), sin(1/100), cos(1/100)
  xg::Tensor row = out.narrow(1, 1, 1).reshape({4});
  CHECK(xg::allclose(row, xg::tensor({std::sin(1.0), std::cos(1.0), std::sin(0.01), std::cos(0.01)}), 1e-6, 1e-6));
  CHECK(xg::allclose(pe(xg::zeros({1, 1, 4}), 1), out.narrow(1, 1, 1)));
  CHECK(pe->parameters().empty());
  nn::LearnedPositionalEncoding lpe(16, 4);
  CHECK(lpe->named_parameters()[0].first == "weight");
  CHECK_THROWS_WITH(pe(xg::zeros({1, 11, 4})), Catch::Contains("max_len"));
}

TEST_CASE("default initialisations follow PyTorch", "[nn]") {
  xg::manual_seed(7);
  nn::Linear lin(100, 50);
  double bound = 1.0 / std::sqrt(100.0);
  CHECK(xg::amax(xg::abs(lin->weight)).item<double>() <= bound);
  CHECK(xg::amax(xg::abs(lin->weight)).item<double>() > 0.9 * bound);
  nn::MultiheadAttention mha(64, 4);
  double xb = std::sqrt(6.0 / (64 + 192));
  CHECK(xg::amax(xg::abs(mha->in_proj_weight)).item<double>() <= xb);
  CHECK(xg::equal(mha->in_proj_bias, xg::zeros({192})));
  nn::LayerNorm ln(nn::LayerNormOptions({8}));
  CHECK(xg::equal(ln->weight, xg::ones({8})));
  nn::Embedding emb(nn::EmbeddingOptions(1000, 10).padding_idx(3));
  double sd = std::sqrt(xg::var(emb->weight).item<double>());
  CHECK(sd > 0.9);
  CHECK(sd < 1.1);
  CHECK(xg::equal(emb->weight.narrow(0, 3, 1), xg::zeros({1, 10})));
}

TEST_CASE("state_dict names follow PyTorch for attention and Transformer", "[nn]") {
  nn::Transformer t(nn::TransformerOptions().d_model(8).nhead(2).num_encoder_layers(1).num_decoder_layers(1).dim_feedforward(4));
  std::vector<std::string> names;
  for (auto& [n, p] : t->state_dict()) names.push_back(n);
  auto has = [&](const std::string& s) { return std::find(names.begin(), names.end(), s) != names.end(); };
  CHECK(has("encoder.layers.0.self_attn.in_proj_weight"));
  CHECK(has("encoder.layers.0.self_attn.out_proj.bias"));
  CHECK(has("encoder.layers.0.linear1.weight"));
  CHECK(has("encoder.layers.0.norm2.bias"));
  CHECK(has("encoder.norm.weight"));
  CHECK(has("decoder.layers.0.multihead_attn.in_proj_bias"));
  CHECK(has("decoder.layers.0.norm3.weight"));
  CHECK(has("decoder.norm.bias"));
  CHECK(names.size() == 12 + 2 + 18 + 2);  // encoder layer, encoder.norm, decoder layer, decoder.norm
}

TEST_CASE("bad input to layers is a clear error", "[nn]") {
  CHECK_THROWS_WITH(nn::MultiheadAttention(10, 3), Catch::Contains("divisible"));
  nn::MultiheadAttention mha(4, 2);
  xg::Tensor x = xg::randn({2, 3, 4});
  CHECK_THROWS_WITH(mha(x, x, x, xg::zeros({2, 4}, xg::kBool)), Catch::Contains("key_padding_mask"));
  CHECK_THROWS_WITH(mha(x, x, x, xg::Tensor(), true, xg::zeros({3, 2})), Catch::Contains("attn_mask"));
  CHECK_THROWS_WITH(mha(xg::randn({2, 3, 5}), x, x), Catch::Contains("query"));
  nn::Embedding emb(10, 3);
  CHECK_THROWS_WITH(emb(xg::tensor({1, 10})), Catch::Contains("10") && Catch::Contains("out of range"));
  CHECK_THROWS_WITH(nn::TransformerEncoderLayer(
                        nn::TransformerLayerOptions(4, 2).activation(std::function<xg::Tensor(const xg::Tensor&)>())),
                    Catch::Contains("activation"));
  CHECK_THROWS_WITH(nn::masked_softmax(xg::randn({2, 3, 4}), xg::tensor({1, 2, 3})), Catch::Contains("valid_lens"));
  CHECK_THROWS_WITH(nn::Linear(3, 2)(xg::randn({2, 4})), Catch::Contains("linear"));
}

TEST_CASE("options take libtorch's spellings: typed activations, callables, constructors", "[nn]") {
  // A callable activation computes the same layer as the built-in one it wraps.
  xg::manual_seed(3);
  auto builtin = f64(nn::TransformerEncoderLayer(nn::TransformerLayerOptions(4, 2).dropout(0.0).activation(xg::kGELU)));
  auto callable = f64(nn::TransformerEncoderLayer(
      nn::TransformerLayerOptions(4, 2).dropout(0.0).activation([](const xg::Tensor& x) { return xg::gelu(x); })));
  callable->load_state_dict(builtin->state_dict());
  xg::Tensor x = xg::randn({2, 3, 4}, xg::kFloat64);
  CHECK(xg::allclose(builtin(x), callable(x), 0, 0));
  auto relu_layer = f64(nn::TransformerEncoderLayer(nn::TransformerLayerOptions(4, 2).dropout(0.0)));
  relu_layer->load_state_dict(builtin->state_dict());
  CHECK_FALSE(xg::allclose(builtin(x), relu_layer(x)));  // the default is ReLU, and it differs

  auto t = nn::TransformerOptions(16, 4, 1, 2);
  CHECK((t.d_model() == 16 && t.nhead() == 4 && t.num_encoder_layers() == 1 && t.num_decoder_layers() == 2));
  CHECK(nn::TransformerOptions().d_model() == 512);
  CHECK(nn::Dropout(nn::DropoutOptions(0.25))->options.p() == 0.25);
  CHECK(nn::Dropout(0.3)->options.p() == 0.3);
  CHECK(nn::GELU(nn::GELUOptions().approximate("tanh"))->options.approximate() == "tanh");
  CHECK(nn::PositionalEncoding(nn::PositionalEncodingOptions(8).max_len(20))->P.sizes() == xg::Shape{20, 8});
  CHECK(nn::AdditiveAttention(nn::AdditiveAttentionOptions(3, 2, 4).dropout(0.1))->W_k->weight.sizes() == xg::Shape{4, 3});
  CHECK(nn::TransformerEncoder(nn::TransformerEncoderOptions(nn::TransformerEncoderLayerOptions(4, 2), 3).final_norm(true))
            ->layers->size() == 3);
  CHECK_THROWS_WITH(nn::Dropout(1.5), Catch::Contains("Dropout") && Catch::Contains("1.5"));
  CHECK_THROWS_WITH(nn::DotProductAttention(-0.1), Catch::Contains("DotProductAttention"));
  auto topts = xg::TensorOptions().dtype(xg::kFloat64).requires_grad(true);
  xg::Tensor z = xg::zeros({2}, topts);
  CHECK((z.dtype() == xg::kFloat64 && z.requires_grad()));
  CHECK(xg::ones({1}, xg::dtype(xg::kFloat64).requires_grad(true)).requires_grad());
}

TEST_CASE("MultiheadAttention's packed weight gets one gradient assembly per forward", "[nn]") {
  // Exactly one node feeds in_proj_weight's gradient (one split of it per forward), not one
  // zero-padded full-size gradient per projection, whatever the inputs are.
  nn::MultiheadAttention mha(4, 2);
  xg::Tensor q = xg::randn({2, 3, 4}), kv = xg::randn({2, 5, 4}), v = xg::randn({2, 5, 4});
  for (int variant = 0; variant < 3; ++variant) {
    INFO("variant " << variant);
    auto out = variant == 0 ? mha(q, q, q).first : variant == 1 ? mha(q, kv, kv).first : mha(q, kv, v).first;
    auto weight_acc = xg::autograd::gradient_edge(mha->in_proj_weight).fn.get();
    int feeding = 0, narrows = 0;
    std::vector<std::shared_ptr<xg::autograd::Node>> todo{out.grad_fn()};
    std::vector<xg::autograd::Node*> seen;
    while (!todo.empty()) {
      auto n = todo.back();
      todo.pop_back();
      if (!n || std::find(seen.begin(), seen.end(), n.get()) != seen.end()) continue;
      seen.push_back(n.get());
      narrows += n->name() == "NarrowBackward";
      for (auto& e : n->next_edges) {
        feeding += e.fn.get() == weight_acc;
        todo.push_back(e.fn);
      }
    }
    CHECK(narrows == 0);
    CHECK(feeding == 1);
  }
}

TEST_CASE("masks must be Bool or floating: an Int64 mask is an error naming the argument", "[nn]") {
  nn::MultiheadAttention mha(4, 2);
  xg::Tensor x = xg::randn({2, 3, 4});
  const xg::Tensor int_kpm = xg::tensor({0, 0, 1, 0, 1, 1}).reshape({2, 3});  // what xg::tensor({0, 1}) makes
  CHECK_THROWS_WITH(mha(x, x, x, int_kpm), Catch::Contains("key_padding_mask") && Catch::Contains("Int64"));
  CHECK_THROWS_WITH(mha(x, x, x, xg::Tensor(), true, xg::zeros({3, 3}, xg::kInt64)),
                    Catch::Contains("attn_mask") && Catch::Contains("Int64"));
  CHECK_THROWS_WITH(nn::scaled_dot_product_attention(x, x, x, xg::ones({3, 3}, xg::kInt64)),
                    Catch::Contains("scaled_dot_product_attention") && Catch::Contains("attn_mask"));
  nn::TransformerEncoderLayer enc(nn::TransformerEncoderLayerOptions(4, 2).dropout(0.0));
  CHECK_THROWS_WITH(enc(x, xg::Tensor(), int_kpm), Catch::Contains("src_key_padding_mask") && Catch::Contains("Int64"));
  nn::TransformerDecoderLayer dec(nn::TransformerDecoderLayerOptions(4, 2).dropout(0.0));
  CHECK_THROWS_WITH(dec(x, x, xg::zeros({3, 3}, xg::kInt64)), Catch::Contains("tgt_mask"));
  CHECK_THROWS_WITH(dec(x, x, xg::Tensor(), xg::Tensor(), xg::Tensor(), int_kpm), Catch::Contains("memory_key_padding_mask"));
  // Bool and floating masks still work, and mean the same thing.
  xg::Tensor bool_kpm = int_kpm == 1;
  xg::Tensor float_kpm = xg::masked_fill(xg::zeros({2, 3}), bool_kpm, -INFINITY);
  CHECK(xg::allclose(mha(x, x, x, bool_kpm).first, mha(x, x, x, float_kpm).first, 1e-6, 1e-6));
}

TEST_CASE("Transformer stacks with checkpoint_layers train to the same gradients, dropout on", "[checkpoint]") {
  xg::manual_seed(4);
  nn::Transformer plain(nn::TransformerOptions(16, 2, 2, 2).dim_feedforward(32).dropout(0.2));
  xg::manual_seed(4);
  nn::Transformer ckpt(nn::TransformerOptions(16, 2, 2, 2).dim_feedforward(32).dropout(0.2).checkpoint_layers(true));
  xg::Tensor src = xg::randn({3, 7, 16}), tgt = xg::randn({3, 5, 16});
  xg::Tensor mask = nn::generate_square_subsequent_mask(5);
  xg::Tensor kpm = xg::zeros({3, 7}, xg::kBool);
  kpm.index_put_({0, 6}, 1.0);
  auto loss = [&](nn::Transformer& m) {
    xg::manual_seed(8);
    return m(src, tgt, xg::Tensor(), mask, xg::Tensor(), kpm, xg::Tensor(), kpm).pow(2).mean();
  };
  xg::Tensor l1 = loss(plain), l2 = loss(ckpt);
  CHECK(l1.item<float>() == l2.item<float>());
  l1.backward();
  l2.backward();
  auto p1 = plain->named_parameters(), p2 = ckpt->named_parameters();
  REQUIRE(p1.size() == p2.size());
  for (size_t i = 0; i < p1.size(); ++i) {
    INFO(p1[i].first);
    CHECK(xg::allclose(p1[i].second.grad(), p2[i].second.grad(), 1e-5, 1e-6));
  }
}
