// The fused scaled_dot_product_attention against the composite formula, in every mask and dropout
// mode, gradchecked (and grad-of-grad through its create_graph fallback), and its dropout stream.
#include <cmath>

#include "helpers.hpp"
#include "kernels/flash_attention.hpp"
#include "kernels/dropout.hpp"

namespace {

double max_abs_diff(const xg::Tensor& a, const xg::Tensor& b) {
  return xg::amax(xg::abs(a.detach() - b.detach())).to(xg::kFloat64).item<double>();
}

// One way of masking attention, with the masks each path takes.
struct MaskCase {
  const char* name;
  xg::Tensor mask;  // for scaled_dot_product_attention (Bool: true = may attend)
  bool causal;
};

// (B, H, L, E) inputs with L ≠ S and E ≠ Ev, and masks that leave some rows with no key at all.
std::vector<MaskCase> mask_cases(int64_t B, int64_t H, int64_t L, int64_t S, xg::ScalarType dtype) {
  xg::Tensor allowed = xg::rand({B, H, L, S}, xg::kFloat64) > 0.3;
  allowed.index_put_({0, 0, 1}, 0.0);  // a row with every key masked
  xg::Tensor additive = xg::randn({B, 1, L, S}, dtype);
  xg::Tensor padding = xg::ones({B, 1, 1, S}, xg::kBool);  // key padding: the last keys of batch 1 masked
  padding.index_put_({1, 0, 0, xg::indexing::Slice(S - 3, xg::indexing::None)}, 0.0);
  xg::Tensor minus_inf = xg::where(xg::rand({L, S}, xg::kFloat64) > 0.5, -INFINITY, 0.0).to(dtype);
  minus_inf.index_put_({2}, -INFINITY);  // float −inf mask, one row fully masked
  return {{"no mask", {}, false},
          {"causal", {}, true},
          {"Bool mask", allowed, false},
          {"additive mask", additive, false},
          {"key padding", padding, false},
          {"causal + key padding", padding, true},
          {"-inf float mask", minus_inf, false}};
}

}  // namespace

TEST_CASE("the dropout stream: any span equals the same elements of the whole stream", "[attention]") {
  namespace k = xg::kernels;
  const int64_t n = 4 * k::kDropoutBlock;
  std::vector<uint32_t> whole(n);
  k::dropout_words(42, 0, n, [&](int64_t i, uint32_t w) { whole[i] = w; });
  // Starts inside a block, spans crossing one and two block boundaries.
  for (int64_t first : {int64_t{0}, int64_t{3}, k::kDropoutBlock - 7, 2 * k::kDropoutBlock - 1}) {
    for (int64_t count : {int64_t{1}, int64_t{13}, k::kDropoutBlock + 9}) {
      std::vector<uint32_t> part(count);
      k::dropout_words(42, static_cast<uint64_t>(first), count, [&](int64_t i, uint32_t w) { part[i] = w; });
      CHECK(std::equal(part.begin(), part.end(), whole.begin() + first));
    }
  }
  // Another seed, another stream; p = 0 keeps everything, p = 1 nothing.
  std::vector<uint32_t> other(64);
  k::dropout_words(43, 0, 64, [&](int64_t i, uint32_t w) { other[i] = w; });
  CHECK(std::mismatch(other.begin(), other.end(), whole.begin()).first == other.begin());
  std::vector<double> z(100);
  k::dropout_span<double>(7, 0, 100, 0.0, nullptr, z.data());
  CHECK(std::all_of(z.begin(), z.end(), [](double m) { return m == 1.0; }));
  k::dropout_span<double>(7, 0, 100, 1.0, nullptr, z.data());
  CHECK(std::all_of(z.begin(), z.end(), [](double m) { return m == 0.0; }));
}

TEST_CASE("fused attention equals the composite formula in every mask mode, values and gradients", "[attention]") {
  xg::manual_seed(11);
  for (auto dtype : {xg::kFloat64, xg::kFloat32}) {
    const double tol = dtype == xg::kFloat64 ? 1e-12 : 1e-5;
    // Tiles of 64: L and S cross tile edges; E ≠ Ev.
    const int64_t B = 2, H = 3, L = 70, S = 131, E = 16, Ev = 24;
    for (const auto& mc : mask_cases(B, H, L, S, dtype)) {
      INFO(mc.name << " " << xg::dtype_name(dtype));
      xg::Tensor q = xg::randn({B, H, L, E}, dtype).requires_grad_();
      xg::Tensor k = xg::randn({B, H, S, E}, dtype).requires_grad_();
      xg::Tensor v = xg::randn({B, H, S, Ev}, dtype).requires_grad_();
      xg::Tensor g = xg::randn({B, H, L, Ev}, dtype);
      xg::Tensor fused = xg::scaled_dot_product_attention(q, k, v, mc.mask, 0.0, mc.causal);
      xg::Tensor ref = std::get<0>(xg::_scaled_dot_product_attention_math(q, k, v, mc.mask, 0.0, mc.causal));
      CHECK(max_abs_diff(fused, ref) <= tol);
      auto gf = xg::grad({fused}, {q, k, v}, {g});
      auto gr = xg::grad({ref}, {q, k, v}, {g});
      for (int i = 0; i < 3; ++i) CHECK(max_abs_diff(gf[i], gr[i]) <= tol * 10);
      // No NaN anywhere, even where a row has no key.
      CHECK(xg::equal(fused, fused));
      for (int i = 0; i < 3; ++i) CHECK(xg::equal(gf[i], gf[i]));
    }
  }
}

