#pragma once
// Recurrent layers with PyTorch's names, gate order, shapes and initialisation: GRU and LSTM
// (multi-layer, batch_first, bidirectional, dropout between layers, initial state in and final
// state out) and their single-step cells. Built from differentiable ops, so they gradcheck,
// gradgradcheck and load PyTorch state dicts (weight_ih_l0, weight_hh_l0, bias_ih_l0, bias_hh_l0,
// …, weight_ih_l0_reverse, …) as they are.
#include <array>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "xgrad/nn/module.hpp"
#include "xgrad/options.hpp"

namespace xgrad::nn {

// The options of GRU and LSTM (libtorch's GRUOptions / LSTMOptions fields; proj_size is not
// supported): one field list, expanded in each so that the setters chain with the right type.
#define XG_RNN_OPTION_FIELDS(Name)                                                                     \
  Name(int64_t input_size, int64_t hidden_size) : input_size_(input_size), hidden_size_(hidden_size) {} \
  XG_ARG(int64_t, input_size);                                                                         \
  XG_ARG(int64_t, hidden_size);                                                                        \
  XG_ARG(int64_t, num_layers) = 1;                                                                     \
  XG_ARG(bool, bias) = true;                                                                           \
  /* input and output (batch, seq, feature) instead of (seq, batch, feature) */                        \
  XG_ARG(bool, batch_first) = false;                                                                   \
  XG_ARG(double, dropout) = 0.0; /* on each layer's output but the last, in training */                \
  XG_ARG(bool, bidirectional) = false
struct GRUOptions {
  XG_RNN_OPTION_FIELDS(GRUOptions);
};
struct LSTMOptions {
  XG_RNN_OPTION_FIELDS(LSTMOptions);
};
namespace detail {
struct RNNOptionsBase {  // what the layers keep, whichever they were given
  XG_RNN_OPTION_FIELDS(RNNOptionsBase);
};
}  // namespace detail
#undef XG_RNN_OPTION_FIELDS

#define XG_RNN_CELL_OPTION_FIELDS(Name)                                                                \
  Name(int64_t input_size, int64_t hidden_size) : input_size_(input_size), hidden_size_(hidden_size) {} \
  XG_ARG(int64_t, input_size);                                                                         \
  XG_ARG(int64_t, hidden_size);                                                                        \
  XG_ARG(bool, bias) = true
struct GRUCellOptions {
  XG_RNN_CELL_OPTION_FIELDS(GRUCellOptions);
};
struct LSTMCellOptions {
  XG_RNN_CELL_OPTION_FIELDS(LSTMCellOptions);
};
#undef XG_RNN_CELL_OPTION_FIELDS

// One step of each cell on inputs already projected by weight_ih (x·W_ihᵀ + b_ih, all gates):
// what the cells and the layers share. Gate order as PyTorch: GRU (r, z, n), LSTM (i, f, g, o).
//   GRU:  r = σ(x_r + h_r), z = σ(x_z + h_z), n = tanh(x_n + r ∘ h_n), h' = (1 − z) ∘ n + z ∘ h
//   LSTM: c' = σ(f) ∘ c + σ(i) ∘ tanh(g), h' = σ(o) ∘ tanh(c')           (h_* = h·W_hhᵀ + b_hh)
Tensor gru_cell_step(const Tensor& x_proj, const Tensor& h, const Tensor& w_hh, const Tensor& b_hh);
std::tuple<Tensor, Tensor> lstm_cell_step(const Tensor& x_proj, const Tensor& h, const Tensor& c, const Tensor& w_hh,
                                          const Tensor& b_hh);

// What GRU and LSTM share: the parameters of every layer and direction, registered in PyTorch's
// order, initialised U(−1/√hidden, 1/√hidden), and the loop over layers, directions and time.
class RNNImplBase : public Module {
 public:
  void reset_parameters();

