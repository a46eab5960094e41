// GRU, LSTM and their cells: gradcheck and gradgradcheck in float64 (every option at once), PyTorch's
// parameter names and initialisation, dropout only between layers and only in training, unbatched
// input, and bad input named. Numerics against PyTorch: tests/nn/parity_test.cpp.
#include "helpers.hpp"

namespace nn = xg::nn;
using L = xg::TensorList;

namespace {
xg::Tensor flat(const L& ts) {
  L parts;
  for (auto& t : ts) parts.push_back(t.reshape({-1}));
  return xg::cat(parts);
}
// gradcheck (and gradgradcheck) of fn over `inputs` and every parameter of the module.
template <class H, class F>
void check_grads(H module, const L& inputs, F fn) {
  module->to(xg::kFloat64);
  L all = inputs;
  for (auto& p : module->parameters()) all.push_back(p);
  auto f = [&](const L& a) { return fn(L(a.begin(), a.begin() + static_cast<std::ptrdiff_t>(inputs.size()))); };
  auto rep = xg::gradcheck(f, all);
  INFO(rep.message);
  CHECK(rep.ok);
  auto rep2 = xg::gradgradcheck(f, all);
  INFO(rep2.message);
  CHECK(rep2.ok);
}
}  // namespace

TEST_CASE("GRU and LSTM pass gradcheck and gradgradcheck: 2 layers, bidirectional, batch_first, initial state",
          "[nn][rnn][gradcheck]") {
  xg::manual_seed(11);
  nn::GRU gru(nn::GRUOptions(3, 2).num_layers(2).bidirectional(true).batch_first(true));
  check_grads(gru, {rnd({2, 3, 3}), rnd({4, 2, 2})}, [&](const L& in) {
    auto [out, h] = gru(in[0], in[1]);
    return flat({out, h});
  });
  nn::LSTM lstm(nn::LSTMOptions(3, 2).num_layers(2).bidirectional(true));
  check_grads(lstm, {rnd({3, 2, 3}), rnd({4, 2, 2}), rnd({4, 2, 2})}, [&](const L& in) {
    auto [out, hc] = lstm(in[0], std::tuple{in[1], in[2]});
    return flat({out, std::get<0>(hc), std::get<1>(hc)});
  });
  nn::GRUCell gcell(3, 2);
  check_grads(gcell, {rnd({2, 3}), rnd({2, 2})}, [&](const L& in) { return gcell(in[0], in[1]); });
  nn::LSTMCell lcell(nn::LSTMCellOptions(3, 2).bias(false));
  check_grads(lcell, {rnd({2, 3}), rnd({2, 2}), rnd({2, 2})}, [&](const L& in) {
    auto [h, c] = lcell(in[0], std::tuple{in[1], in[2]});
    return flat({h, c});
  });
}

TEST_CASE("GRU and LSTM: PyTorch's parameter names, shapes and initialisation", "[nn][rnn]") {
  nn::LSTM lstm(nn::LSTMOptions(5, 4).num_layers(2).bidirectional(true));
  std::vector<std::string> names;
  for (auto& [n, p] : lstm->named_parameters()) names.push_back(n);
  const std::vector<std::string> want{
      "weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0",
      "weight_ih_l0_reverse", "weight_hh_l0_reverse", "bias_ih_l0_reverse", "bias_hh_l0_reverse",
      "weight_ih_l1", "weight_hh_l1", "bias_ih_l1", "bias_hh_l1",
      "weight_ih_l1_reverse", "weight_hh_l1_reverse", "bias_ih_l1_reverse", "bias_hh_l1_reverse"};
  CHECK(names == want);
  auto sd = lstm->named_parameters();
  CHECK(sd[0].second.sizes() == xg::Shape{16, 5});  // 4 gates · hidden, input
  CHECK(sd[8].second.sizes() == xg::Shape{16, 8});  // layer 1 reads both directions
  CHECK(sd[1].second.sizes() == xg::Shape{16, 4});
  for (auto& [n, p] : sd) {  // U(−1/√hidden, 1/√hidden), and not all equal
    INFO(n);
    CHECK(xg::amax(xg::abs(p)).item<double>() <= 0.5);
    CHECK(xg::std(p).item<double>() > 0.1);
  }
  nn::GRU gru(nn::GRUOptions(3, 6).bias(false));
  CHECK(gru->named_parameters().size() == 2);
  CHECK(gru->named_parameters()[0].second.sizes() == xg::Shape{18, 3});
  std::ostringstream os;
  gru->pretty_print(os), os << " ", lstm->pretty_print(os), os << " ", nn::GRUCell(2, 3)->pretty_print(os), os << " ";
  nn::LSTMCell(nn::LSTMCellOptions(2, 3).bias(false))->pretty_print(os);
  CHECK(os.str() == "GRU(3, 6, bias=false) LSTM(5, 4, num_layers=2, bidirectional=true) GRUCell(2, 3) LSTMCell(2, 3, bias=false)");
}