TEST_CASE("no keys or no queries: outputs and gradients are 0, as the composite formula's", "[attention]") {
  // The backward writes each gradient at its first product instead of zeroing it first: with no
  // keys there is no product for dq, with no queries none for dk and dv.
  for (auto [L, S] : {std::pair<int64_t, int64_t>{5, 0}, {0, 7}}) {
    for (bool causal : {false, true}) {
      INFO("L " << L << " S " << S << " causal " << causal);
      xg::Tensor q = rnd({2, L, 8}), k = rnd({2, S, 8}), v = rnd({2, S, 3});
      xg::Tensor out = xg::scaled_dot_product_attention(q, k, v, {}, 0.0, causal);
      CHECK(xg::equal(out, xg::zeros({2, L, 3}, xg::kFloat64)));
      auto g = xg::grad({out}, {q, k, v}, {xg::randn({2, L, 3}, xg::kFloat64)});
      CHECK(xg::equal(g[0], xg::zeros({2, L, 8}, xg::kFloat64)));
      CHECK(xg::equal(g[1], xg::zeros({2, S, 8}, xg::kFloat64)));
      CHECK(xg::equal(g[2], xg::zeros({2, S, 3}, xg::kFloat64)));
    }
  }
}

TEST_CASE("a query whose keys are all masked gives output 0 and gradient 0", "[attention]") {
  xg::Tensor q = rnd({1, 4, 8}), k = rnd({1, 6, 8}), v = rnd({1, 6, 5});
  xg::Tensor allowed = xg::ones({4, 6}, xg::kBool);
  allowed.index_put_({2}, 0.0);
  xg::Tensor out = xg::scaled_dot_product_attention(q, k, v, allowed);
  CHECK(xg::equal(out.index({0, 2}), xg::zeros({5}, xg::kFloat64)));
  xg::Tensor gq = xg::grad({out}, {q}, {xg::randn({1, 4, 5}, xg::kFloat64)})[0];
  CHECK(xg::equal(gq.index({0, 2}), xg::zeros({8}, xg::kFloat64)));
  CHECK(xg::amax(xg::abs(gq.index({0, 1}))).item<double>() > 0);
}

TEST_CASE("fused attention's dropout is the composite formula with the same keep mask", "[attention]") {
  const int64_t B = 2, H = 2, L = 67, S = 90, E = 8;
  const double p = 0.3;
  for (bool causal : {false, true}) {
    INFO("causal " << causal);
    xg::Tensor q = rnd({B, H, L, E}), k = rnd({B, H, S, E}), v = rnd({B, H, S, E});
    xg::Tensor g = xg::randn({B, H, L, E}, xg::kFloat64);
    xg::manual_seed(5);
    xg::Tensor fused = xg::scaled_dot_product_attention(q, k, v, {}, p, causal);
    xg::manual_seed(5);
    const uint64_t seed = xg::global_generator()();  // the op's one draw
    xg::Tensor keep = xg::empty({B, H, L, S}, xg::kBool);
    xg::kernels::attention_keep_mask(seed, p, B * H, L, S, keep.data_ptr<bool>());
    const double kept = xg::mean(keep.to(xg::kFloat64)).item<double>();
    CHECK(std::abs(kept - (1 - p)) < 0.02);
    xg::Tensor ref = std::get<0>(xg::_scaled_dot_product_attention_math(q, k, v, {}, p, causal, keep));
    CHECK(max_abs_diff(fused, ref) <= 1e-12);
    auto gf = xg::grad({fused}, {q, k, v}, {g});
    auto gr = xg::grad({ref}, {q, k, v}, {g});
    for (int i = 0; i < 3; ++i) CHECK(max_abs_diff(gf[i], gr[i]) <= 1e-11);
  }
  // Each call draws a new mask; p = 1 drops everything.
  xg::Tensor q = rnd({1, 9, 4}), k = rnd({1, 9, 4}), v = rnd({1, 9, 4});
  CHECK(!xg::equal(xg::scaled_dot_product_attention(q, k, v, {}, 0.5), xg::scaled_dot_product_attention(q, k, v, {}, 0.5)));
  CHECK(xg::equal(xg::scaled_dot_product_attention(q, k, v, {}, 1.0), xg::zeros({1, 9, 4}, xg::kFloat64)));
}