 protected:
  template <class Options>
  RNNImplBase(const Options& o, int64_t gates, const char* name)
      : RNNImplBase(detail::RNNOptionsBase(o.input_size(), o.hidden_size())
                        .num_layers(o.num_layers())
                        .bias(o.bias())
                        .batch_first(o.batch_first())
                        .dropout(o.dropout())
                        .bidirectional(o.bidirectional()),
                    gates, name) {}
  RNNImplBase(const detail::RNNOptionsBase& options, int64_t gates, const char* name);
  // Runs every layer. h0 (and c0 for the LSTM) are (layers·directions, batch, hidden), already
  // checked; returns the output (seq, batch, directions·hidden) and the final states.
  std::tuple<Tensor, Tensor, Tensor> run(const Tensor& input, const Tensor& h0, const Tensor& c0);
  // Checks the input, moves it to (seq, batch, feature); unbatched: whether it had no batch dim.
  Tensor to_time_major(const Tensor& input, bool& unbatched) const;
  Tensor from_time_major(const Tensor& output, bool unbatched) const;
  // A given initial state, checked against (layers·directions, batch, hidden) and made batched;
  // an undefined one becomes zeros.
  Tensor initial_state(const Tensor& given, const Tensor& input, bool unbatched, const char* what) const;
  void print_options(std::ostream& os) const;

  detail::RNNOptionsBase options_;
  int64_t gates_;
  const char* name_;
  // Per layer and direction (index layer·directions + direction): weight_ih, weight_hh, bias_ih, bias_hh.
  std::vector<std::array<Tensor, 4>> weights_;
};

// Multi-layer GRU. forward(input, hx) → (output, h_n): input (seq, batch, input_size) —
// (batch, seq, ·) with batch_first, or (seq, input_size) unbatched; hx and h_n
// (layers·directions, batch, hidden); output (seq, batch, directions·hidden).
class GRUImpl : public RNNImplBase {
 public:
  GRUImpl(int64_t input_size, int64_t hidden_size) : GRUImpl(GRUOptions(input_size, hidden_size)) {}
  explicit GRUImpl(const GRUOptions& options);
  std::tuple<Tensor, Tensor> forward(const Tensor& input, const Tensor& hx = {});
  void pretty_print(std::ostream& os) const override;
  GRUOptions options;
};
XG_MODULE(GRU);

// Multi-layer LSTM. forward(input, (h0, c0)) → (output, (h_n, c_n)), shapes as GRU's.
class LSTMImpl : public RNNImplBase {
 public:
  LSTMImpl(int64_t input_size, int64_t hidden_size) : LSTMImpl(LSTMOptions(input_size, hidden_size)) {}
  explicit LSTMImpl(const LSTMOptions& options);
  std::tuple<Tensor, std::tuple<Tensor, Tensor>> forward(const Tensor& input,
                                                          std::optional<std::tuple<Tensor, Tensor>> hx = {});
  void pretty_print(std::ostream& os) const override;
  LSTMOptions options;
};
XG_MODULE(LSTM);

// One GRU step: forward(input (batch, input_size) or (input_size), hx) → h'.
class GRUCellImpl : public Module {
 public:
  GRUCellImpl(int64_t input_size, int64_t hidden_size) : GRUCellImpl(GRUCellOptions(input_size, hidden_size)) {}
  explicit GRUCellImpl(const GRUCellOptions& options);
  Tensor forward(const Tensor& input, const Tensor& hx = {});
  void reset_parameters();
  void pretty_print(std::ostream& os) const override;
  GRUCellOptions options;
  Tensor weight_ih, weight_hh, bias_ih, bias_hh;
};
XG_MODULE(GRUCell);

// One LSTM step: forward(input, (h, c)) → (h', c').
class LSTMCellImpl : public Module {
 public:
  LSTMCellImpl(int64_t input_size, int64_t hidden_size) : LSTMCellImpl(LSTMCellOptions(input_size, hidden_size)) {}
  explicit LSTMCellImpl(const LSTMCellOptions& options);
  std::tuple<Tensor, Tensor> forward(const Tensor& input, std::optional<std::tuple<Tensor, Tensor>> hx = {});
  void reset_parameters();
  void pretty_print(std::ostream& os) const override;
  LSTMCellOptions options;
  Tensor weight_ih, weight_hh, bias_ih, bias_hh;
};
XG_MODULE(LSTMCell);

}  // namespace xgrad::nn
