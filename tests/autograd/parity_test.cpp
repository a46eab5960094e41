// PyTorch parity: outputs and input gradients against fixtures written by
// tests/reference/make_fixtures.py (float64 to 1e-10, float32 to 1e-5 relative).
#include <filesystem>
#include <functional>
#include <map>

#include "helpers.hpp"

namespace fs = std::filesystem;
using L = xg::TensorList;
using F = std::function<xg::Tensor(const L&)>;

namespace {

// The same computations, by name, as CASES in make_fixtures.py.
const std::map<std::string, F>& cases() {
  static const std::map<std::string, F> m = {
      {"add_broadcast", [](const L& i) { return i[0] + i[1]; }},
      {"sub_mul_div", [](const L& i) { return (i[0] - i[1]) * i[2] / (i[1] * i[1] + 1.0); }},
      {"pow_exp_log", [](const L& i) { return xg::pow(i[0], 1.7) + xg::exp(i[1]) * xg::log(i[0]); }},
      {"pow_tensor", [](const L& i) { return xg::pow(i[0], i[1]); }},
      {"sqrt_rsqrt_abs", [](const L& i) { return xg::sqrt(i[0]) + xg::rsqrt(i[0]) * xg::abs(i[1]); }},
      {"activations", [](const L& i) { return xg::tanh(i[0]) + xg::sigmoid(i[0]) * xg::relu(i[0]) + xg::silu(i[0]); }},
      {"gelu_erf", [](const L& i) { return xg::gelu(i[0]); }},
      {"gelu_tanh", [](const L& i) { return xg::gelu(i[0], "tanh"); }},
      {"clamp_max_min", [](const L& i) { return xg::clamp(i[0], -0.5, 0.8) + xg::maximum(i[0], i[1]) - xg::minimum(i[0], i[1]); }},
      {"where_masked_fill", [](const L& i) { return xg::where(i[0] > 0.0, i[0], i[1]).masked_fill(i[1] > 0.5, -2.0); }},
      {"reductions", [](const L& i) {
         const auto& a = i[0];
         return a.sum({1}) + a.mean({1}) + a.var({1}) + a.amax({1}) + a.logsumexp({1});
       }},
      {"reductions_keepdim", [](const L& i) { return (i[0].sum({0, 2}, true) * i[0].amin({0, 2}, true)).sum({1}); }},
      {"matmul_2d", [](const L& i) { return xg::matmul(i[0], i[1]); }},
      {"matmul_batched_broadcast", [](const L& i) { return xg::matmul(i[0], i[1]); }},
      {"matmul_vector", [](const L& i) { return xg::matmul(i[0], i[1]); }},
      {"linear", [](const L& i) { return xg::linear(i[0], i[1], i[2]); }},
      {"shape_ops", [](const L& i) {
         const auto& a = i[0];
         return xg::cat({a.transpose(0, 1).reshape({4, 6}), a.permute({1, 2, 0}).reshape({4, 6}) * 2.0}, 0).narrow(0, 1, 5);
       }},
      {"expand_stack", [](const L& i) { return xg::stack({i[0].expand({3, 4}), i[1].unsqueeze(0).expand({3, 4})}, 1).squeeze(); }},
      {"tril_triu", [](const L& i) { return i[0].tril(-1) * 2.0 + i[0].triu(1); }},
      {"index_ops", [](const L& i) {
         const auto& a = i[0];
         return a.index_select(1, xg::tensor({2, 0, 2})).sum() * a.gather(1, xg::tensor({0, 1, 2, 2}).reshape({2, 2}));
       }},
      {"embedding", [](const L& i) { return xg::embedding(xg::tensor({3, 0, 3, 1}).reshape({2, 2}), i[0], 0); }},
      {"softmax", [](const L& i) { return xg::softmax(i[0], -1); }},
      {"softmax_mid_dim", [](const L& i) { return xg::softmax(i[0], 1); }},
      {"log_softmax", [](const L& i) { return xg::log_softmax(i[0], -1); }},
      {"layer_norm", [](const L& i) { return xg::layer_norm(i[0], {6}, i[1], i[2], 1e-5); }},
      {"layer_norm_2d_no_affine", [](const L& i) { return xg::layer_norm(i[0], {3, 4}, {}, {}, 1e-6); }},
      {"cross_entropy", [](const L& i) { return xg::cross_entropy(i[0], i[1]); }},
      {"cross_entropy_options", [](const L& i) {
         return xg::cross_entropy(i[0], i[1], xg::CrossEntropyLossOptions().weight(i[2]).ignore_index(2).label_smoothing(0.15));
       }},
      {"cross_entropy_none_3d", [](const L& i) {
         return xg::cross_entropy(i[0], i[1], xg::CrossEntropyLossOptions().reduction(xg::kNone).label_smoothing(0.1));
       }},
      {"cross_entropy_sum", [](const L& i) { return xg::cross_entropy(i[0], i[1], xg::CrossEntropyLossOptions().reduction(xg::kSum)); }},
      {"nll_loss", [](const L& i) { return xg::nll_loss(xg::log_softmax(i[0], 1), i[1], xg::NLLLossOptions().ignore_index(1)); }},
      {"mse_loss", [](const L& i) { return xg::mse_loss(i[0], i[1]); }},
      // ---- the everyday ops (issue 12)
      {"log1p_expm1_softplus", [](const L& i) { return xg::log1p(i[0]) + xg::expm1(i[0]) + xg::softplus(i[1] * 3.0, 0.7, 2.0); }},
      {"mish_hardtanh", [](const L& i) { return xg::mish(i[0]) + xg::hardtanh(i[0] * 2.0, -1.0, 0.5); }},
      {"std_norms", [](const L& i) {
         const auto& a = i[0];
         return a.std({1}) + a.std({1}, false) + a.norm(2, {1}) + a.norm(1, {1}) + a.norm(3, {1}) +
                xg::linalg_vector_norm(a, INFINITY, {1}) + xg::linalg_vector_norm(a, -INFINITY, {1});
       }},
      {"cumsum_cumprod", [](const L& i) { return i[0].cumsum(1) + i[1].cumprod(1); }},
      {"cumprod_with_zero", [](const L& i) { return xg::cat({i[0], xg::zeros({1, 4}, i[0].dtype()), i[0]}, 0).cumprod(0); }},
      {"sort_topk", [](const L& i) {
         const auto& a = i[0];
         return std::get<0>(a.sort(1, true)) * 2.0 + std::get<0>(a.topk(2, 1)).sum({1}, true) +
                std::get<0>(a.topk(2, 1, false)).sum({1}, true);
       }},
      {"repeat", [](const L& i) { return i[0].repeat({2, 1, 3}); }},
      {"repeat_interleave", [](const L& i) {
         return xg::cat({i[0].repeat_interleave(2, 1), xg::repeat_interleave(i[0], xg::tensor({1, 0, 3}), 1)}, 1);
       }},
      {"flip_roll", [](const L& i) { return i[0].flip({0, 2}) * i[0].roll({1, -2}, {1, 2}) + i[0].roll({5}); }},
      {"bmm_baddbmm", [](const L& i) { return xg::baddbmm(i[0], i[1], i[2], 0.5, 2.0) + xg::bmm(i[1], i[2]); }},
      {"einsum_batched", [](const L& i) { return xg::einsum("bij,bjk->bik", {i[0], i[1]}); }},
      {"einsum_diag_ellipsis", [](const L& i) { return xg::einsum("ii,...i,ij->...j", {i[0], i[1], i[2]}); }},
      {"einsum_bilinear", [](const L& i) { return xg::einsum("bn,anm,bm->ba", {i[0], i[1], i[2]}); }},
      {"index_slices", [](const L& i) {
         using namespace xg::indexing;
         return i[0].index({Slice(), -1, Slice(1, None, 2)}) * 2.0 + i[0].index({0, Ellipsis, None}).sum();
       }},
      {"index_mask", [](const L& i) { return i[0].index({i[1]}); }},
      {"index_tensors", [](const L& i) {
         using namespace xg::indexing;
         return xg::cat({i[0].index({Slice(), xg::tensor({2, 0, -1}).reshape({3, 1}), xg::tensor({1, 1})}).reshape({-1}),
                         i[0].index({xg::tensor({1, 0, 1}), Slice(), xg::tensor({3, 0, 0})}).reshape({-1})});
       }},
      {"index_put", [](const L& i) {
         using namespace xg::indexing;
         xg::Tensor b = xg::index_put(i[0], {Slice(), xg::tensor({0, 2})}, i[1]);
         return xg::index_put(b, {xg::tensor({1, 1, 0})}, i[2], true);
       }},
      {"index_put_inplace", [](const L& i) {
         using namespace xg::indexing;
         xg::Tensor t = i[0] * 1.0;
         t.index_put_({Slice(None, 2), 1}, i[1]);
         return t;
       }},
      {"masked_select_scatter", [](const L& i) {
         return xg::cat({i[0].masked_select(i[2]), i[0].masked_scatter(i[2], i[1]).reshape({-1})});
       }},
      {"scatter", [](const L& i) {
         xg::Tensor idx = xg::tensor({2, 0, 1, 2}).reshape({2, 2});
         return i[0].scatter(1, idx, i[1]) + i[0].scatter(1, idx, 0.5) +
                i[0].scatter_add(0, xg::tensor({1, 0, 0, 1, 1, 0}).reshape({2, 3}), i[1]);
       }},
      // ---- losses (issue 12)
      {"l1_smooth_l1_huber", [](const L& i) {
         return xg::stack({xg::l1_loss(i[0], i[1]), xg::smooth_l1_loss(i[0], i[1], xg::SmoothL1LossOptions().beta(0.5)),
                           xg::huber_loss(i[0], i[1], xg::HuberLossOptions().delta(0.7)),
                           xg::smooth_l1_loss(i[0], i[1], xg::kSum)});
       }},
      {"l1_huber_none", [](const L& i) { return xg::l1_loss(i[0], i[1], xg::kNone) * xg::huber_loss(i[0], i[1], xg::kNone); }},
      {"binary_cross_entropy", [](const L& i) {
         return xg::stack({xg::binary_cross_entropy(i[0], i[1]),
                           xg::binary_cross_entropy(i[0], i[1], xg::BCELossOptions().weight(i[2])),
                           xg::binary_cross_entropy(i[0], i[1], xg::BCELossOptions().reduction(xg::kSum))});
       }},
      {"bce_with_logits", [](const L& i) {
         using O = xg::BCEWithLogitsLossOptions;
         return xg::stack({xg::binary_cross_entropy_with_logits(i[0] * 5.0, i[1]),
                           xg::binary_cross_entropy_with_logits(i[0] * 5.0, i[1], O().weight(i[2]).pos_weight(i[3])),
                           xg::binary_cross_entropy_with_logits(i[0], i[1], O().reduction(xg::kSum).pos_weight(i[3]))});
       }},
      {"kl_div", [](const L& i) {
         xg::Tensor lp = xg::log_softmax(i[0], 1);
         return xg::stack({xg::kl_div(lp, xg::softmax(i[1], 1), xg::kBatchMean),
                           xg::kl_div(lp, xg::log_softmax(i[2], 1), xg::KLDivLossOptions(xg::kSum).log_target(true)),
                           xg::kl_div(lp, xg::softmax(i[1], 1))});
       }},
      {"nll_loss_weighted", [](const L& i) {
         return xg::nll_loss(xg::log_softmax(i[0], 1), i[1], xg::NLLLossOptions().weight(i[2]));
       }},
  };
  return m;
}

// |a − b| ≤ atol + rtol·|b| everywhere, with the worst element reported.
void check_close(const xg::Tensor& got, const xg::Tensor& want, double rtol, double atol, const std::string& what) {
  INFO(what << ": shape " << xg::str(got.sizes()) << " vs " << xg::str(want.sizes()));
  REQUIRE(got.sizes() == want.sizes());
  xg::Tensor a = got.detach().to(xg::kFloat64), b = want.to(xg::kFloat64);
  const double *pa = a.data_ptr<double>(), *pb = b.data_ptr<double>();
  double worst = 0;
  int64_t at = -1;
  for (int64_t k = 0; k < a.numel(); ++k) {
    double excess = std::fabs(pa[k] - pb[k]) - (atol + rtol * std::fabs(pb[k]));
    if (excess > worst) { worst = excess; at = k; }
  }
  INFO("worst element " << at << ": " << (at >= 0 ? pa[at] : 0) << " vs " << (at >= 0 ? pb[at] : 0));
  CHECK(at == -1);
}

}  // namespace