TEST_CASE("fused attention gradchecks and gradgradchecks in float64 in every mask and dropout mode", "[attention]") {
  xg::manual_seed(3);
  const int64_t B = 2, H = 1, L = 5, S = 7, E = 3;
  for (const auto& mc : mask_cases(B, H, L, S, xg::kFloat64)) {
    for (double p : {0.0, 0.4}) {
      INFO(mc.name << ", dropout " << p);
      auto fn = [&](const xg::TensorList& in) {
        xg::manual_seed(77);  // the same dropout mask on every evaluation
        return xg::scaled_dot_product_attention(in[0], in[1], in[2], mc.mask, p, mc.causal, 0.7);
      };
      xg::TensorList in{rnd({B, H, L, E}), rnd({B, H, S, E}), rnd({B, H, S, E + 1})};
      CHECK_GRADCHECK(fn, in);
      CHECK_GRADGRADCHECK(fn, in);
    }
  }
}

// The packed op's heads, as scaled_dot_product_attention takes them: columns [col, col + H·hd) of
// src (B, rows, width), as (B, H, rows, hd).
static xg::Tensor heads_of(const xg::Tensor& src, int64_t col, int64_t H, int64_t hd) {
  const int64_t B = src.sizes()[0], rows = src.sizes()[1];
  return src.narrow(2, col, H * hd).reshape({B, rows, H, hd}).permute({0, 2, 1, 3});
}

TEST_CASE("packed multi-head attention equals scaled_dot_product_attention on the permuted heads", "[attention]") {
  xg::manual_seed(21);
  const int64_t B = 2, H = 3, hd = 8, E = H * hd, L = 70, S = 67;
  for (auto dtype : {xg::kFloat64, xg::kFloat32}) {
    const double tol = dtype == xg::kFloat64 ? 1e-12 : 1e-5;
    for (bool self : {true, false}) {
      const int64_t keys = self ? L : S;
      for (const auto& mc : mask_cases(B, H, L, keys, dtype)) {
        for (double p : {0.0, 0.25}) {
          INFO(mc.name << " " << xg::dtype_name(dtype) << (self ? " self" : " cross") << " dropout " << p);
          xg::Tensor a = xg::randn({B, L, self ? 3 * E : E}, dtype).requires_grad_();
          xg::Tensor kv = self ? xg::Tensor() : xg::randn({B, S, 2 * E}, dtype).requires_grad_();
          const xg::Tensor& ks = self ? a : kv;
          xg::Tensor g = xg::randn({B, L, E}, dtype);
          xg::manual_seed(8);
          xg::Tensor packed = xg::_packed_multi_head_attention(a, kv, H, mc.mask, p, mc.causal);
          xg::manual_seed(8);  // the same draw, so the same dropout mask
          xg::Tensor ref = xg::scaled_dot_product_attention(heads_of(a, 0, H, hd), heads_of(ks, self ? E : 0, H, hd),
                                                            heads_of(ks, self ? 2 * E : E, H, hd), mc.mask, p,
                                                            mc.causal)
                               .permute({0, 2, 1, 3})
                               .reshape({B, L, E});
          CHECK(max_abs_diff(packed, ref) <= tol);
          xg::TensorList inputs = self ? xg::TensorList{a} : xg::TensorList{a, kv};
          auto gp = xg::grad({packed}, inputs, {g});
          auto gr = xg::grad({ref}, inputs, {g});
          for (size_t i = 0; i < gp.size(); ++i) CHECK(max_abs_diff(gp[i], gr[i]) <= tol * 10);
        }
      }
    }
  }
}

