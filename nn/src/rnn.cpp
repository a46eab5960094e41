#include "xgrad/nn/rnn.hpp"

#include <cmath>

#include "xgrad/nn/init.hpp"
#include "xgrad/ops.hpp"

namespace xgrad::nn {

// ---------------------------------------------------------------- one step

Tensor gru_cell_step(const Tensor& x_proj, const Tensor& h, const Tensor& w_hh, const Tensor& b_hh) {
  const TensorList x = chunk(x_proj, 3, -1), hp = chunk(linear(h, w_hh, b_hh), 3, -1);
  const Tensor r = sigmoid(x[0] + hp[0]), z = sigmoid(x[1] + hp[1]);
  const Tensor n = tanh(x[2] + r * hp[2]);
  return (1.0 - z) * n + z * h;
}

std::tuple<Tensor, Tensor> lstm_cell_step(const Tensor& x_proj, const Tensor& h, const Tensor& c, const Tensor& w_hh,
                                          const Tensor& b_hh) {
  const TensorList g = chunk(x_proj + linear(h, w_hh, b_hh), 4, -1);
  const Tensor c_next = sigmoid(g[1]) * c + sigmoid(g[0]) * tanh(g[2]);
  return {sigmoid(g[3]) * tanh(c_next), c_next};
}

namespace {

// PyTorch's initialisation of every recurrent weight and bias: U(−1/√hidden, 1/√hidden).
void init_recurrent(const TensorList& params, int64_t hidden) {
  const double bound = hidden > 0 ? 1.0 / std::sqrt(static_cast<double>(hidden)) : 0.0;
  for (Tensor p : params)
    if (p.defined()) init::uniform_(p, -bound, bound);
}

// The batched state a cell starts from: given (batch, hidden) or (hidden) for an unbatched input,
// or zeros.
Tensor cell_state(const Tensor& given, const Tensor& input, int64_t hidden, const char* who, const char* what) {
  const bool batched = input.dim() == 2;
  const Shape want = batched ? Shape{input.size(0), hidden} : Shape{hidden};
  if (!given.defined()) return zeros(want, input.dtype());
  XG_CHECK(given.sizes() == want, who, ": ", what, " has shape ", given.sizes(), ", expected ", want, " for input ",
           input.sizes());
  return given;
}

void check_cell_input(const Tensor& input, int64_t input_size, const char* who) {
  XG_CHECK(input.dim() == 1 || input.dim() == 2, who, ": input must be (batch, ", input_size, ") or (", input_size,
           "), got ", input.sizes());
  XG_CHECK(input.size(-1) == input_size, who, ": input has ", input.size(-1), " features, expected ", input_size,
           " (input ", input.sizes(), ")");
}

void check_sizes(int64_t input_size, int64_t hidden_size, const char* who) {
  XG_CHECK(input_size > 0 && hidden_size > 0, who, ": input_size and hidden_size must be positive, got ", input_size,
           " and ", hidden_size);
}

}  // namespace

// ---------------------------------------------------------------- GRU and LSTM layers

RNNImplBase::RNNImplBase(const detail::RNNOptionsBase& o, int64_t gates, const char* name)
    : options_(o), gates_(gates), name_(name) {
  check_sizes(o.input_size(), o.hidden_size(), name);
  XG_CHECK(o.num_layers() >= 1, name, ": num_layers must be at least 1, got ", o.num_layers());
  XG_CHECK(std::isfinite(o.dropout()) && o.dropout() >= 0 && o.dropout() <= 1, name,
           ": dropout must be in [0, 1], got ", o.dropout());
  const int64_t dirs = o.bidirectional() ? 2 : 1, H = o.hidden_size();
  for (int64_t layer = 0; layer < o.num_layers(); ++layer)
    for (int64_t d = 0; d < dirs; ++d) {
      const std::string suffix = "_l" + std::to_string(layer) + (d ? "_reverse" : "");
      const int64_t in = layer == 0 ? o.input_size() : H * dirs;
      std::array<Tensor, 4> w;
      w[0] = register_parameter("weight_ih" + suffix, empty({gates * H, in}));
      w[1] = register_parameter("weight_hh" + suffix, empty({gates * H, H}));
      if (o.bias()) {
        w[2] = register_parameter("bias_ih" + suffix, empty({gates * H}));
        w[3] = register_parameter("bias_hh" + suffix, empty({gates * H}));
      }
      weights_.push_back(w);
    }
  reset_parameters();
}

void RNNImplBase::reset_parameters() {
  for (auto& w : weights_) init_recurrent({w[0], w[1], w[2], w[3]}, options_.hidden_size());
}

Tensor RNNImplBase::to_time_major(const Tensor& input, bool& unbatched) const {
  const int64_t in = options_.input_size();
  XG_CHECK(input.dim() == 2 || input.dim() == 3, name_, ": input must be 3-D (", options_.batch_first() ? "batch, seq" : "seq, batch",
           ", ", in, ") or 2-D unbatched (seq, ", in, "), got ", input.sizes());
  XG_CHECK(input.size(-1) == in, name_, ": input has ", input.size(-1), " features, expected input_size ", in,
           " (input ", input.sizes(), ")");
  XG_CHECK(input.is_floating_point(), name_, ": input must be floating point, got ", dtype_name(input.dtype()));
  unbatched = input.dim() == 2;
  if (unbatched) return unsqueeze(input, 1);
  return options_.batch_first() ? transpose(input, 0, 1) : input;
}

Tensor RNNImplBase::from_time_major(const Tensor& output, bool unbatched) const {
  if (unbatched) return squeeze(output, 1);
  return options_.batch_first() ? transpose(output, 0, 1) : output;
}

Tensor RNNImplBase::initial_state(const Tensor& given, const Tensor& x, bool unbatched, const char* what) const {
  const int64_t states = options_.num_layers() * (options_.bidirectional() ? 2 : 1), B = x.size(1),
                H = options_.hidden_size();
  if (!given.defined()) return zeros({states, B, H}, x.dtype());
  const Shape want = unbatched ? Shape{states, H} : Shape{states, B, H};
  XG_CHECK(given.sizes() == want, name_, ": ", what, " has shape ", given.sizes(), ", expected ", want,
           " (num_layers·directions, ", unbatched ? "" : "batch, ", "hidden_size)");
  XG_CHECK(given.dtype() == x.dtype(), name_, ": ", what, " is ", dtype_name(given.dtype()), ", the input ",
           dtype_name(x.dtype()));
  return unbatched ? unsqueeze(given, 1) : given;
}

std::tuple<Tensor, Tensor, Tensor> RNNImplBase::run(const Tensor& x, const Tensor& h0, const Tensor& c0) {
  const bool lstm = c0.defined();
  const int64_t T = x.size(0), dirs = options_.bidirectional() ? 2 : 1;
  TensorList h_n, c_n;
  Tensor layer_in = x;
  for (int64_t layer = 0; layer < options_.num_layers(); ++layer) {
    TensorList outs;
    for (int64_t d = 0; d < dirs; ++d) {
      const int64_t k = layer * dirs + d;
      const auto& w = weights_[static_cast<size_t>(k)];
      XG_CHECK(w[0].dtype() == x.dtype(), name_, ": input is ", dtype_name(x.dtype()), ", the weights ",
               dtype_name(w[0].dtype()), " (convert one with .to())");
      // Every step's input projection in one product: (seq, batch, gates·hidden).
      const Tensor proj = linear(layer_in, w[0], w[2]);
      Tensor h = select(h0, 0, k), c = lstm ? select(c0, 0, k) : Tensor();
      TensorList steps(static_cast<size_t>(T));
      for (int64_t s = 0; s < T; ++s) {
        const int64_t t = d ? T - 1 - s : s;
        const Tensor xp = select(proj, 0, t);
        if (lstm) std::tie(h, c) = lstm_cell_step(xp, h, c, w[1], w[3]);
        else h = gru_cell_step(xp, h, w[1], w[3]);
        steps[static_cast<size_t>(t)] = h;
      }
      outs.push_back(T > 0 ? stack(steps, 0) : zeros({0, x.size(1), options_.hidden_size()}, x.dtype()));
      h_n.push_back(h);
      if (lstm) c_n.push_back(c);
    }
    layer_in = dirs == 2 ? cat(outs, -1) : outs[0];
    if (layer + 1 < options_.num_layers() && options_.dropout() > 0)
      layer_in = dropout(layer_in, options_.dropout(), is_training());
  }
  return {layer_in, stack(h_n, 0), lstm ? stack(c_n, 0) : Tensor()};
}

void RNNImplBase::print_options(std::ostream& os) const {
  os << name_ << "(" << options_.input_size() << ", " << options_.hidden_size();
  if (options_.num_layers() != 1) os << ", num_layers=" << options_.num_layers();
  if (!options_.bias()) os << ", bias=false";
  if (options_.batch_first()) os << ", batch_first=true";
  if (options_.dropout() != 0) os << ", dropout=" << options_.dropout();
  if (options_.bidirectional()) os << ", bidirectional=true";
  os << ")";
}

GRUImpl::GRUImpl(const GRUOptions& o) : RNNImplBase(o, 3, "GRU"), options(o) {}

std::tuple<Tensor, Tensor> GRUImpl::forward(const Tensor& input, const Tensor& hx) {
  bool unbatched = false;
  const Tensor x = to_time_major(input, unbatched);
  auto [out, h_n, unused] = run(x, initial_state(hx, x, unbatched, "hx"), Tensor());
  return {from_time_major(out, unbatched), unbatched ? squeeze(h_n, 1) : h_n};
}

void GRUImpl::pretty_print(std::ostream& os) const { print_options(os); }

LSTMImpl::LSTMImpl(const LSTMOptions& o) : RNNImplBase(o, 4, "LSTM"), options(o) {}

std::tuple<Tensor, std::tuple<Tensor, Tensor>> LSTMImpl::forward(const Tensor& input,
                                                                 std::optional<std::tuple<Tensor, Tensor>> hx) {
  bool unbatched = false;
  const Tensor x = to_time_major(input, unbatched);
  const Tensor h0 = initial_state(hx ? std::get<0>(*hx) : Tensor(), x, unbatched, "h0");
  const Tensor c0 = initial_state(hx ? std::get<1>(*hx) : Tensor(), x, unbatched, "c0");
  auto [out, h_n, c_n] = run(x, h0, c0);
  if (unbatched) h_n = squeeze(h_n, 1), c_n = squeeze(c_n, 1);
  return {from_time_major(out, unbatched), {h_n, c_n}};
}

void LSTMImpl::pretty_print(std::ostream& os) const { print_options(os); }

// ---------------------------------------------------------------- cells

namespace {
template <class Cell>
void register_cell(Cell& m, int64_t gates) {
  const auto& o = m.options;
  const int64_t H = o.hidden_size();
  m.weight_ih = m.register_parameter("weight_ih", empty({gates * H, o.input_size()}));
  m.weight_hh = m.register_parameter("weight_hh", empty({gates * H, H}));
  if (o.bias()) {
    m.bias_ih = m.register_parameter("bias_ih", empty({gates * H}));
    m.bias_hh = m.register_parameter("bias_hh", empty({gates * H}));
  }
  m.reset_parameters();
}

template <class Options>
void print_cell(std::ostream& os, const char* name, const Options& o) {
  os << name << "(" << o.input_size() << ", " << o.hidden_size() << (o.bias() ? "" : ", bias=false") << ")";
}
}  // namespace

GRUCellImpl::GRUCellImpl(const GRUCellOptions& o) : options(o) {
  check_sizes(o.input_size(), o.hidden_size(), "GRUCell");
  register_cell(*this, 3);
}

void GRUCellImpl::reset_parameters() { init_recurrent({weight_ih, weight_hh, bias_ih, bias_hh}, options.hidden_size()); }

Tensor GRUCellImpl::forward(const Tensor& input, const Tensor& hx) {
  check_cell_input(input, options.input_size(), "GRUCell");
  const Tensor h = cell_state(hx, input, options.hidden_size(), "GRUCell", "hx");
  return gru_cell_step(linear(input, weight_ih, bias_ih), h, weight_hh, bias_hh);
}

void GRUCellImpl::pretty_print(std::ostream& os) const { print_cell(os, "GRUCell", options); }

LSTMCellImpl::LSTMCellImpl(const LSTMCellOptions& o) : options(o) {
  check_sizes(o.input_size(), o.hidden_size(), "LSTMCell");
  register_cell(*this, 4);
}

void LSTMCellImpl::reset_parameters() { init_recurrent({weight_ih, weight_hh, bias_ih, bias_hh}, options.hidden_size()); }

std::tuple<Tensor, Tensor> LSTMCellImpl::forward(const Tensor& input, std::optional<std::tuple<Tensor, Tensor>> hx) {
  check_cell_input(input, options.input_size(), "LSTMCell");
  const Tensor h = cell_state(hx ? std::get<0>(*hx) : Tensor(), input, options.hidden_size(), "LSTMCell", "h");
  const Tensor c = cell_state(hx ? std::get<1>(*hx) : Tensor(), input, options.hidden_size(), "LSTMCell", "c");
  return lstm_cell_step(linear(input, weight_ih, bias_ih), h, c, weight_hh, bias_hh);
}

void LSTMCellImpl::pretty_print(std::ostream& os) const { print_cell(os, "LSTMCell", options); }

}  // namespace xgrad::nn
