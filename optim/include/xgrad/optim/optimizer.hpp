#pragma once
// The optimizer base: parameter groups with their own options, zero_grad, step (optionally with
// a closure), and state that saves to .npz and loads back exactly (training resumes bit for bit).
#include <functional>
#include <map>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "xgrad/serialize.hpp"
#include "xgrad/tensor.hpp"

namespace xgrad::optim {

// Hyper-parameters by name, for schedulers and checkpoints ("lr", "momentum", "beta1", ...).
using Hyper = std::map<std::string, double>;

class Optimizer {
 public:
  virtual ~Optimizer() = default;
  virtual void step() = 0;
  // Re-evaluates the model (the closure returns the loss, having called backward), then steps.
  double step(const std::function<double()>& closure);
  void zero_grad(bool set_to_none = true);

  size_t num_param_groups() const { return params_.size(); }
  const TensorList& params(size_t group) const;
  double lr(size_t group) const { return hyper(group).at("lr"); }
  void set_lr(size_t group, double lr);
  virtual Hyper hyper(size_t group) const = 0;
  virtual void set_hyper(size_t group, const Hyper& h) = 0;

  // State by name: "group.G.<hyper>" and "state.G.I.<buffer>" (I = index in the group).
  NamedTensors state_dict() const;
  // Throws (changing nothing) if the groups or their parameter shapes differ.
  void load_state_dict(const NamedTensors& dict);
  void save(const std::string& path) const;
  void load(const std::string& path);

  // Each group's lr when the first scheduler was attached (torch's group['initial_lr']): the first
  // call records the current lrs, later calls return the recorded ones. Schedulers read and set
  // learning rates only through this API.
  const std::vector<double>& initial_lrs();
  void set_initial_lrs(std::vector<double> lrs);

 protected:
  // Registers a group's parameters: each must be a floating leaf that requires grad, and may
  // appear only once across groups.
  void add_params(const TensorList& params, const char* who);
  // The per-parameter state (exp_avg, step, ...), created empty on first use.
  std::map<std::string, Tensor>& state(size_t group, size_t index);
  std::vector<TensorList> params_;
  std::vector<std::vector<std::map<std::string, Tensor>>> state_;

 private:
  std::vector<double> initial_lrs_;
};

// Splits parameters as transformer training usually wants: matrices get weight decay; biases,
// LayerNorm weights and other vectors (dim < 2) do not. Returns {decay, no_decay}.
std::pair<TensorList, TensorList> split_weight_decay(const NamedTensors& named_parameters);

// Checks shared by every optimizer's options.
void check_lr(double lr, const char* who);
void check_in_range(double v, double lo, double hi, bool hi_open, const char* what, const char* who);

// The typed half of an optimizer: groups of (params, Options).
template <class Options>
class OptimizerWithOptions : public Optimizer {
 public:
  OptimizerWithOptions(const TensorList& params, const Options& options) { add_param_group(params, options); }
  explicit OptimizerWithOptions(const TensorList& params)
    requires std::is_default_constructible_v<Options>
      : OptimizerWithOptions(params, Options()) {}
  OptimizerWithOptions(const std::vector<std::pair<TensorList, Options>>& groups) {  // NOLINT
    for (auto& [p, o] : groups) add_param_group(p, o);
  }

  void add_param_group(const TensorList& params, const Options& options) {
    options.validate();
    add_params(params, Options::kName);
    options_.push_back(options);
  }
  Options& options(size_t group) {
    XG_CHECK(group < options_.size(), Options::kName, ": no parameter group ", group);
    return options_[group];
  }
  Hyper hyper(size_t group) const override { return options_.at(group).to_hyper(); }
  void set_hyper(size_t group, const Hyper& h) override {
    Options o = options_.at(group);
    o.from_hyper(h);
    o.validate();
    options_.at(group) = o;
  }

 protected:
  std::vector<Options> options_;
};

}  // namespace xgrad::optim
