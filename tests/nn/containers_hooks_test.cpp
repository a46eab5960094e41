// ModuleDict, ParameterList/Dict, forward hooks, InferenceMode, apply/named_modules and printing.
#include <sstream>

#include "helpers.hpp"

namespace nn = xg::nn;

TEST_CASE("ModuleDict registers its modules under their keys, in order", "[nn][containers]") {
  nn::ModuleDict d(std::vector<std::pair<std::string, std::shared_ptr<nn::Module>>>{
      {"proj", nn::Linear(3, 2).ptr()}, {"norm", nn::LayerNorm(nn::LayerNormOptions({2})).ptr()}});
  d->insert("out", nn::Linear(2, 1));
  CHECK(d->size() == 3);
  CHECK(d->keys() == std::vector<std::string>{"proj", "norm", "out"});
  CHECK(d->contains("norm"));
  std::vector<std::string> names;
  for (auto& [n, p] : d->named_parameters()) names.push_back(n);
  CHECK(names == std::vector<std::string>{"proj.weight", "proj.bias", "norm.weight", "norm.bias", "out.weight", "out.bias"});
  xg::Tensor y = d->at<nn::LinearImpl>("out")->forward(d->at<nn::LinearImpl>("proj")->forward(xg::randn({4, 3})));
  CHECK(y.sizes() == xg::Shape{4, 1});
  CHECK_THROWS_WITH(d["nope"], Catch::Contains("ModuleDict: no module under key 'nope'"));
  CHECK_THROWS_WITH(d->at<nn::LinearImpl>("norm"), Catch::Contains("not of the requested type"));
  CHECK_THROWS_WITH(d->insert("out", nn::Linear(1, 1)), Catch::Contains("key 'out' is already present"));
}

TEST_CASE("ParameterList and ParameterDict hold leaves that train and save", "[nn][containers]") {
  nn::ParameterList pl;
  pl->append(xg::randn({2, 2}));
  pl->append(xg::randn({3}));
  CHECK(pl->size() == 2);
  CHECK((*pl)[0].requires_grad());
  CHECK((*pl)[1].is_leaf());
  nn::ParameterDict pd;
  pd->insert("scale", xg::ones({3}));
  pd->insert("shift", xg::zeros({3}));
  CHECK(pd->keys() == std::vector<std::string>{"scale", "shift"});
  (pd["scale"] * 2.0 + pd["shift"]).sum().backward();
  CHECK(xg::allclose(pd->get("scale").grad(), xg::full({3}, 2.0)));
  auto sd = pl->state_dict();
  REQUIRE(sd.size() == 2);
  CHECK(sd[0].first == "0");
  CHECK(sd[1].first == "1");
  CHECK_THROWS_WITH(pd->insert("a.b", xg::ones({1})), Catch::Contains("must be non-empty and contain no '.'"));
  CHECK_THROWS_WITH((*pl)[5], Catch::Contains("ParameterList: index 5 out of range"));
}

TEST_CASE("forward hooks see and may replace inputs and outputs; remove() unregisters", "[nn][hooks]") {
  nn::Linear lin(3, 2);
  int pre_calls = 0, post_calls = 0;
  auto pre = lin->register_forward_pre_hook([&](nn::Module&, const xg::TensorList& in) -> std::optional<xg::TensorList> {
    ++pre_calls;
    return xg::TensorList{in[0] * 0.0};  // the layer then sees zeros: output = bias
  });
  auto post = lin->register_forward_hook(
      [&](nn::Module& m, const xg::TensorList& in, const xg::TensorList& out) -> std::optional<xg::TensorList> {
        ++post_calls;
        CHECK(m.name() == "Linear");
        CHECK(xg::allclose(in[0], xg::zeros({4, 3})));  // the inputs as the pre-hook left them
        return xg::TensorList{out[0] + 1.0};
      });
  xg::Tensor x = xg::randn({4, 3});
  xg::Tensor y = lin(x);
  CHECK(pre_calls == 1);
  CHECK(post_calls == 1);
  CHECK(xg::allclose(y, lin->bias.expand({4, 2}) + 1.0));
  lin->forward(x);  // forward() directly: no hooks, as PyTorch
  CHECK(pre_calls == 1);
  pre.remove();
  post.remove();
  post.remove();  // twice is harmless
  CHECK(xg::allclose(lin(x), lin->forward(x)));
  CHECK(pre_calls == 1);
  // a module returning a tuple: the hook sees each tensor
  nn::MultiheadAttention mha(nn::MultiheadAttentionOptions(4, 2));
  xg::Shape seen;
  mha->register_forward_hook([&](nn::Module&, const xg::TensorList& in, const xg::TensorList& out) -> std::optional<xg::TensorList> {
    seen = out[1].sizes();
    CHECK(in.size() == 3);  // query, key, value (the undefined masks count too when passed)
    return std::nullopt;
  });
  xg::Tensor q = xg::randn({5, 2, 4});
  auto [o, w] = mha(q, q, q);
  CHECK(seen == w.sizes());
}

TEST_CASE("InferenceMode: no graph, inference tensors never saved or updated outside it", "[nn][inference]") {
  nn::Linear lin(3, 2);
  xg::Tensor y;
  {
    xg::InferenceMode guard;
    CHECK(xg::InferenceMode::is_enabled());
    CHECK_FALSE(xg::GradMode::is_enabled());
    y = lin(xg::randn({4, 3}));
    CHECK_FALSE(y.requires_grad());
    CHECK(y.is_inference());
    uint64_t v = y._version();
    y.add_(1.0);  // in place inside: fine, and not versioned
    CHECK(y._version() == v);
  }
  CHECK_FALSE(xg::InferenceMode::is_enabled());
  CHECK(xg::GradMode::is_enabled());
  CHECK_FALSE(lin->weight.is_inference());
  CHECK_THROWS_WITH(y.add_(1.0), Catch::Contains("in-place update to an inference tensor outside InferenceMode"));
  xg::Tensor w = xg::randn({2}).requires_grad_();
  CHECK_THROWS_WITH(w * y, Catch::Contains("an inference tensor (made under InferenceMode) cannot be saved for backward"));
  // reading is fine, and a clone is an ordinary tensor
  xg::Tensor ok = w * y.sum({0}).clone();
  ok.sum().backward();
  CHECK(w.grad().defined());
  CHECK((y + 1.0).sum().item<float>() != 0);
}

TEST_CASE("apply, named_modules and printing of lists", "[nn]") {
  nn::Sequential seq(nn::Linear(3, 4), nn::ReLU(), nn::Linear(4, 2));
  int linears = 0;
  seq->apply([&](nn::Module& m) {
    if (dynamic_cast<nn::LinearImpl*>(&m)) ++linears;
  });
  CHECK(linears == 2);
  std::vector<std::string> names;
  for (auto& [n, m] : seq->named_modules()) names.push_back(n);
  CHECK(names == std::vector<std::string>{"", "0", "1", "2"});
  nn::ModuleListOf<nn::Linear> typed;
  typed.push_back(nn::Linear(2, 2));
  std::ostringstream os;
  os << typed;
  CHECK(os.str().rfind("ModuleList(", 0) == 0);
  CHECK_THAT(os.str(), Catch::Contains("(0): Linear"));
}