TEST_CASE("ops match PyTorch 1.13 outputs and gradients", "[parity]") {
  fs::path root = fs::path(XGRAD_FIXTURES) / "ops";
  REQUIRE(fs::exists(root));
  size_t seen = 0;
  for (const auto& entry : fs::directory_iterator(root)) {
    std::string name = entry.path().filename();
    auto it = cases().find(name);
    INFO("case " << name);
    REQUIRE(it != cases().end());
    for (std::string tag : {"float64", "float32"}) {
      DYNAMIC_SECTION(name << " " << tag) {
        fs::path dir = entry.path() / tag;
        const double rtol = tag == "float64" ? 1e-10 : 1e-5, atol = tag == "float64" ? 1e-12 : 1e-6;
        L inputs;
        for (int k = 0; fs::exists(dir / (xg::str("in", k, ".npy"))); ++k) {
          xg::Tensor t = xg::load_npy(dir / (xg::str("in", k, ".npy")));
          if (t.is_floating_point() && fs::exists(dir / (xg::str("grad", k, ".npy")))) t.requires_grad_();
          inputs.push_back(t);
        }
        xg::Tensor out = it->second(inputs);
        check_close(out, xg::load_npy(dir / "out.npy"), rtol, atol, "output");
        out.backward(xg::load_npy(dir / "gout.npy"));
        for (size_t k = 0; k < inputs.size(); ++k) {
          fs::path g = dir / (xg::str("grad", k, ".npy"));
          if (fs::exists(g)) check_close(inputs[k].grad(), xg::load_npy(g), rtol, atol, "grad of input " + std::to_string(k));
        }
      }
    }
    ++seen;
  }
  CHECK(seen == cases().size());
}
