// The module system: the contract program, registration, traversal, modes, dtype,
// state dicts and checkpoints.
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "helpers.hpp"

namespace nn = xg::nn;

struct NetImpl : xg::nn::Module {
  NetImpl() {
    fc1 = register_module("fc1", xg::nn::Linear(4, 8));
    fc2 = register_module("fc2", xg::nn::Linear(8, 2));
  }
  xg::Tensor forward(const xg::Tensor& x) { return fc2(xg::relu(fc1(x))); }
  xg::nn::Linear fc1{nullptr}, fc2{nullptr};
};
XG_MODULE(Net);

namespace {
std::string tmp_path(const std::string& name) {
  return (std::filesystem::temp_directory_path() / ("xgrad_test_" + name)).string();
}
}  // namespace

TEST_CASE("the module contract program from the nn issue") {
  Net net;
  auto out = net(xg::randn({5, 4}));  // float32 by default
  CHECK(out.sizes() == xg::Shape{5, 2});
  CHECK(out.dtype() == xg::kFloat32);
  std::vector<std::string> names;
  for (auto& [name, p] : net->named_parameters()) names.push_back(name);
  CHECK(names == std::vector<std::string>{"fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"});
  net->to(xg::kFloat64);
  auto report = xg::gradcheck(net, {xg::randn({5, 4}, xg::kFloat64)});  // inputs and every parameter
  INFO(report.message);
  CHECK(report.ok);
  std::string path = tmp_path("net.npz");
  net->save(path);
  Net other;
  other->load(path);
  CHECK(xg::allclose(other->fc1->weight.to(xg::kFloat64), net->fc1->weight));
  auto x = xg::randn({3, 4}, xg::kFloat64);
  // other is float32 (loaded values were converted) and, as in libtorch, takes float32 input only
  CHECK(xg::allclose(other(x.to(xg::kFloat32)), net(x), 1e-5, 1e-5));
  CHECK_THROWS_WITH(other(x), Catch::Contains("linear: input is Float64 but weight is Float32"));
  std::remove(path.c_str());
}

TEST_CASE("a copied holder shares the module") {
  nn::Linear a(3, 2);
  nn::Linear b = a;
  CHECK(b.ptr() == a.ptr());
  nn::Linear empty{nullptr};
  CHECK(empty.is_empty());
  CHECK_THROWS_WITH(empty->forward(xg::randn({1, 3})), Catch::Contains("empty"));
}

TEST_CASE("parameters, buffers, children and modules") {
  Net net;
  CHECK(net->parameters().size() == 4);
  CHECK(net->num_parameters() == 4 * 8 + 8 + 8 * 2 + 2);
  CHECK(net->children().size() == 2);
  auto mods = net->named_modules();
  REQUIRE(mods.size() == 3);
  CHECK(mods[1].first == "fc1");
  CHECK_THROWS_WITH(net->register_parameter("fc1", xg::randn({2})), Catch::Contains("already registered"));
  CHECK_THROWS_WITH(net->register_buffer("a.b", xg::randn({2})), Catch::Contains("'.'"));
}

TEST_CASE("train and eval reach every submodule; dropout obeys") {
  nn::Sequential seq(nn::Linear(4, 4), nn::Dropout(0.5), nn::ReLU());
  seq->eval();
  for (auto& m : seq->modules()) CHECK_FALSE(m->is_training());
  xg::Tensor x = xg::randn({2, 4});
  CHECK(xg::equal(seq(x), seq(x)));
  seq->train();
  CHECK(seq->modules()[2]->is_training());
}

TEST_CASE("zero_grad and apply") {
  Net net;
  net(xg::randn({2, 4})).sum().backward();
  CHECK(net->fc1->weight.grad().defined());
  net->zero_grad(false);
  CHECK(net->fc1->weight.grad().abs().sum().item<double>() == 0.0);
  net->zero_grad();
  CHECK_FALSE(net->fc1->weight.grad().defined());
  int count = 0;
  net->apply([&](nn::Module&) { ++count; });
  CHECK(count == 3);
}

TEST_CASE("printing shows the tree with parameter counts") {
  Net net;
  std::ostringstream os;
  os << *net;
  CHECK_THAT(os.str(), Catch::Contains("(fc1): Linear(in_features=4, out_features=8, bias=true)  [40 params]"));
  CHECK_THAT(os.str(), Catch::Contains("Net(  [58 params]"));
}

TEST_CASE("load_state_dict is all or nothing and lists every problem") {
  Net net;
  auto sd = net->state_dict();
  xg::Tensor before = net->fc1->weight.clone();
  xg::NamedTensors bad;
  for (auto& [n, t] : sd)
    if (n != "fc2.bias") bad.emplace_back(n, n == "fc1.weight" ? xg::zeros({8, 5}) : xg::zeros_like(t));
  bad.emplace_back("extra", xg::zeros({1}));
  try {
    net->load_state_dict(bad);
    FAIL("expected an error");
  } catch (const xg::Error& e) {
    std::string m = e.what();
    CHECK_THAT(m, Catch::Contains("missing key 'fc2.bias'"));
    CHECK_THAT(m, Catch::Contains("unexpected key 'extra'"));
    CHECK_THAT(m, Catch::Contains("'fc1.weight': shape [8, 5]"));
  }
  CHECK(xg::equal(net->fc1->weight, before));  // nothing changed
  CHECK_THROWS_WITH(net->load_state_dict(bad, /*strict=*/false), Catch::Contains("fc1.weight"));  // shapes still count
}

TEST_CASE("a truncated or corrupted checkpoint is a clear error") {
  Net net;
  std::string path = tmp_path("trunc.npz");
  net->save(path);
  auto size = std::filesystem::file_size(path);
  std::filesystem::resize_file(path, size / 2);
  CHECK_THROWS_WITH(net->load(path), Catch::Contains("load_npz"));
  {
    std::ofstream f(path, std::ios::binary | std::ios::trunc);
    f << "this is not a zip file at all";
  }
  CHECK_THROWS_WITH(net->load(path), Catch::Contains("load_npz"));
  CHECK_THROWS_WITH(net->load(tmp_path("does_not_exist.npz")), Catch::Contains("load_npz"));
  std::remove(path.c_str());
}

TEST_CASE("npy bytes round-trip every dtype and reject garbage") {
  for (auto t : {xg::randn({2, 3}), xg::randn({4}, xg::kFloat64), xg::arange(5), xg::tensor({true, false}),
                 xg::scalar_tensor(2.5)}) {
    xg::Tensor back = xg::from_npy_bytes(xg::to_npy_bytes(t));
    CHECK(back.dtype() == t.dtype());
    CHECK(xg::equal(back, t));
  }
  std::string b = xg::to_npy_bytes(xg::randn({10}));
  CHECK_THROWS_WITH(xg::from_npy_bytes(b.substr(0, b.size() - 4)), Catch::Contains("truncated"));
  CHECK_THROWS_WITH(xg::from_npy_bytes("garbage!!garbage"), Catch::Contains("magic"));
}

TEST_CASE("an .npz with zip64 headers (as numpy writes large arrays) loads") {
  auto d = xg::load_npz(std::string(XGRAD_FIXTURES) + "/zip64.npz");
  REQUIRE(d.size() == 2);
  CHECK(d[0].first == "a");
  CHECK(xg::equal(d[0].second, xg::arange(6).to(xg::kFloat64).reshape({2, 3})));
  CHECK(xg::equal(d[1].second, xg::tensor({1, 2, 3})));
}