TEST_CASE("packed multi-head attention gradchecks and gradgradchecks in float64", "[attention]") {
  xg::manual_seed(4);
  const int64_t B = 2, H = 2, hd = 3, E = H * hd, L = 5, S = 4;
  xg::Tensor padding = xg::ones({B, 1, 1, S}, xg::kBool);
  padding.index_put_({1, 0, 0, 3}, 0.0);
  for (double p : {0.0, 0.3}) {
    INFO("dropout " << p);
    auto self_fn = [&](const xg::TensorList& in) {
      xg::manual_seed(77);
      return xg::_packed_multi_head_attention(in[0], {}, H, {}, p, true);
    };
    CHECK_GRADCHECK(self_fn, (xg::TensorList{rnd({B, L, 3 * E})}));
    CHECK_GRADGRADCHECK(self_fn, (xg::TensorList{rnd({B, L, 3 * E})}));
    auto cross_fn = [&](const xg::TensorList& in) {
      xg::manual_seed(78);
      return xg::_packed_multi_head_attention(in[0], in[1], H, padding, p, false);
    };
    CHECK_GRADCHECK(cross_fn, (xg::TensorList{rnd({B, L, E}), rnd({B, S, 2 * E})}));
    CHECK_GRADGRADCHECK(cross_fn, (xg::TensorList{rnd({B, L, E}), rnd({B, S, 2 * E})}));
  }
  CHECK_THROWS_WITH(xg::_packed_multi_head_attention(rnd({B, L, 3 * E + 1}), {}, H),
                    Catch::Contains("_packed_multi_head_attention") && Catch::Contains("num_heads"));
  CHECK_THROWS_WITH(xg::_packed_multi_head_attention(rnd({B, L, E}), rnd({B, S, E}), H),
                    Catch::Contains("kv (B, S, 2·H·hd)"));
  CHECK_THROWS_WITH(xg::_packed_multi_head_attention(rnd({B, L, 3 * E}), {}, H, xg::ones({L, L + 1}, xg::kBool)),
                    Catch::Contains("doesn't broadcast"));
}

TEST_CASE("fused attention broadcasts batch dims, and a float mask that requires grad gets its gradient",
          "[attention]") {
  xg::Tensor q = rnd({2, 3, 4, 5}), k = rnd({1, 3, 6, 5}), v = rnd({3, 6, 2});
  xg::Tensor out = xg::scaled_dot_product_attention(q, k, v);
  xg::Tensor ref = std::get<0>(xg::_scaled_dot_product_attention_math(q, k, v));
  CHECK(out.sizes() == xg::Shape({2, 3, 4, 2}));
  CHECK(max_abs_diff(out, ref) <= 1e-12);
  CHECK_GRADCHECK([](const xg::TensorList& in) { return xg::scaled_dot_product_attention(in[0], in[1], in[2]); },
                  (xg::TensorList{q, k, v}));
  xg::Tensor bias = rnd({4, 6});
  CHECK_GRADCHECK(
      [](const xg::TensorList& in) { return xg::scaled_dot_product_attention(in[0], in[1], in[2], in[3]); },
      (xg::TensorList{q, k, v, bias}));
}

TEST_CASE("fused attention gives the same bits on 1 thread and on 2", "[attention][threads]") {
  const int before = xg::get_num_threads();
  xg::Tensor q = xg::randn({4, 2, 300, 32}).requires_grad_(), k = xg::randn({4, 2, 300, 32}).requires_grad_();
  xg::Tensor v = xg::randn({4, 2, 300, 32}).requires_grad_(), g = xg::randn({4, 2, 300, 32});
  auto run = [&](int threads) {
    xg::set_num_threads(threads);
    xg::manual_seed(9);
    xg::Tensor out = xg::scaled_dot_product_attention(q, k, v, {}, 0.1, true);
    xg::TensorList r = xg::grad({out}, {q, k, v}, {g});
    r.push_back(out);
    return r;
  };
  auto one = run(1), two = run(2);
  xg::set_num_threads(before);
  for (size_t i = 0; i < one.size(); ++i) CHECK(xg::equal(one[i], two[i]));
}

TEST_CASE("fused attention refuses bad input with the op and the shapes named", "[attention][errors]") {
  using Catch::Matchers::Contains;
  xg::Tensor q = xg::randn({2, 4, 8}), k = xg::randn({2, 5, 8}), v = xg::randn({2, 5, 3});
  CHECK_THROWS_WITH(xg::scaled_dot_product_attention(q, xg::randn({2, 5, 7}), v),
                    Contains("scaled_dot_product_attention") && Contains("[2, 5, 7]"));
  CHECK_THROWS_WITH(xg::scaled_dot_product_attention(q, k, xg::randn({2, 6, 3})), Contains("[2, 6, 3]"));
  CHECK_THROWS_WITH(xg::scaled_dot_product_attention(q, k, v, xg::ones({4, 6}, xg::kBool)),
                    Contains("attn_mask of shape [4, 6]") && Contains("[2, 4, 5]"));
  CHECK_THROWS_WITH(xg::scaled_dot_product_attention(q, k, v, xg::ones({4, 5}, xg::kInt64)), Contains("Int64"));
  CHECK_THROWS_WITH(xg::scaled_dot_product_attention(q, k, v, {}, 1.5), Contains("dropout_p"));
  CHECK_THROWS_WITH(xg::scaled_dot_product_attention(q, k.to(xg::kFloat64), v), Contains("Float64"));
  CHECK_THROWS_WITH(xg::scaled_dot_product_attention(q, k, xg::randn({3, 5, 3})), Contains("broadcast"));
}