TEST_CASE("GRU and LSTM: dropout only between layers and only in training; unbatched input; zero initial state",
          "[nn][rnn]") {
  xg::manual_seed(5);
  nn::GRU gru(nn::GRUOptions(4, 3).num_layers(3).dropout(0.5));
  const xg::Tensor x = xg::randn({6, 2, 4});
  auto [train_a, ha] = gru(x);
  auto [train_b, hb] = gru(x);
  CHECK_FALSE(xg::allclose(train_a, train_b));  // fresh masks each call
  gru->eval();
  auto [eval_a, h1] = gru(x);
  auto [eval_b, h2] = gru(x);
  CHECK(xg::equal(eval_a, eval_b));
  // The last layer's output gets no dropout: with one layer, training equals evaluation.
  nn::LSTM one(nn::LSTMOptions(4, 3).dropout(0.5));
  auto [o_train, s_train] = one(x);
  one->eval();
  auto [o_eval, s_eval] = one(x);
  CHECK(xg::equal(o_train, o_eval));

  // Unbatched (seq, feature) is batch 1 without its batch dimension; no state = zeros.
  nn::LSTM lstm(nn::LSTMOptions(4, 3).num_layers(2).batch_first(true));
  const xg::Tensor seq = xg::randn({5, 4});
  auto [ou, hcu] = lstm(seq);
  auto [ob, hcb] = lstm(seq.unsqueeze(0), std::tuple{xg::zeros({2, 1, 3}), xg::zeros({2, 1, 3})});
  CHECK(ou.sizes() == xg::Shape{5, 3});
  CHECK(std::get<0>(hcu).sizes() == xg::Shape{2, 3});
  CHECK(xg::allclose(ou, ob.squeeze(0)));
  CHECK(xg::allclose(std::get<1>(hcu), std::get<1>(hcb).squeeze(1)));
  // The last step of the last layer's output is h_n of that layer.
  CHECK(xg::allclose(ob.select(1, 4), std::get<0>(hcb).select(0, 1)));

  // A cell run step by step is the layer.
  nn::GRU layer(4, 3);
  nn::GRUCell cell(4, 3);
  cell->load_state_dict({{"weight_ih", layer->named_parameters()[0].second}, {"weight_hh", layer->named_parameters()[1].second},
                         {"bias_ih", layer->named_parameters()[2].second}, {"bias_hh", layer->named_parameters()[3].second}});
  auto [lo, lh] = layer(x);
  xg::Tensor h = xg::zeros({2, 3});
  for (int64_t t = 0; t < 6; ++t) h = cell(x.select(0, t), h);
  CHECK(xg::allclose(h, lh.select(0, 0)));
}

TEST_CASE("GRU and LSTM: bad input is a clear error", "[nn][rnn][errors]") {
  nn::GRU gru(nn::GRUOptions(4, 3).num_layers(2));
  CHECK_THROWS_WITH(gru(xg::randn({5, 2, 7})), Catch::Contains("GRU") && Catch::Contains("7 features") &&
                                                   Catch::Contains("input_size 4"));
  CHECK_THROWS_WITH(gru(xg::randn({5, 2, 4, 1})), Catch::Contains("GRU") && Catch::Contains("3-D"));
  CHECK_THROWS_WITH(gru(xg::randn({5, 2, 4}), xg::randn({1, 2, 3})),
                    Catch::Contains("hx") && Catch::Contains("[1, 2, 3]") && Catch::Contains("[2, 2, 3]"));
  CHECK_THROWS_WITH(gru(xg::randn({5, 2, 4}, xg::kFloat64)), Catch::Contains("Float64") && Catch::Contains("Float32"));
  nn::LSTM lstm(4, 3);
  CHECK_THROWS_WITH(lstm(xg::randn({5, 2, 4}), std::tuple{xg::zeros({1, 2, 3}), xg::zeros({1, 3, 3})}),
                    Catch::Contains("c0") && Catch::Contains("[1, 3, 3]"));
  CHECK_THROWS_WITH(nn::LSTM(nn::LSTMOptions(4, 3).num_layers(0)), Catch::Contains("num_layers"));
  CHECK_THROWS_WITH(nn::GRU(nn::GRUOptions(4, 3).dropout(1.5)), Catch::Contains("dropout"));
  CHECK_THROWS_WITH(nn::GRU(0, 3), Catch::Contains("input_size"));
  nn::LSTMCell cell(4, 3);
  CHECK_THROWS_WITH(cell(xg::randn({2, 5})), Catch::Contains("LSTMCell") && Catch::Contains("5 features"));
  CHECK_THROWS_WITH(cell(xg::randn({2, 4}), std::tuple{xg::zeros({3, 3}), xg::zeros({2, 3})}),
                    Catch::Contains("LSTMCell") && Catch::Contains("[3, 3]"));
  CHECK_THROWS_WITH(nn::GRUCell(4, 3)(xg::randn({2, 4}), xg::zeros({2, 4})), Catch::Contains("GRUCell") && Catch::Contains("hx"));
}
